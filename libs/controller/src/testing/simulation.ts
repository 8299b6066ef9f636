// A seeded deterministic simulation of the replicated controller: N Raft nodes in one process (MemoryStorage, a
// network that drops, delays, duplicates, reorders and partitions, crashes that lose unpersisted state), each
// applying committed LogCommands to its own ControllerState; simulated brokers and an admin driving the controller
// through a simulated leader executor that follows the consensus app's rules. After every applied entry and every
// step the controller invariants and the acknowledged replies are checked (see sim-ledger.ts); after the faults
// heal, the cluster must make progress and every acknowledged change must be in the final state. All randomness
// comes from one seed: the same seed replays exactly.
import { create } from '@bufbuild/protobuf';
import {
  type ControllerCommand,
  type ReportHeartbeatsRequest,
  ReportHeartbeatsRequestSchema,
  StreamSuspicionSchema,
} from '@regent/proto/consensus';
import type { Entry, Message } from '@regent/raft';
import { createSeededRandom, MemoryStorage, type SeededRandom } from '@regent/raft/testing';
import type { ApplyResult } from '../apply.js';
import { checkStateInvariants } from '../invariants.js';
import { encodeSnapshot } from '../snapshot.js';
import { createControllerState } from '../state.js';
import { SimAdmin, SimFinalWriter } from './sim-admin.js';
import { SimBroker } from './sim-broker.js';
import type { ClientWorld } from './sim-client.js';
import type { RpcOutcome } from './sim-executor.js';
import { Ledger, LedgerViolation } from './sim-ledger.js';
import { type NodeWorld, SimNode } from './sim-node.js';
import {
  type ControllerSimulationPlan,
  type ExecutorRules,
  electionTimeoutTicks,
  planFor,
  simClusterName,
  simulatedRules,
  stepMs,
  tickMs,
} from './sim-plan.js';

export interface ControllerSimulationOptions {
  readonly seed: number;
  /** Record a readable trace (slower); carried by the error on failure. */
  readonly trace?: boolean;
  /** Executor rules (default `simulatedRules`: the consensus app's, with the election-read fix). */
  readonly rules?: Partial<ExecutorRules>;
}

export interface ControllerSimulationResult {
  readonly seed: number;
  readonly plan: ControllerSimulationPlan;
  readonly simulatedMs: number;
  readonly leaderTerms: number;
  readonly nodeCrashes: number;
  readonly snapshotsInstalled: number;
  readonly brokerDeaths: number;
  /** Counters: committed entries, acknowledged requests by kind, retries, refusals. */
  readonly counts: Readonly<Record<string, number>>;
  /** The last trace lines (empty unless tracing). */
  readonly trace: readonly string[];
}

export class ControllerSimulationError extends Error {
  override readonly name = 'ControllerSimulationError';
  constructor(
    readonly seed: number,
    readonly timeMs: number,
    detail: string,
    readonly trace: readonly string[],
  ) {
    super(`controller simulation seed ${seed} failed at ${timeMs} ms: ${detail}`);
  }
}

/** After healing: a serving leader within this, then the final write acknowledged and applied everywhere. */
const leaderBoundMs = 40 * electionTimeoutTicks * tickMs;
const finalBoundMs = 60_000;
/** Fault-free time with clients still active after healing. */
const settleMs = 4_000;
const traceLinesMax = 600;

function linkKey(a: number, b: number): string {
  return a < b ? `${a}-${b}` : `${b}-${a}`;
}

class World implements NodeWorld, ClientWorld {
  readonly rand: SeededRandom;
  readonly ledger: Ledger;
  readonly nodes = new Map<number, SimNode>();
  readonly brokers: SimBroker[] = [];
  readonly admin: SimAdmin;
  faultsActive = true;
  clientsActive = true;
  private time = 0;
  /** Deliveries by due time (a multiple of stepMs), each list in send order. */
  private readonly flights = new Map<number, (() => void)[]>();
  private readonly cuts = new Set<string>();
  private dropRate: number;
  private duplicateRate: number;
  private streamSequence = 0n;
  private readonly leaderOfTerm = new Map<number, number>();
  private readonly traceLines: string[] = [];
  private final: SimFinalWriter | undefined;

