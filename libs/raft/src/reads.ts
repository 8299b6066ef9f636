// Linearizable reads with ReadIndex (thesis §6.4): the leader waits for its term's no-op to commit, records its
// commit index, confirms leadership with a heartbeat round to a quorum, and the read is served once the state
// machine applied up to that index. Followers forward requests to the leader.

import { InvalidRequestError, NotLeaderError, OverloadedError } from './errors.js';
import type { MessageOf } from './messages.js';
import type { Raft } from './raft.js';
import type { ReadRequest } from './read-index.js';
import type { NodeId } from './types.js';

/** The local API: start a read with the caller's `context` (unique among its reads in flight). */
export function requestRead(r: Raft, context: number): void {
  if (r.role === 'leader') {
    if (localReadCount(r) >= r.cfg.maxPendingReads)
      throw new OverloadedError('pending-reads', r.cfg.maxPendingReads);
    startLeaderRead(r, r.id, context);
    return;
  }
  if (r.lead === 0) throw new NotLeaderError(0);
  if (r.forwardedReads.has(context))
    throw new InvalidRequestError(`read context ${context} is already in flight`);
  if (r.forwardedReads.size + r.readStates.length >= r.cfg.maxPendingReads) {
    throw new OverloadedError('pending-reads', r.cfg.maxPendingReads);
  }
  r.forwardedReads.add(context);
  r.send({ type: 'ReadIndexRequest', to: r.lead, readContext: context });
}

function localReadCount(r: Raft): number {
  return r.reads.size + r.barrierReads.length + r.readStates.length;
}

export function handleReadIndexRequest(r: Raft, m: MessageOf<'ReadIndexRequest'>): void {
  if (r.reads.size + r.barrierReads.length >= r.cfg.maxPendingReads) {
    rejectReadIndexRequest(r, m);
    return;
  }
  startLeaderRead(r, m.from, m.readContext);
}

export function rejectReadIndexRequest(r: Raft, m: MessageOf<'ReadIndexRequest'>): void {
  r.send({ type: 'ReadIndexResponse', to: m.from, readContext: m.readContext, readIndex: 0, reject: true });
}

function startLeaderRead(r: Raft, from: NodeId, context: number): void {
  if (!r.barrierCommitted()) {
    r.barrierReads.push({ from, context });
    return;
  }
  registerRead(r, from, context);
}

function registerRead(r: Raft, from: NodeId, context: number): void {
  r.reads.add(from, context, r.log.committed, r.id);
  releaseReads(r);
  if (r.reads.size > 0) r.readRoundPending = true;
}

/** The no-op of the leader's term committed: the reads that waited for it get the current commit index. */
export function onBarrierCommitted(r: Raft): void {
  const waiting = r.barrierReads;
  r.barrierReads = [];
  for (const { from, context } of waiting) registerRead(r, from, context);
}

/** A follower answered a message carrying read round `seq` in this term. */
export function ackRead(r: Raft, from: NodeId, seq: number): void {
  if (seq === 0 || !r.membership.voters.has(from)) return;
  r.reads.ack(from, seq);
  releaseReads(r);
}

/** Hands out every read a quorum confirmed. */
export function releaseReads(r: Raft): void {
  for (const request of r.reads.release(r.membership.voters)) deliver(r, request);
}

function deliver(r: Raft, request: ReadRequest): void {
  if (request.from === r.id) {
    r.readStates.push({ context: request.context, index: request.index });
    return;
  }
  r.send({
    type: 'ReadIndexResponse',
    to: request.from,
    readContext: request.context,
    readIndex: request.index,
    reject: false,
  });
}

export function handleReadIndexResponse(r: Raft, m: MessageOf<'ReadIndexResponse'>): void {
  if (!r.forwardedReads.delete(m.readContext)) return;
  if (m.reject) r.droppedReads.push(m.readContext);
  else r.readStates.push({ context: m.readContext, index: m.readIndex });
}

/** Leadership lost: local reads are dropped, forwarded ones rejected. */
export function dropLeaderReads(r: Raft): void {
  const pending = [...r.reads.reset(), ...r.barrierReads];
  r.barrierReads = [];
  for (const { from, context } of pending) {
    if (from === r.id) r.droppedReads.push(context);
    else r.send({ type: 'ReadIndexResponse', to: from, readContext: context, readIndex: 0, reject: true });
  }
}
