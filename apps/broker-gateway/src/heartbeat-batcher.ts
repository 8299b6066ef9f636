// Heartbeat fan-in: heartbeats from every call and stream are gathered into batches (sent when `batchMax` is
// reached or `intervalMs` after the first one; a stream suspicion is sent at once) and every batch goes to EVERY
// consensus node, so whichever node leads next already has a warm liveness table (RocketMQ sends heartbeats to all
// controllers for the same reason). Each node has its own sender with a bounded queue: a slow or down node only
// fills its own queue. A full queue is first compacted (heartbeat-compaction.ts: only the newest heartbeat of each
// broker's stream is kept); when that frees too little, the oldest batch is dropped (counted). A batch is encoded
// once, shared by every node (a request is the concatenation of its parts' encodings, which protobuf decodes as
// one message with the repeated fields appended in order).
import { create, toBinary } from '@bufbuild/protobuf';
import type { BrokerHeartbeat } from '@regent/proto/common';
import { ReportHeartbeatsRequestSchema, type StreamSuspicion } from '@regent/proto/consensus';
import type { Logger } from 'pino';
import { compactHeartbeats } from './heartbeat-compaction.js';
import type { GatewayMetrics } from './metrics.js';
import { type Backoff, backoffMs, sleep } from './timing.js';

/** Most heartbeats, and most suspicions, one ReportHeartbeats request may carry (consensus.proto). */
export const reportEntriesMax = 10_000;
/** Sends a node may retry for suspicions alone (no new batch to carry them) before they are dropped. */
const suspicionOnlyRetriesMax = 10;

/** One batch; shared read-only by every node's queue. */
export class HeartbeatBatch {
  #encoded: Uint8Array | undefined;

  constructor(
    readonly heartbeats: readonly BrokerHeartbeat[],
    /** For each heartbeat, the gateway sequence of the stream or call it came on. */
    readonly sequences: readonly bigint[],
    readonly suspicions: readonly StreamSuspicion[],
  ) {}

  get heartbeatCount(): number {
    return this.heartbeats.length;
  }

  /**
   * The batch as ReportHeartbeatsRequest fields (heartbeats, heartbeat_sequences, suspicions) in the protobuf
   * binary format, without the gateway id; encoded once, by the first node's sender that needs it.
   */
  get encoded(): Uint8Array {
    this.#encoded ??= toBinary(
      ReportHeartbeatsRequestSchema,
      create(ReportHeartbeatsRequestSchema, {
        heartbeats: [...this.heartbeats],
        heartbeatSequences: [...this.sequences],
        suspicions: [...this.suspicions],
      }),
    );
    return this.#encoded;
  }
}

/** Delivers one ReportHeartbeatsRequest, in the protobuf binary format, to one node; rejects on any failure. */
export type ReportSender = (
  address: string,
  request: Uint8Array,
  options: { readonly signal: AbortSignal; readonly timeoutMs: number },
) => Promise<void>;

export interface HeartbeatBatcherOptions {
  readonly gatewayId: string;
  /** The nodes to deliver to, read at every flush. */
  readonly nodes: () => readonly string[];
  readonly send: ReportSender;
  readonly batchMax: number;
  readonly intervalMs: number;
  /** Batches queued per node; beyond it the queue is compacted, or else the oldest batch dropped. */
  readonly queueBatchesMax: number;
  readonly sendTimeoutMs: number;
  /** Pause after a failed send to a node. */
  readonly backoff: Backoff;
  readonly metrics: GatewayMetrics;
  readonly logger: Logger;
}

interface PendingBatch {
  heartbeats: BrokerHeartbeat[];
  sequences: bigint[];
  suspicions: StreamSuspicion[];
}

function emptyBatch(): PendingBatch {
  return { heartbeats: [], sequences: [], suspicions: [] };
}

export class HeartbeatBatcher {
  private pending = emptyBatch();
  private timer: NodeJS.Timeout | undefined;
  private readonly senders = new Map<string, NodeSender>();
  private readonly stopping = new AbortController();
  private closed = false;