  constructor(
    private readonly seed: number,
    readonly plan: ControllerSimulationPlan,
    readonly rules: ExecutorRules,
    private readonly tracing: boolean,
  ) {
    this.rand = createSeededRandom(seed);
    this.dropRate = plan.dropRate;
    this.duplicateRate = plan.duplicateRate;
    this.ledger = new Ledger(1, plan.limits);
    const voters = Array.from({ length: plan.nodeCount }, (_, i) => i + 1);
    const data = encodeSnapshot(createControllerState(plan.limits));
    for (const id of voters)
      this.nodes.set(id, new SimNode(id, MemoryStorage.bootstrap({ voters, data }), this));
    for (let g = 0; g < plan.groupCount; g += 1) {
      for (let slot = 1; slot <= 3; slot += 1) this.brokers.push(new SimBroker(`g${g}`, slot, this));
    }
    this.admin = new SimAdmin(this);
  }

  run(): ControllerSimulationResult {
    try {
      while (this.time < this.plan.faultMs) this.step(true);
      this.heal();
      this.runFor(settleMs);
      this.awaitServingLeader();
      this.quiesceClients();
      this.finalWrite();
      this.ledger.checkFinal();
    } catch (error) {
      if (error instanceof ControllerSimulationError) throw error;
      const detail =
        error instanceof LedgerViolation
          ? error.message
          : error instanceof Error
            ? (error.stack ?? error.message)
            : String(error);
      throw new ControllerSimulationError(this.seed, this.time, detail, this.traceLines);
    }
    let crashes = 0;
    let snapshotsInstalled = 0;
    for (const node of this.nodes.values()) {
      crashes += node.crashes;
      snapshotsInstalled += node.snapshotsInstalled;
    }
    return {
      seed: this.seed,
      plan: this.plan,
      simulatedMs: this.time,
      leaderTerms: this.leaderOfTerm.size,
      nodeCrashes: crashes,
      snapshotsInstalled,
      brokerDeaths: this.brokers.reduce((sum, b) => sum + b.deaths, 0),
      counts: Object.fromEntries([...this.ledger.counts].sort(([a], [b]) => (a < b ? -1 : 1))),
      trace: [...this.traceLines],
    };
  }

  // ---- the step loop ----

  private step(faults: boolean): void {
    if (faults) this.injectFaults();
    this.deliverDue();
    for (const node of this.nodes.values()) node.advanceClock(this.time);
    for (const broker of this.brokers) broker.step(this.time);
    this.admin.step(this.time);
    this.final?.client.step(this.time);
    for (const id of this.shuffledIds()) this.nodes.get(id)?.processReady(faults);
    this.restartDue();
    this.checkLeaders();
    this.time += stepMs;
  }

  private runFor(ms: number): void {
    const end = this.time + ms;
    while (this.time < end) this.step(false);
  }

  private shuffledIds(): number[] {
    const ids = [...this.nodes.keys()];
    for (let i = ids.length - 1; i > 0; i -= 1) {
      const j = this.rand.nextInt(i + 1);
      [ids[i], ids[j]] = [ids[j] as number, ids[i] as number];
    }
    return ids;
  }

  private restartDue(): void {
    for (const node of this.nodes.values()) {
      if (!node.up && node.restartAtMs <= this.time) node.boot();
    }
  }

  // ---- NodeWorld ----

  nowMs(): number {
    return this.time;
  }

  trace(line: string): void {
    if (!this.tracing) return;
    this.traceLines.push(`t=${this.time} ${line}`);
    if (this.traceLines.length > traceLinesMax) this.traceLines.shift();
  }

  count(what: string): void {
    this.ledger.count(what);
  }

  fail(message: string): never {
    throw new ControllerSimulationError(this.seed, this.time, message, this.traceLines);
  }

  send(message: Message): void {
    const lost = this.rand.chance(this.dropRate);
    // A lost snapshot still travels, so that its sender learns the failure (as the runtime reports it).
    if (lost && message.type !== 'InstallSnapshot') return;
    const copies = !lost && this.rand.chance(this.duplicateRate) ? 2 : 1;
    for (let i = 0; i < copies; i += 1) this.schedule(this.delayMs(), () => this.deliverRaft(message, lost));
  }

  applied(node: SimNode, entry: Entry, _result: ApplyResult | undefined): void {
    this.ledger.applied(node.source, node.state, entry);
  }

  appliedBatch(node: SimNode): void {
    this.ledger.appliedBatch(node.source, node.state, node.appliedIndex);
  }

  restored(node: SimNode, index: number, _fromLeader: boolean): void {
    this.ledger.restored(node.source, node.state, index);
  }

  // ---- ClientWorld ----

  nodeIds(): readonly number[] {
    return [...this.nodes.keys()];
  }

