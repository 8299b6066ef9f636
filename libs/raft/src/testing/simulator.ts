// A deterministic simulator: N nodes on MemoryStorage in one process, a seeded network that drops, delays,
// duplicates, reorders and partitions messages, crashes that lose everything not persisted, client proposals,
// reads, membership changes and compaction. After every step it checks the Raft safety properties; after the
// faults heal it checks that a leader is elected and every acknowledged proposal survives on every member.
// All randomness comes from one seed: the same seed replays exactly.

import type { Message } from '../messages.js';
import type { RaftNode, Ready } from '../raw-node.js';
import { createRaftNode } from '../raw-node.js';
import {
  type ConfChange,
  ConfChangeType,
  type Entry,
  EntryType,
  type NodeId,
  type Snapshot,
} from '../types.js';
import { MemoryStorage } from './memory-storage.js';
import { createSeededRandom, type SeededRandom } from './random.js';

export interface SimulationOptions {
  readonly seed: number;
  /** Record a readable trace of the run (slower); printed on failure. */
  readonly trace?: boolean;
  /** With `trace`, also record every message delivered or lost (very verbose). */
  readonly traceMessages?: boolean;
}

/** The shape of one run, drawn from the seed. */
export interface SimulationPlan {
  readonly nodeCount: number;
  readonly faultTicks: number;
  readonly dropRate: number;
  readonly duplicateRate: number;
  readonly maxDelayUnits: number;
  readonly crashRate: number;
  readonly partitionRate: number;
  readonly proposalRate: number;
  readonly readRate: number;
  readonly membershipChanges: boolean;
  /** Snapshot after this many applied entries (0: never). */
  readonly snapshotEvery: number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  /** A leader sends its Ready's messages before persisting when the Ready allows it (as the runtime does). */
  readonly sendBeforePersist: boolean;
  /** RaftConfig.broadcastCommit: followers learn a commit at once, or with the next append or heartbeat. */
  readonly broadcastCommit: boolean;
}

export interface SimulationResult {
  readonly seed: number;
  readonly plan: SimulationPlan;
  readonly ticks: number;
  readonly leaderTerms: number;
  readonly acknowledged: number;
  readonly readsServed: number;
  readonly snapshotsInstalled: number;
  readonly membershipChangesApplied: number;
  readonly crashes: number;
}

export class SimulationError extends Error {
  override readonly name = 'SimulationError';
  constructor(
    readonly seed: number,
    readonly time: number,
    detail: string,
    readonly trace: readonly string[],
  ) {
    super(`seed ${seed} failed at time ${time}: ${detail}`);
  }
}

/** Time units per tick; message delays are counted in units, so messages arrive between and across ticks. */
const unitsPerTick = 4;
const electionTimeoutTicks = 10;
/** After the faults heal, a leader must be elected and everything replicated within these bounds. */
export const leaderBoundTicks = 20 * electionTimeoutTicks;
const convergeBoundTicks = 60 * electionTimeoutTicks;
const maxNodes = 7;
const traceLimit = 400;

export function planFor(seed: number): SimulationPlan {
  const rand = createSeededRandom(seed ^ 0x5eed);
  const calm = rand.chance(0.15);
  return {
    nodeCount: rand.pick([1, 3, 3, 3, 5, 5]),
    faultTicks: 150 + rand.nextInt(250),
    dropRate: calm ? 0 : rand.pick([0, 0.02, 0.05, 0.15, 0.3]),
    duplicateRate: calm ? 0 : rand.pick([0, 0.01, 0.05]),
    maxDelayUnits: rand.pick([1, 2, 4, 8, 16]),
    crashRate: calm ? 0 : rand.pick([0, 0.002, 0.01]),
    partitionRate: calm ? 0 : rand.pick([0, 0.005, 0.02]),
    proposalRate: rand.pick([0.05, 0.2, 0.5]),
    readRate: rand.pick([0, 0.02, 0.1]),
    membershipChanges: rand.chance(0.35),
    snapshotEvery: rand.pick([0, 0, 3, 8, 20]),
    preVote: rand.chance(0.85),
    checkQuorum: rand.chance(0.85),
    sendBeforePersist: rand.chance(0.7),
    broadcastCommit: rand.chance(0.5),
  };
}

