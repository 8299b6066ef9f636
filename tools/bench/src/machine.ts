// Shared benchmark helpers: the machine description, argument parsing, and latency percentiles.
import { cpus, totalmem } from 'node:os';

export interface BenchResult {
  readonly params: Record<string, unknown>;
  readonly metrics: Record<string, number>;
}

export function machineInfo(): Record<string, unknown> {
  const cpu = cpus();
  return {
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpus: cpu.length,
    cpuModel: cpu[0]?.model ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
  };
}

/** Parses `--key value` / `--flag` pairs into a map with numeric defaults. */
export function parseArgs<T extends Record<string, number | string | boolean>>(
  args: readonly string[],
  defaults: T,
): T {
  const out: Record<string, number | string | boolean> = { ...defaults };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith('--')) throw new Error(`unexpected argument ${arg}`);
    const key = arg.slice(2).replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    if (!(key in defaults))
      throw new Error(`unknown option ${arg}; known: ${Object.keys(defaults).join(', ')}`);
    const def = defaults[key];
    if (typeof def === 'boolean') {
      out[key] = true;
      continue;
    }
    const value = args[++i];
    if (value === undefined) throw new Error(`${arg} needs a value`);
    if (typeof def === 'number') {
      const n = Number(value);
      if (!Number.isFinite(n)) throw new Error(`${arg} expects a number`);
      out[key] = n;
    } else out[key] = value;
  }
  return out as T;
}

/** The q-quantile (0..1) of samples, nearest-rank; NaN for no samples. */
export function quantile(samples: readonly number[], q: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

export function round(n: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

export function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}
