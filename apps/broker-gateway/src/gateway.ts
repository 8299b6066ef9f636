// createGateway: builds the gateway from its config and adapters (logger, metrics registry, node transports) —
// the consensus node set with its leader probe, the forwarder, the heartbeat batcher, the stream registry — and
// exposes the Connect routes, interceptors, readiness and an orderly shutdown for main.ts to wire to a server.
import type { ConnectRouter, Interceptor } from '@connectrpc/connect';
import { AdminService } from '@regent/proto/admin';
import { BrokerService } from '@regent/proto/broker';
import { ConsensusService } from '@regent/proto/consensus';
import type { HttpHandler } from '@regent/service-kit';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { createAdminService } from './admin-service.js';
import { createAuthenticator, createAuthInterceptor } from './auth.js';
import { createBrokerService } from './broker-service.js';
import { createObservingInterceptor } from './call-context.js';
import type { GatewayConfig } from './config.js';
import { ConsensusNodes, http2NodeTransports, type NodeTransportFactory } from './consensus-nodes.js';
import { Forwarder } from './forwarder.js';
import { HeartbeatBatcher } from './heartbeat-batcher.js';
import { createHeartbeatStreamHandler, type HeartbeatStreamHandler } from './heartbeat-stream-wire.js';
import { registerGatewayMetrics } from './metrics.js';
import { type ServiceDeps, Slots } from './services.js';
import { StreamRegistry } from './stream-registry.js';
import type { Backoff } from './timing.js';

/** Internal timings and bounds; the defaults suit production, tests shorten them. */
export interface GatewayTuning {
  /** How often the leader is re-checked while one is known, and while none is, in ms. */
  readonly leaderProbeIntervalMs: number;
  readonly leaderProbeIntervalUnknownMs: number;
  /** Deadline of one Status call (discovery, metadata, cluster status), in ms. */
  readonly statusTimeoutMs: number;
  /** Pause between forwarding attempts (no leader known, node unreachable). */
  readonly retryBackoff: Backoff;
  /** Bound on forwarding attempts per call. */
  readonly attemptsMax: number;
  /** Heartbeat batches queued per node before the oldest is dropped. */
  readonly heartbeatQueueBatchesMax: number;
  readonly heartbeatSendTimeoutMs: number;
  readonly heartbeatBackoff: Backoff;
  readonly heartbeatStreamsMax: number;
  readonly watchStreamsMax: number;
  readonly watchBackoff: Backoff;
  readonly watchRetriesMax: number;
  /** Bound on the consensus node set (configured plus learned peers). */
  readonly nodesMax: number;
  /** How long close() waits for queued heartbeats to reach the nodes, in ms. */
  readonly shutdownGraceMs: number;
  /** Largest response accepted from a consensus node (GetSyncStateData of every group can be large), in bytes. */
  readonly nodeReadMaxBytes: number;
}

export const defaultTuning: GatewayTuning = Object.freeze({
  leaderProbeIntervalMs: 2000,
  // While no leader is known (an election), find the new one fast.
  leaderProbeIntervalUnknownMs: 200,
  statusTimeoutMs: 1000,
  // A Raft election takes a few hundred ms: retries start fast and settle at a quarter second.
  retryBackoff: { minMs: 10, maxMs: 250 },
  attemptsMax: 64,
  heartbeatQueueBatchesMax: 64,
  // RocketMQ brokers give a controller heartbeat 1 s and a controller RPC 3 s.
  heartbeatSendTimeoutMs: 3000,
  heartbeatBackoff: { minMs: 50, maxMs: 2000 },
  heartbeatStreamsMax: 100_000,
  watchStreamsMax: 256,
  watchBackoff: { minMs: 10, maxMs: 1000 },
  watchRetriesMax: 30,
  nodesMax: 16,
  shutdownGraceMs: 1000,
  nodeReadMaxBytes: 32 * 1024 * 1024,
});

export interface GatewayOptions {
  readonly config: GatewayConfig;
  readonly logger: Logger;
  /** Registry for the gateway's metrics (registered once per registry). */
  readonly metrics: Registry;
  /** How to reach a consensus node; Connect over h2c by default. */
  readonly transportFor?: NodeTransportFactory;
  readonly tuning?: Partial<GatewayTuning>;
}

export interface Gateway {
  readonly gatewayId: string;
  readonly routes: (router: ConnectRouter) => void;
  /** Outermost first: request id, logging and metrics; then authentication. */
  readonly interceptors: Interceptor[];
  /**
   * HTTP handlers to try before the Connect router: the lean HTTP/2 path of HeartbeatStream (gRPC and Connect,
   * binary), which authenticates, observes and counts its calls as the interceptors do.
   */
  readonly handlers: HttpHandler[];
  /** The lean HeartbeatStream path (also in `handlers`). */
  readonly heartbeatStreams: HeartbeatStreamHandler;
  /** Ready when a consensus leader is known. */
  readonly ready: () => { ready: boolean; detail: Record<string, unknown> };
  readonly health: () => Record<string, unknown>;
  /** Stops taking streams and ends the open ones without suspicions (call before closing the server). */
  drain(): void;
  /** Sends queued heartbeats (bounded wait), stops probing and closes the node connections. */
  close(): Promise<void>;
}

