// Leader-side log replication (Raft §5.3, §5.4.2, §7): appends under the per-follower flow control of
// progress.ts, heartbeats, commit by quorum, snapshots for followers behind the compaction point, transfers.

import type { MessageOf } from './messages.js';
import type { Progress } from './progress.js';
import { committedIndex, voteResult } from './quorum.js';
import type { Raft } from './raft.js';
import { ackRead, onBarrierCommitted } from './reads.js';
import { assert, CompactedError, type NodeId } from './types.js';

/**
 * Sends the entries from the follower's next index (at most maxSizePerMessageBytes), or an empty append when
 * `sendIfEmpty`; a snapshot instead when those entries are compacted. Returns whether a message was sent.
 */
export function sendAppend(r: Raft, to: NodeId, sendIfEmpty: boolean): boolean {
  const pr = r.progress.get(to);
  if (!pr || to === r.id || pr.isPaused()) return false;
  const last = r.log.lastIndex();
  assert(pr.next <= last + 1, `progress of ${to}: next ${pr.next} > lastIndex + 1 ${last + 1}`);
  const prevLogIndex = pr.next - 1;
  let prevLogTerm: number;
  let entries: ReturnType<Raft['log']['slice']>;
  try {
    prevLogTerm = r.log.term(prevLogIndex);
    entries = r.log.slice(pr.next, last + 1, r.cfg.maxSizePerMessageBytes);
  } catch (error) {
    if (error instanceof CompactedError) return sendSnapshot(r, to, pr);
    throw error;
  }
  if (entries.length === 0 && !sendIfEmpty) return false;
  r.send({
    type: 'AppendEntries',
    to,
    prevLogIndex,
    prevLogTerm,
    entries,
    leaderCommit: r.log.committed,
    readContext: r.reads.latestSeq,
  });
  pr.sentEntries(entries.length, prevLogIndex + entries.length);
  pr.sentCommit = Math.max(pr.sentCommit, Math.min(r.log.committed, prevLogIndex + entries.length));
  return true;
}

/** Sends an empty append when the follower could adopt a newer commit index than any it was sent. */
function maybeSendCommit(r: Raft, to: NodeId): void {
  if (!r.cfg.broadcastCommit) return;
  const pr = r.progress.get(to);
  if (pr && pr.sentCommit < Math.min(r.log.committed, pr.next - 1)) sendAppend(r, to, true);
}

/** Sends new entries while the follower's window allows (bounded by the window plus one). */
function sendAppendLoop(r: Raft, to: NodeId): boolean {
  let sent = false;
  for (let i = 0; i <= r.cfg.maxInflightMessages && sendAppend(r, to, false); i++) sent = true;
  return sent;
}

function sendSnapshot(r: Raft, to: NodeId, pr: Progress): boolean {
  // A snapshot is large: send it only to a follower heard from in this CheckQuorum round.
  if (!pr.recentActive) return false;
  const snapshot = r.log.snapshot();
  const index = snapshot.metadata.index;
  assert(
    index >= r.log.firstIndex() - 1 && index > 0,
    `snapshot ${index} does not cover the compacted log (first index ${r.log.firstIndex()})`,
  );
  r.send({ type: 'InstallSnapshot', to, snapshot });
  pr.becomeSnapshot(index);
  return true;
}

/** Sends what ready() must carry: new entries to every follower, and the new commit index to those idle. */
export function flushAppends(r: Raft): void {
  if (r.role !== 'leader') return;
  if (r.appendPending || r.commitPending) {
    for (const id of sortedPeers(r)) {
      if (!sendAppendLoop(r, id)) maybeSendCommit(r, id);
    }
  }
  r.appendPending = false;
  r.commitPending = false;
  if (r.readRoundPending) bcastHeartbeat(r);
}

/** A heartbeat is an empty append at the follower's match index, which it holds durably (it matches). */
export function bcastHeartbeat(r: Raft): void {
  r.readRoundPending = false;
  for (const to of sortedPeers(r)) {
    const pr = r.progress.get(to)!;
    pr.tailProbeAllowed = true;
    const term = r.log.tryTerm(pr.match);
    const prevLogIndex = term === undefined ? 0 : pr.match;
    pr.sentCommit = Math.max(pr.sentCommit, Math.min(r.log.committed, prevLogIndex));
    r.send({
      type: 'AppendEntries',
      to,
      prevLogIndex,
      prevLogTerm: term ?? 0,
      entries: [],
      leaderCommit: r.log.committed,
      readContext: r.reads.latestSeq,
    });
  }
}

function sortedPeers(r: Raft): NodeId[] {
  return [...r.progress.keys()].filter((id) => id !== r.id).sort((a, b) => a - b);
}

export function handleAppendResponse(r: Raft, m: MessageOf<'AppendEntriesResponse'>): void {
  const pr = r.progress.get(m.from);
  if (!pr) return;
  pr.recentActive = true;
  ackRead(r, m.from, m.readContext);
  if (m.reject) handleReject(r, m, pr);
  else handleAccept(r, m, pr);
}

/** Raft §5.3 with fast backtracking: jump to the follower's hint instead of one index per round trip. */
function handleReject(r: Raft, m: MessageOf<'AppendEntriesResponse'>, pr: Progress): void {
  let nextProbe = m.rejectHint;
  if (m.rejectHintTerm > 0) nextProbe = r.log.findConflictByTerm(m.rejectHint, m.rejectHintTerm)[0];
  if (!pr.maybeDecrTo(m.index, nextProbe)) return;
  if (pr.state === 'replicate') pr.becomeProbe();
  sendAppend(r, m.from, true);
}

