// `npm run bench -- heartbeat --brokers N --duration S`: N brokers (N/3 groups of 3) each heartbeat once a second
// over its own HeartbeatStream (gRPC) through one gateway into 3 consensus nodes.
//
// The brokers are registered through the gateway first (GetNextBrokerId, ApplyBrokerId, RegisterBroker, then
// ElectMaster per group). The heartbeats then come from `--generators` child processes (heartbeat-load.ts) that
// speak gRPC over raw HTTP/2 with each broker's message encoded once, so the load costs little CPU and its event
// loop is not the benchmark's. Metrics, all over the `--duration` window after `--warmup`:
// - p50Ms / p99Ms / p999Ms / maxMs: per heartbeat, frame written → its ack read, in the generator (the gateway's
//   handling, both sockets and the generator's own delay in reading; the ack does not wait for the consensus
//   nodes, which get the heartbeats in batches); sendLagP99Ms: how late the generator sent against its schedule.
// - falseFailovers: the rise of the sum of every group's masterEpoch (any election while every broker is healthy).
// - raftElections: Raft terms started in the window (registrationRaftElections: while the brokers registered, which
//   took registrationS); leaderLagMaxMs / gatewayLagMaxMs: the longest event-loop delay of the consensus leader
//   and the gateway (a leader stalled past the 150 ms election timeout loses its leadership).
// - cpuPer1000Brokers: CPU seconds per second of the gateway and the 3 consensus nodes, per 1000 brokers;
//   gatewayUsPerHeartbeat, leaderUsPerHeartbeat, consensusUsPerHeartbeat (the 3 nodes summed): CPU µs per
//   heartbeat; generatorCores: the generators' CPU.
// - leaderRssMb, leaderHeapUsedMb, followerRssMaxMb, gatewayRssMb, gatewayHeapUsedMb: resident memory (and V8 heap
//   in use) at the end.
// - loadAvg1m: the machine's 1-minute load average at the end of the window (the machine is shared).
// `--cpu-prof-dir DIR` writes CPU profiles of the gateway and the nodes there and logs the window's CLOCK_MONOTONIC
// bounds in µs (the profiles' timestamps) for cutting them to the window.
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { createClient } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-node';
import { BROKER_TOKEN, CLUSTER, System } from '@regent/e2e';
import { BrokerService } from '@regent/proto/broker';
import { ElectionTrigger } from '@regent/proto/state';
import { HeartbeatGenerator } from '../heartbeat-generator.js';
import { type BenchResult, log, parseArgs, round } from '../machine.js';

