// The Raft state machine (etcd raft.go): roles, terms, ticks and the term rules every message passes through.
// Per-message behaviour lives in election.ts, replication.ts, follower.ts and reads.ts. Pure and synchronous.

import type { RaftConfig } from './config.js';
import { campaign, handleVoteRequest, handleVoteResponse } from './election.js';
import { handleAppendEntries, handleInstallSnapshot } from './follower.js';
import { isEmptyMembership, type Membership, membershipFromConfState } from './membership.js';
import { MembershipLog } from './membership-log.js';
import type { Message, MessageBody, MessageOf, MessageType } from './messages.js';
import { Progress } from './progress.js';
import { RaftLog } from './raft-log.js';
import { ReadIndexTracker } from './read-index.js';
import {
  dropLeaderReads,
  handleReadIndexRequest,
  handleReadIndexResponse,
  rejectReadIndexRequest,
  releaseReads,
} from './reads.js';
import {
  bcastHeartbeat,
  handleAppendResponse,
  handleSnapshotResponse,
  maybeCommit,
  quorumActive,
} from './replication.js';
import { assert, type Entry, EntryType, type NodeId, type Storage } from './types.js';

export type Role = 'follower' | 'pre-candidate' | 'candidate' | 'leader';

/** A confirmed linearizable read: serve it once entries up to `index` are applied. */
export interface ReadState {
  readonly context: number;
  readonly index: number;
}

type Handler<T extends MessageType> = (r: Raft, m: MessageOf<T>) => void;
type Handlers = { readonly [T in MessageType]?: Handler<T> };

export class Raft {
  readonly id: NodeId;
  readonly log: RaftLog;
  term = 0;
  /** The candidate voted for in `term`, 0 when none. */
  vote: NodeId = 0;
  /** The leader of `term` as far as this node knows, 0 when unknown. */
  lead: NodeId = 0;
  role: Role = 'follower';
  /** Memberships by log index; the current one is in force (changes take effect when appended, §4.1). */
  readonly confLog: MembershipLog;
  /** Leader only: one entry per voter and learner, including itself. */
  readonly progress = new Map<NodeId, Progress>();
  /** Candidates: the votes received in the current (pre-)election. */
  readonly votes = new Map<NodeId, boolean>();
  electionElapsed = 0;
  heartbeatElapsed = 0;
  randomizedElectionTimeout = 0;
  /** Leader: the target of a leadership transfer in progress, 0 when none. */
  leadTransferee: NodeId = 0;
  /** Leader: the index of its latest membership change (or its no-op); a new one waits until it commits. */
  pendingConfIndex = 0;
  /** Leader: payload bytes of entries appended in this term and not yet handed out for apply. */
  uncommittedBytes = 0;
  /** Leader: new entries or a new commit index wait to be sent at the next ready(). */
  appendPending = false;
  commitPending = false;
  /** Leader: a ReadIndex heartbeat round waits to be sent at the next ready(). */
  readRoundPending = false;
  /** Leader: reads confirmed by a heartbeat round to a quorum. */
  readonly reads: ReadIndexTracker;
  /** Leader: reads that wait for the term's no-op to commit (thesis §6.4 step 1). */
  barrierReads: { readonly from: NodeId; readonly context: number }[] = [];
  /** Follower: contexts of reads forwarded to the leader and not answered yet. */
  readonly forwardedReads = new Set<number>();
  /** Confirmed reads waiting for the applied index to reach theirs. */
  readStates: ReadState[] = [];
  /** Contexts of reads that will never be confirmed (leadership lost, rejected); drained by each Ready. */
  droppedReads: number[] = [];
  droppedMessageCount = 0;
  private outbox: Message[] = [];

  constructor(
    readonly cfg: RaftConfig,
    storage: Storage,
  ) {
    this.id = cfg.id;
    this.log = new RaftLog(storage);
    this.reads = new ReadIndexTracker(cfg.maxPendingReads);
    const { hardState, confState, addresses } = storage.initialState();
    const membership = membershipFromConfState(confState, addresses);
    assert(typeof membership !== 'string', `storage membership is malformed: ${String(membership)}`);
    assert(
      isEmptyMembership(membership) || this.log.firstIndex() > 1,
      'a membership must come from a snapshot at index >= 1 (bootstrap with a snapshot, not with index 0)',
    );
    const snapshotIndex = storage.snapshot().metadata.index;
    // The runtime restores the state machine from that snapshot before applying what follows it.
    this.log.startAt(snapshotIndex);
    this.confLog = this.loadMembership(membership, snapshotIndex);
    this.log.onAppend = (entries) => this.onLogAppend(entries);
    this.loadHardState(hardState.term, hardState.vote, hardState.commit);
    this.becomeFollower(this.term, 0);
  }

