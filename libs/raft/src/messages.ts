// The peer-to-peer protocol messages of the core, one interface per body of `RaftMessage` in
// proto/regent/raft/v1/raft.proto. The runtime maps them field by field (numbers ↔ uint64 bigints).

import type { Entry, NodeId, Snapshot } from './types.js';

/** Set on every message. `term` is the sender's term (for a PreVote request: the term it would campaign in). */
export interface MessageHeader {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
}

/** RequestVote (Raft §5.2) or PreVote (thesis §9.6). Maps to `VoteRequest`. */
export interface VoteRequestMessage extends MessageHeader {
  readonly type: 'VoteRequest';
  readonly preVote: boolean;
  readonly lastLogIndex: number;
  readonly lastLogTerm: number;
  /** True when the vote is part of a leadership transfer: voters ignore leader stickiness. */
  readonly transfer: boolean;
}

/** Maps to `VoteResponse`. A granted PreVote carries the request's (future) term, a rejection the voter's term. */
export interface VoteResponseMessage extends MessageHeader {
  readonly type: 'VoteResponse';
  readonly preVote: boolean;
  readonly granted: boolean;
}

/**
 * AppendEntries (Raft §5.3); a heartbeat is one with no entries. Maps to `AppendEntriesRequest`.
 * Holds: `entries[i].index === prevLogIndex + 1 + i`, terms non-decreasing, each `>= prevLogTerm` and `<= term`.
 */
export interface AppendEntriesMessage extends MessageHeader {
  readonly type: 'AppendEntries';
  readonly prevLogIndex: number;
  readonly prevLogTerm: number;
  readonly entries: readonly Entry[];
  readonly leaderCommit: number;
  /** The leader's latest ReadIndex round (0 when none); echoed in the response. */
  readonly readContext: number;
}

/** Maps to `AppendEntriesResponse`. */
export interface AppendEntriesResponseMessage extends MessageHeader {
  readonly type: 'AppendEntriesResponse';
  readonly reject: boolean;
  /** On success: the last index known to match the leader. On rejection: the rejected `prevLogIndex`. */
  readonly index: number;
  /** On rejection: the largest index that may match (fast backtracking); 0 on success. */
  readonly rejectHint: number;
  /** On rejection: the term at `rejectHint` in the follower's log (0 when unknown). */
  readonly rejectHintTerm: number;
  readonly readContext: number;
}

/**
 * InstallSnapshot (Raft §7) with the whole snapshot; the runtime chunks it into `InstallSnapshotRequest`s on the
 * wire and reassembles it before stepping this message.
 */
export interface InstallSnapshotMessage extends MessageHeader {
  readonly type: 'InstallSnapshot';
  readonly snapshot: Snapshot;
}

/**
 * The receiver's answer once the snapshot is restored (maps to `InstallSnapshotResponse` with `installed: true`,
 * or `reject: true`). A receiver that already holds the snapshot's entries answers with an AppendEntriesResponse.
 */
export interface InstallSnapshotResponseMessage extends MessageHeader {
  readonly type: 'InstallSnapshotResponse';
  readonly snapshotIndex: number;
  readonly reject: boolean;
}

/** Leadership transfer (thesis §3.10): the target campaigns at once. Maps to `TimeoutNow`. */
export interface TimeoutNowMessage extends MessageHeader {
  readonly type: 'TimeoutNow';
}

/** A follower forwards a ReadIndex request to its leader (thesis §6.4). Maps to `ReadIndexRequest`. */
export interface ReadIndexRequestMessage extends MessageHeader {
  readonly type: 'ReadIndexRequest';
  readonly readContext: number;
}

/** Maps to `ReadIndexResponse`. `readIndex` is 0 when rejected. */
export interface ReadIndexResponseMessage extends MessageHeader {
  readonly type: 'ReadIndexResponse';
  readonly readContext: number;
  readonly readIndex: number;
  readonly reject: boolean;
}

export type Message =
  | VoteRequestMessage
  | VoteResponseMessage
  | AppendEntriesMessage
  | AppendEntriesResponseMessage
  | InstallSnapshotMessage
  | InstallSnapshotResponseMessage
  | TimeoutNowMessage
  | ReadIndexRequestMessage
  | ReadIndexResponseMessage;

export type MessageType = Message['type'];

/** The message of one type. */
export type MessageOf<T extends MessageType> = Extract<Message, { type: T }>;

/** A message without its header, as built by the core before `from`/`term` are stamped. */
export type MessageBody<T extends MessageType = MessageType> = T extends MessageType
  ? Omit<MessageOf<T>, 'from' | 'term'> & { readonly term?: number }
  : never;
