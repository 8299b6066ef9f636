// `npm run bench:report [-- --quick] [--only a,b] [--skip a,b] [--out dir]`: runs the benchmark suite, each bench as a
// child process (`npm run bench -- <name> …`, the last JSON line of its stdout is the result), and writes
// <out>/report.md with the machine, a table of metrics against their targets, Regent against etcd (measured here
// when `etcd` is installed, else the issue's figures, labelled so), each run's metrics and SVG bar charts of its
// latency percentiles, plus results.json and one log per run. A failing or timed-out bench is recorded as failed;
// the report is still written. --quick uses short durations and few trials (minutes instead of an hour).
import { execFileSync, spawn } from 'node:child_process';
import {
  closeSync,
  fdatasyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { etcdBinary } from './benches/etcd.js';
import { parseArgs, quantile, round } from './machine.js';
import { type Bar, barChart, formatValue, groupedBarChart } from './report-svg.js';
import { etcdFromIssue, judge, suiteTargets, type Target } from './report-targets.js';

const here = dirname(fileURLToPath(import.meta.url));
const workspaceRoot = resolve(here, '..', '..', '..');
/** Bytes of a child's stdout kept (its result is the last line). */
const STDOUT_BYTES_MAX = 1024 * 1024;
/** Grace between SIGTERM and SIGKILL of a timed-out bench's process group. */
const KILL_GRACE_MS = 10_000;

interface RunSpec {
  readonly id: string;
  readonly bench: string;
  readonly title: string;
  readonly full: readonly string[];
  readonly quick: readonly string[];
  readonly timeoutSeconds: { readonly full: number; readonly quick: number };
}

const raftRun = (c: number): RunSpec => ({
  id: `raft-c${c}`,
  bench: 'raft',
  title: `Raft writes, ${c} in flight (256-byte puts, 3 nodes, fsync)`,
  full: ['--concurrency', String(c), '--duration', '10', '--warmup', '2'],
  quick: ['--concurrency', String(c), '--duration', '3', '--warmup', '1'],
  timeoutSeconds: { full: 300, quick: 180 },
});

const etcdRun = (c: number): RunSpec => ({
  id: `etcd-c${c}`,
  bench: 'etcd',
  title: `etcd anchor, ${c} in flight (same workload)`,
  full: ['--concurrency', String(c), '--duration', '10', '--warmup', '2'],
  quick: ['--concurrency', String(c), '--duration', '3', '--warmup', '1'],
  timeoutSeconds: { full: 180, quick: 120 },
});

/** The suite, in run order. Benches found in benches/ but not listed here run with their defaults. */
const suite: readonly RunSpec[] = [
  raftRun(1),
  raftRun(64),
  raftRun(256),
  etcdRun(1),
  etcdRun(64),
  etcdRun(256),
  {
    id: 'raft-failover',
    bench: 'raft-failover',
    title: 'Raft leader killed under writes: longest write gap; idle elections',
    full: ['--trials', '10', '--idle-seconds', '60'],
    quick: ['--trials', '3', '--idle-seconds', '10'],
    timeoutSeconds: { full: 900, quick: 300 },
  },
  {
    id: 'raft-recovery',
    bench: 'raft-recovery',
    title: 'Restart of a node with a long history: time to caught up, RSS',
    full: [],
    quick: ['--entries', '20000', '--snapshot-every-entries', '5000'],
    timeoutSeconds: { full: 1800, quick: 300 },
  },
  {
    id: 'heartbeat',
    bench: 'heartbeat',
    title: 'Heartbeat streams through one gateway',
    full: ['--brokers', '10000', '--duration', '60'],
    quick: ['--brokers', '600', '--duration', '5', '--warmup', '2'],
    timeoutSeconds: { full: 900, quick: 300 },
  },
  {
    id: 'election',
    bench: 'election',
    title: "Master's heartbeats stop → committed ElectMaster",
    full: ['--trials', '20'],
    quick: ['--trials', '3'],
    timeoutSeconds: { full: 900, quick: 300 },
  },
  {
    id: 'failover',
    bench: 'failover',
    title: 'Master broker killed / hung → new master told over NATS',
    full: ['--trials', '20'],
    quick: ['--trials', '2', '--warmup', '0'],
    timeoutSeconds: { full: 1800, quick: 420 },
  },
  {
    id: 'policy',
    bench: 'policy',
    title: 'Election-policy decisions per second',
    full: [],
    quick: ['--duration', '2', '--warmup', '1'],
    timeoutSeconds: { full: 300, quick: 120 },
  },
];

interface BenchOutput {
  readonly bench: string;
  readonly params: Record<string, unknown>;
  readonly machine: Record<string, unknown>;
  readonly metrics: Record<string, number>;
}

interface RunResult {
  readonly id: string;
  readonly bench: string;
  readonly title: string;
  readonly args: readonly string[];
  readonly status: 'ok' | 'failed' | 'skipped';
  readonly seconds: number;
  readonly error?: string;
  readonly output?: BenchOutput;
  readonly logFile?: string;
}

function availableBenches(): string[] {
  return readdirSync(join(here, 'benches'))
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.spec.ts'))
    .map((f) => f.slice(0, -3))
    .sort();
}

function progress(message: string): void {
  process.stderr.write(`[bench:report] ${message}\n`);
}

let current: ReturnType<typeof spawn> | undefined;

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

/** Runs one bench as a child process group; never throws. */
async function runOne(spec: RunSpec, quick: boolean, logsDir: string): Promise<RunResult> {
  const args = quick ? spec.quick : spec.full;
  const timeoutSeconds = quick ? spec.timeoutSeconds.quick : spec.timeoutSeconds.full;
  const logFile = join(logsDir, `${spec.id}.log`);
  const log = openSync(logFile, 'w');
  const started = performance.now();
  progress(`${spec.id}: npm run bench -- ${spec.bench} ${args.join(' ')} (timeout ${timeoutSeconds} s)`);
  const child = spawn('npm', ['run', '--silent', 'bench', '--', spec.bench, ...args], {
    cwd: workspaceRoot,
    // Its own process group, so a timeout ends the bench and every process it started.
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  current = child;
  let stdout = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    if (stdout.length > STDOUT_BYTES_MAX) stdout = stdout.slice(-STDOUT_BYTES_MAX);
  });
  child.stderr?.on('data', (chunk: Buffer) => writeSync(log, chunk));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    progress(`${spec.id}: timed out after ${timeoutSeconds} s; stopping it`);
    killGroup(child.pid!, 'SIGTERM');
    setTimeout(() => killGroup(child.pid!, 'SIGKILL'), KILL_GRACE_MS).unref();
  }, timeoutSeconds * 1000);
  const code = await new Promise<number | null>((resolveExit) => {
    child.once('error', () => resolveExit(-1));
    child.once('close', (c) => resolveExit(c));
  });
  clearTimeout(timer);
  current = undefined;
  writeSync(log, `\n--- stdout (tail) ---\n${stdout.slice(-20_000)}`);
  closeSync(log);
  const seconds = round((performance.now() - started) / 1000, 1);
  const base = { id: spec.id, bench: spec.bench, title: spec.title, args, seconds, logFile };
  const last = stdout
    .trim()
    .split('\n')
    .reverse()
    .find((line) => line.startsWith('{'));
  let output: BenchOutput | undefined;
  try {
    output = last === undefined ? undefined : (JSON.parse(last) as BenchOutput);
  } catch {
    output = undefined;
  }
  if (code === 0 && !timedOut && output?.bench === spec.bench && typeof output.metrics === 'object') {
    progress(`${spec.id}: done in ${seconds} s`);
    return { ...base, status: 'ok', output };
  }
  const why = timedOut ? `timed out after ${timeoutSeconds} s` : `exit code ${code}`;
  const tail = lastLines(logFile, 12);
  progress(`${spec.id}: FAILED (${why})`);
  return { ...base, status: 'failed', error: `${why}\n${tail}` };
}