const TICKS_PER_SECOND = 100;

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/** CLOCK_MONOTONIC in µs, the clock of V8's CPU profile timestamps. */
function monotonicUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
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
  const p = parseArgs(args, {
    brokers: 1000,
    duration: 30,
    warmup: 5,
    connections: 16,
    generators: 1,
    timeoutMs: 3000,
    cpuProfDir: '',
  });
  if (p.brokers < 3 || p.brokers > 30_000) throw new Error('--brokers must be 3..30000');
  if (p.duration < 1 || p.duration > 600) throw new Error('--duration must be 1..600 s');
  if (p.generators < 1 || p.generators > 8) throw new Error('--generators must be 1..8');
  const groups = Math.ceil(p.brokers / 3);
  const system = await System.start({
    consensusNodes: 3,
    gateways: 1,
    consensusArgs: ['--restart-grace-ms', '1000'],
    ...profiling(p.cpuProfDir),
  });
  const auth = { authorization: `Bearer ${BROKER_TOKEN}` };
  const transports = Array.from({ length: p.connections }, () =>
    createConnectTransport({ baseUrl: `http://127.0.0.1:${system.gateways[0]!.port}`, httpVersion: '2' }),
  );
  const clients = transports.map((t) => createClient(BrokerService, t));
  let generators: HeartbeatGenerator[] = [];
  try {
    const firstLeader = await system.waitForLeader();
    const termAtStart = await leaderTerm(system, firstLeader);
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
    const registrationS = (performance.now() - started) / 1000;
    const termAfterRegistration = await leaderTerm(system, await system.waitForLeader());
    log(`registered in ${round(registrationS, 1)} s; starting ${p.generators} heartbeat generator(s)`);
    generators = Array.from({ length: p.generators }, () => HeartbeatGenerator.fork());
    await Promise.all(
      generators.map((generator, g) =>
        generator.start({
          gatewayUrl: `http://127.0.0.1:${system.gateways[0]!.port}`,
          token: BROKER_TOKEN,
          brokers: ids
            .filter((_, i) => i % p.generators === g)
            .map((b) => ({
              clusterName: CLUSTER,
              brokerName: b.group,
              brokerId: b.id,
              brokerAddress: b.address,
            })),
          connections: Math.max(1, Math.round(p.connections / p.generators)),
          intervalMs: 1000,
          heartbeatTimeoutMs: p.timeoutMs,
        }),
      ),
    );
    await new Promise((r) => setTimeout(r, p.warmup * 1000));
    const leader = await system.waitForLeader();
    const consensusPids = system.nodes.map((n) => n.proc.child.pid!);
    const gatewayPid = system.gateways[0]!.proc.child.pid!;
    const generatorPids = generators.map((g) => g.child.pid!);
    const pids = [...consensusPids, gatewayPid, ...generatorPids];
    const epochsBefore = await masterEpochs(system, groups);
    const termBefore = await leaderTerm(system, leader);
    const scrapedPorts = [system.nodes.find((n) => n.id === leader)!.port, system.gateways[0]!.port];
    // Also resets the event-loop delay histograms.
    const [leaderBefore, gatewayBefore] = await Promise.all(scrapedPorts.map(scrapeMetrics));
    await Promise.all(generators.map((g) => g.resetSamples()));
    const cpuBefore = pids.map(cpuSeconds);
    const windowStartUs = monotonicUs();
    const windowStartUnixMs = Date.now();
    log(`measuring for ${p.duration} s`);
    await new Promise((r) => setTimeout(r, p.duration * 1000));
    const cpu = pids.map((pid, i) => cpuSeconds(pid) - cpuBefore[i]!);
    const windowEndUs = monotonicUs();
    const summaries = await Promise.all(generators.map((g) => g.summary()));
    const [leaderScrape, gatewayScrape] = await Promise.all(scrapedPorts.map(scrapeMetrics));
    const loadAvg1m = loadavg()[0]!;
    const epochsAfter = await masterEpochs(system, groups);
    const falseFailovers = await epochRise(system, epochsBefore, epochsAfter, windowStartUnixMs);
    const leaderNow = await system.waitForLeader();
    const termAfter = await leaderTerm(system, leaderNow);
    const leaderPid = system.nodes.find((n) => n.id === leader)!.proc.child.pid!;
    const leaderRss = rssMb(leaderPid);
    const followerRss = system.nodes.filter((n) => n.id !== leader).map((n) => rssMb(n.proc.child.pid!));
    if (p.cpuProfDir !== '') {
      log(`profile window (CLOCK_MONOTONIC µs): ${windowStartUs} ${windowEndUs}; pids ${pids.join(' ')}`);
    }
    for (const line of system.gateways[0]!.proc.output()
      .split('\n')
      .filter((l) => l.includes('delivery failed'))
      .slice(-3)) {
      log(`gateway: ${line.slice(0, 300)}`);
    }
    const heartbeats = summaries.reduce((a, s) => a + s.heartbeats, 0);
    const consensusCpu = cpu.slice(0, consensusPids.length);
    const gatewayCpu = cpu[consensusPids.length]!;
    const generatorCpu = cpu.slice(consensusPids.length + 1).reduce((a, b) => a + b, 0);
    const usPerHeartbeat = (seconds: number): number => round((seconds * 1e6) / Math.max(1, heartbeats), 1);
    const controllerCpu = gatewayCpu + consensusCpu.reduce((a, b) => a + b, 0);
    return {
      params: p,
      metrics: {
        brokers: ids.length,
        groups,
        registrationS: round(registrationS, 1),
        registrationRaftElections: termAfterRegistration - termAtStart,
        heartbeats,
        // The worst generator's percentiles (each generator sees an even share of the brokers).
        p50Ms: Math.max(...summaries.map((s) => s.p50Ms)),
        p99Ms: Math.max(...summaries.map((s) => s.p99Ms)),
        p999Ms: Math.max(...summaries.map((s) => s.p999Ms)),
        maxMs: Math.max(...summaries.map((s) => s.maxMs)),
        sendLagP99Ms: Math.max(...summaries.map((s) => s.sendLagP99Ms)),
        streamFailures: summaries.reduce((a, s) => a + s.streamFailures, 0),
        falseFailovers,
        // Raft elections in the window (the term moves on with each).
        raftElections: termAfter - termBefore,
        leaderLagMaxMs: leaderScrape!.maxMs,
        gatewayLagMaxMs: gatewayScrape!.maxMs,
        // Heartbeat batches a node did not take (failed or dropped from a full queue), and heartbeats so lost.
        batchesFailed: gatewayScrape!.batchesFailed - gatewayBefore!.batchesFailed,
        heartbeatsDropped: gatewayScrape!.heartbeatsDropped - gatewayBefore!.heartbeatsDropped,
        heartbeatsSuperseded: gatewayScrape!.heartbeatsSuperseded - gatewayBefore!.heartbeatsSuperseded,
        // Heartbeats the leader took in the window (every heartbeat goes to every node), and stream breaks it applied.
        leaderHeartbeats: leaderScrape!.heartbeatsAccepted - leaderBefore!.heartbeatsAccepted,
        leaderSuspicionsApplied: leaderScrape!.suspicionsApplied - leaderBefore!.suspicionsApplied,
        cpuPer1000Brokers: round(controllerCpu / p.duration / (ids.length / 1000), 3),
        gatewayUsPerHeartbeat: usPerHeartbeat(gatewayCpu),
        leaderUsPerHeartbeat: usPerHeartbeat(consensusCpu[system.nodes.findIndex((n) => n.id === leader)]!),
        consensusUsPerHeartbeat: usPerHeartbeat(consensusCpu.reduce((a, b) => a + b, 0)),
        generatorCores: round(generatorCpu / p.duration, 3),
        leaderRssMb: round(leaderRss, 1),
        leaderHeapUsedMb: leaderScrape!.heapUsedMb,
        followerRssMaxMb: round(Math.max(...followerRss), 1),
        gatewayRssMb: round(rssMb(gatewayPid), 1),
        gatewayHeapUsedMb: gatewayScrape!.heapUsedMb,
        loadAvg1m: round(loadAvg1m, 2),
      },
    };
  } finally {
    await Promise.all(generators.map((g) => g.stop()));
    await system.stop();
  }
}

