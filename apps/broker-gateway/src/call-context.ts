// Per-call context: a request id (the caller's `regent-request-id` or a new one) and a logger bound to it and the
// rpc name, set by the outermost interceptor, which also counts and times every call (streams until they end).
import {
  Code,
  ConnectError,
  createContextKey,
  type HandlerContext,
  type Interceptor,
  type StreamResponse,
} from '@connectrpc/connect';
import { codeToString } from '@connectrpc/connect/protocol-connect';
import { newRequestId, REQUEST_ID_HEADER } from '@regent/service-kit';
import type { Logger } from 'pino';
import type { GatewayMetrics } from './metrics.js';

export interface CallContext {
  /** "BrokerService/Heartbeat". */
  readonly rpc: string;
  readonly requestId: string;
  /** Bound to `requestId` and `rpc`: use it for every log line about the call. */
  readonly logger: Logger;
}

export const callContextKey = createContextKey<CallContext | undefined>(undefined);

/** A caller's request id is kept when it is short and plain; anything else gets a new id. */
const requestIdPattern = /^[A-Za-z0-9._:-]{1,128}$/;

export function callContextOf(ctx: HandlerContext): CallContext {
  const call = ctx.values.get(callContextKey);
  // The observing interceptor runs before every handler; a missing context is a wiring bug.
  if (call === undefined) throw new Error('no call context: the observing interceptor is not installed');
  return call;
}

/** Codes that mean the gateway (or something behind it) is broken, logged as errors. */
const serverFaultCodes = new Set([Code.Internal, Code.Unknown, Code.DataLoss, Code.Unimplemented]);

/** A call being observed: its context, and `finish` to count, time and log it once it ended. */
export interface ObservedCall {
  readonly call: CallContext;
  /** Counts and times the call and logs its outcome; `error` undefined means ok. */
  finish(error: unknown): void;
}

/** Starts observing a call of `rpc` whose caller sent `incomingRequestId` (the header value, if any). */
export function beginCall(
  logger: Logger,
  metrics: GatewayMetrics,
  rpc: string,
  incomingRequestId: string | null | undefined,
): ObservedCall {
  const requestId =
    typeof incomingRequestId === 'string' && requestIdPattern.test(incomingRequestId)
      ? incomingRequestId
      : newRequestId();
  const call: CallContext = { rpc, requestId, logger: logger.child({ requestId, rpc }) };
  const startedMs = performance.now();
  const finish = (error: unknown): void => {
    const code = error === undefined ? undefined : ConnectError.from(error).code;
    metrics.requests.inc({ rpc, code: code === undefined ? 'ok' : codeToString(code) });
    metrics.requestSeconds.observe({ rpc }, (performance.now() - startedMs) / 1000);
    const durationMs = Math.round(performance.now() - startedMs);
    if (code === undefined) call.logger.debug({ durationMs }, 'call ok');
    else if (serverFaultCodes.has(code)) call.logger.error({ err: error, durationMs }, 'call failed');
    else
      call.logger.info(
        { code: codeToString(code), error: (error as Error).message, durationMs },
        'call refused',
      );
  };
  return { call, finish };
}

export function createObservingInterceptor(logger: Logger, metrics: GatewayMetrics): Interceptor {
  return (next) => async (req) => {
    const rpc = `${req.service.name}/${req.method.name}`;
    const { call, finish } = beginCall(logger, metrics, rpc, req.header.get(REQUEST_ID_HEADER));
    req.contextValues.set(callContextKey, call);
    try {
      const res = await next(req);
      res.header.set(REQUEST_ID_HEADER, call.requestId);
      if (!res.stream) {
        finish(undefined);
        return res;
      }
      const observed: StreamResponse = { ...res, message: observe(res.message, req.signal, finish) };
      return observed;
    } catch (error) {
      finish(error);
      throw error;
    }
  };
}

async function* observe<T>(
  source: AsyncIterable<T>,
  signal: AbortSignal,
  finish: (error: unknown) => void,
): AsyncGenerator<T> {
  let error: unknown;
  try {
    yield* source;
  } catch (e) {
    error = e;
    throw e;
  } finally {
    finish(error ?? (signal.aborted ? new ConnectError('the caller went away', Code.Canceled) : undefined));
  }
}
