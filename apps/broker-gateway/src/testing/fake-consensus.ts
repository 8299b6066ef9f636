// An in-process fake of a consensus cluster for the gateway's tests: N ConsensusService servers on loopback ports
// (service-kit's startServer, so h2c and HTTP/1.1 like the real thing), one of them the leader. Every call is
// recorded; tests can replace a node's Submit / ReportHeartbeats behaviour, stop and restart nodes, move the
// leadership, and append committed events that Watch streams deliver.
import { create } from '@bufbuild/protobuf';
import { Code, ConnectError, type ConnectRouter, type HandlerContext } from '@connectrpc/connect';
import { connectErrorOf } from '@regent/proto';
import {
  type CommittedEvent,
  CommittedEventSchema,
  NodeStatusSchema,
  ResyncSchema,
} from '@regent/proto/admin';
import { ControllerCondition, ControllerMetadataSchema, NodeRefSchema } from '@regent/proto/common';
import {
  ConsensusService,
  type ControllerReply,
  ControllerReplySchema,
  type ReportHeartbeatsRequest,
  type StatusResponse,
  StatusResponseSchema,
  type SubmitRequest,
  type WatchRequest,
  type WatchResponse,
  WatchResponseSchema,
} from '@regent/proto/consensus';
import { createLogger, createMetricsRegistry, type RunningServer, startServer } from '@regent/service-kit';

export interface Recorded<T> {
  readonly request: T;
  readonly headers: Headers;
  /** The deadline the caller propagated, in ms (undefined when none). */
  readonly timeoutMs: number | undefined;
}

export type SubmitBehaviour = (
  request: SubmitRequest,
  ctx: HandlerContext,
) => Promise<ControllerReply> | ControllerReply;
export type ReportBehaviour = (request: ReportHeartbeatsRequest, ctx: HandlerContext) => Promise<void> | void;

/** A reply of the command's own case with default fields (getNextBrokerId answers 1, as for an unknown group). */
export function defaultReply(request: SubmitRequest): ControllerReply {
  const command = request.command?.command;
  if (command?.case === 'getNextBrokerId') {
    return create(ControllerReplySchema, {
      reply: {
        case: 'getNextBrokerId',
        value: {
          clusterName: command.value.clusterName,
          brokerName: command.value.brokerName,
          nextBrokerId: 1n,
        },
      },
    });
  }
  return create(ControllerReplySchema, {
    reply: { case: command?.case, value: {} } as ControllerReply['reply'],
  });
}

/** Resolves when `signal` aborts (for handlers that hang until the caller gives up). */
export function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_resolve, reject) => {
    const fail = (): void => reject(new ConnectError('aborted', Code.Canceled));
    if (signal.aborted) fail();
    else signal.addEventListener('abort', fail, { once: true });
  });
}

export class FakeNode {
  readonly nodeId: bigint;
  readonly submits: Recorded<SubmitRequest>[] = [];
  readonly reports: Recorded<ReportHeartbeatsRequest>[] = [];
  readonly watches: Recorded<WatchRequest>[] = [];
  readonly membershipChanges: unknown[] = [];
  readonly snapshots: bigint[] = [];
  statusCalls = 0;
  /** Replaces the leader's Submit handling (not-leader refusals still come first). */
  onSubmit: SubmitBehaviour | undefined;
  /** Replaces ReportHeartbeats handling (after recording). */
  onReport: ReportBehaviour | undefined;
  /** ChangeMembership calls that record the change and then fail as if the connection broke. */
  membershipFailures = 0;
  /** Ends each Watch stream with UNAVAILABLE after this many messages. */
  watchBreakAfter: number | undefined;
  private server: RunningServer | undefined;
  port = 0;

  constructor(
    private readonly cluster: FakeCluster,
    readonly index: number,
  ) {
    this.nodeId = BigInt(index + 1);
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  get isLeader(): boolean {
    return this.cluster.leaderIndex === this.index;
  }

  get running(): boolean {
    return this.server !== undefined;
  }

  async start(): Promise<void> {
    this.server = await startServer({
      host: '127.0.0.1',
      port: this.port,
      logger: createLogger(`fake-consensus-${this.index}`, 'silent'),
      metrics: createMetricsRegistry(`fake-consensus-${this.index}`),
      routes: (router) => this.routes(router),
    });
    this.port = this.server.port;
  }

  /** Stops the server (later connections are refused). */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    await server?.close();
  }

  /** Submits received as the leader, i.e. the ones that could have applied. */
  sessionKeys(): string[] {
    return this.submits.map((s) => `${s.request.clientId}#${s.request.sequence}`);
  }

  heartbeatsReceived(): number {
    return this.reports.reduce((n, r) => n + r.request.heartbeats.length, 0);
  }

  private record<T>(list: Recorded<T>[], request: T, ctx: HandlerContext): void {
    list.push({ request, headers: new Headers(ctx.requestHeader), timeoutMs: ctx.timeoutMs() });
  }

  private notLeader(): ConnectError {
    const leader = this.cluster.leader;
    return connectErrorOf(ControllerCondition.NOT_LEADER, `node ${this.nodeId} is not the leader`, {
      leader:
        leader === undefined
          ? undefined
          : create(NodeRefSchema, { nodeId: leader.nodeId, address: leader.address }),
    });
  }

