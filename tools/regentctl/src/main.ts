// regentctl entry: runs the CLI against this process's streams and environment, turns Ctrl-C into an abort (so
// `watch` ends cleanly), and exits with the CLI's exit code.
import { run } from './cli.js';

const interrupt = new AbortController();
process.once('SIGINT', () => interrupt.abort());

const code = await run(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  signal: interrupt.signal,
});
// Exit once stdout has drained, so piped output is never cut short.
process.stdout.write('', () => process.exit(code));
