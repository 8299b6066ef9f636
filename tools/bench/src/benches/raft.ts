// raft: replicated write throughput and latency of a real cluster (consensus nodes with the kv state machine as
// child processes, WAL fsync on) driven from this process by a closed loop of session writers over HTTP/2.
// Options: --concurrency <puts in flight> (64) --payload <value bytes> (256) --duration <s> (10) --warmup <s> (2)
//          --nodes <cluster size> (3) --key-space <distinct keys> (100000)
//          --client raw|stream|connect (raw: lean HTTP/2 unary puts; stream: puts pipelined on KvService.PutStream;
//                   connect: the Connect client)
//          --connections <HTTP/2 connections (raw) or PutStreams (stream) to the leader> (1)
//          --commit-broadcast heartbeat|eager (the nodes' --commit-broadcast; heartbeat, their default)
// The warm-up runs at least WARMUP_WRITERS_MIN writers, so that V8 has optimized the hot paths before a
// low-concurrency measurement: a node runs for days, and its steady state is what is measured.
import { loadavg } from 'node:os';
import { type BenchResult, log, parseArgs, round } from '../machine.js';
import {
  clientFactory,
  clientKind,
  closedLoop,
  closeWithOutput,
  payloadOf,
  Reservoir,
  startCluster,
  WARMUP_WRITERS_MIN,
} from '../raft-load.js';

const defaults = {
  concurrency: 64,
  payload: 256,
  duration: 10,
  warmup: 2,
  nodes: 3,
  keySpace: 100_000,
  client: 'raw',
  connections: 1,
  commitBroadcast: 'heartbeat',
};

const durationSecondsMax = 600;
const concurrencyMax = 4096;
const nodesMax = 9;
const payloadBytesMax = 64 * 1024;

function checkedParams(args: string[]): typeof defaults {
  const p = parseArgs(args, defaults);
  const integerIn = (name: keyof typeof defaults, min: number, max: number): void => {
    const v = p[name] as number;
    if (!Number.isInteger(v) || v < min || v > max)
      throw new Error(`--${name} must be an integer in [${min}, ${max}]`);
  };
  integerIn('concurrency', 1, concurrencyMax);
  integerIn('payload', 1, payloadBytesMax);
  integerIn('nodes', 1, nodesMax);
  integerIn('keySpace', 1, 10_000_000);
  integerIn('connections', 1, 64);
  clientKind(p.client);
  if (p.commitBroadcast !== 'eager' && p.commitBroadcast !== 'heartbeat')
    throw new Error('--commit-broadcast must be eager or heartbeat');
  if (!(p.duration > 0 && p.duration <= durationSecondsMax))
    throw new Error(`--duration must be in (0, ${durationSecondsMax}]`);
  if (!(p.warmup >= 0 && p.warmup <= durationSecondsMax))
    throw new Error(`--warmup must be in [0, ${durationSecondsMax}]`);
  return p;
}

export async function run(args: string[]): Promise<BenchResult> {
  const p = checkedParams(args);
  const cluster = await startCluster({ size: p.nodes, nodeArgs: ['--commit-broadcast', p.commitBroadcast] });
  const clients = clientFactory(cluster, clientKind(p.client), p.connections);
  try {
    const payload = payloadOf(p.payload);
    const leader = await cluster.waitForLeader();
    const warmupWriters = Math.max(p.concurrency, WARMUP_WRITERS_MIN);
    log(`warm-up: ${p.warmup} s with ${warmupWriters} writers`);
    await closedLoop(clients, {
      concurrency: warmupWriters,
      payload,
      durationMs: p.warmup * 1000,
      keySpace: p.keySpace,
      sessionPrefix: 'warmup',
    });
    const loadAverage = loadavg()[0]!;
    log(`measuring: ${p.duration} s with ${p.concurrency} writers of ${p.payload}-byte values`);
    const latencies = new Reservoir();
    const result = await closedLoop(clients, {
      concurrency: p.concurrency,
      payload,
      durationMs: p.duration * 1000,
      keySpace: p.keySpace,
      sessionPrefix: 'measured',
      latencies,
    });
    const after = await cluster.waitForLeader();
    log(`${result.ops} puts in ${round(result.elapsedMs)} ms; leader ${leader.id} → ${after.id}`);
    return {
      params: {
        nodes: p.nodes,
        concurrency: p.concurrency,
        payloadBytes: p.payload,
        durationSeconds: p.duration,
        warmupSeconds: p.warmup,
        warmupWriters,
        commitBroadcast: p.commitBroadcast,
        keySpace: p.keySpace,
        client: p.client,
        connections: p.connections,
        fsync: true,
      },
      metrics: {
        opsPerSec: round((result.ops * 1000) / result.elapsedMs, 0),
        ...latencies.summary(),
        ops: result.ops,
        termChanges: Number(after.term - leader.term),
        loadAverage1m: round(loadAverage, 2),
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