  private routes(router: ConnectRouter): void {
    router.service(ConsensusService, {
      submit: async (request, ctx) => {
        this.record(this.submits, request, ctx);
        if (!this.isLeader) throw this.notLeader();
        const reply = await (this.onSubmit ?? defaultReply)(request, ctx);
        return { reply, appliedIndex: this.cluster.lastIndex };
      },
      reportHeartbeats: async (request, ctx) => {
        this.record(this.reports, request, ctx);
        await this.onReport?.(request, ctx);
        return { acceptedCount: request.heartbeats.length };
      },
      status: () => {
        this.statusCalls += 1;
        return this.cluster.statusOf(this);
      },
      watch: (request, ctx) => this.watch(request, ctx),
      changeMembership: (request) => {
        if (!this.isLeader) throw this.notLeader();
        this.membershipChanges.push(request.request);
        if (this.membershipFailures > 0) {
          this.membershipFailures -= 1;
          throw new ConnectError('connection reset', Code.Unavailable);
        }
        return { response: { peers: this.cluster.peers() } };
      },
      transferLeadership: (request) => {
        if (!this.isLeader) throw this.notLeader();
        const target = Number(request.request?.targetNodeId ?? 0n) - 1;
        this.cluster.setLeader(target >= 0 ? target : (this.index + 1) % this.cluster.nodes.length);
        return { response: { leaderId: this.cluster.leader?.nodeId ?? 0n } };
      },
      triggerSnapshot: (request) => {
        this.snapshots.push(request.request?.nodeId ?? 0n);
        return { response: { snapshotIndex: this.cluster.lastIndex, snapshotBytes: 100n } };
      },
    });
  }

  private async *watch(request: WatchRequest, ctx: HandlerContext): AsyncGenerator<WatchResponse> {
    this.record(this.watches, request, ctx);
    let sent = 0;
    const breakIfDue = (): void => {
      if (this.watchBreakAfter !== undefined && sent >= this.watchBreakAfter) {
        throw new ConnectError(`node ${this.nodeId} watch broke`, Code.Unavailable);
      }
    };
    let next = request.fromIndex;
    if (request.fromIndex === 0n) {
      const index = this.cluster.lastIndex;
      yield create(WatchResponseSchema, { item: { case: 'resync', value: create(ResyncSchema, { index }) } });
      sent += 1;
      next = index + 1n;
    }
    for (;;) {
      for (const event of this.cluster.events.filter((e) => e.index >= next)) {
        breakIfDue();
        yield create(WatchResponseSchema, { item: { case: 'event', value: event } });
        sent += 1;
        next = event.index + 1n;
      }
      breakIfDue();
      await Promise.race([this.cluster.nextEvent(), untilAborted(ctx.signal)]);
    }
  }
}

export class FakeCluster {
  readonly nodes: FakeNode[] = [];
  leaderIndex: number | undefined = 0;
  term = 1n;
  readonly events: CommittedEvent[] = [];
  private eventWaiters: (() => void)[] = [];

  constructor(size: number) {
    for (let i = 0; i < size; i++) this.nodes.push(new FakeNode(this, i));
  }

  get leader(): FakeNode | undefined {
    return this.leaderIndex === undefined ? undefined : this.nodes[this.leaderIndex];
  }

  get lastIndex(): bigint {
    return this.events.at(-1)?.index ?? 0n;
  }

  addresses(): string[] {
    return this.nodes.map((node) => node.address);
  }

  peers(): { nodeId: bigint; address: string }[] {
    return this.nodes.map((node) => ({ nodeId: node.nodeId, address: node.address }));
  }

  /** Moves leadership (a new term); undefined: no leader (an election in progress). */
  setLeader(index: number | undefined): void {
    this.leaderIndex = index;
    this.term += 1n;
  }

  /** Appends committed events at the next index (one event per position) and wakes the watchers. */
  commit(count = 1, positionsPerIndex = 1): void {
    let index = this.lastIndex;
    for (let i = 0; i < count; i++) {
      index += 1n;
      for (let position = 0; position < positionsPerIndex; position++) {
        this.events.push(create(CommittedEventSchema, { index, term: this.term, position }));
      }
    }
    const waiters = this.eventWaiters;
    this.eventWaiters = [];
    for (const wake of waiters) wake();
  }

  nextEvent(): Promise<void> {
    return new Promise((resolve) => this.eventWaiters.push(resolve));
  }

  statusOf(node: FakeNode): StatusResponse {
    const leader = this.leader;
    return create(StatusResponseSchema, {
      status: create(NodeStatusSchema, {
        nodeId: node.nodeId,
        address: node.address,
        role: node.isLeader ? 'leader' : 'follower',
        term: this.term,
        leaderId: leader?.nodeId ?? 0n,
        commitIndex: this.lastIndex,
        appliedIndex: this.lastIndex,
      }),
      metadata: create(ControllerMetadataSchema, {
        group: 'regent-test',
        leaderId: leader?.nodeId ?? 0n,
        leaderAddress: leader?.address ?? '',
        isLeader: node.isLeader,
        peers: this.peers(),
        answeringNodeId: node.nodeId,
        term: this.term,
      }),
    });
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.stop()));
    for (const wake of this.eventWaiters) wake();
  }
}

/** Starts `size` fake nodes on free loopback ports; node 0 leads unless told otherwise. */
export async function startFakeCluster(size = 3, leaderIndex: number | undefined = 0): Promise<FakeCluster> {
  const cluster = new FakeCluster(size);
  cluster.leaderIndex = leaderIndex;
  await Promise.all(cluster.nodes.map((node) => node.start()));
  return cluster;
}
