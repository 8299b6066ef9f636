// Sends the core's messages to peers over Connect (HTTP/2): one long-lived client stream per peer keeps order
// and amortises the call cost; messages produced together travel in one batch. The stream is written as Connect
// envelopes straight onto node:http2 (the Connect client's per-message machinery cost more CPU than the rest of a
// replicated write); any Connect server can read it. Bounded: a peer's queue holds at
// most `queueMessagesMax` messages; beyond that new messages are dropped (Raft tolerates loss) and counted.

import * as http2 from 'node:http2';
import * as net from 'node:net';
import { RaftService } from '@regent/proto/raft';
import type { Message, NodeId } from '@regent/raft';
import { encodeEnvelope } from '@regent/service-kit';
import { chunkSnapshot } from './snapshot-chunks.js';
import { type BatchItem, encodeRaftMessage, encodeStreamBatch } from './wire-encode.js';

export interface TransportEvents {
  /** A message to `peer` could not be delivered (stream broke): the core should probe again. */
  onUnreachable(peer: NodeId): void;
  /** A snapshot transfer to `peer` was written to the stream (ok) or failed. */
  onSnapshotSent(peer: NodeId, ok: boolean): void;
}

export interface PeerTransport {
  /** Queues messages for their destinations (`to`). Never blocks. */
  send(messages: readonly Message[]): void;
  /** Updates the address book (membership changes). */
  setPeers(peers: ReadonlyMap<NodeId, string>): void;
  /** Messages dropped because a peer queue was full. */
  droppedCount(): number;
  close(): Promise<void>;
}

export interface ConnectTransportOptions {
  readonly group: string;
  readonly selfId: NodeId;
  readonly peers: ReadonlyMap<NodeId, string>;
  readonly events: TransportEvents;
  readonly queueMessagesMax?: number;
  readonly batchMessagesMax?: number;
  /** Back-off between reconnect attempts to a dead peer, in ms (doubles up to the max). */
  readonly reconnectMinMs?: number;
  readonly reconnectMaxMs?: number;
}

export function createConnectPeerTransport(options: ConnectTransportOptions): PeerTransport {
  const senders = new Map<NodeId, PeerSender>();
  let dropped = 0;
  const setPeers = (peers: ReadonlyMap<NodeId, string>): void => {
    for (const [id, address] of peers) {
      if (id === options.selfId) continue;
      const existing = senders.get(id);
      if (existing?.address === address) continue;
      void existing?.close();
      senders.set(id, new PeerSender(id, address, options, () => dropped++));
    }
    for (const [id, sender] of senders) {
      if (!peers.has(id)) {
        void sender.close();
        senders.delete(id);
      }
    }
  };
  setPeers(options.peers);
  return {
    send: (messages) => {
      for (const m of messages) {
        const sender = senders.get(m.to);
        if (sender === undefined) {
          dropped++;
          if (m.type === 'InstallSnapshot') options.events.onSnapshotSent(m.to, false);
          continue;
        }
        sender.enqueue(m);
      }
    },
    setPeers,
    droppedCount: () => dropped,
    close: async () => {
      await Promise.all([...senders.values()].map((s) => s.close()));
      senders.clear();
    },
  };
}

/** How often an idle connection is pinged, and how long a ping may go unanswered before it is dropped. */
const PING_INTERVAL_MS = 1000;
const PING_TIMEOUT_MS = 2000;
const STREAM_PATH = `/${RaftService.typeName}/${RaftService.method.stream.name}`;

/**
 * One peer's queue and its delivery loop: a Connect-protocol client stream (binary, uncompressed) written directly
 * to an HTTP/2 stream, one envelope per batch. Backpressure: while HTTP/2 buffers are full, messages wait in the
 * bounded queue and leave together in the next batch.
 */
class PeerSender {
  /**
   * Messages encoded when queued (`RaftMessage` bytes, owned by the queue), and snapshot chunks as wire messages
   * (encoded when their batch leaves: a queued snapshot is not copied, its chunks view the snapshot's data).
   */
  readonly #queue: BatchItem[] = [];
  readonly #pendingSnapshots: number[] = [];
  #wake: (() => void) | undefined;
  #closed = false;
  #session: http2.ClientHttp2Session | undefined;
  #backoffMs: number;
  readonly #loop: Promise<void>;

  constructor(
    readonly id: NodeId,
    readonly address: string,
    private readonly options: ConnectTransportOptions,
    private readonly onDrop: () => void,
  ) {
    this.#backoffMs = options.reconnectMinMs ?? 20;
    this.#loop = this.#run();
  }

