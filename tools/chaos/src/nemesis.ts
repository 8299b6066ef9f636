// Applies a fault plan to a running system: each fault starts at its offset and is healed after its duration.
// Several faults may touch one proxy (a delay on node 2 and an isolated node 1 share the link 1→2): each link keeps
// the set of faults on it and applies their union (blackholes merge, the largest delay and reset probability win).
// A disk-loss kills a consensus node and, while it is down, rewrites its data dir as a power failure would leave it.
import { setMaxListeners } from 'node:events';
import { basename } from 'node:path';
import { loseUnsyncedWrites, type PowerLossReport, type UnsyncedTail } from '@regent/raft-storage/testing';
import type { ChaosCluster } from './cluster.js';
import type { FaultProxy, LinkFault } from './proxy.js';
import { describeFault, type Fault } from './schedule.js';
import type { Workload } from './workload.js';

export interface InjectedFault {
  readonly fault: Fault;
  readonly startedMs: number;
  endedMs: number | undefined;
  error: string | undefined;
}

function merge(faults: Iterable<LinkFault>): LinkFault {
  let up = false;
  let down = false;
  let delayMs = 0;
  let jitterMs = 0;
  let resetProbability = 0;
  for (const f of faults) {
    up ||= f.blackhole === 'both' || f.blackhole === 'up';
    down ||= f.blackhole === 'both' || f.blackhole === 'down';
    delayMs = Math.max(delayMs, f.delayMs ?? 0);
    jitterMs = Math.max(jitterMs, f.jitterMs ?? 0);
    resetProbability = Math.max(resetProbability, f.resetProbability ?? 0);
  }
  const blackhole = up && down ? 'both' : up ? 'up' : down ? 'down' : undefined;
  return { ...(blackhole === undefined ? {} : { blackhole }), delayMs, jitterMs, resetProbability };
}

/** One disk-loss: which node, and what its storage lost. */
export interface DiskLoss {
  readonly target: string;
  readonly report: PowerLossReport;
}

/** What the disk-loss fault's `tail` fields mean to the storage. */
export function unsyncedTailOf(f: Fault): UnsyncedTail {
  if (f.tail === 'torn') return { kind: 'torn', keptFraction: f.keptFraction ?? 0 };
  return { kind: f.tail ?? 'cut' };
}

/** One log line on a disk-loss. */
export function describeDiskLoss(report: PowerLossReport): string {
  if (!report.ledgerFound) return 'no sync ledger: nothing lost';
  const lost = [
    ...report.truncated.map((t) => `${basename(t.file)} ${t.fromBytes}→${t.toBytes} bytes`),
    ...report.zeroed.map((z) => `${basename(z.file)} ${z.bytes} bytes zeroed from ${z.fromByte}`),
    ...report.deleted.map((file) => `${basename(file)} deleted`),
    ...report.shorterThanDurable.map(
      (s) => `${basename(s.file)} SHORTER than durable (${s.bytes} < ${s.durable})`,
    ),
  ];
  return lost.length === 0 ? 'every byte was durable' : lost.join(', ');
}

export class Nemesis {
  readonly injected: InjectedFault[] = [];
  readonly diskLosses: DiskLoss[] = [];
  readonly #linkFaults = new Map<FaultProxy, Map<number, LinkFault>>();
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #heals = new Map<number, () => void | Promise<void>>();

  constructor(
    private readonly cluster: ChaosCluster,
    private readonly workload: Workload,
    private readonly nowMs: () => number,
    private readonly log: (message: string) => void,
  ) {}

  /** Runs `plan` from now; resolves when every fault has started and ended (or `signal` aborts). */
  async run(plan: readonly Fault[], signal: AbortSignal): Promise<void> {
    const startMs = this.nowMs();
    setMaxListeners(plan.length + 10, signal);
    const done = plan.map(
      (fault) =>
        new Promise<void>((resolve) => {
          const timer = setTimeout(
            () => {
              this.#timers.delete(timer);
              if (signal.aborted) return resolve();
              void this.#inject(fault, startMs).finally(resolve);
            },
            Math.max(0, startMs + fault.atMs - this.nowMs()),
          );
          this.#timers.add(timer);
          signal.addEventListener('abort', () => resolve(), { once: true });
        }),
    );
    await Promise.all(done);
  }