interface SimNode {
  readonly id: NodeId;
  readonly storage: MemoryStorage;
  raft: RaftNode | undefined;
  /** Ticks happen when (time + phase) % unitsPerTick === 0: nodes' clocks are not in lockstep. */
  readonly phase: number;
  commands: string[];
  commandSet: Set<string>;
  /** The state machine's applied index: each applied entry must be the next one (no gap, no repeat). */
  appliedIndex: number;
  restartAt: number;
  /** Proposals this node accepted as leader and not yet resolved, by index. */
  readonly proposals: Map<number, { id: string; term: number }>;
  /** Reads started on this node: context → acknowledged proposals at the time the read started. */
  readonly reads: Map<number, readonly string[]>;
}

interface Flight {
  readonly message: Message;
  readonly at: number;
  /** A lost snapshot still travels, so that its sender learns the failure (as a real transport reports it). */
  readonly lost: boolean;
}

export function runSimulation(options: SimulationOptions): SimulationResult {
  const trace = options.trace ?? false;
  return new Simulation(
    options.seed,
    planFor(options.seed),
    trace,
    trace && (options.traceMessages ?? false),
  ).run();
}

/** Runs a seed; on failure re-runs it with tracing and throws a SimulationError that carries the trace. */
export function checkSeed(seed: number, traceMessages = false): SimulationResult {
  try {
    return runSimulation({ seed });
  } catch (error) {
    try {
      runSimulation({ seed, trace: true, traceMessages });
    } catch (traced) {
      if (traced instanceof SimulationError) throw traced;
    }
    throw error;
  }
}

class Simulation {
  private readonly rand: SeededRandom;
  private readonly nodes = new Map<NodeId, SimNode>();
  private flights: Flight[] = [];
  private time = 0;
  private nextNodeId: NodeId;
  /** Links cut in both directions, as "a-b" with a < b. */
  private readonly cuts = new Set<string>();
  private dropRate: number;
  private duplicateRate: number;
  private readonly traceLines: string[] = [];
  // ---- safety bookkeeping ----
  private readonly leaderOfTerm = new Map<number, NodeId>();
  /** (index, term) → the entry's content and the term before it: the Log Matching property, incrementally. */
  private readonly entryAt = new Map<string, { key: string; prevTerm: number }>();
  /** index → the entry applied there (State Machine Safety). */
  private readonly appliedAt = new Map<number, string>();
  private maxAppliedIndex = 0;
  private readonly acknowledged: { id: string; index: number }[] = [];
  private readonly acknowledgedIds: string[] = [];
  private proposalCount = 0;
  private readCount = 0;
  private readsServed = 0;
  private snapshotsInstalled = 0;
  private membershipApplied = 0;
  private crashes = 0;

  constructor(
    private readonly seed: number,
    private readonly plan: SimulationPlan,
    private readonly tracing: boolean,
    private readonly traceMessages: boolean,
  ) {
    this.rand = createSeededRandom(seed);
    this.dropRate = plan.dropRate;
    this.duplicateRate = plan.duplicateRate;
    const voters = Array.from({ length: plan.nodeCount }, (_, i) => i + 1);
    for (const id of voters) this.startNode(id, MemoryStorage.bootstrap({ voters }));
    this.nextNodeId = plan.nodeCount + 1;
  }

  run(): SimulationResult {
    try {
      const faultEnd = this.plan.faultTicks * unitsPerTick;
      while (this.time < faultEnd) this.step(true);
      this.heal();
      this.awaitLeader();
      this.awaitConvergence();
    } catch (error) {
      if (error instanceof SimulationError) throw error;
      const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
      throw new SimulationError(this.seed, this.time, detail, this.traceLines);
    }
    return {
      seed: this.seed,
      plan: this.plan,
      ticks: Math.floor(this.time / unitsPerTick),
      leaderTerms: this.leaderOfTerm.size,
      acknowledged: this.acknowledged.length,
      readsServed: this.readsServed,
      snapshotsInstalled: this.snapshotsInstalled,
      membershipChangesApplied: this.membershipApplied,
      crashes: this.crashes,
    };
  }

  // ---- the step loop ----

  private step(faults: boolean): void {
    if (faults) this.injectFaults();
    this.clientRequests();
    this.deliverDue();
    for (const node of this.nodes.values()) {
      if (node.raft && (this.time + node.phase) % unitsPerTick === 0) node.raft.tick();
    }
    for (const id of this.shuffledIds()) this.processReady(this.nodes.get(id)!, faults);
    this.restartDue();
    this.checkLeaders();
    this.time++;
  }

