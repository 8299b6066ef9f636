// etcd: the anchor for the raft bench. Three etcd members (the `etcd` binary on PATH, e.g. Debian's etcd-server) on
// loopback with their default fsync, driven by the raft bench's workload: a closed loop of `concurrency` writers, each
// with one put of a `payload`-byte value in flight, keys cycling through `key-space`, sent to the leader by one of
// two clients (--client):
//   json  (default) etcd's v3 JSON gateway (POST /v3/kv/put, base64 keys and values) over HTTP/1.1 keep-alive,
//         up to one socket per writer;
//   etcd3 the npm `etcd3` client (gRPC over @grpc/grpc-js, one HTTP/2 channel to the leader's client URL, the
//         client's default retry and circuit-breaker policies, a 10 s deadline per put), one
//         `client.put(key).value(buffer)` per put — how the issue measured its etcd baseline.
// The leader is found through the JSON gateway either way; only the measured puts differ.
// Options: --client json|etcd3 (json) --concurrency (64) --payload (256) --duration <s> (10) --warmup <s> (2)
//          --key-space (100000)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, type ManagedProcess, spawnProcess, waitFor } from '@regent/testing';
import type { Etcd3 } from 'etcd3';
import { type BenchResult, log, parseArgs, round } from '../machine.js';
import { payloadOf, Reservoir, WARMUP_WRITERS_MIN } from '../raft-load.js';

const clients = {
  json: 'HTTP/1.1 JSON gateway to the leader',
  etcd3: 'etcd3 (grpc-js) client to the leader',
} as const;
type Client = keyof typeof clients;

const defaults = {
  client: 'json',
  concurrency: 64,
  payload: 256,
  duration: 10,
  warmup: 2,
  keySpace: 100_000,
};
const durationSecondsMax = 600;
const concurrencyMax = 4096;
/** One put's deadline; etcd answers in milliseconds unless the cluster is broken. */
const putTimeoutMs = 10_000;

interface Member {
  readonly name: string;
  readonly clientUrl: string;
  readonly peerUrl: string;
  proc?: ManagedProcess;
}

