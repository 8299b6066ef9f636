// The fault plan of a run: a pure function of the seed and the topology. The same seed gives the same plan — the
// same faults on the same targets at the same offsets for the same durations. Timing is wall-clock, so a replay
// repeats the plan, not the exact interleaving of messages and operations.
//
// Every plan that takes a consensus node away at least once holds a `disk-loss` (a power failure on one node): if the
// draw brought none, the first consensus kill (else pause, else isolation) becomes one, so even --quick runs it.
import { createRng, type Rng } from './random.js';

export type FaultKind =
  /** kill -9 a process; restart it (same flags, same data) when the fault ends. */
  | 'kill'
  /**
   * A power failure on one consensus node: kill -9, then its storage loses what was not durable — per the sync
   * ledger the node keeps (--chaos-sync-ledger), files not durably created are deleted and each file loses the bytes
   * past its last completed fsync (`tail`: cut there, a torn prefix kept, or zeroed) — then restart when it ends.
   */
  | 'disk-loss'
  /** SIGSTOP a process (an event-loop stall); SIGCONT when the fault ends. */
  | 'pause'
  /** Cut every Raft link of one consensus node, both directions. */
  | 'isolate-node'
  /** Blackhole one Raft direction: node `from`'s messages to `to` are lost, the reverse direction works. */
  | 'one-way'
  /** Clients (gateways, pusher) cannot reach one consensus node; Raft between the nodes still works. */
  | 'clients-cut'
  /** Requests reach one consensus node but its replies to clients are lost: outcomes become unknown. */
  | 'reply-loss'
  /** Delay (fixed + jitter) on every Raft link of one node and its client link. */
  | 'delay'
  /** Connection resets with a probability per chunk on one node's Raft and client links. */
  | 'resets'
  /** Slow the election-policy service beyond its deadline (the in-process fallback decides). */
  | 'policy-delay'
  /** One broker cannot reach any gateway (its heartbeats stop: a controller-triggered election may follow). */
  | 'broker-isolate'
  /**
   * Isolate (or kill) whichever broker is the master of a group when the fault starts: the controller elects
   * another while the old master may still believe it leads.
   */
  | 'master-isolate'
  | 'master-kill'
  /**
   * kill -9 a broker: its in-flight requests are abandoned; it restarts with its persisted id, or, when its
   * identity file is lost too, registers anew (a new id, a check code from its possibly jumped clock).
   */
  | 'broker-kill'
  /** Freeze a broker (no heartbeats, no requests) and resume it later. */
  | 'broker-pause'
  /**
   * Move one broker's clock by `offsetMs`. Heartbeats carry no timestamp; the only broker-clock value the
   * controller receives is the register check code (an opaque idempotency token). Liveness is measured on the
   * leader's clock, so this must change nothing.
   */
  | 'clock-jump';

export interface Fault {
  /** Position in the plan. */
  readonly index: number;
  /** Offset from the start of the fault phase, ms. */
  readonly atMs: number;
  readonly durationMs: number;
  readonly kind: FaultKind;
  /** A process name ("consensus-2", "gateway-1", "policy", "push"), a node id, or a broker name. */
  readonly target: string;
  /** For one-way: the receiving node. */
  readonly peer?: string;
  readonly delayMs?: number;
  readonly jitterMs?: number;
  readonly resetProbability?: number;
  readonly offsetMs?: number;
  /** For broker-kill: the broker also loses its identity file and registers anew (a new broker id). */
  readonly wipe?: boolean;
  /** For disk-loss: what survives of the bytes written after the last fsync. */
  readonly tail?: 'cut' | 'torn' | 'zeroed';
  /** For disk-loss with a torn tail: the fraction of the unsynced bytes kept, in [0, 1). */
  readonly keptFraction?: number;
}

export interface Topology {
  /** Consensus node ids. */
  readonly nodes: readonly number[];
  readonly gateways: number;
  /** Broker names ("broker-a/1", …). */
  readonly brokers: readonly string[];
}