function lastLines(file: string, count: number): string {
  try {
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '' && !l.startsWith('--- stdout'))
      .slice(-count)
      .join('\n');
  } catch {
    return '';
  }
}

// ---- machine ----

interface MachineFacts {
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly node: string;
  readonly os: string;
  readonly loadAverageStart: number;
  loadAverageEnd?: number;
  readonly fsync: {
    readonly dir: string;
    readonly samples: number;
    readonly p50Ms: number;
    readonly p99Ms: number;
    readonly meanMs: number;
  };
}

/** fdatasync latency of 4 KiB writes in the directory where the benches keep their data (os.tmpdir()). */
function measureFsync(samples: number): MachineFacts['fsync'] {
  const dir = tmpdir();
  const file = join(dir, `regent-fsync-probe-${process.pid}`);
  const fd = openSync(file, 'w');
  const block = Buffer.alloc(4096, 0x5a);
  const times: number[] = [];
  try {
    for (let i = 0; i < samples; i++) {
      writeSync(fd, block, 0, block.byteLength, (i % 256) * block.byteLength);
      const t = performance.now();
      fdatasyncSync(fd);
      times.push(performance.now() - t);
    }
  } finally {
    closeSync(fd);
    rmSync(file, { force: true });
  }
  const mean = times.reduce((a, b) => a + b, 0) / times.length;
  return {
    dir,
    samples,
    p50Ms: round(quantile(times, 0.5), 3),
    p99Ms: round(quantile(times, 0.99), 3),
    meanMs: round(mean, 3),
  };
}

