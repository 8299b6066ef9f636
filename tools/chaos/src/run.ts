// One chaos run: start the system, run the workload under the seeded fault plan, heal everything, wait until the
// state is stable and every broker converged, then check the recorded history. Every phase has a deadline.
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '@regent/testing';
import { type CheckReport, checkRun, excerpt, type RecordedRun } from './check/index.js';
import { sameView } from './check/model.js';
import type { FinalGroupState, Violation } from './check/types.js';
import { ChaosCluster, CLUSTER } from './cluster.js';
import { Recorder, viewFrom } from './history.js';
import { Nemesis } from './nemesis.js';
import { createRng } from './random.js';
import { describeFault, planFaults } from './schedule.js';
import { Workload, type WorkloadOptions } from './workload.js';

export interface ChaosOptions {
  readonly seed: number;
  /** Length of the fault phase, s. */
  readonly durationS: number;
  readonly groups?: number;
  readonly brokersPerGroup?: number;
  readonly operationTimeoutMs?: number;
  readonly heartbeatIntervalMs?: number;
  readonly heartbeatTimeoutMs?: number;
  /** Every live broker must believe the final master this long after the heal at the latest, ms. */
  readonly convergenceBoundMs?: number;
  /** Extra flags for every consensus node. */
  readonly consensusArgs?: readonly string[];
  /** Write the recorded history to a file when a violation is found. */
  readonly saveHistoryOnViolation?: boolean;
  readonly log?: (message: string) => void;
}