export interface PlanOptions {
  readonly seed: number;
  /** Length of the fault phase, ms; every fault ends before it does. */
  readonly durationMs: number;
  /** Pause between the start of one fault and the next, ms. */
  readonly gapMsMin?: number;
  readonly gapMsMax?: number;
  /** Most faults in effect at once. */
  readonly concurrentMax?: number;
  /** Most faults in the plan. */
  readonly faultsMax?: number;
}

interface Weighted {
  readonly kind: FaultKind;
  readonly weight: number;
}

const MENU: readonly Weighted[] = [
  { kind: 'kill', weight: 5 },
  { kind: 'disk-loss', weight: 2 },
  { kind: 'pause', weight: 3 },
  { kind: 'isolate-node', weight: 3 },
  { kind: 'one-way', weight: 2 },
  { kind: 'clients-cut', weight: 2 },
  { kind: 'reply-loss', weight: 3 },
  { kind: 'delay', weight: 2 },
  { kind: 'resets', weight: 2 },
  { kind: 'policy-delay', weight: 1 },
  { kind: 'broker-isolate', weight: 3 },
  { kind: 'broker-kill', weight: 2 },
  { kind: 'master-isolate', weight: 3 },
  { kind: 'master-kill', weight: 2 },
  { kind: 'broker-pause', weight: 1 },
  { kind: 'clock-jump', weight: 1 },
];

/** Faults that take a consensus node away: at most one of them at a time keeps a quorum most of the time. */
function takesNode(f: Fault): boolean {
  const nodeProcess = f.target.startsWith('consensus-') && (f.kind === 'kill' || f.kind === 'pause');
  return nodeProcess || f.kind === 'isolate-node' || f.kind === 'disk-loss';
}

function pickKind(rng: Rng): FaultKind {
  const total = MENU.reduce((sum, w) => sum + w.weight, 0);
  let roll = rng.next() * total;
  for (const w of MENU) {
    roll -= w.weight;
    if (roll < 0) return w.kind;
  }
  return MENU[0]!.kind;
}

/** Group names from broker names ("broker-a/1" → "broker-a"). */
function groupsOf(t: Topology): string[] {
  return [...new Set(t.brokers.map((b) => b.split('/')[0]!))];
}

function processTargets(t: Topology): string[] {
  return [
    ...t.nodes.map((id) => `consensus-${id}`),
    ...Array.from({ length: t.gateways }, (_, i) => `gateway-${i}`),
    'policy',
    'push',
  ];
}

function makeFault(rng: Rng, t: Topology, kind: FaultKind, index: number, atMs: number): Fault {
  const node = (): string => String(rng.pick(t.nodes));
  const base = { index, atMs, kind, durationMs: rng.int(1_500, 6_000) };
  switch (kind) {
    case 'kill':
      return { ...base, target: rng.pick(processTargets(t)), durationMs: rng.int(1_000, 8_000) };
    case 'pause':
      return { ...base, target: rng.pick(processTargets(t)), durationMs: rng.int(500, 4_000) };
    case 'disk-loss':
      return {
        ...base,
        target: `consensus-${node()}`,
        durationMs: rng.int(1_000, 8_000),
        ...diskLossTail(rng),
      };
    case 'isolate-node':
    case 'clients-cut':
    case 'reply-loss':
      return { ...base, target: node() };
    case 'one-way': {
      const from = node();
      const others = t.nodes.map(String).filter((id) => id !== from);
      return { ...base, target: from, peer: rng.pick(others) };
    }
    case 'delay':
      return { ...base, target: node(), delayMs: rng.int(20, 150), jitterMs: rng.int(0, 100) };
    case 'resets':
      return { ...base, target: node(), resetProbability: rng.pick([0.01, 0.05, 0.2]) };
    case 'policy-delay':
      return { ...base, target: 'policy', delayMs: rng.int(100, 400), jitterMs: 50 };
    case 'broker-isolate':
    case 'broker-pause':
      return { ...base, target: rng.pick(t.brokers) };
    case 'master-isolate':
    case 'master-kill':
      return { ...base, target: rng.pick(groupsOf(t)) };
    case 'broker-kill':
      return { ...base, target: rng.pick(t.brokers), wipe: rng.chance(0.3) };
    case 'clock-jump':
      return {
        ...base,
        target: rng.pick(t.brokers),
        offsetMs: rng.pick([-1, 1]) * rng.int(60_000, 3_600_000),
        durationMs: rng.int(5_000, 15_000),
      };
  }
}