  constructor(private readonly options: HeartbeatBatcherOptions) {}

  /** Adds one validated heartbeat that came on the stream or call with gateway sequence `sequence`. */
  add(heartbeat: BrokerHeartbeat, sequence: bigint): void {
    if (this.closed) return;
    this.pending.heartbeats.push(heartbeat);
    this.pending.sequences.push(sequence);
    this.options.metrics.heartbeats.inc();
    if (this.pending.heartbeats.length >= this.options.batchMax) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.options.intervalMs);
  }

  /** Reports a broken stream; sent at once with whatever is pending. */
  suspect(suspicion: StreamSuspicion): void {
    if (this.closed) return;
    this.pending.suspicions.push(suspicion);
    this.flush();
  }

  /** Hands the pending batch to every node's sender now. */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const pending = this.pending;
    if (pending.heartbeats.length === 0 && pending.suspicions.length === 0) return;
    this.pending = emptyBatch();
    const batch = new HeartbeatBatch(pending.heartbeats, pending.sequences, pending.suspicions);
    const addresses = this.options.nodes();
    for (const address of addresses) this.sender(address).enqueue(batch);
    for (const [address, sender] of this.senders) {
      if (!addresses.includes(address) && sender.idle) this.senders.delete(address);
    }
  }

  /** Sends what is pending, waits up to `graceMs` for every node's queue to drain, then stops. */
  async close(graceMs: number): Promise<void> {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    const drained = Promise.all([...this.senders.values()].map((sender) => sender.drained()));
    await Promise.race([drained, sleep(graceMs)]);
    this.stopping.abort();
    await drained;
  }

  private sender(address: string): NodeSender {
    let sender = this.senders.get(address);
    if (sender === undefined) {
      sender = new NodeSender(address, this.options, this.stopping.signal);
      this.senders.set(address, sender);
    }
    return sender;
  }
}

/** One node's queue and its single delivery loop (at most one request in flight per node, in batch order). */
class NodeSender {
  private readonly queue: HeartbeatBatch[] = [];
  /** Suspicions of dropped or failed requests, sent with the next request (oldest first). */
  private carried: StreamSuspicion[] = [];
  private suspicionOnlyRetries = 0;
  /** Full-queue enqueues left before a compaction is tried again (see `compact`). */
  private compactionPause = 0;
  private running: Promise<void> | undefined;
  /** The request's gateway_id field, encoded. */
  private readonly gatewayIdField: Uint8Array;

  constructor(
    private readonly address: string,
    private readonly options: HeartbeatBatcherOptions,
    private readonly stopping: AbortSignal,
  ) {
    this.gatewayIdField = toBinary(
      ReportHeartbeatsRequestSchema,
      create(ReportHeartbeatsRequestSchema, { gatewayId: options.gatewayId }),
    );
  }

  get idle(): boolean {
    return this.running === undefined && this.queue.length === 0;
  }

  enqueue(batch: HeartbeatBatch): void {
    if (this.queue.length >= this.options.queueBatchesMax) this.compact();
    if (this.queue.length >= this.options.queueBatchesMax) this.dropOldest();
    this.queue.push(batch);
    this.suspicionOnlyRetries = 0;
    this.running ??= this.run().finally(() => {
      this.running = undefined;
    });
  }

  drained(): Promise<void> {
    return this.running ?? Promise.resolve();
  }

