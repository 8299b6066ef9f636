// In-memory adapters for the pusher's ports: a watch source over a FakeControllerLog, a bus that can be down or
// fail, and a state store that records every save.
import { fromBinary } from '@bufbuild/protobuf';
import { type RoleChangeNotification, RoleChangeNotificationSchema } from '@regent/proto/notify';
import type { Cursor } from './cursor.js';
import type { FakeControllerLog } from './fake-log.test-support.js';
import {
  type OutgoingMessage,
  type Publisher,
  PublishUnavailableError,
  type StateStore,
  type WatchOptions,
  type WatchSource,
} from './ports.js';

export function logWatchSource(log: FakeControllerLog, endpoint = 'memory'): WatchSource {
  return {
    watch: (fromIndex: bigint, options: WatchOptions) => {
      options.onOpen?.(endpoint);
      return log.watch(fromIndex, options.signal);
    },
  };
}

export interface Delivered {
  readonly subject: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly notification: RoleChangeNotification;
}

export class MemoryBus implements Publisher {
  up = true;
  /** Attempts that reach a connected bus but fail after sending (the messages may have gone out). */
  failAfterSendCount = 0;
  readonly delivered: Delivered[] = [];
  attempts = 0;

  connected(): boolean {
    return this.up;
  }

  async publish(messages: readonly OutgoingMessage[]): Promise<void> {
    this.attempts++;
    if (!this.up) throw new PublishUnavailableError('bus down');
    for (const m of messages) {
      this.delivered.push({
        subject: m.subject,
        headers: m.headers,
        notification: fromBinary(RoleChangeNotificationSchema, m.payload),
      });
    }
    if (this.failAfterSendCount > 0) {
      this.failAfterSendCount--;
      throw new PublishUnavailableError('no confirmation');
    }
  }

  /** The raft indexes delivered, in order. */
  indexes(): bigint[] {
    return this.delivered.map((d) => d.notification.raftIndex);
  }
}

export class MemoryStateStore implements StateStore {
  readonly saves: Cursor[] = [];

  constructor(public saved: Cursor | undefined = undefined) {}

  async load(): Promise<Cursor | undefined> {
    return this.saved;
  }

  async save(cursor: Cursor): Promise<void> {
    this.saves.push(cursor);
    this.saved = cursor;
  }
}
