// One simulated consensus node: a Raft core on MemoryStorage, the controller machine (ControllerState fed by
// applyCommand), raft-runtime's proposal and read waiters, a soft LivenessTable, the leader executor and its scan,
// and timers. It follows the Ready contract (persist, send, apply, advance) and may crash anywhere inside a Ready;
// a crash keeps only what the storage holds.
import { create } from '@bufbuild/protobuf';
import { decide } from '@regent/election';
import { type ElectRequest, type ElectResponse, ElectResponseSchema } from '@regent/proto/election';
import { createRaftNode, type Entry, EntryType, type Message, type RaftNode, type Ready } from '@regent/raft';
import type { MemoryStorage, SeededRandom } from '@regent/raft/testing';
import { type ApplyResult, applyCommand, decodeLogCommand } from '../apply.js';
import { LivenessTable } from '../liveness.js';
import { decodeSnapshot, encodeSnapshot } from '../snapshot.js';
import type { ControllerState } from '../state.js';
import { type ExecutorHost, localDecision, SimExecutor, type SimPolicy, SimScanner } from './sim-executor.js';
import {
  type ControllerSimulationPlan,
  type ExecutorRules,
  electionTimeoutTicks,
  scanIntervalMs,
  tickMs,
} from './sim-plan.js';

/** What a node needs from the simulation around it. */
export interface NodeWorld {
  readonly rand: SeededRandom;
  readonly plan: ControllerSimulationPlan;
  readonly rules: ExecutorRules;
  nowMs(): number;
  trace(line: string): void;
  send(message: Message): void;
  count(what: string): void;
  /** `node` applied the committed `entry` (`result` undefined for a no-op or membership entry). */
  applied(node: SimNode, entry: Entry, result: ApplyResult | undefined): void;
  /** `node` applied a Ready's committed entries; its applied index is the last one's. */
  appliedBatch(node: SimNode): void;
  /** `node` loaded its state from a snapshot at `index` (at boot or from the leader). */
  restored(node: SimNode, index: number, fromLeader: boolean): void;
}

interface ProposalWaiter {
  readonly term: number;
  readonly applied: (result: ApplyResult) => void;
  readonly failed: (reason: string) => void;
}

interface ReadWaiter {
  readonly read: () => void;
  readonly dropped: (reason: string) => void;
}

interface Timer {
  readonly atMs: number;
  readonly order: number;
  readonly run: () => void;
}

const localDefault = localDecision(decide);

export class SimNode implements ExecutorHost {
  core: RaftNode | undefined;
  /** Bumped at every boot; a crashed node's history continues as a new source. */
  incarnation = 0;
  state!: ControllerState;
  appliedIndex = 0;
  table!: LivenessTable;
  executor!: SimExecutor;
  scanner!: SimScanner;
  restartAtMs = 0;
  crashes = 0;
  snapshotsInstalled = 0;
  readonly phaseMs: number;
  private readonly proposals = new Map<number, ProposalWaiter>();
  private readonly reads = new Map<number, ReadWaiter>();
  private readWaiters: { readonly context: number; readonly index: number }[] = [];
  private nextReadContext = 1;
  private timers: Timer[] = [];
  private timerOrder = 0;
  private nextScanAtMs = 0;
  /** raft-runtime's view of the leader and term (for the leader-change hook). */
  private leader = 0;
  private term = 0;
  readonly policy: SimPolicy;

  constructor(
    readonly nodeId: number,
    readonly storage: MemoryStorage,
    private readonly world: NodeWorld,
  ) {
    this.phaseMs = world.rand.nextInt(tickMs / 10) * 10;
    this.policy = {
      decide: (request, deadlineMs, done) => {
        const delayMs = this.world.rand.nextInt(this.world.plan.policyDelayMaxMs + 1);
        if (delayMs > deadlineMs) {
          this.setTimer(deadlineMs, () => done(localDefault(request), true));
          return;
        }
        const bogus = this.world.rand.chance(this.world.plan.bogusPolicyRate);
        const pick = this.world.rand.fork();
        this.setTimer(delayMs, () => done(bogus ? bogusDecision(request, pick) : decide(request), false));
      },
      decideLocally: localDefault,
    };
    this.boot();
  }

  get raft(): RaftNode {
    if (this.core === undefined) throw new Error(`node ${this.nodeId} is down`);
    return this.core;
  }

  get up(): boolean {
    return this.core !== undefined;
  }

  /** The history checker's source: a restarted node starts a new history. */
  get source(): string {
    return `n${this.nodeId}.${this.incarnation}`;
  }

  get rules(): ExecutorRules {
    return this.world.rules;
  }