function machineFacts(quick: boolean): MachineFacts {
  const cpu = cpus();
  return {
    cpuModel: cpu[0]?.model.trim() ?? 'unknown',
    cores: cpu.length,
    memoryGiB: round(totalmem() / 2 ** 30, 1),
    node: process.version,
    os: `${process.platform} ${release()} ${process.arch}`,
    loadAverageStart: round(loadavg()[0]!, 2),
    fsync: measureFsync(quick ? 100 : 500),
  };
}

function gitDescription(): string {
  try {
    const git = (...args: string[]) =>
      execFileSync('git', args, { cwd: workspaceRoot, encoding: 'utf8' }).trim();
    return `${git('rev-parse', '--short', 'HEAD')}${git('status', '--porcelain') === '' ? '' : ' (with uncommitted changes)'}`;
  } catch {
    return 'unknown';
  }
}

// ---- report ----

function metricOf(results: readonly RunResult[], run: string, metric: string): number | undefined {
  const value = results.find((r) => r.id === run && r.status === 'ok')?.output?.metrics[metric];
  return typeof value === 'number' ? value : undefined;
}

function cell(value: number | undefined, unit = ''): string {
  if (value === undefined || !Number.isFinite(value)) return '–';
  return `${formatValue(value)}${unit === '' ? '' : ` ${unit}`}`;
}

/** Latency metrics of a run grouped by prefix ("" | "kill" | "hang" | "notify" | "maxGap" | "overConnect"). */
function latencyGroups(metrics: Record<string, number>): Map<string, Bar[]> {
  const groups = new Map<string, Bar[]>();
  for (const [key, value] of Object.entries(metrics)) {
    const match = /^(.*?)(p50|P50|p99|P99|p999|P999|max|Max)Ms$/.exec(key);
    if (match === null || !Number.isFinite(value)) continue;
    const prefix = match[1]!;
    const label = match[2]!.toLowerCase() === 'p999' ? 'p99.9' : match[2]!.toLowerCase();
    const bars = groups.get(prefix) ?? [];
    bars.push({ label, value });
    groups.set(prefix, bars);
  }
  return groups;
}

function writeCharts(result: RunResult, targets: readonly Target[], outDir: string): string[] {
  const metrics = result.output?.metrics;
  if (metrics === undefined) return [];
  const files: string[] = [];
  for (const [prefix, bars] of latencyGroups(metrics)) {
    const lines = targets
      .filter((t) => t.run === result.id && t.unit === 'ms' && latencyGroups({ [t.metric]: 0 }).has(prefix))
      .map((t) => ({ value: t.value, label: `target: ${t.metric} ${t.op} ${formatValue(t.value)} ms` }));
    const name = `latency-${result.id}${prefix === '' ? '' : `-${prefix}`}.svg`;
    const title = `${result.id}${prefix === '' ? '' : ` ${prefix}`}: latency percentiles`;
    writeFileSync(join(outDir, name), barChart(bars, { title, unit: 'ms', targets: lines }));
    files.push(name);
  }
  return files;
}

