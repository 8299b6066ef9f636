// The notification pusher: follows the committed event stream and publishes every role change, in log order,
// to the bus. Two loops share a bounded queue: the reader pulls the watch (and cancels it when the queue is
// full), the writer publishes and confirms; only confirmed items move the persisted position.
import type { CommittedEvent, Resync } from '@regent/proto/admin';
import type { WatchResponse } from '@regent/proto/consensus';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { AssertionError, assert } from './assert.js';
import { type Cursor, compareCursors, isAhead, maxCursor, resumeIndex } from './cursor.js';
import { createPushMetrics, type PushMetrics } from './metrics.js';
import {
  type EventOutcome,
  encodeNotification,
  epochsOf,
  type Notification,
  outcomeOfEvent,
  outcomeOfResyncGroup,
  reasonLabel,
  validateSubjectPrefix,
} from './notification.js';
import { PendingQueue } from './pending.js';
import type { Clock, Publisher, StateStore, WatchSource } from './ports.js';
import { systemClock } from './ports.js';
import { PublishedEpochs } from './published-epochs.js';
import { Backoff, type BackoffOptions, sleep, Wakeup } from './timing.js';

export interface NotificationPusherOptions {
  readonly watchSource: WatchSource;
  readonly publisher: Publisher;
  readonly stateStore: StateStore;
  readonly logger: Logger;
  readonly metrics: Registry;
  /** First subject token(s); default "regent". */
  readonly subjectPrefix?: string;
  /** Most notifications read but not yet confirmed; default 10 000. */
  readonly pendingMax?: number;
  /** Most notifications per publish round trip; default 256. */
  readonly publishBatchMax?: number;
  /** The position is written at most this often (and on stop), ms; default 1000. */
  readonly stateSaveIntervalMs?: number;
  /** Most groups whose published epochs are remembered; default 100 000. */
  readonly groupsMax?: number;
  /** Between watch attempts; default 100 ms doubling to 2 s. */
  readonly watchBackoff?: BackoffOptions;
  /** Between publish attempts; default 50 ms doubling to 2 s. */
  readonly publishBackoff?: BackoffOptions;
  readonly clock?: Clock;
  /** A broken invariant inside a loop; default: rethrown out of band (crashes the process). */
  readonly onFatal?: (error: unknown) => void;
}

export interface PusherStatus {
  /** Watching (or paused on a full buffer) and connected to the bus. */
  readonly ready: boolean;
  readonly watching: boolean;
  readonly busConnected: boolean;
  /** The consensus node the watch was last opened on ("host:port"). */
  readonly endpoint: string | undefined;
  /** Every event up to here is published (or needed no notification); this is what is persisted. */
  readonly confirmed: Cursor | undefined;
  /** Every event up to here was read from the watch (the watch resumes after it). */
  readonly read: Cursor | undefined;
  readonly pending: number;
  /** True while the watch is cancelled because the buffer is full. */
  readonly paused: boolean;
}

export interface NotificationPusher {
  /** Loads the saved position and starts watching and publishing. */
  start(): Promise<void>;
  /** Stops both loops and saves the position (idempotent). Unconfirmed notifications are re-read next start. */
  stop(): Promise<void>;
  status(): PusherStatus;
}

export function createNotificationPusher(options: NotificationPusherOptions): NotificationPusher {
  return new Pusher(options);
}

const DEFAULTS = {
  subjectPrefix: 'regent',
  pendingMax: 10_000,
  publishBatchMax: 256,
  stateSaveIntervalMs: 1_000,
  groupsMax: 100_000,
  watchBackoff: { initialMs: 100, maxMs: 2_000 },
  publishBackoff: { initialMs: 50, maxMs: 2_000 },
} as const;

class Pusher implements NotificationPusher {
  readonly #source: WatchSource;
  readonly #publisher: Publisher;
  readonly #store: StateStore;
  readonly #log: Logger;
  readonly #metrics: PushMetrics;
  readonly #clock: Clock;
  readonly #prefix: string;
  readonly #batchMax: number;
  readonly #saveIntervalMs: number;
  readonly #watchBackoff: BackoffOptions;
  readonly #publishBackoff: BackoffOptions;
  readonly #onFatal: (error: unknown) => void;