  /**
   * The snapshot's membership, then every ConfChange entry persisted after the snapshot: only those entries when
   * the storage lists their indexes, otherwise a scan of the whole tail.
   */
  private loadMembership(snapshotMembership: Membership, snapshotIndex: number): MembershipLog {
    const confLog = new MembershipLog(snapshotMembership, snapshotIndex);
    const lo = snapshotIndex + 1;
    const hi = this.log.lastIndex() + 1;
    const storage = this.log.storage;
    if (storage.confChangeIndexes === undefined) {
      this.scanMembership(confLog, lo, hi);
    } else {
      // At start-up nothing is unstable: storage holds the whole log, so the hint covers all of [lo, hi).
      assert(
        this.log.unstable.offset === hi,
        `unstable offset ${this.log.unstable.offset} at start-up, last ${hi - 1}`,
      );
      this.loadHintedMembership(confLog, storage.confChangeIndexes(lo, hi), lo, hi);
    }
    return confLog;
  }

  private scanMembership(confLog: MembershipLog, lo: number, hi: number): void {
    while (lo < hi) {
      const entries = this.log.slice(lo, hi, this.cfg.maxCommittedSizePerReadyBytes);
      confLog.append(entries);
      lo = entries.at(-1)!.index + 1;
    }
  }

  /** Reads only the hinted entries; a hint that is not an ascending list of ConfChange entries in range crashes. */
  private loadHintedMembership(
    confLog: MembershipLog,
    indexes: readonly number[],
    lo: number,
    hi: number,
  ): void {
    let previous = lo - 1;
    for (const index of indexes) {
      assert(
        Number.isSafeInteger(index) && index > previous && index < hi,
        `confChangeIndexes(${lo}, ${hi}): ${index} is not ascending in range (after ${previous})`,
      );
      const [entry] = this.log.slice(index, index + 1, this.cfg.maxCommittedSizePerReadyBytes);
      assert(
        entry !== undefined && entry.index === index && entry.type === EntryType.ConfChange,
        `confChangeIndexes(${lo}, ${hi}) lists ${index}, but its entry has type ${entry?.type} (index ${entry?.index})`,
      );
      confLog.append([entry]);
      previous = index;
    }
  }

  /**
   * A hard state older than the snapshot (a crash between persisting the snapshot and the hard state) is
   * fine: the snapshot is committed. A commit index beyond the log means persisted entries were lost.
   */
  private loadHardState(term: number, vote: NodeId, commit: number): void {
    const last = this.log.lastIndex();
    assert(commit <= last, `hard state commit ${commit} > lastIndex ${last}: the log lost entries`);
    this.term = term;
    this.vote = vote;
    this.log.commitTo(commit);
  }

  // ---- outgoing messages ----

  /** Queues a message for the next Ready, stamped with this node's id and (unless given) its term. */
  send(body: MessageBody): void {
    if (this.outbox.length >= this.cfg.maxQueuedMessages) {
      this.droppedMessageCount++;
      return;
    }
    // `body` is a fresh literal owned by this call: stamping it in place avoids a copy per message.
    const m = body as unknown as { from: NodeId; term: number | undefined };
    m.from = this.id;
    m.term ??= this.term;
    this.outbox.push(body as Message);
  }

  hasMessages(): boolean {
    return this.outbox.length > 0;
  }

  takeMessages(): Message[] {
    const out = this.outbox;
    this.outbox = [];
    return out;
  }

  // ---- roles ----

  get membership(): Membership {
    return this.confLog.current();
  }

  isVoter(): boolean {
    return this.membership.voters.has(this.id);
  }

  /**
   * Can campaign: a voter with no snapshot waiting to be persisted. A voter just removed by an uncommitted
   * change still campaigns, without counting its own vote (thesis §4.2.2): the remaining voters may need it
   * to get the change committed (e.g. a two-node cluster whose leader removed itself and crashed).
   */
  promotable(): boolean {
    if (this.log.hasPendingSnapshot()) return false;
    if (this.isVoter()) return true;
    return this.log.committed < this.confLog.lastChangeIndex() && this.confLog.previous().voters.has(this.id);
  }

  becomeFollower(term: number, lead: NodeId): void {
    this.reset(term);
    this.lead = lead;
    this.role = 'follower';
  }

  becomePreCandidate(): void {
    assert(this.role !== 'leader', `node ${this.id}: leader cannot become pre-candidate`);
    // Thesis §9.6: a PreVote changes neither the term nor the vote.
    this.votes.clear();
    this.lead = 0;
    this.role = 'pre-candidate';
  }

