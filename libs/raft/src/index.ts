// @regent/raft: the Raft consensus algorithm as a pure, synchronous state machine (etcd RawNode style).

export { bootstrapSnapshot } from './bootstrap.js';
export { decodeConfChange, encodeConfChange, maxConfChangeContextBytes } from './conf-change-codec.js';
export { defaultRaftConfig, type RaftConfig, type RaftConfigInput, resolveRaftConfig } from './config.js';
export {
  ConfChangeInProgressError,
  type DropReason,
  InvalidConfChangeError,
  InvalidMessageError,
  InvalidRequestError,
  NotLeaderError,
  OverloadedError,
  type OverloadReason,
  ProposalDroppedError,
  RaftError,
} from './errors.js';
export {
  applyConfChange,
  checkConfChange,
  emptyMembership,
  type Membership,
  membershipFromConfState,
  toConfState,
} from './membership.js';
export type {
  AppendEntriesMessage,
  AppendEntriesResponseMessage,
  InstallSnapshotMessage,
  InstallSnapshotResponseMessage,
  Message,
  MessageHeader,
  MessageOf,
  MessageType,
  ReadIndexRequestMessage,
  ReadIndexResponseMessage,
  TimeoutNowMessage,
  VoteRequestMessage,
  VoteResponseMessage,
} from './messages.js';
export type { ProgressState } from './progress.js';
export type { Proposal } from './proposals.js';
export { committedIndex, quorumSize, type VoteResult, voteResult } from './quorum.js';
export type { ReadState, Role } from './raft.js';
export { entryOverheadBytes, entrySizeBytes } from './raft-log.js';
export {
  type BasicStatus,
  createRaftNode,
  type MembershipState,
  type ProgressStatus,
  type RaftNode,
  type Ready,
  type SoftState,
  type Status,
} from './raw-node.js';
export {
  AssertionError,
  assert,
  CompactedError,
  type ConfChange,
  ConfChangeType,
  type ConfState,
  type Entry,
  EntryType,
  type HardState,
  type NodeId,
  type Random,
  type Snapshot,
  type SnapshotMetadata,
  type Storage,
  UnavailableError,
} from './types.js';
export { validateMessage } from './validate-message.js';