  /**
   * Replaces the queue by its compaction (the newest heartbeat of each broker's stream, in full batches, then the
   * suspicions in order). A compaction costs a pass over the queue; one that freed less than half of it is not
   * tried again for half a queue of batches, so a node far behind with brokers all distinct costs no more.
   */
  private compact(): void {
    const { batchMax, queueBatchesMax, metrics } = this.options;
    if (this.compactionPause > 0) {
      this.compactionPause -= 1;
      return;
    }
    const before = this.queue.reduce((sum, batch) => sum + batch.heartbeatCount, 0);
    const run = compactHeartbeats({
      heartbeats: this.queue.flatMap((batch) => batch.heartbeats),
      sequences: this.queue.flatMap((batch) => batch.sequences),
    });
    const suspicions = this.queue.flatMap((batch) => batch.suspicions);
    const compacted: HeartbeatBatch[] = [];
    for (let from = 0; from < run.heartbeats.length; from += batchMax) {
      const to = from + batchMax;
      compacted.push(new HeartbeatBatch(run.heartbeats.slice(from, to), run.sequences.slice(from, to), []));
    }
    // Suspicions follow every heartbeat, as the newest ones did.
    if (suspicions.length > 0) compacted.push(new HeartbeatBatch([], [], suspicions));
    this.queue.splice(0, this.queue.length, ...compacted);
    const superseded = before - run.heartbeats.length;
    if (superseded > 0) metrics.heartbeatSuperseded.inc(superseded);
    if (compacted.length > queueBatchesMax / 2) this.compactionPause = Math.ceil(queueBatchesMax / 2);
  }

  private dropOldest(): void {
    const dropped = this.queue.shift();
    if (dropped === undefined) return;
    const { metrics } = this.options;
    metrics.heartbeatBatches.inc({ node: this.address, result: 'dropped' });
    if (dropped.heartbeatCount > 0) metrics.heartbeatDropped.inc(dropped.heartbeatCount);
    // A suspicion is what makes failover fast; keep it for the next request rather than drop it with the batch.
    this.carry(dropped.suspicions);
  }

  private carry(suspicions: readonly StreamSuspicion[]): void {
    if (suspicions.length === 0) return;
    this.carried = [...this.carried, ...suspicions];
    const excess = this.carried.length - reportEntriesMax;
    if (excess > 0) {
      this.carried = this.carried.slice(excess);
      this.options.metrics.heartbeatDropped.inc(excess);
    }
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopping.aborted && this.hasWork()) {
      const request = this.takeRequest();
      try {
        await this.options.send(this.address, request.encoded, {
          signal: this.stopping,
          timeoutMs: this.options.sendTimeoutMs,
        });
        this.options.metrics.heartbeatBatches.inc({ node: this.address, result: 'ok' });
        failures = 0;
      } catch (error) {
        this.options.metrics.heartbeatBatches.inc({ node: this.address, result: 'error' });
        this.carry(request.suspicions);
        if (failures === 0) {
          this.options.logger.warn(
            { node: this.address, error: (error as Error).message },
            'heartbeat delivery failed',
          );
        }
        await sleep(backoffMs(failures++, this.options.backoff), this.stopping);
      }
    }
  }

  private hasWork(): boolean {
    if (this.queue.length > 0) return true;
    return this.carried.length > 0 && this.suspicionOnlyRetries++ < suspicionOnlyRetriesMax;
  }

  /** Coalesces queued batches (and carried suspicions) into one request within the per-request bounds. */
  private takeRequest(): { readonly encoded: Uint8Array; readonly suspicions: readonly StreamSuspicion[] } {
    const suspicions = this.carried;
    this.carried = [];
    // Suspicions carried from earlier requests come first, as they happened first.
    const parts: Uint8Array[] = [this.gatewayIdField];
    if (suspicions.length > 0) {
      parts.push(
        toBinary(ReportHeartbeatsRequestSchema, create(ReportHeartbeatsRequestSchema, { suspicions })),
      );
    }
    let heartbeatCount = 0;
    for (;;) {
      const next = this.queue[0];
      if (next === undefined) break;
      // Coalesced requests stay within one full batch, so their size stays what --heartbeat-batch-max allows.
      if (heartbeatCount > 0 && heartbeatCount + next.heartbeatCount > this.options.batchMax) break;
      if (suspicions.length > 0 && suspicions.length + next.suspicions.length > reportEntriesMax) break;
      this.queue.shift();
      heartbeatCount += next.heartbeatCount;
      suspicions.push(...next.suspicions);
      parts.push(next.encoded);
    }
    return { encoded: Buffer.concat(parts), suspicions };
  }
}
