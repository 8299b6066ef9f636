// policy: election decisions per second for one broker group (5 replicas by default), in-process (`decide` in a
// loop) and over Connect (HTTP/2, binary) against the election-policy app started as a child process.
// Options: --duration <s> (5) --warmup <s> (1) --concurrency <calls in flight> (16) --replicas <n> (5)
//          --policy <rocketmq-default|zone-aware|max-lag|rules> (rocketmq-default)
import { createClient } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-node';
import { decide, type PolicyName, policyNames } from '@regent/election';
import { electRequest, policies } from '@regent/election/testing';
import {
  ElectionPolicyService,
  type ElectRequest,
  LagFallback,
  type PolicyConfig,
} from '@regent/proto/election';
import { freePort, spawnTs, waitForHttpOk } from '@regent/testing';
import { type BenchResult, log, parseArgs, quantile, round } from '../machine.js';

const defaults = { duration: 5, warmup: 1, concurrency: 16, replicas: 5, policy: 'rocketmq-default' };

const durationSecondsMax = 600;
const concurrencyMax = 1024;
const replicasMax = 64;
/** Decisions between two clock reads in the in-process loop. */
const decisionsPerClockRead = 256;
/** Upper bound of in-process decisions, whatever the clock says. */
const inProcessDecisionsMax = 1e10;
/** Latency samples kept over Connect (reservoir sampling beyond this). */
const latencySamplesMax = 1_000_000;
/** A call slower than this fails the benchmark; it also bounds how long the run lasts past its deadline. */
const callTimeoutMs = 5_000;
const appStartTimeoutMs = 30_000;

interface Measured {
  readonly decisions: number;
  readonly elapsedMs: number;
}

type Client = ReturnType<typeof createClient<typeof ElectionPolicyService>>;

function policyConfig(name: PolicyName): PolicyConfig {
  switch (name) {
    case 'rocketmq-default':
      return policies.rocketmqDefault();
    case 'zone-aware':
      return policies.zoneAware();
    case 'max-lag':
      return policies.maxLag(1 << 20, LagFallback.DEFAULT_RANKING);
    case 'rules':
      return policies.rules({ filter: "c.labels.disk == 'ssd'", rank: 'c.max_offset - c.epoch' });
  }
}

/** A group whose master (broker 1) died: every other replica is alive and in sync, with varied progress. */
function groupRequest(replicas: number, policy: PolicyName): ElectRequest {
  const candidates = Array.from({ length: replicas }, (_, i) => ({
    id: i + 1,
    alive: i !== 0,
    epoch: 3 + (i % 3),
    offset: 1_000_000 - i * 1000,
    priority: i % 2 === 0 ? undefined : i,
    zone: i % 2 === 0 ? 'zone-a' : 'zone-b',
    labels: { disk: i % 3 === 2 ? 'hdd' : 'ssd' },
  }));
  return electRequest({ candidates, oldMaster: 1, policy: policyConfig(policy) });
}

function inProcess(request: ElectRequest, durationMs: number): Measured {
  const start = performance.now();
  const deadline = start + durationMs;
  let decisions = 0;
  let now = start;
  while (now < deadline && decisions < inProcessDecisionsMax) {
    for (let i = 0; i < decisionsPerClockRead; i++) {
      // Reading the result keeps the work observable.
      if (decide(request).chosenBrokerId === undefined) throw new Error('the benchmark group elected nobody');
    }
    decisions += decisionsPerClockRead;
    now = performance.now();
  }
  return { decisions, elapsedMs: now - start };
}

/** Keeps a uniform sample of at most `latencySamplesMax` latencies. */
class Reservoir {
  readonly samples: number[] = [];
  private seen = 0;

  add(value: number): void {
    this.seen++;
    if (this.samples.length < latencySamplesMax) {
      this.samples.push(value);
      return;
    }
    const slot = Math.floor(Math.random() * this.seen);
    if (slot < latencySamplesMax) this.samples[slot] = value;
  }
}