  becomeCandidate(): void {
    assert(this.role !== 'leader', `node ${this.id}: leader cannot become candidate`);
    this.reset(this.term + 1);
    this.vote = this.id;
    this.role = 'candidate';
  }

  becomeLeader(): void {
    assert(this.role === 'candidate', `node ${this.id}: only a candidate becomes leader (is ${this.role})`);
    this.reset(this.term);
    this.lead = this.id;
    this.role = 'leader';
    this.initProgress();
    // Absent when this leader was removed by an uncommitted change (it leads without counting itself).
    const self = this.progress.get(this.id);
    self?.becomeReplicate();
    if (self) self.recentActive = true;
    // No membership change before an entry of this term commits: the fix to the single-server change bug
    // (Ongaro, raft-dev 2015), and it orders any change after those of earlier leaders.
    this.pendingConfIndex = this.appendAsLeader([{ type: EntryType.Noop, data: new Uint8Array(0) }]);
  }

  private reset(term: number): void {
    if (term !== this.term) {
      assert(term > this.term, `node ${this.id}: term must not go back from ${this.term} to ${term}`);
      this.term = term;
      this.vote = 0;
    }
    if (this.role === 'leader') dropLeaderReads(this);
    this.dropForwardedReads();
    this.lead = 0;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.randomizedElectionTimeout =
      this.cfg.electionTimeoutTicks + this.cfg.random.nextInt(this.cfg.electionTimeoutTicks);
    this.leadTransferee = 0;
    this.votes.clear();
    this.progress.clear();
    this.pendingConfIndex = 0;
    this.uncommittedBytes = 0;
    this.appendPending = false;
    this.commitPending = false;
    this.readRoundPending = false;
  }

  private dropForwardedReads(): void {
    for (const context of this.forwardedReads) this.droppedReads.push(context);
    this.forwardedReads.clear();
  }

  /** Leader: one progress per member; itself matched up to what it has persisted. */
  private initProgress(): void {
    const next = this.log.lastIndex() + 1;
    for (const id of this.membership.voters) this.addProgress(id, next, false);
    for (const id of this.membership.learners) this.addProgress(id, next, true);
    this.progress.get(this.id)?.maybeUpdate(this.log.persistedIndex());
  }

  private addProgress(id: NodeId, next: number, isLearner: boolean): void {
    this.progress.set(id, new Progress(next, this.cfg.maxInflightMessages, isLearner));
  }

  /** Leader: appends entries of the current term; returns the last index. Flow control is the caller's. */
  appendAsLeader(drafts: readonly { type: EntryType; data: Uint8Array }[]): number {
    assert(this.role === 'leader', `node ${this.id}: only the leader appends proposals`);
    const last = this.log.lastIndex();
    const entries: Entry[] = drafts.map((d, i) => ({
      term: this.term,
      index: last + 1 + i,
      type: d.type,
      data: d.data,
    }));
    for (const e of entries) this.uncommittedBytes += e.data.byteLength;
    this.log.append(entries);
    this.appendPending = true;
    return last + entries.length;
  }

  // ---- ticks ----

