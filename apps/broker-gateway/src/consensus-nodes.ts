// The consensus nodes this gateway talks to: one Connect client per node (HTTP/2, binary), the peers learned from
// controller metadata, and the cached leader. The leader is learned from Status (any node) and from NOT_LEADER
// hints, and found again by asking every node's Status when unknown.
import { type Client, createClient, type Transport } from '@connectrpc/connect';
import { createConnectTransport, Http2SessionManager } from '@connectrpc/connect-node';
import type { ControllerMetadata, NodeRef } from '@regent/proto/common';
import { ConsensusService } from '@regent/proto/consensus';
import type { Logger } from 'pino';
import type { GatewayMetrics } from './metrics.js';
import { createUnaryPost, type UnaryPost } from './unary-post.js';

export type ConsensusClient = Client<typeof ConsensusService>;

/**
 * Builds the transport to one node and, over the same connection, a poster of already-encoded unary requests;
 * `close` drops its connections.
 */
export type NodeTransportFactory = (address: string) => {
  readonly transport: Transport;
  readonly post: UnaryPost;
  close(): void;
};

export interface LeaderRef {
  readonly address: string;
  /** 0 when the source did not say. */
  readonly nodeId: bigint;
}

export interface ConsensusNodesOptions {
  /** The --consensus addresses; always part of the node set. */
  readonly seeds: readonly string[];
  readonly transportFor: NodeTransportFactory;
  readonly metrics: GatewayMetrics;
  readonly logger: Logger;
  /** Bound on the node set (seeds + learned peers). */
  readonly nodesMax: number;
  /** Deadline of one Status call during discovery, in ms. */
  readonly statusTimeoutMs: number;
}

interface Handle {
  readonly client: ConsensusClient;
  readonly post: UnaryPost;
  close(): void;
}

/** Connect over HTTP/2 (h2c) with binary messages; pings detect a dead node under an open stream. */
export function http2NodeTransports(limits: {
  readMaxBytes: number;
  writeMaxBytes: number;
}): NodeTransportFactory {
  return (address) => {
    const baseUrl = `http://${address}`;
    const sessionManager = new Http2SessionManager(baseUrl, {
      pingIntervalMs: 10_000,
      pingTimeoutMs: 5_000,
      idleConnectionTimeoutMs: 60_000,
    });
    const transport = createConnectTransport({
      baseUrl,
      httpVersion: '2',
      useBinaryFormat: true,
      sessionManager,
      readMaxBytes: limits.readMaxBytes,
      writeMaxBytes: limits.writeMaxBytes,
    });
    return {
      transport,
      post: createUnaryPost(sessionManager, limits.readMaxBytes),
      close: () => sessionManager.abort(),
    };
  };
}

export class ConsensusNodes {
  private readonly handles = new Map<string, Handle>();
  /** node id → client address, from the newest metadata seen. */
  private peers: ReadonlyMap<bigint, string> = new Map();
  private cachedLeader: LeaderRef | undefined;
  /** The last leader ever cached (kept when the cache is cleared), to count changes. */
  private lastLeaderAddress: string | undefined;
  /** Highest Raft term seen in metadata; older metadata does not move the leader. */
  private highestTerm = 0n;
  private discovering: Promise<LeaderRef | undefined> | undefined;
  private closed = false;

  constructor(private readonly options: ConsensusNodesOptions) {}

  get leader(): LeaderRef | undefined {
    return this.cachedLeader;
  }

  /** Every node: the seeds, then learned peers not among them; at most `nodesMax`. */
  addresses(): readonly string[] {
    const all = new Set(this.options.seeds);
    for (const address of this.peers.values()) if (address !== '') all.add(address);
    return [...all].slice(0, this.options.nodesMax);
  }

  /** The client of a node (created on first use). */
  client(address: string): ConsensusClient {
    return this.handle(address).client;
  }

  /** Posts an encoded unary request to the node (see unary-post.ts), over the Connect client's connection. */
  post(address: string): UnaryPost {
    return this.handle(address).post;
  }

  private handle(address: string): Handle {
    let handle = this.handles.get(address);
    if (handle === undefined) {
      this.prune(address);
      const { transport, post, close } = this.options.transportFor(address);
      handle = { client: createClient(ConsensusService, transport), post, close };
      this.handles.set(address, handle);
    }
    return handle;
  }

  addressOf(nodeId: bigint): string | undefined {
    return this.peers.get(nodeId);
  }

