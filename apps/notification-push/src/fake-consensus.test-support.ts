// An in-process fake of the consensus cluster's ConsensusService (Status and Watch only), one real Connect
// server per node on a free loopback port, all serving one shared FakeControllerLog. Tests switch the leader,
// kill streams and stop/restart nodes.
import { create } from '@bufbuild/protobuf';
import { Code, ConnectError } from '@connectrpc/connect';
import { NodeStatusSchema } from '@regent/proto/admin';
import { ControllerMetadataSchema } from '@regent/proto/common';
import { ConsensusService, StatusResponseSchema } from '@regent/proto/consensus';
import { createLogger, createMetricsRegistry, type RunningServer, startServer } from '@regent/service-kit';
import { FakeControllerLog, StreamKilledError } from './fake-log.test-support.js';

export interface FakeNode {
  readonly id: bigint;
  port: number;
  server: RunningServer | undefined;
  readonly address: string;
}

export interface WatchCall {
  readonly nodeId: bigint;
  readonly fromIndex: bigint;
}

export class FakeConsensus {
  readonly log = new FakeControllerLog();
  readonly nodes: FakeNode[] = [];
  readonly watchCalls: WatchCall[] = [];
  leaderId = 1n;

  static async start(nodeCount = 3): Promise<FakeConsensus> {
    const fake = new FakeConsensus();
    for (let i = 1; i <= nodeCount; i++) {
      const node: FakeNode = {
        id: BigInt(i),
        port: 0,
        server: undefined,
        get address() {
          return `127.0.0.1:${this.port}`;
        },
      };
      fake.nodes.push(node);
      await fake.startNode(node.id);
    }
    return fake;
  }

  addresses(): string[] {
    return this.nodes.map((n) => n.address);
  }

  node(id: bigint): FakeNode {
    const node = this.nodes.find((n) => n.id === id);
    if (node === undefined) throw new Error(`no node ${id}`);
    return node;
  }

  /** Moves leadership to `id` and breaks every open stream (the pusher reconnects and looks for the leader). */
  switchLeader(id: bigint): void {
    this.leaderId = id;
    this.log.term++;
    this.log.killStreams();
  }

  /** Starts (or restarts on its old port) a node's server. */
  async startNode(id: bigint): Promise<void> {
    const node = this.node(id);
    const server = await startServer({
      host: '127.0.0.1',
      port: node.port,
      logger: createLogger(`fake-consensus-${id}`, 'silent'),
      metrics: createMetricsRegistry(`fake-consensus-${id}`),
      routes: (router) => {
        router.service(ConsensusService, {
          status: () => this.#status(node),
          watch: (request, context) => this.#watch(node, request.fromIndex, context.signal),
        });
      },
    });
    node.port = server.port;
    node.server = server;
  }

  async stopNode(id: bigint): Promise<void> {
    const node = this.node(id);
    await node.server?.close();
    node.server = undefined;
  }

  async close(): Promise<void> {
    this.log.killStreams();
    for (const node of this.nodes) await node.server?.close();
  }

  #status(node: FakeNode) {
    const leader = this.nodes.find((n) => n.id === this.leaderId && n.server !== undefined);
    const isLeader = leader?.id === node.id;
    return create(StatusResponseSchema, {
      status: create(NodeStatusSchema, {
        nodeId: node.id,
        address: node.address,
        role: isLeader ? 'leader' : 'follower',
        term: this.log.term,
        leaderId: leader?.id ?? 0n,
      }),
      metadata: create(ControllerMetadataSchema, {
        group: 'fake',
        leaderId: leader?.id ?? 0n,
        leaderAddress: leader?.address ?? '',
        isLeader,
        peers: this.nodes.map((n) => ({ nodeId: n.id, address: n.address })),
        answeringNodeId: node.id,
        term: this.log.term,
      }),
    });
  }

  async *#watch(node: FakeNode, fromIndex: bigint, signal: AbortSignal) {
    this.watchCalls.push({ nodeId: node.id, fromIndex });
    try {
      yield* this.log.watch(fromIndex, signal);
    } catch (error) {
      if (error instanceof StreamKilledError)
        throw new ConnectError('stream killed by the test', Code.Unavailable);
      throw error;
    }
  }
}
