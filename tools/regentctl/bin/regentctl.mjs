#!/usr/bin/env node
// Runs regentctl from its TypeScript sources (no build step needed after `npm ci`).
// The built form is `node tools/regentctl/dist/main.js`.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const main = join(here, '..', 'src', 'main.ts');
const result = spawnSync(
  process.execPath,
  ['--conditions=@regent/source', '--import', 'tsx', '--no-warnings', main, ...process.argv.slice(2)],
  { stdio: 'inherit', cwd: process.cwd(), env: process.env },
);
process.exit(result.status ?? 1);
