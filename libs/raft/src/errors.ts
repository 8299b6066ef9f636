// The core's operating errors: typed, thrown by the node's methods, never a crash. A broken invariant is an
// `AssertionError` (types.ts) instead.

import type { NodeId } from './types.js';

/** Base of every operating error the core throws. */
export class RaftError extends Error {
  override readonly name: string = 'RaftError';
}

/** The node is not the leader; `leaderHint` is the leader it knows of, 0 when none. */
export class NotLeaderError extends RaftError {
  override readonly name = 'NotLeaderError';
  constructor(readonly leaderHint: NodeId) {
    super(leaderHint === 0 ? 'not the leader (leader unknown)' : `not the leader (leader is ${leaderHint})`);
  }
}

export type OverloadReason = 'uncommitted-bytes' | 'pending-proposals' | 'pending-reads';

/** A flow-control bound was hit; retry later (maps to RESOURCE_EXHAUSTED). */
export class OverloadedError extends RaftError {
  override readonly name = 'OverloadedError';
  constructor(
    readonly reason: OverloadReason,
    readonly limit: number,
  ) {
    super(`overloaded: ${reason} limit ${limit} reached`);
  }
}

export type DropReason = 'leadership-transfer' | 'not-a-member';

/** The leader refuses proposals for now (a leadership transfer is in progress). */
export class ProposalDroppedError extends RaftError {
  override readonly name = 'ProposalDroppedError';
  constructor(readonly reason: DropReason) {
    super(`proposal dropped: ${reason}`);
  }
}

/**
 * A membership change (or the new leader's no-op) is in the log and not committed yet; one change at a time.
 */
export class ConfChangeInProgressError extends RaftError {
  override readonly name = 'ConfChangeInProgressError';
  constructor(
    readonly pendingIndex: number,
    readonly commitIndex: number,
  ) {
    super(`index ${pendingIndex} must commit before another membership change (commit ${commitIndex})`);
  }
}

/** The membership change does not fit the current membership (e.g. adding an existing voter). */
export class InvalidConfChangeError extends RaftError {
  override readonly name = 'InvalidConfChangeError';
  constructor(readonly reason: string) {
    super(`invalid membership change: ${reason}`);
  }
}

/** A request argument is invalid (transfer target not a voter, duplicate read context, …). */
export class InvalidRequestError extends RaftError {
  override readonly name = 'InvalidRequestError';
}

/** A peer message violates the protocol's shape (bad indexes, wrong recipient); the runtime drops it. */
export class InvalidMessageError extends RaftError {
  override readonly name = 'InvalidMessageError';
}
