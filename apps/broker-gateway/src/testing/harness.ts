// A gateway served on a loopback port in front of a fake consensus cluster, with clients holding each kind of
// token, for the gateway's integration tests.
import { type Client, createClient, type Interceptor } from '@connectrpc/connect';
import { createConnectTransport, Http2SessionManager } from '@connectrpc/connect-node';
import { AdminService } from '@regent/proto/admin';
import { BrokerService } from '@regent/proto/broker';
import { createLogger, type RunningServer, startServer } from '@regent/service-kit';
import { Registry } from 'prom-client';
import { buildTokenTable, type GatewayConfig } from '../config.js';
import { createGateway, type Gateway, type GatewayTuning } from '../gateway.js';
import { type FakeCluster, startFakeCluster } from './fake-consensus.js';

export const tokens = {
  admin: 'admin-secret-0123456789',
  /** Brokers of cluster "cluster-a" only. */
  brokerA: 'broker-a-secret-0123456789',
  /** Brokers of every cluster. */
  brokerAll: 'broker-all-secret-0123456789',
  unknown: 'no-such-token-0123456789',
} as const;

/** Test tuning: short pauses so retries and probes happen within a test's patience. */
export const fastTuning: Partial<GatewayTuning> = {
  leaderProbeIntervalMs: 200,
  leaderProbeIntervalUnknownMs: 50,
  statusTimeoutMs: 500,
  retryBackoff: { minMs: 5, maxMs: 50 },
  heartbeatBackoff: { minMs: 5, maxMs: 50 },
  watchBackoff: { minMs: 5, maxMs: 50 },
  shutdownGraceMs: 200,
};

export interface HarnessOptions {
  readonly nodes?: number;
  readonly leaderIndex?: number | undefined;
  readonly config?: Partial<GatewayConfig>;
  readonly tuning?: Partial<GatewayTuning>;
  /** Start the gateway with these addresses instead of the cluster's (e.g. a subset). */
  readonly seeds?: (cluster: FakeCluster) => readonly string[];
}

export interface Harness {
  readonly cluster: FakeCluster;
  readonly gateway: Gateway;
  readonly server: RunningServer;
  readonly registry: Registry;
  readonly url: string;
  /** A BrokerService client sending `token` (none when undefined) and optional extra headers. */
  broker(token?: string, headers?: Record<string, string>): Client<typeof BrokerService>;
  admin(token?: string, headers?: Record<string, string>): Client<typeof AdminService>;
  /** The value of a metric sample (0 when absent). */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  close(): Promise<void>;
}

export function gatewayConfig(
  addresses: readonly string[],
  overrides: Partial<GatewayConfig> = {},
): GatewayConfig {
  return {
    host: '127.0.0.1',
    port: 0,
    consensus: addresses,
    gatewayId: 'gw-test',
    tokens: buildTokenTable([tokens.admin], [`cluster-a=${tokens.brokerA}`, `*=${tokens.brokerAll}`]),
    authDisabled: false,
    defaultHeartbeatTimeoutMs: 10_000,
    requestTimeoutMs: 3000,
    heartbeatBatchMax: 100,
    heartbeatBatchIntervalMs: 5,
    maxInFlight: 100,
    readMaxBytes: 1024 * 1024,
    ...overrides,
  };
}

function headerInterceptor(headers: Record<string, string>): Interceptor {
  return (next) => (req) => {
    for (const [name, value] of Object.entries(headers)) req.header.set(name, value);
    return next(req);
  };
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const cluster = await startFakeCluster(
    options.nodes ?? 3,
    'leaderIndex' in options ? options.leaderIndex : 0,
  );
  const registry = new Registry();
  const config = gatewayConfig(options.seeds?.(cluster) ?? cluster.addresses(), options.config);
  const logger = createLogger('gateway-test', process.env.REGENT_TEST_LOG_LEVEL ?? 'silent');
  const gateway = createGateway({
    config,
    logger,
    metrics: registry,
    tuning: { ...fastTuning, ...options.tuning },
  });
  const server = await startServer({
    host: '127.0.0.1',
    port: 0,
    logger,
    metrics: registry,
    routes: gateway.routes,
    interceptors: gateway.interceptors,
    handlers: gateway.handlers,
    ready: gateway.ready,
    readMaxBytes: config.readMaxBytes,
  });
  const sessions: Http2SessionManager[] = [];
  const transport = (token: string | undefined, headers: Record<string, string>) => {
    const sessionManager = new Http2SessionManager(server.url);
    sessions.push(sessionManager);
    const all = token === undefined ? headers : { authorization: `Bearer ${token}`, ...headers };
    return createConnectTransport({
      baseUrl: server.url,
      httpVersion: '2',
      sessionManager,
      interceptors: [headerInterceptor(all)],
    });
  };
  return {
    cluster,
    gateway,
    server,
    registry,
    url: server.url,
    broker: (token, headers = {}) => createClient(BrokerService, transport(token, headers)),
    admin: (token, headers = {}) => createClient(AdminService, transport(token, headers)),
    metric: async (name, labels = {}) => {
      const metric = registry.getSingleMetric(name);
      if (metric === undefined) return 0;
      const { values } = await metric.get();
      const match = values.find((v) =>
        Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want),
      );
      return match?.value ?? 0;
    },
    close: async () => {
      for (const session of sessions) session.abort();
      gateway.drain();
      await server.close();
      await gateway.close();
      await cluster.stop();
    },
  };
}
