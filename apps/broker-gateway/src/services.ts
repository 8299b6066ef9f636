// What the BrokerService and AdminService handlers share: the forwarder, the heartbeat batcher, the bounds on
// concurrent work, the gateway's sequences, and the per-call wrapper that validates, bounds and times a call.
import { Code, ConnectError, type HandlerContext } from '@connectrpc/connect';
import { connectErrorOf } from '@regent/proto';
import { ControllerCondition } from '@regent/proto/common';
import { callContextOf } from './call-context.js';
import type { ConsensusNodes } from './consensus-nodes.js';
import type { Forwarder, ForwardScope } from './forwarder.js';
import type { HeartbeatBatcher } from './heartbeat-batcher.js';
import type { GatewayMetrics } from './metrics.js';
import type { StreamRegistry } from './stream-registry.js';
import { type Backoff, callBudgetMs, createDeadline } from './timing.js';
import { type Violation, violationError } from './validation.js';

/** A counter of things in use with a hard maximum. */
export class Slots {
  private used = 0;

  constructor(
    readonly max: number,
    private readonly what: string,
  ) {}

  /** Takes a slot or refuses with RESOURCE_EXHAUSTED / OVERLOADED. */
  acquire(): void {
    if (this.used >= this.max) {
      throw connectErrorOf(
        ControllerCondition.OVERLOADED,
        `${this.max} ${this.what} already in flight on this gateway`,
      );
    }
    this.used += 1;
  }

  release(): void {
    // Every release pairs with an acquire in a finally block.
    if (this.used <= 0) throw new Error(`${this.what}: release without acquire`);
    this.used -= 1;
  }

  get inUse(): number {
    return this.used;
  }
}

export interface ServiceDeps {
  readonly gatewayId: string;
  readonly nodes: ConsensusNodes;
  readonly forwarder: Forwarder;
  readonly batcher: HeartbeatBatcher;
  readonly streams: StreamRegistry;
  readonly metrics: GatewayMetrics;
  readonly requestTimeoutMs: number;
  /** What acks report for a heartbeat without its own timeout (the consensus nodes' default), in ms. */
  readonly defaultHeartbeatTimeoutMs: bigint;
  /** Forwarded calls in flight (--max-in-flight). */
  readonly inflight: Slots;
  readonly heartbeatStreams: Slots;
  readonly watchStreams: Slots;
  /** The next gateway sequence for a heartbeat call or stream (strictly increasing). */
  readonly nextHeartbeatSequence: () => bigint;
  /** Aborts when the gateway starts shutting down: streams end (without suspicions). */
  readonly draining: AbortSignal;
  readonly watchBackoff: Backoff;
  readonly watchRetriesMax: number;
}

/** Throws the violation's INVALID_ARGUMENT error, if any. */
export function check(violation: Violation | undefined): void {
  if (violation !== undefined) throw violationError(violation);
}

/** Runs a forwarded call: one in-flight slot, a deadline (the caller's, capped by --request-timeout-ms). */
export async function forwarded<T>(
  deps: ServiceDeps,
  ctx: HandlerContext,
  run: (scope: ForwardScope) => Promise<T>,
): Promise<T> {
  const call = callContextOf(ctx);
  deps.inflight.acquire();
  const deadline = createDeadline(callBudgetMs(ctx.timeoutMs(), deps.requestTimeoutMs), ctx.signal);
  try {
    return await run({ deadline, requestId: call.requestId, logger: call.logger });
  } finally {
    deadline.dispose();
    deps.inflight.release();
  }
}

export function shuttingDownError(): ConnectError {
  return new ConnectError('the gateway is shutting down; reconnect to another gateway', Code.Unavailable);
}