  private shuffledIds(): NodeId[] {
    const ids = [...this.nodes.keys()];
    for (let i = ids.length - 1; i > 0; i--) {
      const j = this.rand.nextInt(i + 1);
      [ids[i], ids[j]] = [ids[j]!, ids[i]!];
    }
    return ids;
  }

  private startNode(id: NodeId, storage: MemoryStorage): SimNode {
    const node: SimNode = {
      id,
      storage,
      raft: undefined,
      phase: this.rand.nextInt(unitsPerTick),
      commands: [],
      commandSet: new Set(),
      appliedIndex: 0,
      restartAt: 0,
      proposals: new Map(),
      reads: new Map(),
    };
    this.nodes.set(id, node);
    this.boot(node);
    return node;
  }

  /** (Re)creates the volatile part from what the node persisted. */
  private boot(node: SimNode): void {
    node.raft = createRaftNode(
      {
        id: node.id,
        random: this.rand.fork(),
        electionTimeoutTicks,
        heartbeatTimeoutTicks: 1,
        maxSizePerMessageBytes: 256,
        maxInflightMessages: 4,
        maxPendingProposals: 64,
        maxPendingReads: 16,
        preVote: this.plan.preVote,
        checkQuorum: this.plan.checkQuorum,
        broadcastCommit: this.plan.broadcastCommit,
      },
      node.storage,
    );
    this.restoreStateMachine(node, node.storage.snapshot());
    this.trace(`${node.id} boot term=${node.storage.hardStateNow().term} last=${node.storage.lastIndex()}`);
  }

  private restoreStateMachine(node: SimNode, snapshot: Snapshot): void {
    node.commands = snapshot.data.length === 0 ? [] : (JSON.parse(decode(snapshot.data)) as string[]);
    node.commandSet = new Set(node.commands);
    node.appliedIndex = snapshot.metadata.index;
  }

  // ---- Ready processing: persist, send, apply, advance (a crash may cut in anywhere) ----

  private processReady(node: SimNode, faults: boolean): void {
    const raft = node.raft;
    if (!raft?.hasReady()) return;
    const ready = raft.ready();
    const crashPoint = faults && this.rand.chance(this.plan.crashRate) ? this.rand.nextInt(6) : -1;
    // A leader may send before persisting (Ready.sendBeforePersist); a crash can then fall between the two.
    const early = this.plan.sendBeforePersist && ready.sendBeforePersist;
    if (early) {
      for (const m of ready.messages) this.send(m);
      if (this.crashAt(crashPoint, 5, node, 'after sending, before persisting')) return;
    }
    if (ready.snapshot) node.storage.applySnapshot(ready.snapshot);
    if (this.crashAt(crashPoint, 0, node, 'after persisting the snapshot')) return;
    node.storage.append(ready.entries);
    this.checkAppended(node, ready.entries);
    if (this.crashAt(crashPoint, 1, node, 'after persisting entries')) return;
    if (ready.hardState) node.storage.setHardState(ready.hardState);
    if (this.crashAt(crashPoint, 2, node, 'after persisting the hard state')) return;
    if (!early) for (const m of ready.messages) this.send(m);
    if (this.crashAt(crashPoint, 3, node, 'after sending')) return;
    this.apply(node, ready);
    if (this.crashAt(crashPoint, 4, node, 'after applying')) return;
    raft.advance(ready);
    if (ready.softState?.role === 'leader') this.checkLeaderCompleteness(node);
    this.maybeCompact(node);
  }

  private apply(node: SimNode, ready: Ready): void {
    if (ready.snapshot) {
      this.restoreStateMachine(node, ready.snapshot);
      this.snapshotsInstalled++;
      this.trace(`${node.id} restored snapshot ${ready.snapshot.metadata.index}`);
    }
    for (const e of ready.committedEntries) this.applyEntry(node, e);
    for (const read of ready.readStates) this.serveRead(node, read.context);
    for (const context of ready.droppedReads) node.reads.delete(context);
  }

