// Client sessions: exactly-once for retried commands (Raft thesis §6.3). A command carries (clientId, sequence);
// the leader answers a repeat of the last applied sequence with the stored reply, and apply ignores a repeat that
// reached the log twice. Sessions are bounded: the least recently used (lowest Raft index) is evicted first, so
// a retry older than the eviction would apply again.
import { fromBinary, toBinary } from '@bufbuild/protobuf';
import { ControllerCondition } from '@regent/proto/common';
import { type ControllerReply, ControllerReplySchema } from '@regent/proto/consensus';
import { assert } from './assert.js';
import { clientIdLengthMax } from './limits.js';
import { errorReply } from './result.js';
import type { ControllerState } from './state.js';

/**
 * What to do with a command of a session before running its handler:
 * - `new`: run the handler;
 * - `duplicate`: answer `reply` (the stored reply of that very request) without running anything;
 * - `refused`: answer `reply` (STALE_SEQUENCE for an older sequence, INVALID_ARGUMENT for a bad session).
 */
export type SessionCheck =
  | { readonly kind: 'new' }
  | { readonly kind: 'duplicate'; readonly reply: ControllerReply }
  | { readonly kind: 'refused'; readonly reply: ControllerReply };

/** Classifies a command of session `clientId` (empty: no session, always `new`). */
export function checkSession(state: ControllerState, clientId: string, sequence: bigint): SessionCheck {
  if (clientId === '') return { kind: 'new' };
  if (clientId.length > clientIdLengthMax) {
    return {
      kind: 'refused',
      reply: errorReply(
        ControllerCondition.INVALID_ARGUMENT,
        `client_id must have at most ${clientIdLengthMax} characters`,
        {
          field: 'client_id',
        },
      ),
    };
  }
  if (sequence < 1n) {
    return {
      kind: 'refused',
      reply: errorReply(ControllerCondition.INVALID_ARGUMENT, 'sequence must be at least 1 in a session', {
        field: 'sequence',
      }),
    };
  }
  const session = state.sessions.get(clientId);
  if (session === undefined || sequence > session.lastSequence) return { kind: 'new' };
  if (sequence === session.lastSequence) return { kind: 'duplicate', reply: decodeReply(session.lastReply) };
  return { kind: 'refused', reply: staleSequenceReply(clientId, sequence, session.lastSequence) };
}

export function staleSequenceReply(
  clientId: string,
  sequence: bigint,
  lastSequence: bigint,
): ControllerReply {
  return errorReply(
    ControllerCondition.STALE_SEQUENCE,
    `session ${clientId}: sequence ${sequence} is older than the last applied ${lastSequence}`,
    { field: 'sequence' },
  );
}

/** Records that `clientId`'s request `sequence`, answered with `reply`, was applied at `raftIndex`. */
export function recordSession(
  state: ControllerState,
  clientId: string,
  sequence: bigint,
  reply: Uint8Array,
  raftIndex: bigint,
): void {
  assert(clientId !== '', 'recordSession without a client id');
  const previous = state.sessions.get(clientId);
  assert(
    previous === undefined || previous.lastIndex < raftIndex,
    `session ${clientId}: index ${raftIndex} not after ${previous?.lastIndex}`,
  );
  // Delete first so the map's iteration order stays least-recently-used first.
  state.sessions.delete(clientId);
  state.sessions.set(clientId, { lastSequence: sequence, lastReply: reply, lastIndex: raftIndex });
  while (state.sessions.size > state.limits.sessionsMax) {
    const [oldest] = state.sessions.keys();
    assert(oldest !== undefined, 'session table over its limit but empty');
    state.sessions.delete(oldest);
  }
}

/** Encodes a reply for a log entry or a session. */
export function encodeReply(reply: ControllerReply): Uint8Array {
  return toBinary(ControllerReplySchema, reply);
}

/** Decodes a stored reply. */
export function decodeReply(bytes: Uint8Array): ControllerReply {
  return fromBinary(ControllerReplySchema, bytes);
}
