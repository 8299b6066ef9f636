// The public face of the core (etcd RawNode): inputs are ticks, peer messages and client requests; the output
// is a Ready batch that the runtime persists, sends and applies before calling advance().

import { type RaftConfigInput, resolveRaftConfig } from './config.js';
import { campaign } from './election.js';
import { InvalidRequestError, NotLeaderError } from './errors.js';
import { type Membership, toConfState } from './membership.js';
import type { Message } from './messages.js';
import type { ProgressState } from './progress.js';
import { type Proposal, propose, proposeConfChange } from './proposals.js';
import { Raft, type ReadState, type Role } from './raft.js';
import { requestRead } from './reads.js';
import {
  flushAppends,
  maybeCommit,
  reportSnapshot,
  reportUnreachable,
  transferLeadership,
} from './replication.js';
import {
  assert,
  type ConfChange,
  type ConfState,
  type Entry,
  type HardState,
  type NodeId,
  type Snapshot,
  type Storage,
} from './types.js';
import { validateMessage } from './validate-message.js';

/** Volatile state the runtime may want to react to (leader changes). */
export interface SoftState {
  readonly leader: NodeId;
  readonly role: Role;
}

/**
 * One batch of work for the runtime. The contract, in this order:
 *
 * 1. **Persist** durably (fsync when `mustSync`): first `snapshot` (replaces the log), then `entries` (an entry
 *    at index i replaces every persisted entry at >= i), then `hardState`. Never the hard state first: its
 *    commit index may refer to entries or the snapshot of this same Ready.
 * 2. **Send** `messages` (after updating the transport's peers from `membership` when present). Votes and
 *    append acknowledgements promise what step 1 persisted, so they must not leave before it completes;
 *    putting them in the same Ready is what orders them. Exception: when `sendBeforePersist` is true (a
 *    leader whose term and vote are already durable) the messages may leave before or while step 1 runs, so
 *    the leader's disk write overlaps its followers' (Raft thesis §10.2.1). That is safe because the leader
 *    counts its own entries towards a commit only at `advance()`, after they are durable, and nothing in
 *    these messages promises the leader's own persistence.
 * 3. **Apply**: restore the state machine from `snapshot` if present, then apply `committedEntries` in order
 *    (ConfChange entries need nothing: the core applied them when appended), then serve `readStates` (each
 *    one's index is applied by then) and fail the reads in `droppedReads`.
 * 4. Call **`advance(ready)`**, and only then `ready()` again. `step`/`tick`/`propose` may be called between
 *    `ready()` and `advance()`; what they produce goes into the next Ready.
 */
export interface Ready {
  /** Present when the leader or the role changed. */
  readonly softState: SoftState | undefined;
  /** Present when term, vote or commit changed. */
  readonly hardState: HardState | undefined;
  /**
   * Present when the membership in force changed (a ConfChange appended or truncated away, a snapshot
   * restored): update the transport's peers from it before sending `messages`. Keep the addresses of removed
   * nodes for a while: a node removed by an uncommitted change may still campaign and need answers.
   */
  readonly membership: MembershipState | undefined;
  readonly entries: readonly Entry[];
  /** A snapshot received from the leader. */
  readonly snapshot: Snapshot | undefined;
  readonly messages: readonly Message[];
  readonly committedEntries: readonly Entry[];
  readonly readStates: readonly ReadState[];
  /** Contexts of reads that will never be confirmed (leadership changed); retry them elsewhere. */
  readonly droppedReads: readonly number[];
  /** Entries, a snapshot, or term/vote changed: the writes of step 1 must be fsynced. */
  readonly mustSync: boolean;
  /**
   * The messages may be sent before step 1 completes: this node is the leader, no snapshot arrives, and term and
   * vote are as already persisted. Only the fsync is overlapped; apply still waits for it.
   */
  readonly sendBeforePersist: boolean;
}

export interface ProgressStatus {
  readonly match: number;
  readonly next: number;
  readonly state: ProgressState;
  readonly isLearner: boolean;
  readonly recentActive: boolean;
  readonly inflightCount: number;
  readonly pendingSnapshot: number;
}

/** The cheap part of Status (no per-follower progress, no membership copy). */
export interface BasicStatus {
  readonly id: NodeId;
  readonly role: Role;
  readonly term: number;
  readonly vote: NodeId;
  readonly leader: NodeId;
  readonly commit: number;
  readonly applied: number;
  readonly firstIndex: number;
  readonly lastIndex: number;
  /** Leader: an entry of its term (the no-op) is committed, so it may serve reads and membership changes. */
  readonly leaderBarrierCommitted: boolean;
  /** Leader: the target of a leadership transfer in progress, 0 when none. */
  readonly leadTransferee: NodeId;
  readonly uncommittedBytes: number;
  /** Messages dropped because the queue for the next Ready was full (maxQueuedMessages). */
  readonly droppedMessageCount: number;
}