/** The etcd binary on PATH, or undefined. */
export function etcdBinary(): string | undefined {
  try {
    return execFileSync('sh', ['-c', 'command -v etcd'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

function etcdVersion(binary: string): string {
  const out = execFileSync(binary, ['--version'], { encoding: 'utf8' });
  return /etcd Version: (\S+)/.exec(out)?.[1] ?? 'unknown';
}

async function postJson(agent: http.Agent, url: string, body: unknown): Promise<Record<string, unknown>> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(url, {
      method: 'POST',
      agent,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
      timeout: putTimeoutMs,
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url} within ${putTimeoutMs} ms`)));
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode !== 200) {
          reject(new Error(`${url} answered ${res.statusCode}: ${text.slice(0, 200)}`));
          return;
        }
        resolve(JSON.parse(text) as Record<string, unknown>);
      });
    });
    req.end(payload);
  });
}

async function startEtcd(binary: string, dataRoot: string): Promise<Member[]> {
  const members: Member[] = [];
  for (let i = 1; i <= 3; i++) {
    members.push({
      name: `m${i}`,
      clientUrl: `http://127.0.0.1:${await freePort()}`,
      peerUrl: `http://127.0.0.1:${await freePort()}`,
    });
  }
  const initialCluster = members.map((m) => `${m.name}=${m.peerUrl}`).join(',');
  for (const m of members) {
    m.proc = spawnProcess(`etcd-${m.name}`, binary, [
      '--name',
      m.name,
      '--data-dir',
      join(dataRoot, m.name),
      '--listen-client-urls',
      m.clientUrl,
      '--advertise-client-urls',
      m.clientUrl,
      '--listen-peer-urls',
      m.peerUrl,
      '--initial-advertise-peer-urls',
      m.peerUrl,
      '--initial-cluster',
      initialCluster,
      '--initial-cluster-state',
      'new',
      '--initial-cluster-token',
      'regent-bench',
      '--logger',
      'zap',
      '--log-level',
      'error',
    ]);
  }
  await waitFor(
    async () => {
      for (const m of members) {
        const res = await fetch(`${m.clientUrl}/health`);
        if (!res.ok || ((await res.json()) as { health?: string }).health !== 'true') return false;
      }
      return true;
    },
    { timeoutMs: 30_000, what: 'three healthy etcd members' },
  );
  return members;
}

/** The client URL of the member that leads. */
async function leaderUrl(agent: http.Agent, members: readonly Member[]): Promise<string> {
  return waitFor(
    async () => {
      for (const m of members) {
        const status = await postJson(agent, `${m.clientUrl}/v3/maintenance/status`, {});
        const header = status.header as { member_id?: string } | undefined;
        if (header?.member_id !== undefined && header.member_id === status.leader) return m.clientUrl;
      }
      return undefined;
    },
    { timeoutMs: 20_000, what: 'an etcd leader' },
  );
}

/** Writes `value` under `key` and resolves once the leader has committed it. */
type Put = (key: string) => Promise<unknown>;

async function closedLoop(
  put: Put,
  options: {
    concurrency: number;
    durationMs: number;
    keySpace: number;
    latencies?: Reservoir;
  },
): Promise<{ ops: number; elapsedMs: number }> {
  const start = performance.now();
  const deadline = start + options.durationMs;
  let ops = 0;
  await Promise.all(
    Array.from({ length: options.concurrency }, async (_, w) => {
      for (let n = 0; performance.now() < deadline; n++) {
        const key = `k${(n * options.concurrency + w) % options.keySpace}`;
        const sent = performance.now();
        await put(key);
        options.latencies?.add(performance.now() - sent);
        ops++;
      }
    }),
  );
  return { ops, elapsedMs: performance.now() - start };
}

export async function run(args: string[]): Promise<BenchResult> {
  const p = parseArgs(args, defaults);
  if (!Number.isInteger(p.concurrency) || p.concurrency < 1 || p.concurrency > concurrencyMax)
    throw new Error(`--concurrency must be an integer in [1, ${concurrencyMax}]`);
  if (!(p.duration > 0 && p.duration <= durationSecondsMax))
    throw new Error(`--duration must be in (0, ${durationSecondsMax}]`);
  if (!(p.warmup >= 0 && p.warmup <= durationSecondsMax))
    throw new Error(`--warmup must be in [0, ${durationSecondsMax}]`);
  if (!Object.hasOwn(clients, p.client))
    throw new Error(
      `--client must be one of ${Object.keys(clients).join(', ')} (got ${JSON.stringify(p.client)})`,
    );
  const client = p.client as Client;
  const binary = etcdBinary();
  if (binary === undefined) throw new Error('etcd is not installed (no `etcd` on PATH; Debian: etcd-server)');
  const version = etcdVersion(binary);
  const dataRoot = mkdtempSync(join(tmpdir(), 'regent-bench-etcd-'));
  // The warm-up uses the raft bench's rule (at least WARMUP_WRITERS_MIN writers), so both clients are equally warm.
  const warmupWriters = Math.max(p.concurrency, WARMUP_WRITERS_MIN);
  const agent = new http.Agent({ keepAlive: true, maxSockets: warmupWriters });
  let members: Member[] = [];
  let etcd3: Etcd3 | undefined;
  try {
    log(`starting 3 etcd ${version} members`);
    members = await startEtcd(binary, dataRoot);
    const url = await leaderUrl(agent, members);
    const value = Buffer.from(payloadOf(p.payload));
    let put: Put;
    if (client === 'etcd3') {
      // Loaded only here: grpc-js is a dev dependency of the bench, and report.ts imports this module.
      const { Etcd3 } = await import('etcd3');
      const c = new Etcd3({
        hosts: url,
        defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + putTimeoutMs }),
      });
      etcd3 = c;
      // exec() is what awaiting the builder runs; called directly because PutBuilder.then() does not type as a Promise.
      put = (key) => c.put(key).value(value).exec();
    } else {
      const value64 = value.toString('base64');
      put = (key) =>
        postJson(agent, `${url}/v3/kv/put`, { key: Buffer.from(key).toString('base64'), value: value64 });
    }
    log(`warm-up: ${p.warmup} s with ${warmupWriters} writers (${clients[client]})`);
    await closedLoop(put, { ...p, concurrency: warmupWriters, durationMs: p.warmup * 1000 });
    const loadAverage = loadavg()[0]!;
    log(`measuring: ${p.duration} s with ${p.concurrency} writers of ${p.payload}-byte values`);
    const latencies = new Reservoir();
    const result = await closedLoop(put, { ...p, durationMs: p.duration * 1000, latencies });
    log(`${result.ops} puts in ${round(result.elapsedMs)} ms`);
    return {
      params: {
        etcdVersion: version,
        nodes: 3,
        concurrency: p.concurrency,
        payloadBytes: p.payload,
        durationSeconds: p.duration,
        warmupSeconds: p.warmup,
        warmupWriters,
        keySpace: p.keySpace,
        fsync: true,
        client: clients[client],
      },
      metrics: {
        opsPerSec: round((result.ops * 1000) / result.elapsedMs, 0),
        ...latencies.summary(),
        ops: result.ops,
        loadAverage1m: round(loadAverage, 2),
      },
    };
  } finally {
    etcd3?.close();
    agent.destroy();
    await Promise.all(members.map((m) => m.proc?.stop(5000)));
    rmSync(dataRoot, { recursive: true, force: true });
  }
}
