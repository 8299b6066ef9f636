// Shared pieces of the Raft benchmarks: a cluster of consensus nodes (kv state machine) as child processes, closed
// and rate-limited write loops through session writers, a latency reservoir, and process RSS.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import {
  type ClusterClient,
  ProcessCluster,
  type ProcessClusterOptions,
  SessionWriter,
} from '@regent/consensus/testing';
import { log, quantile, round } from './machine.js';
import { RawPutClient } from './raw-put.js';
import { StreamPutClient } from './stream-put.js';

/** Latency samples kept per run (uniform reservoir beyond this). */
const LATENCY_SAMPLES_MAX = 1_000_000;
/** Keys a write loop cycles through: bounds the state machine (and its snapshots). */
export const KEY_SPACE_DEFAULT = 100_000;
/**
 * Writers during a benchmark's warm-up, at least: a few seconds at concurrency 1 leave much of the hot path
 * unoptimized by V8 (measured c1 throughput rose 3× over the first 30 s), and a node runs for days.
 */
export const WARMUP_WRITERS_MIN = 64;

/** A uniform sample of at most LATENCY_SAMPLES_MAX values (Algorithm R with a seeded LCG: no Math.random). */
export class Reservoir {
  readonly samples: number[] = [];
  #seen = 0;
  #state = 0x2545f491;
  max = 0;

  add(value: number): void {
    this.#seen++;
    if (value > this.max) this.max = value;
    if (this.samples.length < LATENCY_SAMPLES_MAX) {
      this.samples.push(value);
      return;
    }
    this.#state = (Math.imul(this.#state, 1_664_525) + 1_013_904_223) >>> 0;
    const slot = this.#state % this.#seen;
    if (slot < LATENCY_SAMPLES_MAX) this.samples[slot] = value;
  }

  /** p50/p99/p99.9/max in ms, rounded. */
  summary(): { p50Ms: number; p99Ms: number; p999Ms: number; maxMs: number } {
    const sorted = [...this.samples].sort((a, b) => a - b);
    return {
      p50Ms: round(quantile(sorted, 0.5)),
      p99Ms: round(quantile(sorted, 0.99)),
      p999Ms: round(quantile(sorted, 0.999)),
      maxMs: round(this.max),
    };
  }
}

export type ClientKind = 'raw' | 'stream' | 'connect';

/** Validates a --client value. */
export function clientKind(value: string): ClientKind {
  if (value === 'raw' || value === 'stream' || value === 'connect') return value;
  throw new Error(
    '--client must be raw (lean HTTP/2 unary Connect-protocol puts), stream (puts pipelined on KvService.PutStream) or connect (the Connect client)',
  );
}

/**
 * Makes cluster clients that follow NOT_LEADER hints and retry: `raw` ones send unary Puts through a shared lean
 * HTTP/2 client (`connections` sessions per node), `stream` ones pipeline them on shared PutStreams (`connections`
 * streams per node), `connect` ones use the Connect client.
 */
export function clientFactory(
  cluster: ProcessCluster,
  kind: ClientKind,
  connections = 1,
): { client(): ClusterClient; close(): void } {
  if (kind === 'connect') return { client: () => cluster.client(), close: () => {} };
  if (kind === 'stream') {
    const stream = new StreamPutClient(cluster, connections);
    return { client: () => cluster.client({ put: stream.put }), close: () => stream.close() };
  }
  const raw = new RawPutClient(cluster, connections);
  return { client: () => cluster.client({ put: raw.put }), close: () => raw.close() };
}

/** Builds the consensus app to JavaScript (Nx-cached), for clusters started with `compiled: true`. */
export function buildConsensus(): void {
  log('building the consensus app (npx nx run consensus:build)');
  execFileSync('npx', ['nx', 'run', 'consensus:build', '--outputStyle=static'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

/** Starts a kv cluster and waits for a leader; on failure the nodes' output is attached to the error. */
export async function startCluster(options: ProcessClusterOptions): Promise<ProcessCluster> {
  log(`starting ${options.size} consensus nodes (load average ${loadavg()[0]!.toFixed(1)})`);
  const cluster = await ProcessCluster.start({ logLevel: 'warn', ...options });
  try {
    const leader = await cluster.waitForLeader({ timeoutMs: 60_000 });
    log(`leader is node ${leader.id} (term ${leader.term}); data in ${cluster.dir}`);
    return cluster;
  } catch (error) {
    await closeWithOutput(cluster, error);
    throw error;
  }
}

/** Closes the cluster; with an error, prints the end of every node's output to stderr first. */
export async function closeWithOutput(cluster: ProcessCluster, error?: unknown): Promise<void> {
  if (error !== undefined) {
    for (const id of cluster.ids())
      process.stderr.write(`--- node ${id} ---\n${cluster.output(id).slice(-4000)}\n`);
  }
  await cluster.close();
}

/** A payload of `bytes` bytes (content irrelevant). */
export function payloadOf(bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) out[i] = (i * 31 + 7) & 0xff;
  return out;
}

export interface ClosedLoopResult {
  readonly ops: number;
  readonly elapsedMs: number;
}

/**
 * `concurrency` session writers, each with one put in flight (retried by the cluster client until acknowledged),
 * until `durationMs` has passed. Latencies (ms, send to acknowledgement) go to `latencies` when given.
 */
export async function closedLoop(
  clients: { client(): ClusterClient },
  options: {
    readonly concurrency: number;
    readonly payload: Uint8Array;
    readonly durationMs: number;
    readonly keySpace?: number;
    readonly sessionPrefix: string;
    readonly latencies?: Reservoir;
  },
): Promise<ClosedLoopResult> {
  const start = performance.now();
  const deadline = start + options.durationMs;
  const keySpace = options.keySpace ?? KEY_SPACE_DEFAULT;
  let ops = 0;
  await Promise.all(
    Array.from({ length: options.concurrency }, async (_, w) => {
      const writer = new SessionWriter(clients.client(), `${options.sessionPrefix}-${w}`);
      for (let n = 0; performance.now() < deadline; n++) {
        const sent = performance.now();
        await writer.put(`k${(n * options.concurrency + w) % keySpace}`, options.payload);
        options.latencies?.add(performance.now() - sent);
        ops++;
      }
    }),
  );
  return { ops, elapsedMs: performance.now() - start };
}

/** Resident set size of process `pid` in MiB (Linux /proc). */
export function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (match === null) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return round(Number(match[1]) / 1024, 1);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