  private applyEntry(node: SimNode, e: Entry): void {
    this.require(
      e.index === node.appliedIndex + 1,
      () => `${node.id} applied ${e.index} after ${node.appliedIndex}`,
    );
    node.appliedIndex = e.index;
    const key = entryKey(e);
    const seen = this.appliedAt.get(e.index);
    if (seen === undefined) this.appliedAt.set(e.index, key);
    else
      this.require(
        seen === key,
        () => `state machine safety: ${node.id} applied ${key} at ${e.index}, other ${seen}`,
      );
    this.maxAppliedIndex = Math.max(this.maxAppliedIndex, e.index);
    if (e.type === EntryType.Normal) {
      const command = decode(e.data);
      node.commands.push(command);
      node.commandSet.add(command);
    }
    if (e.type === EntryType.ConfChange) this.membershipApplied++;
    const proposal = node.proposals.get(e.index);
    if (!proposal) return;
    node.proposals.delete(e.index);
    if (e.type === EntryType.Normal && e.term === proposal.term && decode(e.data) === proposal.id) {
      this.acknowledged.push({ id: proposal.id, index: e.index });
      this.acknowledgedIds.push(proposal.id);
      this.trace(`${node.id} acknowledged ${proposal.id} at ${e.index}`);
    }
  }

  /** Linearizable read: everything acknowledged before the read started is in the state machine. */
  private serveRead(node: SimNode, context: number): void {
    const before = node.reads.get(context);
    if (!before) return;
    node.reads.delete(context);
    for (const id of before) {
      this.require(
        node.commandSet.has(id),
        () => `stale read on ${node.id}: ${id} acknowledged before read ${context}`,
      );
    }
    this.readsServed++;
  }

  private maybeCompact(node: SimNode): void {
    const every = this.plan.snapshotEvery;
    const raft = node.raft;
    if (every === 0 || !raft) return;
    const applied = raft.basicStatus().applied;
    const snapshotIndex = node.storage.snapshot().metadata.index;
    if (applied - snapshotIndex < every || applied > node.storage.hardStateNow().commit) return;
    node.storage.createSnapshot(applied, raft.appliedMembership(), encode(JSON.stringify(node.commands)));
    node.storage.compact(Math.max(node.storage.firstIndex() - 1, applied - this.rand.nextInt(3)));
    this.trace(`${node.id} snapshot at ${applied}, first index now ${node.storage.firstIndex()}`);
  }

  /** Crashes `node` when the drawn crash point is `point`; returns whether it did. */
  private crashAt(drawn: number, point: number, node: SimNode, when: string): boolean {
    if (drawn !== point) return false;
    this.crash(node, when);
    return true;
  }

  private crash(node: SimNode, when: string): void {
    node.raft = undefined;
    node.proposals.clear();
    node.reads.clear();
    node.restartAt = this.time + unitsPerTick * (1 + this.rand.nextInt(3 * electionTimeoutTicks));
    this.crashes++;
    this.trace(`${node.id} CRASH ${when}`);
  }

  private restartDue(): void {
    for (const node of this.nodes.values()) {
      if (!node.raft && node.restartAt <= this.time && !this.isRemoved(node.id)) this.boot(node);
    }
  }

  // ---- network ----

