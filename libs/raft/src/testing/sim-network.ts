// The simulator's seeded network: a message may be lost, duplicated or delayed (and so reordered) by a drawn
// number of time units, and partitions cut links in both directions until they heal.

import type { Message } from '../messages.js';
import type { Entry, NodeId } from '../types.js';
import type { SeededRandom } from './random.js';
import type { SimNode } from './sim-node.js';
import type { SimTrace } from './sim-trace.js';

interface Flight {
  readonly message: Message;
  readonly at: number;
  /** A lost snapshot still travels, so that its sender learns the failure (as a real transport reports it). */
  readonly lost: boolean;
}

export interface SimNetworkOptions {
  /** The run's one generator: the network draws from it in the order the simulator calls it. */
  readonly rand: SeededRandom;
  readonly nodes: ReadonlyMap<NodeId, SimNode>;
  readonly trace: SimTrace;
  /** Also trace every message delivered or lost. */
  readonly traceMessages: boolean;
  /** The simulated time, in units. */
  readonly now: () => number;
  readonly dropRate: number;
  readonly duplicateRate: number;
  readonly maxDelayUnits: number;
  readonly partitionRate: number;
}

export class SimNetwork {
  private readonly rand: SeededRandom;
  private readonly nodes: ReadonlyMap<NodeId, SimNode>;
  private readonly trace: SimTrace;
  private flights: Flight[] = [];
  /** Links cut in both directions, as "a-b" with a < b. */
  private readonly cuts = new Set<string>();
  private dropRate: number;
  private duplicateRate: number;

  constructor(private readonly options: SimNetworkOptions) {
    this.rand = options.rand;
    this.nodes = options.nodes;
    this.trace = options.trace;
    this.dropRate = options.dropRate;
    this.duplicateRate = options.duplicateRate;
  }

  send(m: Message): void {
    const lost = this.rand.chance(this.dropRate);
    if (lost && m.type !== 'InstallSnapshot') return;
    const copies = !lost && this.rand.chance(this.duplicateRate) ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      this.flights.push({
        message: m,
        at: this.options.now() + 1 + this.rand.nextInt(this.options.maxDelayUnits),
        lost,
      });
    }
  }

  deliverDue(): void {
    const time = this.options.now();
    const due = this.flights.filter((f) => f.at <= time);
    if (due.length === 0) return;
    this.flights = this.flights.filter((f) => f.at > time);
    for (const flight of due) this.deliver(flight);
  }

  /** Delivers a message; the sender of a snapshot learns whether it arrived (the runtime's reportSnapshot). */
  private deliver({ message: m, lost }: Flight): void {
    const target = this.nodes.get(m.to)?.raft;
    const arrives = !lost && target !== undefined && !this.cuts.has(linkKey(m.from, m.to));
    if (arrives) target.step(m);
    if (this.options.traceMessages) this.trace.add(`${arrives ? 'deliver' : 'LOST'} ${describeMessage(m)}`);
    if (m.type === 'InstallSnapshot') this.nodes.get(m.from)?.raft?.reportSnapshot(m.to, arrives);
  }

  /** Draws whether a partition starts now and whether the current one heals. */
  injectPartitions(): void {
    const partitionRate = this.options.partitionRate;
    if (this.rand.chance(partitionRate)) this.partition();
    if (this.cuts.size > 0 && this.rand.chance(partitionRate * 2)) {
      this.cuts.clear();
      this.trace.add('partition healed');
    }
  }

  private partition(): void {
    const ids = [...this.nodes.keys()];
    this.cuts.clear();
    const side = new Set(ids.filter(() => this.rand.chance(0.4)));
    for (const a of ids) {
      for (const b of ids) if (a < b && side.has(a) !== side.has(b)) this.cuts.add(linkKey(a, b));
    }
    this.trace.add(`partition {${[...side].join(',')}} from the rest`);
  }

  /** From now on every message arrives, once. */
  heal(): void {
    this.cuts.clear();
    this.dropRate = 0;
    this.duplicateRate = 0;
  }
}

function linkKey(a: NodeId, b: NodeId): string {
  return a < b ? `${a}-${b}` : `${b}-${a}`;
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