export interface Status extends BasicStatus {
  /** The membership in force (the latest in the log, thesis §4.1). */
  readonly confState: ConfState;
  /** Leader: every member's replication progress (itself included); empty otherwise. */
  readonly progress: ReadonlyMap<NodeId, ProgressStatus>;
}

/** A membership with the nodes' addresses (ConfChange contexts). */
export interface MembershipState {
  readonly confState: ConfState;
  readonly addresses: ReadonlyMap<NodeId, string>;
}

export interface RaftNode {
  readonly id: NodeId;
  /** Advances logical time by one tick (heartbeats, election timeouts, CheckQuorum, transfer timeout). */
  tick(): void;
  /** Feeds a peer message; throws InvalidMessageError when it is malformed (drop it). */
  step(message: Message): void;
  /** Starts an election now (with a PreVote round when configured); ignored when not promotable. */
  campaign(): void;
  /** Leader: appends a command. Throws NotLeaderError, OverloadedError or ProposalDroppedError. */
  propose(data: Uint8Array): Proposal;
  /** Leader: appends a membership change; also ConfChangeInProgressError and InvalidConfChangeError. */
  proposeConfChange(change: ConfChange): Proposal;
  /** Starts a linearizable read; its ReadState (or a drop) arrives in a later Ready. */
  readIndex(context: number): void;
  /** Leader: hands leadership to the voter `target` (TimeoutNow once it is caught up). */
  transferLeadership(target: NodeId): void;
  /** The transport could not deliver to `id`. */
  reportUnreachable(id: NodeId): void;
  /** The transport finished (ok) or failed sending a snapshot to `id`. */
  reportSnapshot(id: NodeId, ok: boolean): void;
  hasReady(): boolean;
  ready(): Ready;
  advance(ready: Ready): void;
  status(): Status;
  basicStatus(): BasicStatus;
  /** The membership in force: the latest in the log, committed or not (the transport's peer set). */
  membership(): MembershipState;
  /** The membership as of the applied index: what a snapshot taken at that index must record. */
  appliedMembership(): MembershipState;
}

/**
 * Creates a node over what `storage` holds. It reads `storage.snapshot().metadata` once: the runtime restores
 * its state machine from that snapshot, and `committedEntries` continue right after it. Throws
 * InvalidRequestError for a bad config; an inconsistent storage (commit beyond the log) is an AssertionError.
 */
export function createRaftNode(config: RaftConfigInput, storage: Storage): RaftNode {
  return new RawNode(new Raft(resolveRaftConfig(config), storage));
}

class RawNode implements RaftNode {
  readonly id: NodeId;
  private prevSoftState: SoftState;
  private prevHardState: HardState;
  private prevMembership: Membership;
  /** The membership object a Ready reported, to compare against once it is advanced. */
  private membershipAtReady: Membership;
  private outstanding: Ready | undefined;

  constructor(private readonly r: Raft) {
    this.id = r.id;
    this.prevSoftState = softStateOf(r);
    this.prevHardState = hardStateOf(r);
    this.prevMembership = r.membership;
    this.membershipAtReady = r.membership;
  }

  tick(): void {
    this.r.tick();
  }

  step(message: Message): void {
    validateMessage(message, this.r.id);
    this.r.step(message);
  }

  campaign(): void {
    campaign(this.r, this.r.cfg.preVote ? 'pre-election' : 'election');
  }

  propose(data: Uint8Array): Proposal {
    return propose(this.r, data);
  }

  proposeConfChange(change: ConfChange): Proposal {
    return proposeConfChange(this.r, change);
  }

  readIndex(context: number): void {
    if (!Number.isSafeInteger(context) || context < 0)
      throw new InvalidRequestError(`bad read context ${context}`);
    requestRead(this.r, context);
  }

  transferLeadership(target: NodeId): void {
    if (this.r.role !== 'leader') throw new NotLeaderError(this.r.lead);
    if (!this.r.membership.voters.has(target))
      throw new InvalidRequestError(`transfer target ${target} is not a voter`);
    transferLeadership(this.r, target);
  }

  reportUnreachable(id: NodeId): void {
    reportUnreachable(this.r, id);
  }

  reportSnapshot(id: NodeId, ok: boolean): void {
    reportSnapshot(this.r, id, ok);
  }

  /** Whether ready() has work (it may queue pending appends first). Always false between ready() and advance(). */
  hasReady(): boolean {
    if (this.outstanding) return false;
    const r = this.r;
    flushAppends(r);
    return (
      !sameSoftState(softStateOf(r), this.prevSoftState) ||
      !sameHardState(hardStateOf(r), this.prevHardState) ||
      r.membership !== this.prevMembership ||
      r.log.unstable.entries.length > 0 ||
      r.log.hasPendingSnapshot() ||
      r.hasMessages() ||
      r.log.hasNextCommittedEntries() ||
      r.droppedReads.length > 0 ||
      r.readStates.some((s) => s.index <= r.log.applied)
    );
  }

