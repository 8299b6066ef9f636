// The pusher's ports: where committed events come from, where notifications go, where the position is kept,
// and what time it is. Adapters implement them over Connect, NATS and the file system; tests inject fakes.
import type { WatchResponse } from '@regent/proto/consensus';
import type { Cursor } from './cursor.js';

export interface WatchOptions {
  /** Aborting it cancels the stream (the iterator then ends or throws). */
  readonly signal: AbortSignal;
  /** Called once the stream was requested from a node (`endpoint` is its "host:port"). */
  readonly onOpen?: (endpoint: string) => void;
}

/** Committed controller events, resumable from any log index. */
export interface WatchSource {
  /**
   * Streams `WatchResponse`s from `fromIndex` (0 starts with a Resync) on the consensus leader. The stream ends
   * or throws when it breaks; the caller re-requests from where it got to.
   */
  watch(fromIndex: bigint, options: WatchOptions): AsyncIterable<WatchResponse>;
}

/** One message for the bus, fully encoded. */
export interface OutgoingMessage {
  readonly subject: string;
  /** Protobuf binary `RoleChangeNotification`; owned by the publisher once passed. */
  readonly payload: Uint8Array;
  readonly headers: Readonly<Record<string, string>>;
}

/** The message bus. */
export interface Publisher {
  /**
   * Publishes the messages in order and resolves once the server has received all of them (a round trip).
   * Rejects when not connected or when the round trip fails; the caller retries the whole batch (a retry may
   * duplicate messages, never reorder a group's messages relative to one another within one attempt).
   */
  publish(messages: readonly OutgoingMessage[]): Promise<void>;
  /** True while connected to a server. */
  connected(): boolean;
}

/** Where the position survives restarts. */
export interface StateStore {
  /** The saved position; undefined when there is none (first start, or an unreadable file). */
  load(): Promise<Cursor | undefined>;
  /** Saves durably (a crash leaves either the old or the new position). */
  save(cursor: Cursor): Promise<void>;
}

export interface Clock {
  /** Wall clock, unix ms (payload timestamps and latency only; never for ordering). */
  nowMs(): number;
}

export const systemClock: Clock = { nowMs: () => Date.now() };

/** The publisher cannot publish now (not connected, or the round trip failed). */
export class PublishUnavailableError extends Error {
  override readonly name = 'PublishUnavailableError';
}

/** No consensus node could name a reachable leader. */
export class NoLeaderError extends Error {
  override readonly name = 'NoLeaderError';
}