  enqueue(m: Message): void {
    const max = this.options.queueMessagesMax ?? 10_000;
    if (this.#queue.length >= max) {
      this.onDrop();
      if (m.type === 'InstallSnapshot') this.options.events.onSnapshotSent(m.to, false);
      return;
    }
    if (m.type === 'InstallSnapshot') {
      this.#queue.push(...chunkSnapshot(m));
      this.#pendingSnapshots.push(m.snapshot.metadata.index);
    } else {
      this.#queue.push(encodeRaftMessage(m));
    }
    this.#wake?.();
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#session?.destroy();
    this.#wake?.();
    await this.#loop.catch(() => {});
  }

  async #run(): Promise<void> {
    while (!this.#closed) {
      let delivered = false;
      try {
        await this.#stream(() => {
          delivered = true;
        });
      } catch {
        // The stream broke: the peer is down or restarting.
      }
      this.#session?.destroy();
      this.#session = undefined;
      if (this.#closed) return;
      this.#failPending();
      if (delivered) this.#backoffMs = this.options.reconnectMinMs ?? 20;
      await sleep(this.#backoffMs);
      this.#backoffMs = Math.min(this.#backoffMs * 2, this.options.reconnectMaxMs ?? 500);
    }
  }

  /** Opens a session and a stream, then writes batches until either fails. */
  async #stream(onDelivered: () => void): Promise<void> {
    const [host, port] = splitAddress(this.address);
    const session = http2.connect(`http://${this.address}`, {
      createConnection: () => net.connect({ host, port, noDelay: true }),
    });
    this.#session = session;
    // One failure slot and one wake-up callback (no promise per wait: a race against a long-lived promise would
    // leave a reaction on it per batch).
    let failure: Error | undefined;
    let writable = true;
    let ping: NodeJS.Timeout | undefined;
    let pingTimeout: NodeJS.Timeout | undefined;
    const fail = (error?: Error): void => {
      failure ??= error ?? new Error(`connection to ${this.address} closed`);
      clearInterval(ping);
      clearTimeout(pingTimeout);
      this.#wake?.();
    };
    session.once('error', fail);
    session.once('close', () => fail());
    session.once('goaway', () => fail());
    ping = setInterval(() => {
      // The session may be gone between ticks (the stream broke): never ping a dead session.
      if (session.destroyed || session.closed || pingTimeout !== undefined) return;
      try {
        const sent = session.ping((error) => {
          clearTimeout(pingTimeout);
          pingTimeout = undefined;
          if (error) fail(error);
        });
        if (sent) {
          pingTimeout = setTimeout(
            () => fail(new Error(`ping to ${this.address} timed out`)),
            PING_TIMEOUT_MS,
          );
        }
      } catch (error) {
        fail(error as Error);
      }
    }, PING_INTERVAL_MS);
    try {
      const stream = session.request({
        ':method': 'POST',
        ':path': STREAM_PATH,
        'content-type': 'application/connect+proto',
        'connect-protocol-version': '1',
      });
      stream.once('error', fail);
      stream.once('close', () => fail(new Error(`stream to ${this.address} closed`)));
      // The server answers only when it ends the stream (a refused batch, or shutting down).
      stream.once('response', () => stream.resume());
      stream.on('drain', () => {
        writable = true;
        this.#wake?.();
      });
      const max = this.options.batchMessagesMax ?? 512;
      while (!this.#closed) {
        if (failure !== undefined) throw failure;
        if (!writable || this.#queue.length === 0) {
          await new Promise<void>((resolve) => {
            this.#wake = resolve;
          });
          this.#wake = undefined;
          continue;
        }
        const messages = this.#queue.splice(0, max);
        writable = stream.write(encodeEnvelope(0, encodeStreamBatch(this.options.group, messages)));
        onDelivered();
        for (const m of messages) {
          if (m instanceof Uint8Array) continue;
          if (m.body.case === 'installSnapshot' && m.body.value.done) {
            this.#pendingSnapshots.shift();
            this.options.events.onSnapshotSent(this.id, true);
          }
        }
      }
    } finally {
      clearInterval(ping);
      clearTimeout(pingTimeout);
    }
  }

  #failPending(): void {
    this.#queue.length = 0;
    for (const _ of this.#pendingSnapshots.splice(0)) this.options.events.onSnapshotSent(this.id, false);
    this.options.events.onUnreachable(this.id);
  }
}

function splitAddress(address: string): [string, number] {
  const colon = address.lastIndexOf(':');
  return [address.slice(0, colon).replace(/^\[|\]$/g, ''), Number(address.slice(colon + 1))];
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