function handleAccept(r: Raft, m: MessageOf<'AppendEntriesResponse'>, pr: Progress): void {
  assert(
    m.index <= r.log.lastIndex(),
    `node ${m.from} acknowledged ${m.index} > lastIndex ${r.log.lastIndex()}`,
  );
  // Any answer shows the follower is reachable; a lost probe must not stall it.
  if (pr.state === 'probe') pr.probeSent = false;
  const updated = pr.maybeUpdate(m.index);
  if (updated || (pr.state === 'probe' && pr.match === m.index)) {
    advanceState(r, pr, m.index);
  } else if (pr.state === 'replicate' && pr.inflights.full()) {
    // Appends may have been lost with the window full; let one through so a gap shows up as a rejection.
    pr.inflights.freeFirstOne();
  }
  if (updated) maybeCommit(r);
  if (!sendAppendLoop(r, m.from)) {
    if (updated) maybeSendCommit(r, m.from);
    else maybeProbeTail(r, m.from, pr);
  }
  if (m.from === r.leadTransferee && pr.match === r.log.lastIndex()) sendTimeoutNow(r, m.from);
}

/**
 * Everything was sent but the follower is still behind: the last appends may have been lost, and a heartbeat
 * (sent at the match index) cannot show it. An empty append at the end of the log does (etcd sends one per
 * heartbeat answer); at most one per heartbeat round.
 */
function maybeProbeTail(r: Raft, to: NodeId, pr: Progress): void {
  const last = r.log.lastIndex();
  if (pr.state !== 'replicate' || !pr.tailProbeAllowed || pr.match >= last || pr.next <= last) return;
  pr.tailProbeAllowed = false;
  sendAppend(r, to, true);
}

function advanceState(r: Raft, pr: Progress, index: number): void {
  if (pr.state === 'probe') {
    pr.becomeReplicate();
  } else if (pr.state === 'snapshot') {
    // The follower has caught up past the compaction point: continue from its log.
    if (pr.match + 1 >= r.log.firstIndex()) {
      pr.becomeProbe();
      pr.becomeReplicate();
    }
  } else {
    pr.inflights.freeLE(index);
  }
}

export function handleSnapshotResponse(r: Raft, m: MessageOf<'InstallSnapshotResponse'>): void {
  const pr = r.progress.get(m.from);
  if (!pr) return;
  pr.recentActive = true;
  if (m.reject) {
    reportSnapshot(r, m.from, false);
    return;
  }
  assert(
    m.snapshotIndex <= r.log.lastIndex(),
    `snapshot ${m.snapshotIndex} beyond lastIndex ${r.log.lastIndex()}`,
  );
  const updated = pr.maybeUpdate(m.snapshotIndex);
  if (pr.state !== 'replicate') {
    pr.becomeProbe();
    pr.becomeReplicate();
  }
  if (updated) maybeCommit(r);
  sendAppendLoop(r, m.from);
}

/** The runtime finished (ok) or gave up (not ok) sending a snapshot; wait for an answer before probing. */
export function reportSnapshot(r: Raft, id: NodeId, ok: boolean): void {
  const pr = r.progress.get(id);
  if (r.role !== 'leader' || !pr || pr.state !== 'snapshot') return;
  if (!ok) pr.pendingSnapshot = 0;
  pr.becomeProbe();
  pr.probeSent = true;
}

/** The runtime could not reach `id`: stop pipelining to it until it answers. */
export function reportUnreachable(r: Raft, id: NodeId): void {
  const pr = r.progress.get(id);
  if (r.role === 'leader' && pr?.state === 'replicate') pr.becomeProbe();
}

/** Raft §5.4.2: the commit index moves to what a majority matched, only onto an entry of the current term. */
export function maybeCommit(r: Raft): boolean {
  const matches = [...r.membership.voters].map((id) => r.progress.get(id)?.match ?? 0);
  const wasBarrierCommitted = r.barrierCommitted();
  if (!r.log.maybeCommit(committedIndex(matches), r.term)) return false;
  r.commitPending = true;
  if (!wasBarrierCommitted) onBarrierCommitted(r);
  stepDownIfRemoved(r);
  return true;
}

/**
 * Thesis §4.2.2: a leader removed from the membership leads it (without counting itself, taking no proposals)
 * until the change commits, then steps down, handing over to a voter that holds its whole log.
 */
function stepDownIfRemoved(r: Raft): void {
  if (r.isVoter() || r.log.committed < r.confLog.lastChangeIndex()) return;
  const last = r.log.lastIndex();
  const target = [...r.membership.voters]
    .sort((a, b) => a - b)
    .find((id) => r.progress.get(id)?.match === last);
  if (target !== undefined) sendTimeoutNow(r, target);
  r.becomeFollower(r.term, 0);
}

/** CheckQuorum: whether a quorum was heard from since the last round; starts the next round. */
export function quorumActive(r: Raft): boolean {
  const votes = new Map<NodeId, boolean>();
  for (const [id, pr] of r.progress) {
    if (id === r.id || pr.recentActive) votes.set(id, true);
    if (id !== r.id) pr.recentActive = false;
  }
  return voteResult(r.membership.voters, votes) === 'won';
}

export function sendTimeoutNow(r: Raft, to: NodeId): void {
  r.send({ type: 'TimeoutNow', to });
}

/** Thesis §3.10: bring the target up to date, then TimeoutNow; proposals are refused meanwhile. */
export function transferLeadership(r: Raft, target: NodeId): void {
  if (target === r.id || target === r.leadTransferee || !r.progress.has(target)) return;
  r.leadTransferee = target;
  // The transfer is aborted if it has not finished within an election timeout (see tickLeader).
  r.electionElapsed = 0;
  const pr = r.progress.get(target)!;
  if (pr.match === r.log.lastIndex()) sendTimeoutNow(r, target);
  else sendAppend(r, target, true);
}
