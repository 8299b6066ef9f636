// raft-failover: how long writes stop when the leader is killed (SIGKILL), and whether an idle cluster holds
// elections it does not need. A rate-limited writer (at most `inflight` puts in flight, one session per slot) runs
// through every trial; each trial kills the leader, waits for writes to flow again, then restarts the killed node
// and waits for the cluster to converge. A trial's gap is the longest time between two acknowledged writes from
// one second before the kill until writes have flowed again for one second. The idle phase counts term changes
// (elections) while nothing is faulted and nothing is written.
// Options: --trials (10) --rate <puts/s> (100) --idle-seconds (60) --nodes (3) --inflight (32)
import { loadavg } from 'node:os';
import { type ClusterClient, type ProcessCluster, SessionWriter } from '@regent/consensus/testing';
import { type BenchResult, log, parseArgs, quantile, round } from '../machine.js';
import { clientFactory, closeWithOutput, payloadOf, sleep, startCluster } from '../raft-load.js';

const defaults = { trials: 10, rate: 100, idleSeconds: 60, nodes: 3, inflight: 32 };

const trialsMax = 1000;
const rateMax = 100_000;
const idleSecondsMax = 3600;
/** Acknowledgement times kept (a ring): bounds memory whatever the run length. */
const ackTimesMax = 1_000_000;
/** Writes must flow this long before a kill and after recovery for a trial's gap to be measured. */
const settleMs = 1000;
const statusPollMs = 100;

function checkedParams(args: string[]): typeof defaults {
  const p = parseArgs(args, defaults);
  const integerIn = (name: keyof typeof defaults, min: number, max: number): void => {
    const v = p[name];
    if (!Number.isInteger(v) || v < min || v > max)
      throw new Error(`--${name} must be an integer in [${min}, ${max}]`);
  };
  integerIn('trials', 0, trialsMax);
  integerIn('rate', 1, rateMax);
  integerIn('idleSeconds', 0, idleSecondsMax);
  integerIn('nodes', 3, 9);
  integerIn('inflight', 1, 4096);
  return p;
}

/** Writes at `rate` puts/s with at most `inflight` in flight; records when each put was acknowledged. */
class RateWriter {
  readonly #acks: number[] = [];
  #ackCount = 0;
  #running = true;
  #skipped = 0;
  readonly #done: Promise<void>;

  constructor(clients: { client(): ClusterClient }, rate: number, inflight: number) {
    const free = Array.from(
      { length: inflight },
      (_, i) => new SessionWriter(clients.client(), `failover-${i}`),
    );
    const payload = payloadOf(256);
    const intervalMs = 1000 / rate;
    const pending = new Set<Promise<void>>();
    this.#done = (async () => {
      let next = performance.now();
      for (let n = 0; this.#running; n++) {
        const writer = free.pop();
        if (writer === undefined) this.#skipped++;
        else {
          const put = writer
            .put(`failover-${n % 10_000}`, payload)
            .then(() => this.#ack(performance.now()))
            .finally(() => {
              free.push(writer);
              pending.delete(put);
            });
          pending.add(put);
        }
        next += intervalMs;
        const wait = next - performance.now();
        if (wait > 0) await sleep(wait);
        else next = performance.now();
      }
      await Promise.all(pending);
    })();
  }

  #ack(at: number): void {
    this.#acks[this.#ackCount % ackTimesMax] = at;
    this.#ackCount++;
  }

  get ackCount(): number {
    return this.#ackCount;
  }

  /** Ticks the writer could not send because every slot was busy. */
  get skipped(): number {
    return this.#skipped;
  }

  /** Acknowledgement times in [from, to], in order. */
  acksBetween(from: number, to: number): number[] {
    const kept = Math.min(this.#ackCount, ackTimesMax);
    const out: number[] = [];
    for (let i = this.#ackCount - kept; i < this.#ackCount; i++) {
      const t = this.#acks[i % ackTimesMax]!;
      if (t >= from && t <= to) out.push(t);
    }
    return out.sort((a, b) => a - b);
  }

  async stop(): Promise<void> {
    this.#running = false;
    await this.#done;
  }
}