  tick(): void {
    if (this.role === 'leader') this.tickLeader();
    else this.tickElection();
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      campaign(this, this.cfg.preVote ? 'pre-election' : 'election');
    }
  }

  private tickLeader(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.cfg.electionTimeoutTicks) {
      this.electionElapsed = 0;
      if (!quorumActive(this) && this.cfg.checkQuorum) {
        this.becomeFollower(this.term, 0);
        return;
      }
      // Thesis §3.10: a transfer that did not finish within an election timeout is aborted.
      this.leadTransferee = 0;
    }
    if (this.heartbeatElapsed >= this.cfg.heartbeatTimeoutTicks) {
      this.heartbeatElapsed = 0;
      bcastHeartbeat(this);
    }
  }

  // ---- incoming messages ----

  /** Applies the term rules (Raft §5.1, PreVote, leader stickiness), then the role's handler. */
  step(m: Message): void {
    if (m.term > this.term) {
      if (!this.acceptHigherTerm(m)) return;
    } else if (m.term < this.term) {
      this.answerLowerTerm(m);
      return;
    }
    const common = commonHandlers[m.type] as Handler<MessageType> | undefined;
    if (common) {
      common(this, m);
      return;
    }
    const handler = roleHandlers[this.role][m.type] as Handler<MessageType> | undefined;
    handler?.(this, m);
  }

  /** Returns false when the message must be ignored. */
  private acceptHigherTerm(m: Message): boolean {
    if (m.type === 'VoteRequest') {
      const inLease =
        this.cfg.checkQuorum && this.lead !== 0 && this.electionElapsed < this.cfg.electionTimeoutTicks;
      // Leader stickiness: a voter that heard from a live leader within the election timeout ignores votes.
      if (inLease && !m.transfer) return false;
      // Never change the term for a PreVote.
      if (m.preVote) return true;
    }
    // A granted PreVote answer carries the term we would campaign in.
    if (m.type === 'VoteResponse' && m.preVote && m.granted) return true;
    const fromLeader = m.type === 'AppendEntries' || m.type === 'InstallSnapshot';
    this.becomeFollower(m.term, fromLeader ? m.from : 0);
    return true;
  }

  private answerLowerTerm(m: Message): void {
    if ((this.cfg.checkQuorum || this.cfg.preVote) && m.type === 'AppendEntries') {
      // A stale leader (e.g. one that was partitioned away) learns the newer term from the answer and steps
      // down; without it, with PreVote/CheckQuorum, nobody would raise its term.
      this.send({
        type: 'AppendEntriesResponse',
        to: m.from,
        reject: true,
        index: m.prevLogIndex,
        rejectHint: 0,
        rejectHintTerm: 0,
        readContext: 0,
      });
    } else if (m.type === 'VoteRequest' && m.preVote) {
      this.send({ type: 'VoteResponse', to: m.from, preVote: true, granted: false });
    }
  }

  // ---- membership ----

  /** Every append (and truncation) may change the membership in force. */
  private onLogAppend(entries: readonly Entry[]): void {
    if (this.confLog.append(entries)) this.membershipChanged();
  }

  /** A snapshot replaced the log: its membership is in force. */
  restoreMembership(membership: Membership, index: number): void {
    this.confLog.restore(membership, index);
    this.membershipChanged();
  }

  private membershipChanged(): void {
    if (this.role !== 'leader') return;
    this.syncProgress();
    if (this.leadTransferee !== 0 && !this.membership.voters.has(this.leadTransferee))
      this.leadTransferee = 0;
    maybeCommit(this);
    releaseReads(this);
    this.appendPending = true;
  }

  private syncProgress(): void {
    const next = this.log.lastIndex() + 1;
    for (const id of [...this.progress.keys()]) {
      if (!this.membership.voters.has(id) && !this.membership.learners.has(id)) this.progress.delete(id);
    }
    for (const [ids, isLearner] of [
      [this.membership.voters, false],
      [this.membership.learners, true],
    ] as const) {
      for (const id of ids) {
        const pr = this.progress.get(id);
        if (pr) pr.isLearner = isLearner;
        else {
          this.addProgress(id, next, isLearner);
          this.progress.get(id)!.recentActive = true;
        }
      }
    }
  }

  /** Leader: whether an entry of its own term is committed (the no-op barrier). */
  barrierCommitted(): boolean {
    return this.role === 'leader' && this.log.tryTerm(this.log.committed) === this.term;
  }
}

const commonHandlers: Handlers = {
  VoteRequest: handleVoteRequest,
  ReadIndexResponse: handleReadIndexResponse,
};

/** AppendEntries and InstallSnapshot come from the leader of the current term: follow it. */
function followLeader(r: Raft, m: MessageOf<'AppendEntries' | 'InstallSnapshot'>): void {
  if (r.role !== 'follower') r.becomeFollower(m.term, m.from);
  r.lead = m.from;
  r.electionElapsed = 0;
}

const onAppendEntries: Handler<'AppendEntries'> = (r, m) => {
  followLeader(r, m);
  handleAppendEntries(r, m);
};

const onInstallSnapshot: Handler<'InstallSnapshot'> = (r, m) => {
  followLeader(r, m);
  handleInstallSnapshot(r, m);
};

const followerHandlers: Handlers = {
  AppendEntries: onAppendEntries,
  InstallSnapshot: onInstallSnapshot,
  TimeoutNow: (r) => campaign(r, 'transfer'),
  ReadIndexRequest: rejectReadIndexRequest,
};

const candidateHandlers: Handlers = {
  AppendEntries: onAppendEntries,
  InstallSnapshot: onInstallSnapshot,
  VoteResponse: handleVoteResponse,
  ReadIndexRequest: rejectReadIndexRequest,
};

function twoLeaders(r: Raft, m: Message): void {
  assert(false, `node ${r.id} leads term ${r.term} but node ${m.from} sent ${m.type} in the same term`);
}

const leaderHandlers: Handlers = {
  AppendEntriesResponse: handleAppendResponse,
  InstallSnapshotResponse: handleSnapshotResponse,
  ReadIndexRequest: handleReadIndexRequest,
  AppendEntries: twoLeaders,
  InstallSnapshot: twoLeaders,
};

const roleHandlers: Readonly<Record<Role, Handlers>> = {
  follower: followerHandlers,
  'pre-candidate': candidateHandlers,
  candidate: candidateHandlers,
  leader: leaderHandlers,
};
