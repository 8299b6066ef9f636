// regentctl as a library: the CLI runner (for embedding and tests) and its exit codes.
export { DEFAULT_GATEWAY, DEFAULT_TIMEOUT_MS, run } from './cli.js';
export type { Io } from './context.js';
export { ExitCode, exitCodeOf } from './exit-codes.js';