/** The longest time between consecutive acknowledgements (and from `from` to the first one). */
function longestGap(from: number, acks: readonly number[]): number {
  let gap = 0;
  let previous = from;
  for (const t of acks) {
    gap = Math.max(gap, t - previous);
    previous = t;
  }
  return gap;
}

async function waitForAcks(writer: RateWriter, count: number, timeoutMs: number): Promise<void> {
  const target = writer.ackCount + count;
  const deadline = performance.now() + timeoutMs;
  while (writer.ackCount < target) {
    if (performance.now() > deadline) throw new Error(`writes did not resume within ${timeoutMs} ms`);
    await sleep(5);
  }
}

/** Term changes seen over `seconds` on an idle cluster (the highest term any node reports). */
async function idleElections(
  cluster: ProcessCluster,
  seconds: number,
): Promise<{ elections: number; leaderChanges: number }> {
  const highestTerm = async (): Promise<{ term: bigint; leader: bigint }> => {
    const statuses = await cluster.statuses();
    let term = 0n;
    let leader = 0n;
    for (const s of statuses.values()) {
      if (s.term > term) {
        term = s.term;
        leader = s.leaderId;
      }
    }
    return { term, leader };
  };
  const first = await highestTerm();
  let last = first;
  let leaderChanges = 0;
  const deadline = performance.now() + seconds * 1000;
  while (performance.now() < deadline) {
    await sleep(statusPollMs);
    const now = await highestTerm();
    if (now.leader !== last.leader && now.leader !== 0n) leaderChanges++;
    if (now.leader !== 0n) last = now;
    else last = { ...now, leader: last.leader };
  }
  return { elections: Number(last.term - first.term), leaderChanges };
}

export async function run(args: string[]): Promise<BenchResult> {
  const p = checkedParams(args);
  const cluster = await startCluster({ size: p.nodes });
  const clients = clientFactory(cluster, 'raw');
  try {
    // A first write commits the leader's no-op and settles the cluster before the idle count starts.
    await clients.client().put('hello', payloadOf(16));
    await cluster.waitForConvergence();
    const loadAtIdle = loadavg()[0]!;
    log(`idle: counting elections for ${p.idleSeconds} s (load average ${loadAtIdle.toFixed(1)})`);
    const idle = await idleElections(cluster, p.idleSeconds);
    log(`idle: ${idle.elections} term changes, ${idle.leaderChanges} leader changes`);

    const writer = new RateWriter(clients, p.rate, p.inflight);
    const gaps: number[] = [];
    try {
      await waitForAcks(writer, p.rate, 30_000);
      for (let trial = 1; trial <= p.trials; trial++) {
        await sleep(settleMs);
        const leader = await cluster.waitForLeader();
        const killedAt = performance.now();
        await cluster.kill(leader.id);
        await waitForAcks(writer, 1, 30_000);
        const resumedAt = performance.now();
        await waitForAcks(writer, Math.max(1, Math.round(p.rate * (settleMs / 1000))), 30_000);
        const from = killedAt - settleMs;
        const gap = longestGap(from, writer.acksBetween(from, performance.now()));
        gaps.push(gap);
        const next = await cluster.waitForLeader();
        log(
          `trial ${trial}: killed leader ${leader.id} (term ${leader.term}); node ${next.id} leads term ${next.term}; ` +
            `first ack after ${round(resumedAt - killedAt, 0)} ms; longest gap ${round(gap, 0)} ms`,
        );
        cluster.restart(leader.id);
        await cluster.waitForConvergence({ timeoutMs: 60_000 });
      }
    } finally {
      await writer.stop();
    }
    return {
      params: {
        nodes: p.nodes,
        trials: p.trials,
        ratePerSec: p.rate,
        inflightMax: p.inflight,
        idleSeconds: p.idleSeconds,
      },
      metrics: {
        maxGapP50Ms: round(quantile(gaps, 0.5), 1),
        maxGapP99Ms: round(quantile(gaps, 0.99), 1),
        maxGapMaxMs: round(Math.max(0, ...gaps), 1),
        spuriousElections: idle.elections,
        idleLeaderChanges: idle.leaderChanges,
        writesSkippedBusy: writer.skipped,
        loadAverage1m: round(loadAtIdle, 2),
      },
    };
  } catch (error) {
    await closeWithOutput(cluster, error);
    throw error;
  } finally {
    clients.close();
    await cluster.close();
  }
}
