// Follower-side handling of the leader's AppendEntries (Raft §5.3) and InstallSnapshot (§7).

import { membershipFromConfState } from './membership.js';
import type { MessageOf } from './messages.js';
import type { Raft } from './raft.js';
import type { Snapshot } from './types.js';

export function handleAppendEntries(r: Raft, m: MessageOf<'AppendEntries'>): void {
  if (m.prevLogIndex < r.log.committed) {
    // Everything up to our commit index matches the leader's log (Leader Completeness).
    answer(r, m, false, r.log.committed, 0, 0);
    return;
  }
  const lastNew = r.log.maybeAppend(m.prevLogIndex, m.prevLogTerm, m.leaderCommit, m.entries);
  if (lastNew !== undefined) {
    answer(r, m, false, lastNew, 0, 0);
    return;
  }
  // Fast backtracking: the largest index whose term is <= prevLogTerm cannot be matched by anything above it
  // in the leader's log either, so the leader can skip straight to it.
  const hintIndex = Math.min(m.prevLogIndex, r.log.lastIndex());
  const [rejectHint, rejectHintTerm] = r.log.findConflictByTerm(hintIndex, m.prevLogTerm);
  answer(r, m, true, m.prevLogIndex, rejectHint, rejectHintTerm);
}

function answer(
  r: Raft,
  m: MessageOf<'AppendEntries'>,
  reject: boolean,
  index: number,
  rejectHint: number,
  rejectHintTerm: number,
): void {
  r.send({
    type: 'AppendEntriesResponse',
    to: m.from,
    reject,
    index,
    rejectHint,
    rejectHintTerm,
    readContext: m.readContext,
  });
}

export function handleInstallSnapshot(r: Raft, m: MessageOf<'InstallSnapshot'>): void {
  const index = m.snapshot.metadata.index;
  if (restore(r, m.snapshot)) {
    r.send({ type: 'InstallSnapshotResponse', to: m.from, snapshotIndex: index, reject: false });
    return;
  }
  r.send({
    type: 'AppendEntriesResponse',
    to: m.from,
    reject: false,
    index: r.log.committed,
    rejectHint: 0,
    rejectHintTerm: 0,
    readContext: 0,
  });
}

/**
 * Replaces the log with the snapshot unless the log already holds its last entry (then only commits up to it).
 * The membership becomes the snapshot's, whether or not it includes this node (a joining node's first
 * snapshot may predate its addition; it learns it from the entries that follow).
 */
function restore(r: Raft, snapshot: Snapshot): boolean {
  const { index, term, confState } = snapshot.metadata;
  if (index <= r.log.committed) return false;
  if (r.log.matchTerm(index, term)) {
    r.log.commitTo(index);
    return false;
  }
  const membership = membershipFromConfState(confState, snapshot.metadata.addresses);
  if (typeof membership === 'string') return false;
  r.log.restore(snapshot);
  r.restoreMembership(membership, index);
  return true;
}
