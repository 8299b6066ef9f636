// Heartbeats to the gateway: one long-lived HeartbeatStream (its broken connection is the controller's fast crash
// signal), reopened with bounded backoff after a break, and unary Heartbeat calls whenever the stream is not
// confirmed healthy (opening, down, stalled, or unsupported by the server), so liveness never depends on the
// stream alone. At most one unary call is in flight; the stream carries at most one unsent heartbeat (the latest).
// `heartbeatOf` builds the heartbeat itself.
import { create } from '@bufbuild/protobuf';
import { Code, ConnectError } from '@connectrpc/connect';
import { type HeartbeatStreamRequest, HeartbeatStreamRequestSchema } from '@regent/proto/broker';
import { type BrokerHeartbeat, BrokerHeartbeatSchema } from '@regent/proto/common';
import { createBackoff } from './backoff.js';
import { type Cancel, type Clock, type Random, sleep } from './clock.js';
import type { Settings } from './config.js';
import type { AgentLogger, BrokerServiceClient, StoreView } from './ports.js';

export interface HeartbeatOptions {
  readonly intervalMs: number;
  /** The liveness timeout sent in every heartbeat; also the bound after which a silent stream counts as stalled. */
  readonly timeoutMs: number;
  readonly useStream: boolean;
  readonly reconnectMinMs: number;
  readonly reconnectMaxMs: number;
}

export interface HeartbeatDeps {
  readonly client: BrokerServiceClient;
  readonly clock: Clock;
  readonly random: Random;
  readonly logger: AgentLogger;
  /** The heartbeat to send now (fresh offsets and epoch). */
  readonly build: () => BrokerHeartbeat;
}

export interface HeartbeatStats {
  /** Heartbeats handed to the stream or sent as unary calls. */
  readonly sentCount: number;
  readonly unarySentCount: number;
  readonly ackCount: number;
  readonly failureCount: number;
  readonly streamOpenCount: number;
  readonly streamBreakCount: number;
  readonly streamState: 'disabled' | 'down' | 'opening' | 'up';
  /** Clock ms of the last acknowledged heartbeat (stream or unary); 0 before the first. */
  readonly lastAckMs: number;
  /** The timeout the controller says it applies, from the last ack; 0 before the first. */
  readonly effectiveTimeoutMs: number;
}

/** What a heartbeat says about the broker besides its store's progress. */
export type HeartbeatSettings = Pick<
  Settings,
  | 'clusterName'
  | 'brokerName'
  | 'brokerAddress'
  | 'heartbeatTimeoutMs'
  | 'electionPriority'
  | 'zone'
  | 'labels'
>;

/** A heartbeat with the store's progress now; `brokerId` is undefined until the broker has one. */
export function heartbeatOf(
  s: HeartbeatSettings,
  store: StoreView,
  brokerId: bigint | undefined,
): BrokerHeartbeat {
  return create(BrokerHeartbeatSchema, {
    clusterName: s.clusterName,
    brokerName: s.brokerName,
    brokerAddress: s.brokerAddress,
    brokerId,
    epoch: store.lastEpoch(),
    maxOffset: store.maxOffset(),
    confirmOffset: store.confirmOffset(),
    heartbeatTimeoutMs: BigInt(s.heartbeatTimeoutMs),
    electionPriority: s.electionPriority,
    zone: s.zone,
    labels: { ...s.labels },
  });
}

interface OpenStream {
  readonly abort: AbortController;
  readonly mailbox: LatestMailbox<HeartbeatStreamRequest>;
  state: 'opening' | 'up';
  /** Clock ms of the open or of the last ack, whichever is later. */
  lastProgressMs: number;
}

export class HeartbeatSender {
  private running = false;
  private paused = false;
  private streamEnabled: boolean;
  private stream: OpenStream | undefined;
  private unaryInFlight = false;
  private cancelTick: Cancel | undefined;
  private stopSignal!: Promise<void>;
  private signalStop!: () => void;
  private sentCount = 0;
  private unarySentCount = 0;
  private ackCount = 0;
  private failureCount = 0;
  private streamOpenCount = 0;
  private streamBreakCount = 0;
  private lastAckMs = 0;
  private effectiveTimeoutMs = 0;

  constructor(
    private readonly options: HeartbeatOptions,
    private readonly deps: HeartbeatDeps,
  ) {
    this.streamEnabled = options.useStream;
  }

  /** Starts the periodic heartbeats (the first one at once) and the stream. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.stopSignal = new Promise((resolve) => (this.signalStop = resolve));
    if (this.streamEnabled) void this.runStream();
    this.tick();
  }

  /** Stops sending. `graceful` half-closes the stream; otherwise it is cancelled at once (like a crash). */
  stop(graceful: boolean): void {
    if (!this.running) return;
    this.running = false;
    this.cancelTick?.();
    this.signalStop();
    const s = this.stream;
    this.stream = undefined;
    if (s !== undefined) {
      if (graceful) s.mailbox.close();
      else s.abort.abort(new ConnectError('heartbeat stream aborted', Code.Canceled));
    }
  }

