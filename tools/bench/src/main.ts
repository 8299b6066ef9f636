// `npm run bench -- <name> [options]`: runs one benchmark program and prints one JSON object on the last line of
// stdout: { bench, params, machine, metrics }. Progress goes to stderr. Benchmarks live in ./benches/<name>.ts and
// export `run(args: string[]): Promise<BenchResult>`.
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type BenchResult, machineInfo } from './machine.js';

const here = dirname(fileURLToPath(import.meta.url));
const benchesDir = join(here, 'benches');

async function main(): Promise<void> {
  const [name, ...args] = process.argv.slice(2);
  const available = readdirSync(benchesDir)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.spec.ts'))
    .map((f) => f.slice(0, -3))
    .sort();
  if (name === undefined || name === '--help' || !available.includes(name)) {
    process.stderr.write(`usage: npm run bench -- <${available.join('|')}> [options]\n`);
    process.exit(name === undefined || name === '--help' ? 0 : 2);
  }
  const file = join(benchesDir, `${name}.ts`);
  if (!existsSync(file)) throw new Error(`missing ${file}`);
  const mod = (await import(pathToFileURL(file).href)) as { run(args: string[]): Promise<BenchResult> };
  const result = await mod.run(args);
  process.stdout.write(
    `${JSON.stringify({ bench: name, params: result.params, machine: machineInfo(), metrics: result.metrics })}\n`,
  );
  process.exit(0);
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
