// `node --import tsx tools/boundaries/src/main.ts`: fails (exit 1) when a module boundary rule is broken.
import { resolve } from 'node:path';
import { checkWorkspace } from './check.js';

const root = resolve(import.meta.dirname, '..', '..', '..');
const violations = checkWorkspace(root);
for (const v of violations) process.stderr.write(`${v.file}:${v.line}: [${v.rule}] ${v.message}\n`);
if (violations.length > 0) {
  process.stderr.write(`boundaries: ${violations.length} violation(s)\n`);
  process.exit(1);
}
process.stdout.write('boundaries: ok\n');