/** Node flags that write a CPU profile of every consensus node and the gateway into `dir` (none when empty). */
function profiling(dir: string): { consensusNodeOptions?: string[]; gatewayNodeOptions?: string[] } {
  if (dir === '') return {};
  const flags = ['--cpu-prof', `--cpu-prof-dir=${dir}`];
  return { consensusNodeOptions: flags, gatewayNodeOptions: flags };
}

/** The Raft term as the node says. */
async function leaderTerm(system: System, nodeId: number): Promise<number> {
  const status = await system.consensusClient(nodeId).status({}, { timeoutMs: 2000 });
  return Number(status.metadata?.term ?? 0n);
}

interface Scrape {
  readonly maxMs: number;
  readonly heapUsedMb: number;
  readonly batchesFailed: number;
  readonly heartbeatsDropped: number;
  readonly heartbeatsSuperseded: number;
  readonly heartbeatsAccepted: number;
  readonly suspicionsApplied: number;
}

/**
 * From a process's /metrics (gateway or consensus node; absent counters read 0): the longest event-loop delay since the last scrape (prom-client resets its histogram
 * on every scrape), in ms, the V8 heap in use, in MiB, and the heartbeat counters.
 */
async function scrapeMetrics(port: number): Promise<Scrape> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  /** The sum of the samples of `name` whose labels contain `labels`. */
  const sum = (name: string, labels = ''): number => {
    let total = 0;
    for (const m of text.matchAll(new RegExp(`^${name}(\\{[^}]*\\})? (\\S+)$`, 'gm'))) {
      if ((m[1] ?? '').includes(labels)) total += Number(m[2]);
    }
    return total;
  };
  return {
    maxMs: round(sum('nodejs_eventloop_lag_max_seconds') * 1000, 1),
    heapUsedMb: round(sum('nodejs_heap_size_used_bytes') / 2 ** 20, 1),
    batchesFailed:
      sum('regent_gateway_heartbeat_batches_total', 'result="error"') +
      sum('regent_gateway_heartbeat_batches_total', 'result="dropped"'),
    heartbeatsDropped: sum('regent_gateway_heartbeat_dropped_total'),
    heartbeatsSuperseded: sum('regent_gateway_heartbeat_superseded_total'),
    heartbeatsAccepted: sum('regent_controller_heartbeats_total', 'result="accepted"'),
    suspicionsApplied: sum('regent_controller_stream_suspicions_total', 'outcome="applied"'),
  };
}

/** Every group's masterEpoch: any election (true or false failover) increases it. */
async function masterEpochs(system: System, groups: number): Promise<Map<string, number>> {
  const admin = system.adminClient(0);
  const names = Array.from({ length: groups }, (_, g) => `hb-${g}`);
  const epochs = new Map<string, number>();
  for (let i = 0; i < names.length; i += 1000) {
    const data = await admin.getSyncStateData({
      clusterName: CLUSTER,
      brokerNames: names.slice(i, i + 1000),
    });
    for (const [name, info] of Object.entries(data.replicas)) epochs.set(name, info.masterEpoch);
  }
  return epochs;
}

/** The rise of the epochs; the latest audit record of the first few groups that changed goes to the log. */
async function epochRise(
  system: System,
  before: Map<string, number>,
  after: Map<string, number>,
  windowStartUnixMs: number,
) {
  let rise = 0;
  const changed: string[] = [];
  for (const [name, epoch] of after) {
    const delta = epoch - (before.get(name) ?? 0);
    rise += delta;
    if (delta > 0) changed.push(name);
  }
  for (const name of changed.slice(0, 3)) {
    const audit = await system.adminClient(0).getElectionAudit({ clusterName: CLUSTER, brokerName: name });
    const last = audit.records.at(-1);
    const atMs = Number(last?.decidedAtUnixMs ?? 0n) - windowStartUnixMs;
    log(
      `election in ${name} ${atMs} ms into the window: trigger ${ElectionTrigger[last?.trigger ?? 0]}, ` +
        `old master ${last?.oldMasterBrokerId}, chosen ${last?.chosenBrokerId}: ${last?.explanation ?? ''}`,
    );
  }
  return rise;
}