  private send(m: Message): void {
    const lost = this.rand.chance(this.dropRate);
    if (lost && m.type !== 'InstallSnapshot') return;
    const copies = !lost && this.rand.chance(this.duplicateRate) ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      this.flights.push({ message: m, at: this.time + 1 + this.rand.nextInt(this.plan.maxDelayUnits), lost });
    }
  }

  private deliverDue(): void {
    const due = this.flights.filter((f) => f.at <= this.time);
    if (due.length === 0) return;
    this.flights = this.flights.filter((f) => f.at > this.time);
    for (const flight of due) this.deliver(flight);
  }

  /** Delivers a message; the sender of a snapshot learns whether it arrived (the runtime's reportSnapshot). */
  private deliver({ message: m, lost }: Flight): void {
    const target = this.nodes.get(m.to)?.raft;
    const arrives = !lost && target !== undefined && !this.cuts.has(linkKey(m.from, m.to));
    if (arrives) target.step(m);
    if (this.traceMessages) this.trace(`${arrives ? 'deliver' : 'LOST'} ${describeMessage(m)}`);
    if (m.type === 'InstallSnapshot') this.nodes.get(m.from)?.raft?.reportSnapshot(m.to, arrives);
  }

  // ---- faults ----

  private injectFaults(): void {
    if (this.rand.chance(this.plan.partitionRate)) this.partition();
    if (this.cuts.size > 0 && this.rand.chance(this.plan.partitionRate * 2)) {
      this.cuts.clear();
      this.trace('partition healed');
    }
    if (this.rand.chance(this.plan.crashRate / 4)) {
      const node = this.nodes.get(this.rand.pick([...this.nodes.keys()]))!;
      if (node.raft) this.crash(node, 'while idle');
    }
  }

  private partition(): void {
    const ids = [...this.nodes.keys()];
    this.cuts.clear();
    const side = new Set(ids.filter(() => this.rand.chance(0.4)));
    for (const a of ids) {
      for (const b of ids) if (a < b && side.has(a) !== side.has(b)) this.cuts.add(linkKey(a, b));
    }
    this.trace(`partition {${[...side].join(',')}} from the rest`);
  }

  private heal(): void {
    this.cuts.clear();
    this.dropRate = 0;
    this.duplicateRate = 0;
    for (const node of this.nodes.values()) {
      if (!node.raft && !this.isRemoved(node.id)) this.boot(node);
    }
    this.trace('HEAL');
  }

  // ---- clients ----

  private clientRequests(): void {
    const leader = this.currentLeader();
    if (leader && this.rand.chance(this.plan.proposalRate)) this.propose(leader);
    if (leader && this.plan.membershipChanges && this.rand.chance(0.01)) this.changeMembership(leader);
    if (this.rand.chance(this.plan.readRate)) this.read();
  }

  private propose(leader: SimNode): void {
    const id = `p${++this.proposalCount}`;
    try {
      const { index, term } = leader.raft!.propose(encode(id));
      leader.proposals.set(index, { id, term });
    } catch (error) {
      this.require(
        error instanceof Error && error.name !== 'AssertionError',
        `propose failed: ${String(error)}`,
      );
    }
  }

  private read(): void {
    const live = [...this.nodes.values()].filter((n) => n.raft);
    if (live.length === 0) return;
    const node = this.rand.pick(live);
    const context = ++this.readCount;
    try {
      node.raft!.readIndex(context);
      node.reads.set(context, [...this.acknowledgedIds]);
    } catch (error) {
      this.require(
        error instanceof Error && error.name !== 'AssertionError',
        `readIndex failed: ${String(error)}`,
      );
    }
  }

  private changeMembership(leader: SimNode): void {
    const { voters, learners } = leader.raft!.membership().confState;
    const members = [...voters, ...learners];
    const options: ConfChange[] = [];
    if (members.length < maxNodes && this.nextNodeId <= 20) {
      options.push({
        type: ConfChangeType.AddLearner,
        nodeId: this.nextNodeId,
        context: `n${this.nextNodeId}`,
      });
      options.push({
        type: ConfChangeType.AddVoter,
        nodeId: this.nextNodeId,
        context: `n${this.nextNodeId}`,
      });
    }
    for (const id of learners) options.push({ type: ConfChangeType.PromoteLearner, nodeId: id, context: '' });
    if (voters.length > 1) {
      for (const id of members) options.push({ type: ConfChangeType.RemoveNode, nodeId: id, context: '' });
    }
    if (options.length === 0) return;
    const change = this.rand.pick(options);
    try {
      leader.raft!.proposeConfChange(change);
    } catch (error) {
      this.require(
        error instanceof Error && error.name !== 'AssertionError',
        `conf change failed: ${String(error)}`,
      );
      return;
    }
    this.trace(`${leader.id} proposed change ${change.type} of ${change.nodeId}`);
    if (!this.nodes.has(change.nodeId)) {
      this.startNode(change.nodeId, new MemoryStorage());
      this.nextNodeId = Math.max(this.nextNodeId, change.nodeId + 1);
    }
  }

  /** A removed node that learnt about its removal is shut down by its operator. */
  private isRemoved(id: NodeId): boolean {
    const leader = this.currentLeader();
    if (!leader) return false;
    const { voters, learners } = leader.raft!.membership().confState;
    return !voters.includes(id) && !learners.includes(id);
  }

  private currentLeader(): SimNode | undefined {
    let best: SimNode | undefined;
    let bestTerm = -1;
    for (const node of this.nodes.values()) {
      const s = node.raft?.basicStatus();
      if (s?.role === 'leader' && s.term > bestTerm) {
        best = node;
        bestTerm = s.term;
      }
    }
    return best;
  }

  // ---- liveness after healing ----

  private awaitLeader(): void {
    const deadline = this.time + leaderBoundTicks * unitsPerTick;
    while (this.time < deadline) {
      const leader = this.currentLeader();
      if (leader?.raft?.basicStatus().leaderBarrierCommitted) return;
      this.step(false);
    }
    this.require(
      false,
      () => `no leader with a barrier committed ${leaderBoundTicks} ticks after healing\n${this.describe()}`,
    );
  }

  /** A final proposal commits and every member applies everything acknowledged. */
  private awaitConvergence(): void {
    const deadline = this.time + convergeBoundTicks * unitsPerTick;
    let final: { node: SimNode; index: number } | undefined;
    while (this.time < deadline) {
      const leader = this.currentLeader();
      if (leader && !final) final = this.proposeFinal(leader);
      if (final && this.converged(final.index)) {
        this.checkAcknowledged();
        return;
      }
      if (final && !final.node.raft) final = undefined;
      this.step(false);
    }
    this.require(
      false,
      () => `members did not converge ${convergeBoundTicks} ticks after healing\n${this.describe()}`,
    );
  }

  private proposeFinal(leader: SimNode): { node: SimNode; index: number } | undefined {
    try {
      const { index, term } = leader.raft!.propose(encode('final'));
      leader.proposals.set(index, { id: 'final', term });
      return { node: leader, index };
    } catch {
      return undefined;
    }
  }

  private converged(finalIndex: number): boolean {
    const leader = this.currentLeader();
    if (!leader) return false;
    const status = leader.raft!.basicStatus();
    // Only once its no-op is committed does a leader's commit index cover everything committed before it.
    if (!status.leaderBarrierCommitted || status.applied < Math.max(finalIndex, status.commit)) return false;
    const { voters, learners } = leader.raft!.membership().confState;
    return [...voters, ...learners].every(
      (id) => (this.nodes.get(id)?.raft?.basicStatus().applied ?? 0) >= status.commit,
    );
  }

  private checkAcknowledged(): void {
    const leader = this.currentLeader()!;
    const { voters, learners } = leader.raft!.membership().confState;
    for (const id of [...voters, ...learners]) {
      const node = this.nodes.get(id)!;
      for (const ack of this.acknowledged) {
        this.require(
          node.commandSet.has(ack.id),
          () => `acknowledged ${ack.id} (index ${ack.index}) lost on node ${id}\n${this.describe()}`,
        );
      }
    }
  }

  /** Every node's state, for failure reports. */
  private describe(): string {
    const lines: string[] = [];
    for (const node of this.nodes.values()) {
      if (!node.raft) {
        lines.push(`${node.id}: down`);
        continue;
      }
      const s = node.raft.status();
      const progress = [...s.progress].map(
        ([id, p]) => `${id}:${p.state}/${p.match}/${p.next}${p.recentActive ? '' : '?'}`,
      );
      lines.push(
        `${s.id}: ${s.role} term=${s.term} lead=${s.leader} commit=${s.commit} applied=${s.applied} ` +
          `log=[${s.firstIndex},${s.lastIndex}] conf=${JSON.stringify(s.confState)} ${progress.join(' ')}`,
      );
    }
    return lines.join('\n');
  }

  // ---- safety checks ----

  /** Election Safety: at most one leader per term. */
  private checkLeaders(): void {
    for (const node of this.nodes.values()) {
      const s = node.raft?.basicStatus();
      if (s?.role !== 'leader') continue;
      const known = this.leaderOfTerm.get(s.term);
      if (known === undefined) {
        this.leaderOfTerm.set(s.term, s.id);
        this.trace(`${s.id} LEADER of term ${s.term}`);
      } else this.require(known === s.id, () => `two leaders in term ${s.term}: ${known} and ${s.id}`);
    }
  }

  /** Log Matching: an (index, term) pair always names the same entry after the same term. */
  private checkAppended(node: SimNode, entries: readonly Entry[]): void {
    for (const e of entries) {
      if (e.index <= node.storage.firstIndex() - 1) continue;
      const prevTerm = node.storage.term(e.index - 1);
      const at = `${e.index}:${e.term}`;
      const key = entryKey(e);
      const seen = this.entryAt.get(at);
      if (!seen) this.entryAt.set(at, { key, prevTerm });
      else {
        this.require(
          seen.key === key && seen.prevTerm === prevTerm,
          () =>
            `log matching: ${node.id} has ${key} after term ${prevTerm} at ${at}, other ${seen.key} after ${seen.prevTerm}`,
        );
      }
    }
  }

  /** Leader Completeness: a new leader's log holds every entry applied anywhere. */
  private checkLeaderCompleteness(node: SimNode): void {
    const index = this.maxAppliedIndex;
    const key = this.appliedAt.get(index);
    if (index === 0 || key === undefined || index < node.storage.firstIndex() - 1) return;
    this.require(index <= node.storage.lastIndex(), () => `leader ${node.id} lacks applied index ${index}`);
    const term = node.storage.term(index);
    this.require(
      key.startsWith(`${term}/`),
      () => `leader ${node.id} has term ${term} at applied ${index} (${key})`,
    );
  }

  /** `detail` is a function when building it is costly (it runs only on failure). */
  private require(condition: boolean, detail: string | (() => string)): asserts condition {
    if (condition) return;
    const text = typeof detail === 'string' ? detail : detail();
    throw new SimulationError(this.seed, this.time, text, this.traceLines);
  }

  private trace(line: string): void {
    if (!this.tracing) return;
    this.traceLines.push(`t=${this.time} ${line}`);
    if (this.traceLines.length > traceLimit) this.traceLines.shift();
  }
}