  sendRequest(
    to: number,
    clientId: string,
    sequence: bigint,
    command: ControllerCommand,
    receive: (outcome: RpcOutcome, from: number) => void,
  ): void {
    if (this.rand.chance(this.dropRate)) return;
    const copies = this.rand.chance(this.duplicateRate) ? 2 : 1;
    for (let i = 0; i < copies; i += 1) {
      this.schedule(this.delayMs(), () => {
        const node = this.nodes.get(to);
        if (node === undefined || !node.up) return;
        node.executor.submit(clientId, sequence, command, (outcome) => {
          if (this.rand.chance(this.dropRate)) return;
          this.schedule(this.delayMs(), () => receive(outcome, to));
        });
      });
    }
  }

  heartbeat(broker: SimBroker): void {
    const batch = create(ReportHeartbeatsRequestSchema, {
      gatewayId: 'gw',
      heartbeats: [broker.heartbeatMessage()],
      heartbeatSequences: [broker.stream],
    });
    this.report(batch);
  }

  suspect(broker: SimBroker): void {
    const identity = broker.identity;
    if (identity === undefined) return;
    const batch = create(ReportHeartbeatsRequestSchema, {
      gatewayId: 'gw',
      suspicions: [
        create(StreamSuspicionSchema, {
          clusterName: simClusterName,
          brokerName: broker.brokerName,
          brokerId: identity.brokerId,
          streamId: `s${broker.stream}`,
          streamOpenedSequence: broker.stream,
        }),
      ],
    });
    this.trace(`gateway reports the broken stream ${broker.stream} of ${broker.name}`);
    this.report(batch);
  }

  private report(batch: ReportHeartbeatsRequest): void {
    for (const id of this.nodes.keys()) {
      if (this.rand.chance(this.dropRate)) continue;
      this.schedule(this.delayMs(), () => {
        const node = this.nodes.get(id);
        if (node === undefined || !node.up) return;
        const result = node.table.report(batch, this.time);
        // A broken stream of a master is a crash signal: scan now instead of waiting for the interval.
        if (result.suspected.length > 0) {
          this.count('suspicions-applied');
          node.scanner.scanNow();
        }
      });
    }
  }

  nextStreamSequence(): bigint {
    this.streamSequence += 1n;
    return this.streamSequence;
  }

  brokersOf(brokerName: string): readonly SimBroker[] {
    return this.brokers.filter((b) => b.brokerName === brokerName);
  }

  // ---- network ----

  private delayMs(): number {
    return (1 + this.rand.nextInt(this.plan.maxDelaySteps)) * stepMs;
  }

  private schedule(delayMs: number, deliver: () => void): void {
    const atMs = this.time + delayMs;
    const due = this.flights.get(atMs);
    if (due === undefined) this.flights.set(atMs, [deliver]);
    else due.push(deliver);
  }

  /** Delivers what is due now; what that produces is due at least one step later. */
  private deliverDue(): void {
    const due = this.flights.get(this.time);
    if (due === undefined) return;
    this.flights.delete(this.time);
    for (const deliver of due) deliver();
  }

  private deliverRaft(m: Message, lost: boolean): void {
    const target = this.nodes.get(m.to)?.core;
    const arrives = !lost && target !== undefined && !this.cuts.has(linkKey(m.from, m.to));
    if (arrives) target.step(m);
    if (m.type === 'InstallSnapshot') this.nodes.get(m.from)?.core?.reportSnapshot(m.to, arrives);
  }

  // ---- faults ----