/** `concurrency` callers, each with one call in flight, until `durationMs` has passed. */
async function overConnect(
  client: Client,
  request: ElectRequest,
  concurrency: number,
  durationMs: number,
  latencies?: Reservoir,
): Promise<Measured> {
  const start = performance.now();
  const deadline = start + durationMs;
  let decisions = 0;
  async function caller(): Promise<void> {
    while (performance.now() < deadline) {
      const sent = performance.now();
      const response = await client.elect(request, { timeoutMs: callTimeoutMs });
      latencies?.add(performance.now() - sent);
      if (response.chosenBrokerId === undefined) throw new Error('the benchmark group elected nobody');
      decisions++;
    }
  }
  await Promise.all(Array.from({ length: concurrency }, caller));
  return { decisions, elapsedMs: performance.now() - start };
}

function perSecond(m: Measured): number {
  return round((m.decisions * 1000) / m.elapsedMs, 0);
}

function checkedParams(args: string[]) {
  const p = parseArgs(args, defaults);
  const policy = policyNames.find((n) => n === p.policy);
  if (policy === undefined) throw new Error(`--policy must be one of ${policyNames.join(', ')}`);
  if (!(p.duration > 0 && p.duration <= durationSecondsMax)) {
    throw new Error(`--duration must be in (0, ${durationSecondsMax}] seconds`);
  }
  if (!(p.warmup >= 0 && p.warmup <= durationSecondsMax)) {
    throw new Error(`--warmup must be in [0, ${durationSecondsMax}] seconds`);
  }
  if (!Number.isInteger(p.concurrency) || p.concurrency < 1 || p.concurrency > concurrencyMax) {
    throw new Error(`--concurrency must be an integer in [1, ${concurrencyMax}]`);
  }
  if (!Number.isInteger(p.replicas) || p.replicas < 2 || p.replicas > replicasMax) {
    throw new Error(`--replicas must be an integer in [2, ${replicasMax}]`);
  }
  return { ...p, policy };
}

export async function run(args: string[]): Promise<BenchResult> {
  const p = checkedParams(args);
  const request = groupRequest(p.replicas, p.policy);
  const durationMs = p.duration * 1000;
  const warmupMs = p.warmup * 1000;

  log(`in-process: warm-up ${p.warmup} s, then ${p.duration} s of decide()`);
  inProcess(request, warmupMs);
  const local = inProcess(request, durationMs);
  log(`in-process: ${local.decisions} decisions in ${round(local.elapsedMs)} ms`);

  const port = await freePort();
  const app = spawnTs('election-policy', 'apps/election-policy/src/main.ts', ['--port', String(port)]);
  try {
    const baseUrl = `http://127.0.0.1:${port}`;
    await waitForHttpOk(`${baseUrl}/readyz`, appStartTimeoutMs);
    const client = createClient(ElectionPolicyService, createConnectTransport({ baseUrl, httpVersion: '2' }));
    log(`over Connect: warm-up ${p.warmup} s, then ${p.duration} s with ${p.concurrency} calls in flight`);
    await overConnect(client, request, p.concurrency, warmupMs);
    const latencies = new Reservoir();
    const remote = await overConnect(client, request, p.concurrency, durationMs, latencies);
    log(`over Connect: ${remote.decisions} decisions in ${round(remote.elapsedMs)} ms`);
    return {
      params: {
        replicas: p.replicas,
        policy: p.policy,
        durationSeconds: p.duration,
        warmupSeconds: p.warmup,
        concurrency: p.concurrency,
      },
      metrics: {
        inProcessPerSec: perSecond(local),
        overConnectPerSec: perSecond(remote),
        overConnectP50Ms: round(quantile(latencies.samples, 0.5)),
        overConnectP99Ms: round(quantile(latencies.samples, 0.99)),
      },
    };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`${message}\nelection-policy output:\n${app.output()}`, { cause: error });
  } finally {
    await app.stop();
  }
}
