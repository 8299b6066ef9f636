// The regentctl program: global options, the commands, output in text or JSON, and the exit code. `run` never
// exits the process; `main.ts` does, so every path here is testable in-process.
import { Command, CommanderError, Option } from 'commander';
import { gatewayUrl, parseTimeoutMs } from './args.js';
import { createAdminClient } from './client.js';
import { registerAudit } from './commands/audit.js';
import { registerBrokers } from './commands/brokers.js';
import { registerClean } from './commands/clean.js';
import { registerConfig } from './commands/config.js';
import { registerElect } from './commands/elect.js';
import { registerMember } from './commands/member.js';
import { registerMetadata } from './commands/metadata.js';
import { registerPolicy } from './commands/policy.js';
import { registerSnapshot, registerTransferLeader } from './commands/raft-ops.js';
import { registerStatus } from './commands/status.js';
import { registerSyncState } from './commands/sync-state.js';
import { registerWatch } from './commands/watch.js';
import type { Act, CommandContext, Io, Output, Register } from './context.js';
import { describeError, ExitCode, errorReportOf, exitCodeOf, UsageError } from './exit-codes.js';
import { createProgress } from './progress.js';

export const DEFAULT_GATEWAY = '127.0.0.1:7200';
/** Long enough for an election or a leadership transfer under load, short enough to notice a hung gateway. */
export const DEFAULT_TIMEOUT_MS = 15_000;

interface GlobalOptions {
  readonly gateway?: string;
  readonly token?: string;
  readonly json?: boolean;
  readonly timeoutMs?: number;
}

const commands: readonly Register[] = [
  registerMetadata,
  registerStatus,
  registerSyncState,
  registerBrokers,
  registerElect,
  registerClean,
  registerConfig,
  registerPolicy,
  registerMember,
  registerTransferLeader,
  registerSnapshot,
  registerWatch,
  registerAudit,
];

const EXIT_CODES_HELP = `
Environment:
  REGENT_GATEWAY        gateway address (host:port or http(s) URL)
  REGENT_ADMIN_TOKEN    admin token, sent as "authorization: Bearer <token>"

Exit codes:
  0  ok
  1  the controller refused (its condition name is printed on stderr)
  2  usage error
  3  unauthenticated or permission denied
  4  unavailable or timed out (retry)
  130 interrupted (Ctrl-C; \`watch\` ends with 0)`;

/** Parses `argv` (without "node" and the script) and runs the command; resolves to the exit code. */
export async function run(argv: readonly string[], io: Io): Promise<ExitCode> {
  const signal = io.signal ?? new AbortController().signal;
  let json = argv.includes('--json');
  const program = new Command('regentctl')
    .description(
      "Regent operator CLI: the controller's metadata, Raft status, broker groups, elections and policies",
    )
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    })
    .showHelpAfterError('(run with --help for usage)')
    .option('-g, --gateway <address>', `gateway address (env REGENT_GATEWAY, default ${DEFAULT_GATEWAY})`)
    .option('-t, --token <token>', 'admin token (env REGENT_ADMIN_TOKEN)')
    .option('--json', 'print JSON for scripts (64-bit integers as strings)')
    .addOption(
      new Option('--timeout-ms <ms>', `deadline of each call (default ${DEFAULT_TIMEOUT_MS})`).argParser(
        parseTimeoutMs,
      ),
    )
    .addHelpText('after', EXIT_CODES_HELP);
  program.helpCommand(true);

  const act: Act =
    (action) =>
    async (...args) => {
      const command = args.at(-1) as Command;
      const globals = command.optsWithGlobals<GlobalOptions>();
      json = globals.json === true;
      let output: Output | undefined;
      try {
        output = await action(contextOf(globals, io, signal), ...(args.slice(0, -1) as never));
      } catch (error) {
        // Commander prints the errors it raises itself; a parser error raised inside an action is ours to print.
        throw error instanceof CommanderError ? new UsageError(error.message) : error;
      }
      if (output !== undefined) {
        io.stdout.write(json ? `${JSON.stringify(output.json, null, 2)}\n` : output.text);
      }
    };
  for (const register of commands) register(program, act);

  try {
    await program.parseAsync([...argv], { from: 'user' });
    return ExitCode.Ok;
  } catch (error) {
    if (signal.aborted) return ExitCode.Interrupted;
    const code = exitCodeOf(error);
    if (code !== 0) reportError(io, error, json);
    return code;
  }
}

function contextOf(globals: GlobalOptions, io: Io, signal: AbortSignal): CommandContext {
  const baseUrl = gatewayUrl(globals.gateway ?? io.env.REGENT_GATEWAY ?? DEFAULT_GATEWAY);
  const token = globals.token ?? io.env.REGENT_ADMIN_TOKEN;
  return {
    client: createAdminClient({ baseUrl, token }),
    json: globals.json === true,
    call: { timeoutMs: globals.timeoutMs ?? DEFAULT_TIMEOUT_MS, signal },
    signal,
    progress: createProgress(io.stderr),
    out: (text) => io.stdout.write(text),
    note: (text) => io.stderr.write(`regentctl: ${text}\n`),
  };
}

function reportError(io: Io, error: unknown, json: boolean): void {
  if (error instanceof CommanderError) return; // commander has printed it, with a pointer to --help
  if (json) {
    io.stderr.write(`${JSON.stringify({ error: errorReportOf(error) })}\n`);
    return;
  }
  io.stderr.write(`regentctl: ${describeError(error)}\n`);
}