  private injectFaults(): void {
    const rand = this.rand;
    if (rand.chance(this.plan.partitionRate)) this.partition();
    if (this.cuts.size > 0 && rand.chance(this.plan.partitionRate * 2)) {
      this.cuts.clear();
      this.trace('partition healed');
    }
    if (rand.chance(this.plan.crashRate / 4)) {
      const node = this.nodes.get(rand.pick([...this.nodes.keys()]));
      if (node?.up === true) node.crash('while idle');
    }
    if (rand.chance(this.plan.transferRate)) this.transferLeadership();
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

  private transferLeadership(): void {
    const leader = this.currentLeader();
    if (leader === undefined) return;
    const others = [...this.nodes.keys()].filter((id) => id !== leader.nodeId);
    const target = this.rand.pick(others);
    try {
      leader.raft.transferLeadership(target);
      this.trace(`n${leader.nodeId} transfers leadership to n${target}`);
    } catch {
      // a transfer already in progress: nothing to do
    }
  }

  private heal(): void {
    this.cuts.clear();
    this.dropRate = 0;
    this.duplicateRate = 0;
    this.faultsActive = false;
    for (const node of this.nodes.values()) if (!node.up) node.boot();
    this.trace('HEAL');
  }

  // ---- the end: progress after healing, then the final checks ----

  private currentLeader(): SimNode | undefined {
    let best: SimNode | undefined;
    let bestTerm = -1;
    for (const node of this.nodes.values()) {
      const s = node.core?.basicStatus();
      if (s?.role === 'leader' && s.term > bestTerm) {
        best = node;
        bestTerm = s.term;
      }
    }
    return best;
  }

  private awaitServingLeader(): void {
    const deadline = this.time + leaderBoundMs;
    while (this.time < deadline) {
      if (this.currentLeader()?.executor.serving === true) return;
      this.step(false);
    }
    this.fail(`no serving leader ${leaderBoundMs} ms after healing\n${this.describe()}`);
  }

  /** Stops new requests and lets the ones in flight end (answered or given up). */
  private quiesceClients(): void {
    this.clientsActive = false;
    const deadline = this.time + finalBoundMs;
    while (this.time < deadline) {
      if (this.brokers.every((b) => !b.busy) && !this.admin.busy) return;
      this.step(false);
    }
    this.fail(`clients still busy ${finalBoundMs} ms after they stopped\n${this.describe()}`);
  }

  /** A write acknowledged after every other reply, then applied by every node: nothing acknowledged is missing. */
  private finalWrite(): void {
    const final = new SimFinalWriter(this);
    this.final = final;
    final.start();
    const deadline = this.time + finalBoundMs;
    while (this.time < deadline) {
      const index = final.ackedAtIndex;
      if (index !== undefined && [...this.nodes.values()].every((n) => n.up && n.appliedIndex >= index)) {
        this.ledger.count('final-index');
        return;
      }
      this.step(false);
    }
    this.fail(
      `the final write was not acknowledged and applied everywhere within ${finalBoundMs} ms (acked at ${final.ackedAtIndex})\n${this.describe()}`,
    );
  }

  private describe(): string {
    const lines: string[] = [];
    for (const node of this.nodes.values()) {
      const s = node.core?.basicStatus();
      if (s === undefined) {
        lines.push(`n${node.nodeId}: down`);
        continue;
      }
      lines.push(
        `n${s.id}: ${s.role} term=${s.term} lead=${s.leader} commit=${s.commit} applied=${node.appliedIndex} ` +
          `log=[${s.firstIndex},${s.lastIndex}] serving=${node.executor.serving} pending=${node.executor.pendingCount}`,
      );
    }
    return lines.join('\n');
  }

  // ---- per-step checks ----

  /** Election Safety (one leader per term); the speculative state of a serving leader keeps the invariants. */
  private checkLeaders(): void {
    for (const node of this.nodes.values()) {
      const s = node.core?.basicStatus();
      if (s?.role !== 'leader') continue;
      const known = this.leaderOfTerm.get(s.term);
      if (known === undefined) this.leaderOfTerm.set(s.term, s.id);
      else if (known !== s.id) this.fail(`two leaders in term ${s.term}: n${known} and n${s.id}`);
      if (node.executor.pendingCount === 0) continue;
      const violations = checkStateInvariants(node.executor.current());
      if (violations.length > 0) {
        this.fail(
          `n${s.id}'s speculative state: ${violations.map((v) => `${v.brokerName}: ${v.message}`).join('; ')}`,
        );
      }
    }
  }
}

/** Runs one seed. Throws ControllerSimulationError on the first violated property. */
export function runControllerSimulation(options: ControllerSimulationOptions): ControllerSimulationResult {
  const rules = { ...simulatedRules, ...options.rules };
  return new World(options.seed, planFor(options.seed), rules, options.trace ?? false).run();
}

/** Runs one seed; on failure runs it again with tracing and throws the traced error. */
export function checkControllerSeed(
  seed: number,
  rules: Partial<ExecutorRules> = {},
): ControllerSimulationResult {
  try {
    return runControllerSimulation({ seed, rules });
  } catch (error) {
    if (!(error instanceof ControllerSimulationError)) throw error;
    try {
      runControllerSimulation({ seed, rules, trace: true });
    } catch (traced) {
      if (traced instanceof ControllerSimulationError) throw traced;
    }
    throw error;
  }
}