function throughputChart(results: readonly RunResult[], etcdMeasured: boolean, outDir: string): string {
  const levels = [1, 64, 256];
  const issue = [etcdFromIssue.c1.opsPerSec, etcdFromIssue.c64.opsPerSec, etcdFromIssue.c256.opsPerSecLow];
  const groups = levels.map((c, i) => ({
    label: `${c} in flight`,
    values: [
      metricOf(results, `raft-c${c}`, 'opsPerSec') ?? Number.NaN,
      etcdMeasured ? (metricOf(results, `etcd-c${c}`, 'opsPerSec') ?? Number.NaN) : issue[i]!,
    ],
  }));
  const name = 'throughput.svg';
  writeFileSync(
    join(outDir, name),
    groupedBarChart(groups, ['Regent', etcdMeasured ? 'etcd (measured here)' : 'etcd 3.4 (issue figures)'], {
      title: '256-byte puts, 3 nodes, fsync: throughput',
      unit: 'ops/s',
    }),
  );
  return name;
}

function etcdSection(
  results: readonly RunResult[],
  options: { etcdMeasured: boolean; etcdNote: string; outDir: string },
): string[] {
  const { etcdMeasured, etcdNote } = options;
  const lines: string[] = ['## Regent against etcd', ''];
  lines.push(etcdNote, '');
  lines.push(
    '| In flight | Regent ops/s | Regent p50 / p99 ms | etcd ops/s | etcd p50 / p99 ms | Regent / etcd |',
  );
  lines.push('|---:|---:|---:|---:|---:|---:|');
  const issue: Record<number, { ops: string; opsValue: number; lat: string }> = {
    1: { ops: '684', opsValue: 684, lat: '1.2 / 5.9' },
    64: { ops: '~2,500', opsValue: 2500, lat: '– / 69' },
    256: { ops: '2,800–4,900', opsValue: 2800, lat: '– / –' },
  };
  for (const c of [1, 64, 256]) {
    const ops = metricOf(results, `raft-c${c}`, 'opsPerSec');
    const lat = `${cell(metricOf(results, `raft-c${c}`, 'p50Ms'))} / ${cell(metricOf(results, `raft-c${c}`, 'p99Ms'))}`;
    let etcdOps: string;
    let etcdLat: string;
    let ratio: string;
    if (etcdMeasured) {
      const e = metricOf(results, `etcd-c${c}`, 'opsPerSec');
      etcdOps = cell(e);
      etcdLat = `${cell(metricOf(results, `etcd-c${c}`, 'p50Ms'))} / ${cell(metricOf(results, `etcd-c${c}`, 'p99Ms'))}`;
      ratio = ops !== undefined && e !== undefined && e > 0 ? `${formatValue(ops / e)}×` : '–';
    } else {
      etcdOps = `${issue[c]!.ops} (issue)`;
      etcdLat = `${issue[c]!.lat} (issue)`;
      ratio =
        ops === undefined
          ? '–'
          : `${formatValue(ops / issue[c]!.opsValue)}×${c === 256 ? ' (vs 2,800)' : ''}`;
    }
    lines.push(`| ${c} | ${cell(ops)} | ${lat} | ${etcdOps} | ${etcdLat} | ${ratio} |`);
  }
  const gapP50 = metricOf(results, 'raft-failover', 'maxGapP50Ms');
  const gapMax = metricOf(results, 'raft-failover', 'maxGapMaxMs');
  lines.push(
    '',
    `Leader killed under writes, longest write gap: Regent p50 ${cell(gapP50, 'ms')}, worst ${cell(gapMax, 'ms')}; ` +
      `etcd 3.4 ${formatValue(etcdFromIssue.leaderKillGap.p50Ms)} ms p50, ${formatValue(etcdFromIssue.leaderKillGap.worstMs)} ms worst (issue figures; not measured by this report).`,
    '',
    `![throughput](${throughputChart(results, etcdMeasured, options.outDir)})`,
    '',
  );
  return lines;
}