const reportHeartbeatsPath = `/${ConsensusService.typeName}/${ConsensusService.method.reportHeartbeats.name}`;

/**
 * Session and heartbeat sequences start at the wall clock in ms shifted by 20 bits, so a restarted gateway with
 * the same --gateway-id continues above every sequence its previous run could have used (under 2^20 per ms).
 */
function sequenceFrom(startMs: number): () => bigint {
  let next = BigInt(startMs) << 20n;
  return () => {
    next += 1n;
    return next;
  };
}

export function createGateway(options: GatewayOptions): Gateway {
  const { config, logger } = options;
  const tuning: GatewayTuning = { ...defaultTuning, ...options.tuning };
  const metrics = registerGatewayMetrics(options.metrics);
  const nodes = new ConsensusNodes({
    seeds: config.consensus,
    transportFor:
      options.transportFor ??
      http2NodeTransports({ readMaxBytes: tuning.nodeReadMaxBytes, writeMaxBytes: tuning.nodeReadMaxBytes }),
    metrics,
    logger,
    nodesMax: tuning.nodesMax,
    statusTimeoutMs: tuning.statusTimeoutMs,
  });
  const forwarder = new Forwarder({
    nodes,
    gatewayId: config.gatewayId,
    nextSequence: sequenceFrom(Date.now()),
    backoff: tuning.retryBackoff,
    attemptsMax: tuning.attemptsMax,
    nodeAttemptTimeoutMs: tuning.statusTimeoutMs,
  });
  const batcher = new HeartbeatBatcher({
    gatewayId: config.gatewayId,
    nodes: () => nodes.addresses(),
    send: async (address, request, callOptions) => {
      await nodes.post(address)(reportHeartbeatsPath, request, callOptions);
    },
    batchMax: config.heartbeatBatchMax,
    intervalMs: config.heartbeatBatchIntervalMs,
    queueBatchesMax: tuning.heartbeatQueueBatchesMax,
    sendTimeoutMs: tuning.heartbeatSendTimeoutMs,
    backoff: tuning.heartbeatBackoff,
    metrics,
    logger,
  });
  const draining = new AbortController();
  const deps: ServiceDeps = {
    gatewayId: config.gatewayId,
    nodes,
    forwarder,
    batcher,
    streams: new StreamRegistry(),
    metrics,
    requestTimeoutMs: config.requestTimeoutMs,
    defaultHeartbeatTimeoutMs: BigInt(config.defaultHeartbeatTimeoutMs),
    inflight: new Slots(config.maxInFlight, 'forwarded calls'),
    heartbeatStreams: new Slots(tuning.heartbeatStreamsMax, 'heartbeat streams'),
    watchStreams: new Slots(tuning.watchStreamsMax, 'watch streams'),
    nextHeartbeatSequence: sequenceFrom(Date.now()),
    draining: draining.signal,
    watchBackoff: tuning.watchBackoff,
    watchRetriesMax: tuning.watchRetriesMax,
  };
  if (config.authDisabled)
    logger.warn('authentication is DISABLED (--auth-disabled): every caller is admin; dev only');
  const authenticator = createAuthenticator(config.tokens, { disabled: config.authDisabled });
  const heartbeatStreams = createHeartbeatStreamHandler({
    deps,
    authenticator,
    logger,
    readMaxBytes: config.readMaxBytes,
  });

  let closed = false;
  let probeTimer: NodeJS.Timeout | undefined;
  const probe = async (): Promise<void> => {
    await nodes.discover();
    if (closed) return;
    const intervalMs =
      nodes.leader === undefined ? tuning.leaderProbeIntervalUnknownMs : tuning.leaderProbeIntervalMs;
    probeTimer = setTimeout(() => void probe(), intervalMs);
  };
  void probe();

  return {
    gatewayId: config.gatewayId,
    routes: (router) => {
      router.service(BrokerService, createBrokerService(deps));
      router.service(AdminService, createAdminService(deps));
    },
    interceptors: [createObservingInterceptor(logger, metrics), createAuthInterceptor(authenticator)],
    handlers: [heartbeatStreams],
    heartbeatStreams,
    ready: () => ({
      ready: nodes.leader !== undefined,
      detail: { gatewayId: config.gatewayId, leader: nodes.leader?.address ?? null },
    }),
    health: () => ({ gatewayId: config.gatewayId }),
    drain: () => draining.abort(),
    close: async () => {
      if (closed) return;
      closed = true;
      draining.abort();
      clearTimeout(probeTimer);
      await batcher.close(tuning.shutdownGraceMs);
      nodes.close();
    },
  };
}
