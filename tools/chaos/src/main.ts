// `npm run chaos -- [--seed N] [--duration S] [--quick]`: one chaos run against real processes. Progress goes to
// stderr; the last stdout line is one JSON object { bench: "chaos", params, machine, metrics }, as the benchmarks
// print. Exits 1 when a checker found a violation (and prints the replay command), 2 on bad arguments.
import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { checkRun } from './check/index.js';
import { loadHistory, runChaos } from './run.js';

interface Args {
  /** Re-check a saved history instead of running. */
  check: string | undefined;
  seed: number;
  durationS: number;
  quick: boolean;
  groups: number;
}

const usage =
  'usage: npm run chaos -- [--seed N] [--duration SECONDS] [--quick] [--groups N] | --check HISTORY.json';

function parseArgs(argv: readonly string[]): Args {
  const args: Args = {
    check: undefined,
    seed: randomInt(1, 2 ** 31 - 1),
    durationS: 240,
    quick: false,
    groups: 3,
  };
  let durationGiven = false;
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = (): number => {
      const n = Number(argv[++i]);
      if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${flag} needs a non-negative integer`);
      return n;
    };
    if (flag === '--seed') args.seed = value();
    else if (flag === '--duration') {
      args.durationS = value();
      durationGiven = true;
    } else if (flag === '--groups') args.groups = Math.min(8, Math.max(1, value()));
    else if (flag === '--quick') args.quick = true;
    else if (flag === '--check') args.check = argv[++i];
    else if (flag === '--help') {
      process.stderr.write(`${usage}\n`);
      process.exit(0);
    } else throw new Error(`unknown option ${flag}`);
  }
  if (args.quick && !durationGiven) args.durationS = 75;
  if (args.durationS < 5 || args.durationS > 3600) throw new Error('--duration must be within 5..3600 s');
  return args;
}

function machineInfo(): Record<string, unknown> {
  const cpu = cpus();
  return {
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpus: cpu.length,
    cpuModel: cpu[0]?.model ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
  };
}

async function main(): Promise<void> {
  let args: Args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${usage}\n`);
    process.exit(2);
  }
  if (args.check !== undefined) {
    const report = checkRun(loadHistory(readFileSync(args.check, 'utf8')));
    for (const v of report.violations) process.stderr.write(`[${v.checker}] ${v.group} ${v.message}\n`);
    const summary = {
      bench: 'chaos-check',
      params: { file: args.check },
      machine: machineInfo(),
      metrics: report.metrics,
    };
    process.stdout.write(`${JSON.stringify(summary)}\n`);
    process.exit(report.violations.length > 0 ? 1 : 0);
  }
  const replay = `npm run chaos -- --seed ${args.seed} --duration ${args.durationS} --groups ${args.groups}`;
  process.stderr.write(`[chaos] seed ${args.seed} — replay the same fault plan with: ${replay}\n`);
  const result = await runChaos({ seed: args.seed, durationS: args.durationS, groups: args.groups });
  for (const line of result.details) process.stderr.write(`${line}\n`);
  if (result.violations.length > 0) {
    process.stderr.write(`[chaos] ${result.violations.length} violation(s); replay: ${replay}\n`);
    if (result.historyFile !== undefined) process.stderr.write(`[chaos] history: ${result.historyFile}\n`);
  }
  process.stdout.write(
    `${JSON.stringify({ bench: 'chaos', params: { ...result.params, quick: args.quick }, machine: machineInfo(), metrics: result.metrics })}\n`,
  );
  process.exit(result.violations.length > 0 ? 1 : 0);
}

main().catch((error: unknown) => {
  process.stderr.write(
    `chaos failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(2);
});