  async #inject(fault: Fault, startMs: number): Promise<void> {
    const record: InjectedFault = { fault, startedMs: this.nowMs(), endedMs: undefined, error: undefined };
    this.injected.push(record);
    this.log(`fault ${describeFault(fault)}`);
    try {
      const heal = await this.#apply(fault);
      this.#heals.set(fault.index, heal);
    } catch (error) {
      record.error = error instanceof Error ? error.message : String(error);
      return;
    }
    const remainingMs = Math.max(0, startMs + fault.atMs + fault.durationMs - this.nowMs());
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        resolve();
      }, remainingMs);
      this.#timers.add(timer);
    });
    await this.#heal(fault.index, record);
  }

  async #heal(index: number, record: InjectedFault | undefined): Promise<void> {
    const heal = this.#heals.get(index);
    if (heal === undefined) return;
    this.#heals.delete(index);
    try {
      await heal();
    } catch (error) {
      if (record !== undefined) record.error = error instanceof Error ? error.message : String(error);
    }
    if (record !== undefined) record.endedMs = this.nowMs();
  }

  /** Drops every pending fault start and heal without healing (the run is being torn down). */
  cancel(): void {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
  }

  /** Heals every fault still in effect, then everything else (links, processes, brokers). */
  async healAll(): Promise<void> {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    for (const index of [...this.#heals.keys()]) {
      await this.#heal(
        index,
        this.injected.find((r) => r.fault.index === index),
      );
    }
    this.cluster.healAll();
    const natsUrl = this.cluster.nats!.url;
    for (const broker of this.workload.brokers) {
      broker.clockOffsetMs = 0;
      broker.resume();
      await broker.restart(natsUrl);
    }
  }

  #setLink(link: FaultProxy, index: number, fault: LinkFault): () => void {
    let faults = this.#linkFaults.get(link);
    if (faults === undefined) this.#linkFaults.set(link, (faults = new Map()));
    faults.set(index, fault);
    link.setFault(merge(faults.values()));
    return () => {
      faults.delete(index);
      if (faults.size === 0) link.heal();
      else {
        link.setFault(merge(faults.values()));
        link.resetBroken();
      }
    };
  }

  #setLinks(links: readonly FaultProxy[], index: number, fault: LinkFault): () => void {
    const heals = links.map((link) => this.#setLink(link, index, fault));
    return () => {
      for (const heal of heals) heal();
    };
  }

  /** Every Raft link from or to node `id`. */
  #raftLinksOf(id: string): FaultProxy[] {
    return [...this.cluster.raftLinks.entries()]
      .filter(([key]) => key.split('->').includes(id))
      .map(([, link]) => link);
  }

  #node(id: string) {
    const node = this.cluster.nodes.find((n) => String(n.id) === id);
    if (node === undefined) throw new Error(`no consensus node ${id}`);
    return node;
  }

  #broker(name: string) {
    const broker = this.workload.broker(name);
    if (broker === undefined) throw new Error(`no broker ${name}`);
    return broker;
  }

  /** Starts `fault`; returns how to heal it. */
  async #apply(f: Fault): Promise<() => void | Promise<void>> {
    switch (f.kind) {
      case 'kill': {
        const service = this.cluster.services().find((s) => s.name === f.target);
        if (service === undefined) throw new Error(`no process ${f.target}`);
        await service.kill();
        return () => service.restart();
      }
      case 'disk-loss': {
        const node = this.cluster.nodes.find((n) => n.service.name === f.target);
        if (node === undefined) throw new Error(`no consensus node ${f.target}`);
        await node.service.kill();
        const report = loseUnsyncedWrites({
          dir: node.dataDir,
          ledgerPath: node.syncLedgerPath,
          tail: unsyncedTailOf(f),
        });
        this.diskLosses.push({ target: f.target, report });
        this.log(`  ${f.target} after the power failure: ${describeDiskLoss(report)}`);
        return () => node.service.restart();
      }
      case 'pause': {
        const service = this.cluster.services().find((s) => s.name === f.target);
        if (service === undefined) throw new Error(`no process ${f.target}`);
        service.pause();
        return () => service.resume();
      }
      case 'isolate-node':
        return this.#setLinks(this.#raftLinksOf(f.target), f.index, { blackhole: 'both' });
      case 'one-way': {
        const link = this.cluster.raftLinks.get(`${f.target}->${f.peer}`);
        if (link === undefined) throw new Error(`no raft link ${f.target}->${f.peer}`);
        return this.#setLink(link, f.index, { blackhole: 'both' });
      }
      case 'clients-cut':
        return this.#setLink(this.#node(f.target).clientProxy, f.index, { blackhole: 'both' });
      case 'reply-loss':
        return this.#setLink(this.#node(f.target).clientProxy, f.index, { blackhole: 'down' });
      case 'delay':
      case 'resets': {
        const links = [...this.#raftLinksOf(f.target), this.#node(f.target).clientProxy];
        const fault: LinkFault =
          f.kind === 'delay'
            ? { delayMs: f.delayMs ?? 0, jitterMs: f.jitterMs ?? 0 }
            : { resetProbability: f.resetProbability ?? 0 };
        return this.#setLinks(links, f.index, fault);
      }
      case 'policy-delay':
        return this.#setLink(this.cluster.policyLink!, f.index, {
          delayMs: f.delayMs ?? 0,
          jitterMs: f.jitterMs ?? 0,
        });
      case 'broker-isolate':
        return this.#setLinks(this.cluster.brokerLinksOf(f.target), f.index, { blackhole: 'both' });
      case 'master-isolate':
      case 'master-kill': {
        const master = this.workload.masterOf(f.target);
        if (master === undefined) throw new Error(`no known master of ${f.target}`);
        this.log(`  the master of ${f.target} is ${master.name}`);
        if (f.kind === 'master-isolate') {
          return this.#setLinks(this.cluster.brokerLinksOf(master.name), f.index, { blackhole: 'both' });
        }
        master.kill();
        return () => master.restart(this.cluster.nats!.url);
      }
      case 'broker-kill': {
        const broker = this.#broker(f.target);
        broker.kill();
        if (f.wipe === true) broker.loseIdentity();
        return () => broker.restart(this.cluster.nats!.url);
      }
      case 'broker-pause': {
        const broker = this.#broker(f.target);
        broker.pause();
        return () => broker.resume();
      }
      case 'clock-jump': {
        const broker = this.#broker(f.target);
        broker.clockOffsetMs = f.offsetMs ?? 0;
        return () => {
          broker.clockOffsetMs = 0;
        };
      }
    }
  }
}
