// A deterministic simulator: N nodes on MemoryStorage in one process, a seeded network that drops, delays,
// duplicates, reorders and partitions messages, crashes that lose everything not persisted, client proposals,
// reads, membership changes and compaction. After every step it checks the Raft safety properties; after the
// faults heal it checks that a leader is elected and every acknowledged proposal survives on every member.
// All randomness comes from one seed: the same seed replays exactly. This file holds the step loop and the
// nodes' Ready handling; the plan, network, safety checks, trace and seed runners have their own sim-* modules.

import type { Ready } from '../raw-node.js';
import { createRaftNode } from '../raw-node.js';
import { type ConfChange, ConfChangeType, type Entry, EntryType, type NodeId } from '../types.js';
import { MemoryStorage } from './memory-storage.js';
import { createSeededRandom, type SeededRandom } from './random.js';
import { SimNetwork } from './sim-network.js';
import { decode, describeNodes, encode, restoreStateMachine, type SimNode } from './sim-node.js';
import {
  convergeBoundTicks,
  electionTimeoutTicks,
  leaderBoundTicks,
  maxNodes,
  planFor,
  type SimulationPlan,
  unitsPerTick,
} from './sim-plan.js';
import { SafetyChecks } from './sim-safety.js';
import { SimTrace, SimulationError } from './sim-trace.js';

export interface SimulationOptions {
  readonly seed: number;
  /** Record a readable trace of the run (slower); printed on failure. */
  readonly trace?: boolean;
  /** With `trace`, also record every message delivered or lost (very verbose). */
  readonly traceMessages?: boolean;
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

export function runSimulation(options: SimulationOptions): SimulationResult {
  const trace = options.trace ?? false;
  return new Simulation(
    options.seed,
    planFor(options.seed),
    trace,
    trace && (options.traceMessages ?? false),
  ).run();
}

class Simulation {
  private readonly rand: SeededRandom;
  private readonly nodes = new Map<NodeId, SimNode>();
  private readonly network: SimNetwork;
  private time = 0;
  private nextNodeId: NodeId;
  private readonly trace: SimTrace;
  private readonly safety: SafetyChecks;
  private proposalCount = 0;
  private readCount = 0;
  private readsServed = 0;
  private snapshotsInstalled = 0;
  private membershipApplied = 0;
  private crashes = 0;

