// Exit codes and the one-line description of a failure. Scripts switch on the exit code; people read stderr.
//   0 ok · 1 the controller refused (its condition on stderr) · 2 usage error · 3 unauthenticated or permission
//   denied · 4 unavailable or timed out (worth retrying) · 130 interrupted (Ctrl-C) before a command finished.
import { Code, ConnectError } from '@connectrpc/connect';
import { conditionTable, readControllerError } from '@regent/proto';
import { ControllerCondition } from '@regent/proto/common';
import { CommanderError } from 'commander';

export const ExitCode = {
  Ok: 0,
  Refused: 1,
  Usage: 2,
  Unauthorized: 3,
  Unavailable: 4,
  Interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** A command line that cannot be run as given (bad value, missing option, conflicting flags). */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The controller answered, but not what was asked (for example a named group does not exist). */
export class RefusedError extends Error {
  override readonly name = 'RefusedError';
  constructor(
    message: string,
    readonly condition: ControllerCondition,
  ) {
    super(message);
  }
}

const retryableCodes: ReadonlySet<Code> = new Set([
  Code.Unavailable,
  Code.DeadlineExceeded,
  Code.ResourceExhausted,
  Code.Aborted,
]);

/** Socket errors that mean "the gateway is not there (now)"; they can surface without a ConnectError wrapper. */
const networkErrorCodes: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** The socket error code of `error` or of an error in its `cause` chain (at most 8 deep). */
export function networkErrorCode(error: unknown): string | undefined {
  let e: unknown = error;
  for (let depth = 0; depth < 8 && e instanceof Error; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && networkErrorCodes.has(code)) return code;
    e = e.cause;
  }
  return undefined;
}

/** The exit code for an error thrown while parsing or running a command. */
export function exitCodeOf(error: unknown): ExitCode {
  if (error instanceof CommanderError) return error.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
  if (error instanceof UsageError) return ExitCode.Usage;
  if (error instanceof RefusedError) return ExitCode.Refused;
  if (networkErrorCode(error) !== undefined) return ExitCode.Unavailable;
  if (!(error instanceof ConnectError)) return ExitCode.Refused;
  const condition = readControllerError(error)?.condition;
  if (error.code === Code.Unauthenticated) return ExitCode.Unauthorized;
  if (error.code === Code.PermissionDenied) {
    // A forbidden config key is the controller refusing a request, not the caller lacking a credential.
    return condition === ControllerCondition.CONFIG_KEY_FORBIDDEN ? ExitCode.Refused : ExitCode.Unauthorized;
  }
  return retryableCodes.has(error.code) ? ExitCode.Unavailable : ExitCode.Refused;
}

/** What went wrong, machine-readable (the `--json` form of the stderr line). */
export interface ErrorReport {
  /** The Connect code ("failed_precondition"), "usage" or "internal". */
  readonly code: string;
  /** The controller condition name ("ELECT_MASTER_FAILED"), when the error carries one. */
  readonly condition?: string;
  /** RocketMQ's response code for the condition (2000..2016), when it has one. */
  readonly rocketmqCode?: number;
  readonly message: string;
  /** For NOT_LEADER: the leader the answering node knows of. */
  readonly leader?: { readonly nodeId: string; readonly address: string };
  /** For INVALID_ARGUMENT / INVALID_POLICY: the offending field. */
  readonly field?: string;
}

export function errorReportOf(error: unknown): ErrorReport {
  if (error instanceof UsageError || error instanceof CommanderError) {
    return { code: 'usage', message: error.message.replace(/^error: /, '') };
  }
  if (error instanceof RefusedError) {
    return {
      code: codeName(conditionTable[error.condition].code),
      condition: ControllerCondition[error.condition],
      rocketmqCode: conditionTable[error.condition].rocketmqCode,
      message: error.message,
    };
  }
  if (!(error instanceof ConnectError)) {
    const code = networkErrorCode(error) === undefined ? 'internal' : 'unavailable';
    return { code, message: error instanceof Error ? error.message : String(error) };
  }
  const detail = readControllerError(error);
  // connect-node reports a socket that died under a reused keep-alive connection as INTERNAL; it is the gateway
  // being unreachable, so it is reported (and exits) as unavailable.
  const code = networkErrorCode(error) === undefined ? codeName(error.code) : 'unavailable';
  const report: ErrorReport = { code, message: error.rawMessage };
  if (detail === undefined) return report;
  return {
    ...report,
    condition: ControllerCondition[detail.condition] ?? String(detail.condition),
    ...(detail.rocketmqCode === 0 ? {} : { rocketmqCode: detail.rocketmqCode }),
    message: detail.message === '' ? error.rawMessage : detail.message,
    ...(detail.leader === undefined || detail.leader.nodeId === 0n
      ? {}
      : { leader: { nodeId: String(detail.leader.nodeId), address: detail.leader.address } }),
    ...(detail.field === '' ? {} : { field: detail.field }),
  };
}

/** The stderr line for a failure, without the program name. */
export function describeError(error: unknown): string {
  const r = errorReportOf(error);
  const head =
    r.condition === undefined
      ? r.code
      : `${r.condition}${r.rocketmqCode === undefined ? '' : ` (RocketMQ ${r.rocketmqCode})`}`;
  const extras = [
    r.field === undefined ? undefined : `field ${r.field}`,
    r.leader === undefined ? undefined : `leader ${r.leader.nodeId} at ${r.leader.address || '?'}`,
  ].filter((x) => x !== undefined);
  const hint =
    error instanceof ConnectError && error.code === Code.Unauthenticated
      ? ' (pass --token or set REGENT_ADMIN_TOKEN)'
      : '';
  return `${head}: ${r.message}${extras.length === 0 ? '' : ` [${extras.join('; ')}]`}${hint}`;
}

function codeName(code: Code): string {
  return (Code[code] ?? String(code)).replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase();
}