  nowMs(): number {
    return this.world.nowMs();
  }

  trace(line: string): void {
    this.world.trace(line);
  }

  count(what: string): void {
    this.world.count(what);
  }

  /** (Re)creates everything volatile from what the storage holds. */
  boot(): void {
    const plan = this.world.plan;
    const now = this.world.nowMs();
    this.incarnation += 1;
    this.core = createRaftNode(
      {
        id: this.nodeId,
        random: this.world.rand.fork(),
        electionTimeoutTicks,
        heartbeatTimeoutTicks: 1,
        maxSizePerMessageBytes: 8_192,
        maxInflightMessages: 4,
        maxPendingProposals: 64,
        maxPendingReads: 16,
        preVote: plan.preVote,
        checkQuorum: plan.checkQuorum,
      },
      this.storage,
    );
    const snapshot = this.storage.snapshot();
    this.state = decodeSnapshot(snapshot.data, plan.limits);
    this.appliedIndex = snapshot.metadata.index;
    this.proposals.clear();
    this.reads.clear();
    this.readWaiters = [];
    this.timers = [];
    this.leader = 0;
    this.term = this.storage.hardStateNow().term;
    this.table = new LivenessTable({
      createdAtMs: now,
      defaultHeartbeatTimeoutMs: plan.heartbeatTimeoutMs,
      graceMs: plan.heartbeatTimeoutMs,
    });
    this.executor = new SimExecutor(this);
    this.scanner = new SimScanner(this, this.executor, now);
    this.nextScanAtMs = now + scanIntervalMs;
    this.world.trace(
      `n${this.nodeId} boot #${this.incarnation} term=${this.term} snapshot=${snapshot.metadata.index} last=${this.storage.lastIndex()}`,
    );
    this.world.restored(this, this.appliedIndex, false);
  }

  crash(why: string): void {
    this.core = undefined;
    this.proposals.clear();
    this.reads.clear();
    this.readWaiters = [];
    this.timers = [];
    this.crashes += 1;
    this.restartAtMs = this.world.nowMs() + tickMs * (1 + this.world.rand.nextInt(3 * electionTimeoutTicks));
    this.world.trace(`n${this.nodeId} CRASH ${why}`);
  }

  // ---- the runtime's side of the executor ----

  propose(
    data: Uint8Array,
    applied: (result: ApplyResult) => void,
    failed: (reason: string) => void,
  ): { readonly index: number; readonly term: number } {
    const proposal = this.raft.propose(data);
    this.proposals.set(proposal.index, { term: proposal.term, applied, failed });
    return proposal;
  }

  readBarrier(read: () => void, dropped: (reason: string) => void): void {
    const context = this.nextReadContext++;
    this.raft.readIndex(context);
    this.reads.set(context, { read, dropped });
  }

  setTimer(delayMs: number, run: () => void): void {
    this.timers.push({ atMs: this.world.nowMs() + delayMs, order: this.timerOrder++, run });
  }

  /** Ticks (on this node's phase), fires due timers and runs the scan when due. */
  advanceClock(nowMs: number): void {
    if (this.core === undefined) return;
    if ((nowMs + this.phaseMs) % tickMs === 0) this.core.tick();
    const due = this.timers.filter((t) => t.atMs <= nowMs);
    if (due.length > 0) {
      this.timers = this.timers.filter((t) => t.atMs > nowMs);
      due.sort((a, b) => a.atMs - b.atMs || a.order - b.order);
      for (const timer of due) {
        if (this.core === undefined) return;
        timer.run();
      }
    }
    if (nowMs >= this.nextScanAtMs) {
      this.nextScanAtMs = nowMs + scanIntervalMs;
      this.scanner.scanNow();
    }
  }

  // ---- Ready processing: persist, send, apply, advance (a crash may cut in anywhere) ----

  processReady(faults: boolean): void {
    const raft = this.core;
    if (!raft?.hasReady()) return;
    const ready = raft.ready();
    const rand = this.world.rand;
    const crashPoint = faults && rand.chance(this.world.plan.crashRate) ? rand.nextInt(5) : -1;
    if (ready.snapshot) this.storage.applySnapshot(ready.snapshot);
    if (crashPoint === 0) {
      this.crash('after persisting the snapshot');
      return;
    }
    this.storage.append(ready.entries);
    if (crashPoint === 1) {
      this.crash('after persisting entries');
      return;
    }
    if (ready.hardState) this.storage.setHardState(ready.hardState);
    if (crashPoint === 2) {
      this.crash('after persisting the hard state');
      return;
    }
    for (const message of ready.messages) this.world.send(message);
    if (crashPoint === 3) {
      this.crash('after sending');
      return;
    }
    this.apply(ready);
    if (crashPoint === 4) {
      this.crash('after applying');
      return;
    }
    raft.advance(ready);
    this.afterAdvance(ready);
    this.maybeCompact();
  }