  ready(): Ready {
    assert(this.outstanding === undefined, 'ready() called again before advance()');
    const r = this.r;
    flushAppends(r);
    const softState = softStateOf(r);
    const hardState = hardStateOf(r);
    const entries = [...r.log.unstable.entries];
    const snapshot = r.log.unstable.snapshot;
    const committedEntries = r.log.nextCommittedEntries(r.cfg.maxCommittedSizePerReadyBytes);
    const appliedAfter = committedEntries.at(-1)?.index ?? snapshot?.metadata.index ?? r.log.applied;
    const termAndVoteDurable =
      hardState.term === this.prevHardState.term && hardState.vote === this.prevHardState.vote;
    const ready: Ready = {
      softState: sameSoftState(softState, this.prevSoftState) ? undefined : softState,
      hardState: sameHardState(hardState, this.prevHardState) ? undefined : hardState,
      membership: r.membership === this.prevMembership ? undefined : membershipState(r.membership),
      entries,
      snapshot,
      messages: r.takeMessages(),
      committedEntries,
      readStates: takeReadStates(r, appliedAfter),
      droppedReads: r.droppedReads.splice(0, r.droppedReads.length),
      mustSync: entries.length > 0 || snapshot !== undefined || !termAndVoteDurable,
      sendBeforePersist: r.role === 'leader' && snapshot === undefined && termAndVoteDurable,
    };
    this.membershipAtReady = r.membership;
    this.outstanding = ready;
    return ready;
  }

  advance(ready: Ready): void {
    assert(ready === this.outstanding, 'advance() must be given the Ready returned by the last ready()');
    this.outstanding = undefined;
    const r = this.r;
    if (ready.softState) this.prevSoftState = ready.softState;
    if (ready.hardState) this.prevHardState = ready.hardState;
    if (ready.membership) this.prevMembership = this.membershipAtReady;
    if (ready.snapshot) {
      r.log.stableSnapTo(ready.snapshot.metadata.index);
      r.log.appliedTo(Math.max(r.log.applied, ready.snapshot.metadata.index));
    }
    const lastEntry = ready.entries.at(-1);
    if (lastEntry) {
      r.log.stableTo(lastEntry.index, lastEntry.term);
      this.leaderPersisted();
    }
    const lastCommitted = ready.committedEntries.at(-1);
    if (lastCommitted) {
      r.log.appliedTo(lastCommitted.index);
      let bytes = 0;
      for (const e of ready.committedEntries) bytes += e.data.byteLength;
      r.uncommittedBytes = Math.max(0, r.uncommittedBytes - bytes);
    }
    r.confLog.compactTo(r.log.applied);
  }

  /** The leader's own entries count towards the quorum once persisted (never before: see Ready). */
  private leaderPersisted(): void {
    const self = this.r.role === 'leader' ? this.r.progress.get(this.r.id) : undefined;
    if (self?.maybeUpdate(this.r.log.persistedIndex())) maybeCommit(this.r);
  }

  basicStatus(): BasicStatus {
    const r = this.r;
    return {
      id: r.id,
      role: r.role,
      term: r.term,
      vote: r.vote,
      leader: r.lead,
      commit: r.log.committed,
      applied: r.log.applied,
      firstIndex: r.log.firstIndex(),
      lastIndex: r.log.lastIndex(),
      leaderBarrierCommitted: r.barrierCommitted(),
      leadTransferee: r.leadTransferee,
      uncommittedBytes: r.uncommittedBytes,
      droppedMessageCount: r.droppedMessageCount,
    };
  }

  status(): Status {
    const r = this.r;
    const progress = new Map<NodeId, ProgressStatus>();
    for (const [id, pr] of r.progress) {
      progress.set(id, {
        match: pr.match,
        next: pr.next,
        state: pr.state,
        isLearner: pr.isLearner,
        recentActive: pr.recentActive,
        inflightCount: pr.inflights.count,
        pendingSnapshot: pr.pendingSnapshot,
      });
    }
    return { ...this.basicStatus(), confState: toConfState(r.membership), progress };
  }

  membership(): MembershipState {
    return membershipState(this.r.membership);
  }

  appliedMembership(): MembershipState {
    return membershipState(this.r.confLog.at(this.r.log.applied));
  }
}

function membershipState(m: Membership): MembershipState {
  return { confState: toConfState(m), addresses: new Map(m.addresses) };
}

function takeReadStates(r: Raft, appliedAfter: number): ReadState[] {
  const ready = r.readStates.filter((s) => s.index <= appliedAfter);
  if (ready.length > 0) r.readStates = r.readStates.filter((s) => s.index > appliedAfter);
  return ready;
}

function softStateOf(r: Raft): SoftState {
  return { leader: r.lead, role: r.role };
}

function hardStateOf(r: Raft): HardState {
  return { term: r.term, vote: r.vote, commit: r.log.committed };
}

function sameSoftState(a: SoftState, b: SoftState): boolean {
  return a.leader === b.leader && a.role === b.role;
}

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}
