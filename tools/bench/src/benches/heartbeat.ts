// `npm run bench -- heartbeat --brokers N --duration S`: N brokers (N/3 groups of 3) each heartbeat once a second
// over a HeartbeatStream through one gateway into 3 consensus nodes. Reports heartbeat handling latency (send →
// gateway ack), false failovers (elections while every broker is healthy), CPU of the controller processes per
// 1000 brokers, and the consensus leader's resident memory.
import { readFileSync } from 'node:fs';
import { create } from '@bufbuild/protobuf';
import { createClient } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-node';
import { BROKER_TOKEN, CLUSTER, System } from '@regent/e2e';
import {
  BrokerService,
  type HeartbeatStreamRequest,
  HeartbeatStreamRequestSchema,
} from '@regent/proto/broker';
import { type BenchResult, log, parseArgs, quantile, round } from '../machine.js';

const TICKS_PER_SECOND = 100;

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m === null ? Number.NaN : Number(m[1]) / 1024;
}

async function pool<T>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

export async function run(args: string[]): Promise<BenchResult> {
  const p = parseArgs(args, { brokers: 1000, duration: 30, warmup: 5, connections: 16, timeoutMs: 3000 });
  if (p.brokers < 3 || p.brokers > 30_000) throw new Error('--brokers must be 3..30000');
  if (p.duration < 1 || p.duration > 600) throw new Error('--duration must be 1..600 s');
  const groups = Math.ceil(p.brokers / 3);
  const system = await System.start({
    consensusNodes: 3,
    gateways: 1,
    consensusArgs: ['--restart-grace-ms', '1000'],
  });
  const auth = { authorization: `Bearer ${BROKER_TOKEN}` };
  const transports = Array.from({ length: p.connections }, () =>
    createConnectTransport({ baseUrl: `http://127.0.0.1:${system.gateways[0]!.port}`, httpVersion: '2' }),
  );
  const clients = transports.map((t) => createClient(BrokerService, t));
  const stop = new AbortController();
  const latencies: number[] = [];
  let failures = 0;
  let measuring = false;
  try {
    log(`registering ${p.brokers} brokers in ${groups} groups`);
    const started = performance.now();
    const ids: { group: string; id: bigint; address: string }[] = [];
    await pool(
      Array.from({ length: groups }, (_, g) => g),
      32,
      async (g) => {
        const client = clients[g % clients.length]!;
        const group = `hb-${g}`;
        for (let r = 0; r < 3 && g * 3 + r < p.brokers; r++) {
          const address = `127.0.0.${1 + (g % 250)}:${10000 + r + 3 * Math.floor(g / 250)}`;
          const next = await client.getNextBrokerId(
            { clusterName: CLUSTER, brokerName: group },
            { headers: auth },
          );
          await client.applyBrokerId(
            {
              clusterName: CLUSTER,
              brokerName: group,
              appliedBrokerId: next.nextBrokerId,
              registerCheckCode: `${address};1`,
            },
            { headers: auth },
          );
          await client.registerBroker(
            { clusterName: CLUSTER, brokerName: group, brokerId: next.nextBrokerId, brokerAddress: address },
            { headers: auth },
          );
          ids.push({ group, id: next.nextBrokerId, address });
        }
        await client.electMaster(
          { clusterName: CLUSTER, brokerName: group, brokerId: 1n },
          { headers: auth },
        );
      },
    );
    log(`registered in ${round((performance.now() - started) / 1000, 1)} s; starting heartbeat streams`);

    const streams = ids.map((b, i) =>
      (async () => {
        const client = clients[i % clients.length]!;
        const phaseMs = Math.floor((i / ids.length) * 1000);
        const sent: number[] = [];
        async function* beats(): AsyncGenerator<HeartbeatStreamRequest> {
          await new Promise((r) => setTimeout(r, phaseMs));
          while (!stop.signal.aborted) {
            sent.push(performance.now());
            yield create(HeartbeatStreamRequestSchema, {
              heartbeat: {
                clusterName: CLUSTER,
                brokerName: b.group,
                brokerAddress: b.address,
                brokerId: b.id,
                epoch: 1,
                maxOffset: 1000n,
                confirmOffset: 1000n,
                heartbeatTimeoutMs: BigInt(p.timeoutMs),
              },
            });
            await new Promise((r) => setTimeout(r, 1000));
          }
        }
        try {
          for await (const _ack of client.heartbeatStream(beats(), { headers: auth, signal: stop.signal })) {
            const at = sent.shift();
            if (at !== undefined && measuring) latencies.push(performance.now() - at);
          }
        } catch {
          if (!stop.signal.aborted) failures++;
        }
      })(),
    );
    await new Promise((r) => setTimeout(r, p.warmup * 1000));
    const leader = await system.waitForLeader();
    const consensusPids = system.nodes.map((n) => n.proc.child.pid!);
    const pids = [...consensusPids, system.gateways[0]!.proc.child.pid!];
    const epochsBefore = await masterEpochSum(system, groups);
    const cpuBefore = pids.map(cpuSeconds);
    measuring = true;
    log(`measuring for ${p.duration} s`);
    await new Promise((r) => setTimeout(r, p.duration * 1000));
    measuring = false;
    const cpuUsed = pids.map((pid, i) => cpuSeconds(pid) - cpuBefore[i]!).reduce((a, b) => a + b, 0);
    const epochsAfter = await masterEpochSum(system, groups);
    const leaderPid = system.nodes.find((n) => n.id === leader)!.proc.child.pid!;
    const leaderRss = rssMb(leaderPid);
    stop.abort();
    await Promise.allSettled(streams);
    return {
      params: p,
      metrics: {
        brokers: ids.length,
        groups,
        heartbeats: latencies.length,
        p50Ms: round(quantile(latencies, 0.5), 2),
        p99Ms: round(quantile(latencies, 0.99), 2),
        streamFailures: failures,
        falseFailovers: epochsAfter - epochsBefore,
        cpuPer1000Brokers: round(cpuUsed / p.duration / (ids.length / 1000), 3),
        leaderRssMb: round(leaderRss, 1),
      },
    };
  } finally {
    stop.abort();
    await system.stop();
  }
}

/** The sum of every group's masterEpoch: any election (true or false failover) increases it. */
async function masterEpochSum(system: System, groups: number): Promise<number> {
  const admin = system.adminClient(0);
  const names = Array.from({ length: groups }, (_, g) => `hb-${g}`);
  let sum = 0;
  for (let i = 0; i < names.length; i += 1000) {
    const data = await admin.getSyncStateData({
      clusterName: CLUSTER,
      brokerNames: names.slice(i, i + 1000),
    });
    for (const info of Object.values(data.replicas)) sum += info.masterEpoch;
  }
  return sum;
}