  nodeIdOf(address: string): bigint {
    for (const [nodeId, peer] of this.peers) if (peer === address) return nodeId;
    return 0n;
  }

  /** Caches `leader` (from a NOT_LEADER hint or a leader's own answer). */
  noteLeader(leader: LeaderRef): void {
    if (this.cachedLeader?.address === leader.address && this.cachedLeader.nodeId === leader.nodeId) return;
    if (this.lastLeaderAddress !== undefined && this.lastLeaderAddress !== leader.address) {
      this.options.metrics.leaderChanges.inc();
    }
    if (this.cachedLeader?.address !== leader.address) {
      this.options.logger.info(
        { leader: leader.address, leaderId: String(leader.nodeId) },
        'consensus leader',
      );
    }
    this.cachedLeader = leader;
    this.lastLeaderAddress = leader.address;
  }

  /** Follows a NOT_LEADER hint; false when it names no usable node. */
  followHint(hint: NodeRef | undefined, from: string): boolean {
    const address = hint === undefined ? '' : hint.address || (this.addressOf(hint.nodeId) ?? '');
    if (address === '' || address === from) return false;
    this.noteLeader({ address, nodeId: hint?.nodeId ?? 0n });
    return true;
  }

  /** Clears the cached leader (when it is `address`, or unconditionally). */
  forgetLeader(address?: string): void {
    if (address === undefined || this.cachedLeader?.address === address) this.cachedLeader = undefined;
  }

  /** Learns peers and the leader from a node's metadata; `reachedAt` is the address that node answered on. */
  learn(metadata: ControllerMetadata, reachedAt: string): void {
    // A follower's view older than one already seen does not move the cache; a node's own leadership claim does
    // (a stale claim fails its first forwarded call and is dropped then).
    if (metadata.term < this.highestTerm && !metadata.isLeader) return;
    if (metadata.term > this.highestTerm) this.highestTerm = metadata.term;
    if (metadata.peers.length > 0) {
      this.peers = new Map(
        metadata.peers.slice(0, this.options.nodesMax).map((peer) => [peer.nodeId, peer.address]),
      );
    }
    if (metadata.isLeader) this.noteLeader({ address: reachedAt, nodeId: metadata.answeringNodeId });
    else if (metadata.leaderAddress !== '') {
      this.noteLeader({ address: metadata.leaderAddress, nodeId: metadata.leaderId });
    }
  }

  /**
   * Finds the leader by asking every node's Status at once; settles at the first node that says it leads, or when
   * all have answered (then the leader named in the newest-term metadata). Concurrent callers share one round.
   */
  discover(signal?: AbortSignal): Promise<LeaderRef | undefined> {
    this.discovering ??= this.discoverOnce().finally(() => {
      this.discovering = undefined;
    });
    if (signal === undefined) return this.discovering;
    return Promise.race([this.discovering, abortedAs(signal, this.cachedLeader)]);
  }

  private discoverOnce(): Promise<LeaderRef | undefined> {
    const addresses = this.addresses();
    const round = new AbortController();
    return new Promise((resolve) => {
      let pending = addresses.length;
      let leaderNamed = false;
      if (pending === 0) resolve(this.cachedLeader);
      const settle = (): void => {
        round.abort();
        resolve(this.cachedLeader);
      };
      for (const address of addresses) {
        this.client(address)
          .status({}, { signal: round.signal, timeoutMs: this.options.statusTimeoutMs })
          .then((response) => {
            if (response.metadata === undefined) return;
            this.learn(response.metadata, address);
            leaderNamed ||= response.metadata.isLeader || response.metadata.leaderAddress !== '';
            if (response.metadata.isLeader) settle();
          })
          .catch(() => undefined)
          .finally(() => {
            if (--pending > 0 || round.signal.aborted) return;
            // Nobody claims or names a leader (an election, or every node down): the cached one is gone.
            if (!leaderNamed) this.forgetLeader();
            settle();
          });
      }
    });
  }

  /** Drops clients of nodes no longer known (keeps the leader and `keep`), bounding the client map. */
  private prune(keep: string): void {
    const known = new Set([...this.addresses(), keep, this.cachedLeader?.address ?? keep]);
    for (const [address, handle] of this.handles) {
      if (!known.has(address)) {
        handle.close();
        this.handles.delete(address);
      }
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const handle of this.handles.values()) handle.close();
    this.handles.clear();
  }
}

function abortedAs<T>(signal: AbortSignal, value: T): Promise<T> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve(value);
    else signal.addEventListener('abort', () => resolve(value), { once: true });
  });
}
