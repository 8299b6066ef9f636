// Sends the core's messages to peers over Connect (HTTP/2): one long-lived client stream per peer keeps order
// and amortises the call cost; messages produced together travel in one batch. Bounded: a peer's queue holds at
// most `queueMessagesMax` messages; beyond that new messages are dropped (Raft tolerates loss) and counted.

import { create } from '@bufbuild/protobuf';
import type { Client } from '@connectrpc/connect';
import { createClient } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-node';
import { type RaftMessage, RaftService, type StreamRequest, StreamRequestSchema } from '@regent/proto/raft';
import type { Message, NodeId } from '@regent/raft';
import { messageToWire } from './codec.js';
import { chunkSnapshot } from './snapshot-chunks.js';

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

class PeerSender {
  readonly #client: Client<typeof RaftService>;
  readonly #queue: RaftMessage[] = [];
  readonly #pendingSnapshots: number[] = [];
  #wake: (() => void) | undefined;
  #closed = false;
  #abort = new AbortController();
  #backoffMs: number;
  readonly #loop: Promise<void>;

  constructor(
    readonly id: NodeId,
    readonly address: string,
    private readonly options: ConnectTransportOptions,
    private readonly onDrop: () => void,
  ) {
    this.#client = createClient(
      RaftService,
      createConnectTransport({
        baseUrl: `http://${address}`,
        httpVersion: '2',
        useBinaryFormat: true,
        pingIntervalMs: 1000,
        pingTimeoutMs: 2000,
        readMaxBytes: 64 * 1024 * 1024,
        writeMaxBytes: 64 * 1024 * 1024,
      }),
    );
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
      this.#queue.push(messageToWire(m));
    }
    this.#wake?.();
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#abort.abort();
    this.#wake?.();
    await this.#loop.catch(() => {});
  }

  async #run(): Promise<void> {
    while (!this.#closed) {
      let delivered = false;
      try {
        await this.#client.stream(
          this.#batches(() => (delivered = true)),
          { signal: this.#abort.signal },
        );
      } catch {
        // The stream broke: the peer is down or restarting.
      }
      if (this.#closed) return;
      this.#failPending();
      if (delivered) this.#backoffMs = this.options.reconnectMinMs ?? 20;
      await sleep(this.#backoffMs);
      this.#backoffMs = Math.min(this.#backoffMs * 2, this.options.reconnectMaxMs ?? 500);
    }
  }

  #failPending(): void {
    this.#queue.length = 0;
    for (const _ of this.#pendingSnapshots.splice(0)) this.options.events.onSnapshotSent(this.id, false);
    this.options.events.onUnreachable(this.id);
  }

  async *#batches(onDelivered: () => void): AsyncGenerator<StreamRequest> {
    const max = this.options.batchMessagesMax ?? 512;
    while (!this.#closed) {
      if (this.#queue.length === 0) {
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
        });
        this.#wake = undefined;
        continue;
      }
      const messages = this.#queue.splice(0, max);
      yield create(StreamRequestSchema, { group: this.options.group, messages });
      onDelivered();
      for (const m of messages) {
        if (m.body.case === 'installSnapshot' && m.body.value.done) {
          this.#pendingSnapshots.shift();
          this.options.events.onSnapshotSent(this.id, true);
        }
      }
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