function diskLossTail(rng: Rng): Pick<Fault, 'tail' | 'keptFraction'> {
  const tail = rng.pick(['cut', 'cut', 'torn', 'zeroed'] as const);
  return tail === 'torn' ? { tail, keptFraction: Math.floor(rng.next() * 100) / 100 } : { tail };
}

/** The first fault that takes a consensus node away becomes a disk-loss of that node, unless the plan has one. */
function withDiskLoss(plan: Fault[], rng: Rng): Fault[] {
  if (plan.some((f) => f.kind === 'disk-loss')) return plan;
  const nodeFault = (kind: FaultKind): number =>
    plan.findIndex((f) => f.kind === kind && (kind === 'isolate-node' || f.target.startsWith('consensus-')));
  const at = [nodeFault('kill'), nodeFault('pause'), nodeFault('isolate-node')].find((i) => i >= 0);
  if (at === undefined) return plan;
  const f = plan[at]!;
  const target = f.kind === 'isolate-node' ? `consensus-${f.target}` : f.target;
  const { index, atMs, durationMs } = f;
  plan[at] = { index, atMs, durationMs, kind: 'disk-loss', target, ...diskLossTail(rng) };
  return plan;
}

/** The fault plan for `options.seed` on `topology`. */
export function planFaults(topology: Topology, options: PlanOptions): Fault[] {
  const rng = createRng(options.seed).fork('schedule');
  const gapMsMin = options.gapMsMin ?? 1_000;
  const gapMsMax = options.gapMsMax ?? 4_000;
  const concurrentMax = options.concurrentMax ?? 2;
  const faultsMax = options.faultsMax ?? 500;
  const plan: Fault[] = [];
  let atMs = rng.int(500, gapMsMax);
  for (let attempt = 0; attempt < faultsMax * 4 && plan.length < faultsMax; attempt++) {
    if (atMs >= options.durationMs) break;
    const candidate = makeFault(rng, topology, pickKind(rng), plan.length, atMs);
    const endMs = Math.min(candidate.atMs + candidate.durationMs, options.durationMs);
    const fault = { ...candidate, durationMs: endMs - candidate.atMs };
    const active = plan.filter((f) => f.atMs + f.durationMs > atMs);
    const clash =
      active.length >= concurrentMax ||
      (takesNode(fault) && active.some(takesNode)) ||
      active.some((f) => f.target === fault.target);
    if (!clash && fault.durationMs >= 200) plan.push(fault);
    atMs += rng.int(gapMsMin, gapMsMax);
  }
  return withDiskLoss(plan, createRng(options.seed).fork('disk-loss'));
}

/** One line per fault, for the log. */
export function describeFault(f: Fault): string {
  const extra = [
    f.peer === undefined ? '' : ` →${f.peer}`,
    f.delayMs === undefined ? '' : ` delay ${f.delayMs}±${f.jitterMs ?? 0} ms`,
    f.resetProbability === undefined ? '' : ` reset p=${f.resetProbability}`,
    f.offsetMs === undefined ? '' : ` clock ${f.offsetMs > 0 ? '+' : ''}${f.offsetMs} ms`,
    f.wipe === true ? ' (identity lost)' : '',
    f.tail === undefined ? '' : ` unsynced tail ${f.tail}`,
    f.keptFraction === undefined ? '' : ` (${Math.round(f.keptFraction * 100)}% kept)`,
  ].join('');
  return `#${f.index} +${(f.atMs / 1000).toFixed(1)}s ${f.kind} ${f.target}${extra} for ${(f.durationMs / 1000).toFixed(1)}s`;
}