function linkKey(a: NodeId, b: NodeId): string {
  return a < b ? `${a}-${b}` : `${b}-${a}`;
}

function entryKey(e: Entry): string {
  return `${e.term}/${e.type}/${decode(e.data)}`;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function encode(text: string): Uint8Array {
  return encoder.encode(text);
}

function decode(data: Uint8Array): string {
  return decoder.decode(data);
}

function describeMessage(m: Message): string {
  const { type, from, to, term, ...rest } = m;
  const body = JSON.stringify(rest, (key, value) =>
    key === 'entries'
      ? (value as Entry[]).map((e) => `${e.index}@${e.term}`).join(',')
      : key === 'snapshot'
        ? '…'
        : value,
  );
  return `${from}->${to} ${type} t${term} ${body}`;
}

export interface SeedTotals {
  seeds: number;
  acknowledged: number;
  readsServed: number;
  snapshotsInstalled: number;
  membershipChangesApplied: number;
  crashes: number;
  leaderTerms: number;
}

/**
 * Runs seeds [from, to]; on the first failure throws an Error naming the seed, how to replay it
 * (RAFT_SIM_SEED=n) and the tail of its trace.
 */
export function runSeeds(from: number, to: number): SeedTotals {
  const totals: SeedTotals = {
    seeds: 0,
    acknowledged: 0,
    readsServed: 0,
    snapshotsInstalled: 0,
    membershipChangesApplied: 0,
    crashes: 0,
    leaderTerms: 0,
  };
  for (let seed = from; seed <= to; seed++) {
    const r = checkSeedWithReplayHint(seed);
    totals.seeds++;
    totals.acknowledged += r.acknowledged;
    totals.readsServed += r.readsServed;
    totals.snapshotsInstalled += r.snapshotsInstalled;
    totals.membershipChangesApplied += r.membershipChangesApplied;
    totals.crashes += r.crashes;
    totals.leaderTerms += r.leaderTerms;
  }
  return totals;
}

export function checkSeedWithReplayHint(seed: number, traceMessages = false): SimulationResult {
  try {
    return checkSeed(seed, traceMessages);
  } catch (error) {
    if (!(error instanceof SimulationError)) throw error;
    const trace = error.trace.slice(-150).join('\n');
    throw new Error(
      `${error.message}\nreplay: RAFT_SIM_SEED=${seed} npx vitest run src/simulator-a.spec.ts (in libs/raft; ` +
        `RAFT_SIM_TRACE_MESSAGES=1 traces every message)\n--- trace ---\n${trace}`,
    );
  }
}

/** Splits seeds 1..total into `parts` parts and each part into chunks of at most `chunkSize`: [from, to]. */
export function seedChunks(
  total: number,
  part: number,
  parts: number,
  chunkSize: number,
): [number, number][] {
  const per = Math.ceil(total / parts);
  const lo = part * per + 1;
  const hi = Math.min(total, (part + 1) * per);
  const chunks: [number, number][] = [];
  for (let from = lo; from <= hi; from += chunkSize) chunks.push([from, Math.min(hi, from + chunkSize - 1)]);
  return chunks;
}