  constructor(
    private readonly seed: number,
    private readonly plan: SimulationPlan,
    tracing: boolean,
    traceMessages: boolean,
  ) {
    this.rand = createSeededRandom(seed);
    this.trace = new SimTrace(seed, tracing, () => this.time);
    this.safety = new SafetyChecks(this.nodes, this.trace);
    this.network = new SimNetwork({
      rand: this.rand,
      nodes: this.nodes,
      trace: this.trace,
      traceMessages,
      now: () => this.time,
      dropRate: plan.dropRate,
      duplicateRate: plan.duplicateRate,
      maxDelayUnits: plan.maxDelayUnits,
      partitionRate: plan.partitionRate,
    });
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
      throw new SimulationError(this.seed, this.time, detail, this.trace.lines);
    }
    return {
      seed: this.seed,
      plan: this.plan,
      ticks: Math.floor(this.time / unitsPerTick),
      leaderTerms: this.safety.leaderTerms,
      acknowledged: this.safety.acknowledgedCount,
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
    this.network.deliverDue();
    for (const node of this.nodes.values()) {
      if (node.raft && (this.time + node.phase) % unitsPerTick === 0) node.raft.tick();
    }
    for (const id of this.shuffledIds()) this.processReady(this.nodes.get(id)!, faults);
    this.restartDue();
    this.safety.checkLeaders();
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
        preVoteTieBreak: this.plan.preVoteTieBreak,
      },
      node.storage,
    );
    restoreStateMachine(node, node.storage.snapshot());
    this.trace.add(
      `${node.id} boot term=${node.storage.hardStateNow().term} last=${node.storage.lastIndex()}`,
    );
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
      for (const m of ready.messages) this.network.send(m);
      if (this.crashAt(crashPoint, 5, node, 'after sending, before persisting')) return;
    }
    if (ready.snapshot) node.storage.applySnapshot(ready.snapshot);
    if (this.crashAt(crashPoint, 0, node, 'after persisting the snapshot')) return;
    node.storage.append(ready.entries);
    this.safety.checkAppended(node, ready.entries);
    if (this.crashAt(crashPoint, 1, node, 'after persisting entries')) return;
    if (ready.hardState) node.storage.setHardState(ready.hardState);
    if (this.crashAt(crashPoint, 2, node, 'after persisting the hard state')) return;
    if (!early) for (const m of ready.messages) this.network.send(m);
    if (this.crashAt(crashPoint, 3, node, 'after sending')) return;
    this.apply(node, ready);
    if (this.crashAt(crashPoint, 4, node, 'after applying')) return;
    raft.advance(ready);
    if (ready.softState?.role === 'leader') this.safety.checkLeaderCompleteness(node);
    this.maybeCompact(node);
  }

  private apply(node: SimNode, ready: Ready): void {
    if (ready.snapshot) {
      restoreStateMachine(node, ready.snapshot);
      this.snapshotsInstalled++;
      this.trace.add(`${node.id} restored snapshot ${ready.snapshot.metadata.index}`);
    }
    for (const e of ready.committedEntries) this.applyEntry(node, e);
    for (const read of ready.readStates) this.serveRead(node, read.context);
    for (const context of ready.droppedReads) node.reads.delete(context);
  }

  private applyEntry(node: SimNode, e: Entry): void {
    this.safety.checkApplied(node, e);
    node.appliedIndex = e.index;
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
      this.safety.acknowledge(node, proposal.id, e.index);
    }
  }

  private serveRead(node: SimNode, context: number): void {
    const before = node.reads.get(context);
    if (!before) return;
    node.reads.delete(context);
    this.safety.checkRead(node, context, before);
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
    this.trace.add(`${node.id} snapshot at ${applied}, first index now ${node.storage.firstIndex()}`);
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
    this.trace.add(`${node.id} CRASH ${when}`);
  }

  private restartDue(): void {
    for (const node of this.nodes.values()) {
      if (!node.raft && node.restartAt <= this.time && !this.isRemoved(node.id)) this.boot(node);
    }
  }

  // ---- faults ----

  private injectFaults(): void {
    this.network.injectPartitions();
    if (this.rand.chance(this.plan.crashRate / 4)) {
      const node = this.nodes.get(this.rand.pick([...this.nodes.keys()]))!;
      if (node.raft) this.crash(node, 'while idle');
    }
  }

  private heal(): void {
    this.network.heal();
    for (const node of this.nodes.values()) {
      if (!node.raft && !this.isRemoved(node.id)) this.boot(node);
    }
    this.trace.add('HEAL');
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
      this.trace.require(
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
      node.reads.set(context, this.safety.acknowledgedIdsNow());
    } catch (error) {
      this.trace.require(
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
      this.trace.require(
        error instanceof Error && error.name !== 'AssertionError',
        `conf change failed: ${String(error)}`,
      );
      return;
    }
    this.trace.add(`${leader.id} proposed change ${change.type} of ${change.nodeId}`);
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
    this.trace.require(
      false,
      () =>
        `no leader with a barrier committed ${leaderBoundTicks} ticks after healing\n${describeNodes(this.nodes.values())}`,
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
        this.safety.checkAcknowledged(this.currentLeader()!);
        return;
      }
      if (final && !final.node.raft) final = undefined;
      this.step(false);
    }
    this.trace.require(
      false,
      () =>
        `members did not converge ${convergeBoundTicks} ticks after healing\n${describeNodes(this.nodes.values())}`,
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
}