  readonly #pending: PendingQueue;
  readonly #epochs: PublishedEpochs;
  readonly #stopping = new AbortController();
  /** Wakes the writer when an item is queued. */
  readonly #queued = new Wakeup();
  /** Wakes the reader when items are confirmed. */
  readonly #drained = new Wakeup();

  #read: Cursor | undefined;
  #confirmed: Cursor | undefined;
  #watching = false;
  #paused = false;
  #endpoint: string | undefined;
  #watchFailing = false;
  #publishFailing = false;
  #loops: Promise<void> | undefined;
  #stopped: Promise<void> | undefined;

  #dirty = false;
  #saveTimer: ReturnType<typeof setTimeout> | undefined;
  #saving: Promise<void> | undefined;
  #lastSaveAtMs = Number.NEGATIVE_INFINITY;
  #saveFailing = false;

  constructor(options: NotificationPusherOptions) {
    this.#source = options.watchSource;
    this.#publisher = options.publisher;
    this.#store = options.stateStore;
    this.#log = options.logger;
    this.#metrics = createPushMetrics(options.metrics);
    this.#clock = options.clock ?? systemClock;
    this.#prefix = options.subjectPrefix ?? DEFAULTS.subjectPrefix;
    this.#batchMax = options.publishBatchMax ?? DEFAULTS.publishBatchMax;
    this.#saveIntervalMs = options.stateSaveIntervalMs ?? DEFAULTS.stateSaveIntervalMs;
    this.#watchBackoff = options.watchBackoff ?? DEFAULTS.watchBackoff;
    this.#publishBackoff = options.publishBackoff ?? DEFAULTS.publishBackoff;
    this.#onFatal = options.onFatal ?? rethrowOutOfBand;
    this.#pending = new PendingQueue(options.pendingMax ?? DEFAULTS.pendingMax);
    this.#epochs = new PublishedEpochs(options.groupsMax ?? DEFAULTS.groupsMax);
    const prefixProblem = validateSubjectPrefix(this.#prefix);
    assert(prefixProblem === undefined, `subject prefix: ${prefixProblem}`);
    assert(this.#batchMax > 0, `publishBatchMax ${this.#batchMax} must be positive`);
    assert(this.#saveIntervalMs >= 0, `stateSaveIntervalMs ${this.#saveIntervalMs} must not be negative`);
  }

  async start(): Promise<void> {
    assert(this.#loops === undefined, 'pusher started twice');
    this.#loops = Promise.resolve();
    const cursor = await this.#loadCursor();
    if (this.#stopping.signal.aborted) return;
    this.#read = cursor;
    this.#confirmed = cursor;
    if (cursor !== undefined) this.#metrics.lastPublishedIndex.set(Number(cursor.index));
    this.#log.info({ fromIndex: resumeIndex(cursor).toString() }, 'notification pusher starting');
    const guard = (loop: Promise<void>): Promise<void> =>
      loop.catch((error: unknown) => {
        this.#log.fatal({ err: error }, 'notification pusher loop failed');
        this.#onFatal(error);
      });
    this.#loops = Promise.all([guard(this.#readLoop()), guard(this.#writeLoop())]).then(() => {});
  }

  stop(): Promise<void> {
    this.#stopped ??= (async () => {
      this.#stopping.abort();
      this.#queued.notify();
      this.#drained.notify();
      await this.#loops;
      clearTimeout(this.#saveTimer);
      this.#saveTimer = undefined;
      await this.#saving;
      if (this.#dirty) await this.#persist();
      this.#log.info(
        { confirmed: cursorLog(this.#confirmed), pending: this.#pending.size },
        'pusher stopped',
      );
    })();
    return this.#stopped;
  }

  status(): PusherStatus {
    const watching = this.#watching || this.#paused;
    const busConnected = this.#publisher.connected();
    return {
      ready: watching && busConnected && !this.#stopping.signal.aborted,
      watching,
      busConnected,
      endpoint: this.#endpoint,
      confirmed: this.#confirmed,
      read: this.#read,
      pending: this.#pending.size,
      paused: this.#paused,
    };
  }

  async #loadCursor(): Promise<Cursor | undefined> {
    try {
      return await this.#store.load();
    } catch (error) {
      // Starting over is safe: the watch begins with a Resync of the current state, and brokers gate on epochs.
      this.#log.error({ err: error }, 'cannot read the saved position; starting from a resync');
      return undefined;
    }
  }

  // ---- reader ------------------------------------------------------------------------------------------------

  async #readLoop(): Promise<void> {
    const stopping = this.#stopping.signal;
    const backoff = new Backoff(this.#watchBackoff);
    let outcome: 'paused' | 'broken' | undefined;
    while (!stopping.aborted) {
      if (outcome === 'paused') {
        // Resume once half the buffer is free, so one re-request covers many events.
        while (this.#pending.size > this.#pending.max / 2 && !stopping.aborted)
          await this.#drained.wait(stopping);
      }
      outcome = await this.#watchOnce(backoff);
      if (outcome === 'paused' || stopping.aborted) continue;
      this.#metrics.watchReconnects.inc();
      await sleep(backoff.next(), stopping);
    }
  }

  /** One watch stream, until it breaks or the buffer fills up. */
  async #watchOnce(backoff: Backoff): Promise<'paused' | 'broken'> {
    const stream = new AbortController();
    const cancel = (): void => stream.abort();
    this.#stopping.signal.addEventListener('abort', cancel, { once: true });
    const fromIndex = resumeIndex(this.#read);
    const onOpen = (endpoint: string): void => {
      this.#watching = true;
      this.#paused = false;
      this.#endpoint = endpoint;
      this.#log.info({ endpoint, fromIndex: fromIndex.toString() }, 'watching committed events');
    };
    let outcome: 'paused' | 'broken' = 'broken';
    try {
      for await (const response of this.#source.watch(fromIndex, { signal: stream.signal, onOpen })) {
        // A message may still arrive after the stream was cancelled; nothing is read once stopping.
        if (this.#stopping.signal.aborted) break;
        if (this.#watchFailing) this.#log.info({ endpoint: this.#endpoint }, 'watch recovered');
        this.#watchFailing = false;
        backoff.reset();
        await this.#handle(response);
        if (this.#pending.full) return (outcome = this.#pause());
      }
      if (!this.#stopping.signal.aborted) this.#watchBroke(undefined, fromIndex);
    } catch (error) {
      if (error instanceof AssertionError) throw error;
      if (!this.#stopping.signal.aborted) this.#watchBroke(error, fromIndex);
    } finally {
      stream.abort();
      this.#stopping.signal.removeEventListener('abort', cancel);
      this.#watching = false;
      // Paused counts as watching until the re-request opens (or fails).
      if (outcome !== 'paused') this.#paused = false;
    }
    return 'broken';
  }

  #pause(): 'paused' {
    // Backpressure: stop pulling rather than drop; the watch is re-requested from `#read` once there is room.
    this.#paused = true;
    this.#metrics.watchPauses.inc();
    this.#log.warn({ pending: this.#pending.size, read: cursorLog(this.#read) }, 'buffer full; watch paused');
    return 'paused';
  }

  #watchBroke(error: unknown, fromIndex: bigint): void {
    const fields = { err: error, endpoint: this.#endpoint, fromIndex: fromIndex.toString() };
    const message = error === undefined ? 'watch stream ended; reconnecting' : 'watch failed; reconnecting';
    if (this.#watchFailing) this.#log.debug(fields, message);
    else this.#log.warn(fields, message);
    this.#watchFailing = true;
  }

  async #handle(response: WatchResponse): Promise<void> {
    const receivedAtMs = this.#clock.nowMs();
    switch (response.item.case) {
      case 'event':
        this.#handleEvent(response.item.value, receivedAtMs);
        return;
      case 'resync':
        await this.#handleResync(response.item.value, receivedAtMs);
        return;
      default:
        this.#log.warn('empty watch message ignored');
    }
  }

  #handleEvent(committed: CommittedEvent, receivedAtMs: number): void {
    // A resumed watch replays the rest of a partly handled entry; what is behind us was handled already.
    if (!isAhead(committed.index, committed.position, this.#read)) return;
    const cursor: Cursor = { index: committed.index, position: committed.position };
    const outcome = outcomeOfEvent(committed, this.#prefix);
    this.#apply(outcome, cursor, receivedAtMs);
    this.#read = cursor;
  }

  #apply(outcome: EventOutcome, cursor: Cursor, receivedAtMs: number): void {
    switch (outcome.kind) {
      case 'notify': {
        const { message } = outcome.notification;
        this.#epochs.record(message.brokerName, epochsOf(message));
        this.#enqueue(outcome.notification, receivedAtMs, cursor);
        return;
      }
      case 'group_removed':
        this.#epochs.remove(outcome.brokerName);
        break;
      case 'skip':
        this.#skipped(outcome, cursor.index);
        break;
      case 'none':
        break;
    }
    this.#pass(cursor);
  }

  async #handleResync(resync: Resync, receivedAtMs: number): Promise<void> {
    const cursor = maxCursor(this.#read, { index: resync.index });
    if (compareCursors(cursor, { index: resync.index }) !== 0) {
      this.#log.warn(
        { index: resync.index.toString(), read: cursorLog(this.#read) },
        'resync behind our position',
      );
    }
    const live = new Set<string>();
    let published = 0;
    for (const group of resync.groups) {
      live.add(group.brokerName);
      const epochs = epochsOf(group);
      if (!this.#epochs.isNewer(group.brokerName, epochs)) continue;
      const outcome = outcomeOfResyncGroup(
        group,
        resync.index,
        this.#epochs.get(group.brokerName),
        this.#prefix,
      );
      if (outcome.kind === 'skip') {
        this.#skipped(outcome, resync.index);
        continue;
      }
      if (outcome.kind !== 'notify') continue;
      // A Resync cannot be resumed part way: hold the stream (stop reading) until there is room.
      while (this.#pending.full && !this.#stopping.signal.aborted)
        await this.#drained.wait(this.#stopping.signal);
      if (this.#stopping.signal.aborted) return;
      this.#epochs.record(group.brokerName, epochs);
      // Each group's item confirms nothing new: the Resync's index is reached only after its last group.
      this.#enqueue(outcome.notification, receivedAtMs, this.#read);
      published++;
    }
    this.#epochs.retainOnly(live);
    this.#pass(cursor);
    this.#read = cursor;
    this.#log.info(
      { index: resync.index.toString(), groups: resync.groups.length, published },
      'resync: published groups with newer epochs',
    );
  }

  #enqueue(notification: Notification, receivedAtMs: number, cursorAfter: Cursor | undefined): void {
    this.#pending.push({ notification, receivedAtMs, cursorAfter });
    this.#metrics.pending.set(this.#pending.size);
    this.#queued.notify();
  }

  /** An event needing no notification is handled once everything queued before it is confirmed. */
  #pass(cursor: Cursor): void {
    if (!this.#pending.advanceTail(cursor)) this.#confirm(cursor);
  }

  #skipped(outcome: Extract<EventOutcome, { kind: 'skip' }>, index: bigint): void {
    this.#metrics.skipped.inc({ cause: outcome.cause });
    this.#log.error({ cause: outcome.cause, index: index.toString() }, `cannot notify: ${outcome.detail}`);
  }

  // ---- writer ------------------------------------------------------------------------------------------------

  async #writeLoop(): Promise<void> {
    const stopping = this.#stopping.signal;
    const backoff = new Backoff(this.#publishBackoff);
    while (!stopping.aborted) {
      if (this.#pending.size === 0) {
        await this.#queued.wait(stopping);
        continue;
      }
      if (await this.#publishBatch()) backoff.reset();
      else await sleep(backoff.next(), stopping);
    }
  }

  /** Publishes the oldest items; true when the bus confirmed them. */
  async #publishBatch(): Promise<boolean> {
    const batch = this.#pending.peek(this.#batchMax);
    const publishedAtMs = this.#clock.nowMs();
    const messages = batch.map((item) => encodeNotification(item.notification, publishedAtMs));
    try {
      await this.#publisher.publish(messages);
    } catch (error) {
      if (error instanceof AssertionError) throw error;
      this.#metrics.publishFailures.inc();
      const fields = { err: error, pending: this.#pending.size };
      if (this.#publishFailing) this.#log.debug(fields, 'publish failed; retrying');
      else this.#log.warn(fields, 'publish failed; holding notifications and retrying');
      this.#publishFailing = true;
      return false;
    }
    if (this.#publishFailing) this.#log.info({ pending: this.#pending.size }, 'publishing again');
    this.#publishFailing = false;
    const confirmedAtMs = this.#clock.nowMs();
    this.#pending.drop(batch.length);
    for (const item of batch) {
      const { notification } = item;
      this.#metrics.published.inc({ reason: reasonLabel(notification.message.reason) });
      const sinceMs = notification.decidedAtUnixMs ?? item.receivedAtMs;
      this.#metrics.commitToPublishSeconds.observe(Math.max(0, confirmedAtMs - sinceMs) / 1000);
    }
    // Read after the round trip: the reader may have moved the last item's cursor over no-notification events.
    this.#confirm(batch[batch.length - 1]!.cursorAfter);
    this.#metrics.pending.set(this.#pending.size);
    this.#drained.notify();
    return true;
  }

  #confirm(cursor: Cursor | undefined): void {
    if (cursor === undefined) return;
    assert(
      this.#confirmed === undefined || compareCursors(this.#confirmed, cursor) <= 0,
      `confirmed position going back from ${cursorLog(this.#confirmed)} to ${cursorLog(cursor)}`,
    );
    this.#confirmed = cursor;
    this.#metrics.lastPublishedIndex.set(Number(cursor.index));
    this.#schedulePersist();
  }

  // ---- persistence -------------------------------------------------------------------------------------------

  #schedulePersist(): void {
    this.#dirty = true;
    if (this.#saveTimer !== undefined || this.#saving !== undefined || this.#stopping.signal.aborted) return;
    const waitMs = Math.max(0, this.#lastSaveAtMs + this.#saveIntervalMs - performance.now());
    this.#saveTimer = setTimeout(() => {
      this.#saveTimer = undefined;
      void this.#persist();
    }, waitMs);
  }

  async #persist(): Promise<void> {
    const cursor = this.#confirmed;
    if (!this.#dirty || cursor === undefined) return;
    this.#dirty = false;
    this.#saving = this.#store.save(cursor).then(
      () => {
        if (this.#saveFailing) this.#log.info('position saved again');
        this.#saveFailing = false;
      },
      (error: unknown) => {
        this.#dirty = true;
        if (!this.#saveFailing) this.#log.error({ err: error }, 'cannot save the position; will retry');
        this.#saveFailing = true;
      },
    );
    await this.#saving;
    this.#saving = undefined;
    this.#lastSaveAtMs = performance.now();
    if (this.#dirty) this.#schedulePersist();
  }
}

/** The status as JSON-safe fields for /readyz and /healthz. */
export function describeStatus(status: PusherStatus): Record<string, unknown> {
  return {
    watching: status.watching,
    natsConnected: status.busConnected,
    consensusEndpoint: status.endpoint ?? null,
    lastPublishedIndex: status.confirmed?.index.toString() ?? null,
    readIndex: status.read?.index.toString() ?? null,
    pending: status.pending,
    paused: status.paused,
  };
}

function cursorLog(cursor: Cursor | undefined): string | undefined {
  if (cursor === undefined) return undefined;
  return cursor.position === undefined ? `${cursor.index}` : `${cursor.index}/${cursor.position}`;
}

function rethrowOutOfBand(error: unknown): void {
  setImmediate(() => {
    throw error;
  });
}
