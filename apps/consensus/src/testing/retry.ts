// The harness's deadlines and retry policy: how long a call, an operation and a wait may take, and which failures
// are worth retrying elsewhere or later.
import { Code, ConnectError } from '@connectrpc/connect';
import { readControllerError } from '@regent/proto';
import { ControllerCondition } from '@regent/proto/common';

/** Per-test (and cluster start-up) timeout for the real-process suites: generous, for busy shared machines. */
export const TEST_TIMEOUT_MS = 180_000;

/** Per-call deadline for client and status calls: a dead or paused node must not hang a test. */
export const CALL_TIMEOUT_MS = 2_000;
/** How long a ClusterClient keeps retrying one operation (generous: test machines are shared and slow). */
export const OPERATION_DEADLINE_MS = 60_000;
/** Default deadline of the cluster-level waits (leader, convergence, membership). */
export const WAIT_DEADLINE_MS = 60_000;
export const RETRY_PAUSE_MS = 20;

/** Runs `attempt` until it succeeds or fails with a non-retriable error; gives up after `timeoutMs`. */
export async function retrying<T>(
  what: string,
  attempt: () => Promise<T>,
  timeoutMs = OPERATION_DEADLINE_MS,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (!isRetriable(error)) throw error;
      if (Date.now() > deadline)
        throw new Error(`gave up on ${what} after ${timeoutMs} ms`, { cause: error });
    }
    await new Promise((r) => setTimeout(r, RETRY_PAUSE_MS * 5));
  }
}

/** A failure worth retrying elsewhere or later: not leader, overloaded, unknown outcome, node down or slow. */
export function isRetriable(error: unknown): boolean {
  const e = ConnectError.from(error);
  const detail = readControllerError(e);
  if (detail !== undefined) {
    return [
      ControllerCondition.NOT_LEADER,
      ControllerCondition.OVERLOADED,
      ControllerCondition.RAFT_INTERNAL_ERROR,
      ControllerCondition.MEMBERSHIP_CHANGE_IN_PROGRESS,
      ControllerCondition.TIMEOUT,
    ].includes(detail.condition);
  }
  return [
    Code.Unavailable,
    Code.DeadlineExceeded,
    Code.ResourceExhausted,
    Code.Aborted,
    Code.Canceled,
  ].includes(e.code);
}
