#!/usr/bin/env node
// Runs regentctl from its TypeScript sources (no build step needed after `npm ci`).
// The built form is `node tools/regentctl/dist/main.js`.
// tsx is resolved from this file, so the command works from any directory. Ctrl-C reaches both processes (one
// process group); this one ignores it and waits, so the CLI can finish (`watch` ends cleanly) and its exit code is
// passed on.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const main = join(here, '..', 'src', 'main.ts');
const tsx = import.meta.resolve('tsx');
const child = spawn(
  process.execPath,
  ['--conditions=@regent/source', '--import', tsx, '--no-warnings', main, ...process.argv.slice(2)],
  { stdio: 'inherit', cwd: process.cwd(), env: process.env },
);
const ignore = () => {};
process.on('SIGINT', ignore);
process.on('SIGTERM', () => child.kill('SIGTERM'));
child.on('exit', (code, signal) => {
  if (signal !== null) {
    // Die of the same signal, so the shell sees what the CLI saw.
    process.removeAllListeners(signal);
    process.kill(process.pid, signal);
    return;
  }
  process.exit(code ?? 1);
});
