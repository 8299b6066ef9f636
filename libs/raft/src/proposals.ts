// Leader-side admission of proposals: leadership, leadership transfer, one membership change at a time, and the
// flow-control bounds (uncommitted entries and bytes) that turn overload into a typed error instead of growth.

import { encodeConfChange } from './conf-change-codec.js';
import {
  ConfChangeInProgressError,
  InvalidConfChangeError,
  NotLeaderError,
  OverloadedError,
  ProposalDroppedError,
} from './errors.js';
import { checkConfChange } from './membership.js';
import type { Raft } from './raft.js';
import { type ConfChange, EntryType } from './types.js';

/** Where a proposal was appended; it is committed if the entry applied at `index` has this `term`. */
export interface Proposal {
  readonly index: number;
  readonly term: number;
}

export function propose(r: Raft, data: Uint8Array): Proposal {
  admit(r, data.byteLength);
  return { index: r.appendAsLeader([{ type: EntryType.Normal, data }]), term: r.term };
}

export function proposeConfChange(r: Raft, change: ConfChange): Proposal {
  checkLeader(r);
  // Thesis §4.1: one change at a time; the next waits until the previous one (or the term's no-op) commits.
  if (r.pendingConfIndex > r.log.committed) {
    throw new ConfChangeInProgressError(r.pendingConfIndex, r.log.committed);
  }
  const reason = checkConfChange(r.membership, change);
  if (reason !== undefined) throw new InvalidConfChangeError(reason);
  const data = encodeConfChange(change);
  admit(r, data.byteLength);
  const index = r.appendAsLeader([{ type: EntryType.ConfChange, data }]);
  r.pendingConfIndex = index;
  return { index, term: r.term };
}

function checkLeader(r: Raft): void {
  if (r.role !== 'leader') throw new NotLeaderError(r.lead);
  if (!r.isVoter()) throw new ProposalDroppedError('not-a-member');
  if (r.leadTransferee !== 0) throw new ProposalDroppedError('leadership-transfer');
}

function admit(r: Raft, bytes: number): void {
  checkLeader(r);
  const pending = r.log.lastIndex() - r.log.committed;
  if (pending + 1 > r.cfg.maxPendingProposals) {
    throw new OverloadedError('pending-proposals', r.cfg.maxPendingProposals);
  }
  // As in etcd: one entry may exceed the bound when nothing is uncommitted, so large entries still get through.
  const limit = r.cfg.maxUncommittedEntriesBytes;
  if (bytes > 0 && r.uncommittedBytes > 0 && r.uncommittedBytes + bytes > limit) {
    throw new OverloadedError('uncommitted-bytes', limit);
  }
}