  private apply(ready: Ready): void {
    if (ready.snapshot) this.restore(ready.snapshot.data, ready.snapshot.metadata.index);
    for (const entry of ready.committedEntries) this.applyEntry(entry);
    if (ready.committedEntries.length > 0) this.world.appliedBatch(this);
    for (const rs of ready.readStates) this.readWaiters.push(rs);
    for (const context of ready.droppedReads) {
      const read = this.reads.get(context);
      this.reads.delete(context);
      read?.dropped('read not confirmed: leadership changed');
    }
    this.serveReads();
  }

  private restore(data: Uint8Array, index: number): void {
    this.state = decodeSnapshot(data, this.world.plan.limits);
    this.appliedIndex = index;
    this.snapshotsInstalled += 1;
    for (const [proposalIndex, p] of this.proposals) {
      if (proposalIndex <= index) {
        this.proposals.delete(proposalIndex);
        p.failed(`entry ${proposalIndex} was replaced by a snapshot`);
      }
    }
    this.executor.onRestored();
    this.world.trace(`n${this.nodeId} restored snapshot ${index}`);
    this.world.restored(this, index, true);
  }

  private applyEntry(entry: Entry): void {
    let result: ApplyResult | undefined;
    if (entry.type === EntryType.Normal) {
      result = applyCommand(this.state, decodeLogCommand(entry.data), entry.index, entry.term);
    }
    this.appliedIndex = entry.index;
    this.world.applied(this, entry, result);
    const pending = this.proposals.get(entry.index);
    if (pending === undefined) return;
    this.proposals.delete(entry.index);
    if (pending.term === entry.term && result !== undefined) pending.applied(result);
    else pending.failed(`entry ${entry.index} was overwritten`);
  }

  private serveReads(): void {
    const kept: { readonly context: number; readonly index: number }[] = [];
    for (const w of this.readWaiters) {
      if (w.index <= this.appliedIndex) {
        const read = this.reads.get(w.context);
        this.reads.delete(w.context);
        read?.read();
      } else kept.push(w);
    }
    this.readWaiters = kept;
  }

  private afterAdvance(ready: Ready): void {
    if (ready.softState) this.onSoftState(ready.softState.leader);
    const hs = ready.hardState;
    if (hs && hs.term !== this.term) {
      this.term = hs.term;
      if (ready.softState === undefined) this.onSoftState(this.raft.basicStatus().leader);
    }
  }

  private onSoftState(leader: number): void {
    const wasLeader = this.leader === this.nodeId;
    const status = this.raft.basicStatus();
    this.leader = leader;
    this.term = status.term;
    const isLeader = leader === this.nodeId && status.role === 'leader';
    if (wasLeader && !isLeader) {
      // Entries may still commit under the next leader; the client retries with its session to learn the outcome.
      for (const [index, p] of this.proposals) {
        this.proposals.delete(index);
        p.failed(`lost leadership before entry ${index} applied`);
      }
    }
    if (isLeader) this.world.trace(`n${this.nodeId} LEADER term ${status.term} last=${status.lastIndex}`);
    this.executor.onLeaderChange(isLeader);
  }

  private maybeCompact(): void {
    const every = this.world.plan.snapshotEvery;
    const raft = this.core;
    if (every === 0 || raft === undefined) return;
    const applied = raft.basicStatus().applied;
    const snapshotIndex = this.storage.snapshot().metadata.index;
    if (applied - snapshotIndex < every || applied > this.storage.hardStateNow().commit) return;
    this.storage.createSnapshot(applied, raft.appliedMembership(), encodeSnapshot(this.state));
    this.storage.compact(Math.max(this.storage.firstIndex() - 1, applied - this.world.rand.nextInt(3)));
  }
}

/** What a misbehaving policy service might answer: an arbitrary candidate, often dead or out of sync. */
function bogusDecision(request: ElectRequest, rand: SeededRandom): ElectResponse {
  const ids = request.candidates.map((c) => c.brokerId);
  const chosen = ids.length === 0 || rand.chance(0.2) ? undefined : rand.pick(ids);
  return create(ElectResponseSchema, {
    chosenBrokerId: chosen,
    rankedBrokerIds: chosen === undefined ? [] : [chosen],
    policyName: 'bogus',
    explanation: 'an arbitrary pick',
    masterKept: chosen !== undefined && chosen === request.oldMasterBrokerId,
  });
}