export interface ChaosResult {
  readonly params: Record<string, number | string | boolean>;
  readonly metrics: Record<string, number>;
  readonly violations: readonly Violation[];
  readonly report: CheckReport;
  /** Human-readable lines on each violation (history excerpts). */
  readonly details: readonly string[];
  readonly historyFile: string | undefined;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function within<T>(what: string, ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Reads every group through one gateway (linearizable reads at the leader); recorded as operations of "final". */
async function readFinals(
  cluster: ChaosCluster,
  recorder: Recorder,
  groups: readonly string[],
  gateway: number,
): Promise<FinalGroupState[]> {
  const finals: FinalGroupState[] = [];
  const broker = cluster.brokerClient(gateway);
  const admin = cluster.adminClient(gateway);
  for (const group of groups) {
    const request = { clusterName: CLUSTER, brokerName: group };
    const info = await recorder.record(
      `final-gw${gateway}`,
      group,
      { kind: 'getReplicaInfo' },
      () => broker.getReplicaInfo(request, { timeoutMs: 5_000 }),
      (r) => ({ type: 'ok', view: viewFrom(r) }),
    );
    if (info.type !== 'ok' || info.view === undefined)
      throw new Error(`final GetReplicaInfo of ${group}: ${JSON.stringify(info)}`);
    const next = await broker.getNextBrokerId(request, { timeoutMs: 5_000 });
    const data = await admin.getSyncStateData(
      { clusterName: CLUSTER, brokerNames: [group] },
      { timeoutMs: 5_000 },
    );
    const replicas = data.replicas[group];
    const replicaIds = [...(replicas?.inSyncReplicas ?? []), ...(replicas?.notInSyncReplicas ?? [])]
      .map((r) => Number(r.brokerId))
      .sort((a, b) => a - b);
    finals.push({ group, view: info.view, replicaIds, nextBrokerId: Number(next.nextBrokerId) });
  }
  return finals;
}

function sameFinals(a: readonly FinalGroupState[], b: readonly FinalGroupState[]): boolean {
  return (
    a.length === b.length &&
    a.every((f, i) => {
      const g = b[i]!;
      return (
        f.group === g.group &&
        sameView(f.view, g.view) &&
        f.nextBrokerId === g.nextBrokerId &&
        f.replicaIds.join(',') === g.replicaIds.join(',')
      );
    })
  );
}

/** A recorded run as JSON (with context for the reader); `loadHistory` reads it back for `--check`. */
export function saveHistory(run: RecordedRun, context: Record<string, unknown>): string {
  return JSON.stringify({ ...context, ...run, liveBrokers: [...run.liveBrokers] });
}

/** Reads `saveHistory`'s JSON (no +∞ or undefined in JSON: unknown outcomes are known by their type). */
export function loadHistory(json: string): RecordedRun {
  const raw = JSON.parse(json) as Omit<RecordedRun, 'liveBrokers'> & { liveBrokers: [string, string][] };
  return { ...raw, liveBrokers: new Map(raw.liveBrokers) };
}

export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const log = options.log ?? ((m: string) => process.stderr.write(`[chaos] ${m}\n`));
  const groupCount = options.groups ?? 3;
  const groups = Array.from({ length: groupCount }, (_, i) => `broker-${String.fromCharCode(97 + i)}`);
  const workloadOptions: WorkloadOptions = {
    groups,
    brokersPerGroup: options.brokersPerGroup ?? 3,
    operationTimeoutMs: options.operationTimeoutMs ?? 4_000,
    heartbeatIntervalMs: options.heartbeatIntervalMs ?? 300,
    heartbeatTimeoutMs: options.heartbeatTimeoutMs ?? 3_000,
    thinkMsMin: 50,
    thinkMsMax: 300,
  };
  const convergenceBoundMs = options.convergenceBoundMs ?? 20_000;
  const durationMs = Math.round(options.durationS * 1000);
  const rng = createRng(options.seed);
  const recorder = new Recorder();
  const started = recorder.now();
  log(`seed ${options.seed}, fault phase ${options.durationS} s`);
  const cluster = await ChaosCluster.start({
    rng: rng.fork('cluster'),
    nowMs: () => recorder.now(),
    log,
    consensusArgs: options.consensusArgs,
  });
  const workload = new Workload(cluster, recorder, rng.fork('workload'), workloadOptions);
  const nemesis = new Nemesis(cluster, workload, () => recorder.now(), log);
  const plan = planFaults(
    {
      nodes: cluster.nodes.map((n) => n.id),
      gateways: cluster.gateways.length,
      brokers: workload.brokers.map((b) => b.name),
    },
    { seed: options.seed, durationMs },
  );
  log(`plan: ${plan.length} faults`);
  for (const f of plan) log(`  ${describeFault(f)}`);
  let finals: FinalGroupState[] = [];
  let healedAtMs = 0;
  let setupErrors = 0;
  let runError: string | undefined;
  try {
    await workload.start();
    await waitFor(() => workload.brokers.every((b) => b.brokerId !== undefined), {
      timeoutMs: 60_000,
      intervalMs: 200,
      what: 'every broker registered',
    }).catch(() => {
      setupErrors++;
      log('not every broker registered before the faults; continuing');
    });
    const phase = new AbortController();
    const phaseEnd = recorder.now() + durationMs;
    log('fault phase');
    await within('the fault phase', durationMs + 60_000, nemesis.run(plan, phase.signal));
    await sleep(Math.max(0, phaseEnd - recorder.now()));
    log('healing everything');
    await within('healing', 60_000, nemesis.healAll());
    await within(
      'the restarted processes',
      120_000,
      Promise.all(cluster.services().map((s) => s.waitHealthy(120_000))),
    );
    await cluster.waitForLeader(60_000);
    healedAtMs = recorder.now();
    workload.settle();
    log('healed; waiting for a stable final state');
    finals = await waitFor(
      async () => {
        const first = await readFinals(cluster, recorder, groups, 0);
        await sleep(1_500);
        const second = await readFinals(cluster, recorder, groups, 1);
        return sameFinals(first, second) ? second : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 500, what: 'a stable final state read through both gateways' },
    );
    log('waiting for every broker to converge');
    const final = new Map(finals.map((f) => [f.group, f]));
    await waitFor(
      () =>
        workload.brokers.every((b) => {
          const f = final.get(b.group);
          return (
            f !== undefined &&
            b.belief.masterEpoch === f.view.masterEpoch &&
            b.belief.masterBrokerId === f.view.masterBrokerId
          );
        }),
      { timeoutMs: convergenceBoundMs, intervalMs: 200, what: 'every broker converged' },
    ).catch(() => log('not every broker converged within the bound'));
    const after = await readFinals(cluster, recorder, groups, 0).catch(() => undefined);
    if (after !== undefined && !sameFinals(after, finals)) {
      log('the final state changed while brokers converged; using the newest');
      finals = after;
    }
    await workload.stop();
    await waitFor(() => recorder.inFlight === 0, { timeoutMs: 10_000, what: 'in-flight operations' }).catch(
      () => {},
    );
    await waitFor(() => workload.pollAudit(), {
      timeoutMs: 30_000,
      intervalMs: 500,
      what: 'the final audit',
    }).catch(() => log('the final audit poll failed'));
  } catch (error) {
    runError = error instanceof Error ? error.message : String(error);
    log(`run failed: ${runError}`);
  } finally {
    nemesis.cancel();
    await workload.stop();
    await cluster.stop();
  }
  const runSeconds = (recorder.now() - started) / 1000;
  log(`checking ${recorder.operations.length} operations`);
  const checkStart = performance.now();
  const recorded: RecordedRun = {
    operations: recorder.operations,
    notifications: recorder.notifications,
    audit: recorder.audit(),
    finals,
    beliefs: recorder.beliefs,
    liveBrokers: new Map(
      workload.brokers.filter((b) => b.brokerId !== undefined).map((b) => [b.name, b.group]),
    ),
    healedAtMs,
    convergenceBoundMs,
  };
  const report = checkRun(recorded);

  const checkSeconds = (performance.now() - checkStart) / 1000;
  const crashes: Violation[] = cluster.services().flatMap((s) =>
    s.crashes.map((c) => ({
      checker: 'process-crash' as const,
      group: '',
      message: `${s.name} exited by itself (${c.code}) at ${(c.atMs / 1000).toFixed(1)} s: ${c.output.slice(-1500)}`,
    })),
  );
  const unfinished: Violation[] =
    runError === undefined
      ? []
      : [
          {
            checker: 'convergence',
            group: '',
            message: `the system did not recover after the heal: ${runError}`,
          },
        ];
  // A power failure may lose only what was never durable: a file shorter than its durable length is a storage bug.
  const durableLost: Violation[] = nemesis.diskLosses.flatMap((loss) =>
    loss.report.shorterThanDurable.map((s) => ({
      checker: 'durability' as const,
      group: '',
      message: `${loss.target}: ${s.file} has ${s.bytes} bytes but ${s.durable} were durable`,
    })),
  );
  const violations = [...report.violations, ...crashes, ...unfinished, ...durableLost];
  const details = violations.flatMap((v) => [
    `[${v.checker}] ${v.group} ${v.message}`,
    ...excerpt(recorder.operations, v.operationIds ?? []).map((line) => `    ${line}`),
  ]);
  let historyFile: string | undefined;
  if (violations.length > 0 && options.saveHistoryOnViolation !== false) {
    historyFile = join(tmpdir(), `regent-chaos-${options.seed}-${Date.now()}.json`);
    writeFileSync(
      historyFile,
      saveHistory(recorded, { seed: options.seed, plan, injected: nemesis.injected, violations }),
    );
  }
  const injected = nemesis.injected.filter((r) => r.error === undefined);
  const faultsByKind: Record<string, number> = {};
  for (const r of injected)
    faultsByKind[`faults_${r.fault.kind}`] = (faultsByKind[`faults_${r.fault.kind}`] ?? 0) + 1;
  const proxies = cluster.proxies().map((p) => p.stats());
  const bytesThrough = (links: Iterable<{ stats(): { bytesForwarded: number } }>): number =>
    [...links].reduce((sum, link) => sum + link.stats().bytesForwarded, 0);
  const ops = recorder.operations;
  return {
    params: {
      seed: options.seed,
      durationS: options.durationS,
      groups: groupCount,
      brokersPerGroup: workloadOptions.brokersPerGroup,
      consensusNodes: cluster.nodes.length,
      gateways: cluster.gateways.length,
      operationTimeoutMs: workloadOptions.operationTimeoutMs,
      heartbeatTimeoutMs: workloadOptions.heartbeatTimeoutMs,
      convergenceBoundMs,
      faultsPlanned: plan.length,
    },
    metrics: {
      ...report.metrics,
      violations: violations.length,
      processCrashes: crashes.length,
      faultsInjected: injected.length,
      faultsFailed: nemesis.injected.length - injected.length,
      ...faultsByKind,
      diskLossBytesDropped: nemesis.diskLosses.reduce(
        (sum, { report: r }) =>
          sum +
          r.truncated.reduce((n, t) => n + t.fromBytes - t.toBytes, 0) +
          r.zeroed.reduce((n, z) => n + z.bytes, 0),
        0,
      ),
      diskLossFilesDeleted: nemesis.diskLosses.reduce((sum, loss) => sum + loss.report.deleted.length, 0),
      diskLossWithoutLedger: nemesis.diskLosses.filter((loss) => !loss.report.ledgerFound).length,
      okOperations: ops.filter((o) => o.output.type === 'ok').length,
      adminElections: workload.adminElections,
      heartbeatsSent: workload.brokers.reduce((sum, b) => sum + b.heartbeatsSent, 0),
      heartbeatsFailed: workload.brokers.reduce((sum, b) => sum + b.heartbeatsFailed, 0),
      proxyConnections: proxies.reduce((sum, p) => sum + p.connectionsAccepted, 0),
      proxyBytesDropped: proxies.reduce((sum, p) => sum + p.bytesDropped, 0),
      proxyResets: proxies.reduce((sum, p) => sum + p.resets, 0),
      proxyBytesRaft: bytesThrough(cluster.raftLinks.values()),
      proxyBytesClientsToConsensus: bytesThrough(cluster.nodes.map((n) => n.clientProxy)),
      proxyBytesBrokersToGateways: bytesThrough(
        workload.brokers.flatMap((b) => cluster.brokerLinksOf(b.name)),
      ),
      setupErrors,
      runSeconds: Math.round(runSeconds),
      checkSeconds: Math.round(checkSeconds * 10) / 10,
    },
    violations,
    report,
    details,
    historyFile,
  };
}