  /** While paused nothing is sent and the stream is left open and silent (a hung process). */
  setPaused(paused: boolean): void {
    this.paused = paused;
    if (!paused && this.stream !== undefined) this.stream.lastProgressMs = this.deps.clock.nowMs();
  }

  /** Closes the current stream so the next one starts fresh (a stream names one broker; its id changed). */
  restartStream(): void {
    this.stream?.abort.abort(new ConnectError('heartbeat stream restarted', Code.Canceled));
  }

  /** One unary heartbeat now, awaited (used right after registration, before asking for an election). */
  async sendUnary(): Promise<boolean> {
    if (this.unaryInFlight) return false;
    this.unaryInFlight = true;
    this.sentCount++;
    this.unarySentCount++;
    try {
      const reply = await this.deps.client.heartbeat(
        { heartbeat: this.deps.build() },
        { timeoutMs: this.options.timeoutMs },
      );
      this.onAck(reply.effectiveTimeoutMs);
      return true;
    } catch (error) {
      this.failureCount++;
      this.deps.logger.debug({ err: error }, 'unary heartbeat failed');
      return false;
    } finally {
      this.unaryInFlight = false;
    }
  }

  stats(): HeartbeatStats {
    return {
      sentCount: this.sentCount,
      unarySentCount: this.unarySentCount,
      ackCount: this.ackCount,
      failureCount: this.failureCount,
      streamOpenCount: this.streamOpenCount,
      streamBreakCount: this.streamBreakCount,
      streamState: !this.streamEnabled ? 'disabled' : (this.stream?.state ?? 'down'),
      lastAckMs: this.lastAckMs,
      effectiveTimeoutMs: this.effectiveTimeoutMs,
    };
  }

  private tick(): void {
    if (!this.running) return;
    this.cancelTick = this.deps.clock.setTimer(() => this.tick(), this.options.intervalMs);
    if (this.paused) return;
    const now = this.deps.clock.nowMs();
    const s = this.stream;
    if (s !== undefined && now - s.lastProgressMs > this.options.timeoutMs) {
      // Connected but silent for a whole timeout: the gateway is hung or the path is black-holed.
      s.abort.abort(new ConnectError('heartbeat stream stalled', Code.DeadlineExceeded));
    } else if (s !== undefined) {
      s.mailbox.put(create(HeartbeatStreamRequestSchema, { heartbeat: this.deps.build() }));
      this.sentCount++;
    }
    const streamHealthy = s?.state === 'up' && now - this.lastAckMs <= 2 * this.options.intervalMs;
    if (!streamHealthy) void this.sendUnary();
  }

  private async runStream(): Promise<void> {
    const backoff = createBackoff(
      { minMs: this.options.reconnectMinMs, maxMs: this.options.reconnectMaxMs },
      this.deps.random,
    );
    while (this.running && this.streamEnabled) {
      const s: OpenStream = {
        abort: new AbortController(),
        mailbox: new LatestMailbox(),
        state: 'opening',
        lastProgressMs: this.deps.clock.nowMs(),
      };
      this.stream = s;
      this.streamOpenCount++;
      s.mailbox.put(create(HeartbeatStreamRequestSchema, { heartbeat: this.deps.build() }));
      this.sentCount++;
      try {
        for await (const reply of this.deps.client.heartbeatStream(s.mailbox, { signal: s.abort.signal })) {
          s.state = 'up';
          s.lastProgressMs = this.deps.clock.nowMs();
          this.onAck(reply.effectiveTimeoutMs);
          backoff.reset();
        }
      } catch (error) {
        if (ConnectError.from(error).code === Code.Unimplemented) {
          this.streamEnabled = false;
          this.deps.logger.warn(
            {},
            'gateway does not implement HeartbeatStream; using unary heartbeats only',
          );
        } else if (this.running) {
          this.deps.logger.debug({ err: error }, 'heartbeat stream broke');
        }
      }
      if (this.stream === s) this.stream = undefined;
      if (!this.running) return;
      this.streamBreakCount++;
      await sleep(this.deps.clock, backoff.next(), this.stopSignal);
    }
  }

  private onAck(effectiveTimeoutMs: bigint): void {
    this.ackCount++;
    this.lastAckMs = this.deps.clock.nowMs();
    this.effectiveTimeoutMs = Number(effectiveTimeoutMs);
  }
}

/** An async iterable holding at most one value: a newer `put` replaces an unconsumed one. */
export class LatestMailbox<T> implements AsyncIterable<T> {
  private value: T | undefined;
  private closed = false;
  private wake: (() => void) | undefined;

  put(value: T): void {
    if (this.closed) return;
    this.value = value;
    this.wakeUp();
  }

  close(): void {
    this.closed = true;
    this.wakeUp();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      const value = this.value;
      if (value !== undefined) {
        this.value = undefined;
        yield value;
        continue;
      }
      if (this.closed) return;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  private wakeUp(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}