function markdown(
  results: readonly RunResult[],
  targets: readonly Target[],
  machine: MachineFacts,
  options: {
    quick: boolean;
    command: string;
    etcdMeasured: boolean;
    etcdNote: string;
    charts: Map<string, string[]>;
    outDir: string;
  },
): string {
  const lines: string[] = [];
  lines.push('# Regent benchmark report', '');
  lines.push(
    `Generated ${new Date().toISOString()} · mode **${options.quick ? 'quick' : 'full'}** · commit ${gitDescription()} · \`${options.command}\``,
    '',
  );
  if (options.quick) {
    lines.push(
      '> Quick mode: a few seconds per throughput run, 2–3 trials per failover bench and 600 brokers instead of 10,000 ' +
        'for the heartbeat bench. The figures show the suite works and give an order of magnitude; a verdict against ' +
        'a target is only meaningful in full mode (and on an idle machine).',
      '',
    );
  }
  lines.push('## Machine', '');
  lines.push(
    '| CPU | Cores | Memory | Node.js | OS | Load average (1 min) start → end | fdatasync of 4 KiB in tmpdir |',
  );
  lines.push('|---|---:|---:|---|---|---|---|');
  lines.push(
    `| ${machine.cpuModel} | ${machine.cores} | ${machine.memoryGiB} GiB | ${machine.node} | ${machine.os} | ` +
      `${machine.loadAverageStart} → ${machine.loadAverageEnd ?? '–'} | p50 ${machine.fsync.p50Ms} ms, p99 ${machine.fsync.p99Ms} ms, ` +
      `mean ${machine.fsync.meanMs} ms (${machine.fsync.samples} writes in ${machine.fsync.dir}) |`,
    '',
  );
  lines.push('## Targets', '');
  lines.push('| Run | Metric | Target | Measured | Verdict | Source |');
  lines.push('|---|---|---:|---:|:---:|---|');
  for (const t of targets) {
    const measured = metricOf(results, t.run, t.metric);
    const verdict = judge(t, measured);
    const run = results.find((r) => r.id === t.run);
    const shown = verdict === 'no data' && run?.status === 'failed' ? 'run failed' : verdict;
    lines.push(
      `| ${t.run} | ${t.metric} | ${t.op} ${formatValue(t.value)}${t.unit === '' ? '' : ` ${t.unit}`} | ${cell(measured, t.unit)} | ${shown === 'FAIL' ? '**FAIL**' : shown} | ${t.source} |`,
    );
  }
  lines.push('');
  lines.push(...etcdSection(results, options));
  lines.push('## Runs', '');
  lines.push('| Run | Command | Status | Time |');
  lines.push('|---|---|---|---:|');
  for (const r of results) {
    const command = `\`npm run bench -- ${r.bench} ${r.args.join(' ')}\``;
    lines.push(`| ${r.id} | ${command} | ${r.status === 'ok' ? 'ok' : `**${r.status}**`} | ${r.seconds} s |`);
  }
  lines.push('');
  for (const r of results) {
    lines.push(`### ${r.id}: ${r.title}`, '');
    if (r.status !== 'ok' || r.output === undefined) {
      lines.push(
        `Status: **${r.status}**. ${r.status === 'skipped' ? (r.error ?? '') : `Log: \`${r.logFile ?? ''}\``}`,
        '',
      );
      if (r.error !== undefined && r.status === 'failed') lines.push('```', r.error.slice(-3000), '```', '');
      continue;
    }
    lines.push(`Parameters: \`${JSON.stringify(r.output.params)}\``, '');
    lines.push('| Metric | Value |', '|---|---:|');
    for (const [key, value] of Object.entries(r.output.metrics)) lines.push(`| ${key} | ${cell(value)} |`);
    lines.push('');
    for (const chart of options.charts.get(r.id) ?? []) lines.push(`![${r.id}](${chart})`, '');
  }
  lines.push('## Notes', '');
  lines.push(
    '- Each bench ran as its own child process (`npm run bench -- <name> …`); its result is the last JSON line of its stdout, its progress is in `logs/<run>.log`.',
    '- Throughput targets are 3× etcd on the same workload; where etcd ran here the target uses that measurement, otherwise the issue figures (etcd 3.4 measured earlier on this machine).',
    '- The etcd client speaks HTTP/1.1 JSON to etcd’s v3 gateway; the Regent client speaks Connect over HTTP/2. Both run in one Node.js process per bench on the same cores as the cluster, so a loaded machine slows both.',
    `- Load average was ${machine.loadAverageStart} at the start and ${machine.loadAverageEnd ?? '–'} at the end on ${machine.cores} cores: other work shared the machine, so latencies and throughput here are pessimistic.`,
    '',
  );
  return `${lines.join('\n')}\n`;
}

async function main(): Promise<void> {
  const p = parseArgs(process.argv.slice(2), {
    quick: false,
    only: '',
    skip: '',
    out: 'bench-results',
    noEtcd: false,
  });
  const only = new Set(p.only.split(',').filter((s) => s !== ''));
  const skip = new Set(p.skip.split(',').filter((s) => s !== ''));
  const outDir = resolve(workspaceRoot, p.out);
  const logsDir = join(outDir, 'logs');
  mkdirSync(logsDir, { recursive: true });
  const available = availableBenches();
  const listed = new Set(suite.map((s) => s.bench));
  const extra: RunSpec[] = available
    .filter((b) => !listed.has(b))
    .map((bench) => ({
      id: bench,
      bench,
      title: bench,
      full: [],
      quick: [],
      timeoutSeconds: { full: 900, quick: 300 },
    }));
  const etcdInstalled = etcdBinary() !== undefined && !p.noEtcd;
  const etcdNote = etcdInstalled
    ? 'etcd ran here: three members on loopback with default fsync, same 256-byte put workload and closed loop, through the v3 JSON gateway to the leader (`npm run bench -- etcd`).'
    : `etcd is ${p.noEtcd ? 'skipped (--no-etcd)' : 'not installed here (no `etcd` on PATH; Debian: `apt-get install etcd-server`)'}: the etcd columns are the issue’s figures for etcd 3.4 measured earlier on this machine (c1 684 ops/s, p50 1.2 ms, p99 5.9 ms; c64 ~2,500 ops/s, p99 69 ms; c256 2,800–4,900 ops/s).`;
  progress(`measuring fdatasync latency in ${tmpdir()}`);
  const machine = machineFacts(p.quick);
  const command = `npm run bench:report${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
  const results: RunResult[] = [];
  for (const spec of [...suite, ...extra]) {
    const wanted =
      (only.size === 0 || only.has(spec.id) || only.has(spec.bench)) &&
      !skip.has(spec.id) &&
      !skip.has(spec.bench);
    if (!wanted) continue;
    if (!available.includes(spec.bench)) {
      results.push({
        id: spec.id,
        bench: spec.bench,
        title: spec.title,
        args: [],
        status: 'skipped',
        seconds: 0,
        error: `no bench ${spec.bench} in tools/bench/src/benches`,
      });
      continue;
    }
    if (spec.bench === 'etcd' && !etcdInstalled) {
      results.push({
        id: spec.id,
        bench: spec.bench,
        title: spec.title,
        args: [],
        status: 'skipped',
        seconds: 0,
        error: 'etcd not available',
      });
      continue;
    }
    results.push(await runOne(spec, p.quick, logsDir));
  }
  machine.loadAverageEnd = round(loadavg()[0]!, 2);
  const etcdMeasured = results.some((r) => r.bench === 'etcd' && r.status === 'ok');
  const targets = suiteTargets({
    c64: etcdMeasured ? metricOf(results, 'etcd-c64', 'opsPerSec') : undefined,
    c256: etcdMeasured ? metricOf(results, 'etcd-c256', 'opsPerSec') : undefined,
  });
  const charts = new Map(results.map((r) => [r.id, writeCharts(r, targets, outDir)]));
  const report = markdown(results, targets, machine, {
    quick: p.quick,
    command,
    etcdMeasured,
    etcdNote,
    charts,
    outDir,
  });
  writeFileSync(join(outDir, 'report.md'), report);
  writeFileSync(join(outDir, 'results.json'), `${JSON.stringify({ machine, targets, results }, null, 2)}\n`);
  const failed = results.filter((r) => r.status === 'failed').map((r) => r.id);
  progress(
    `wrote ${join(outDir, 'report.md')}${failed.length > 0 ? ` (failed runs: ${failed.join(', ')})` : ''}`,
  );
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    if (current?.pid !== undefined) killGroup(current.pid, 'SIGKILL');
    process.exit(130);
  });
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bench:report failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
