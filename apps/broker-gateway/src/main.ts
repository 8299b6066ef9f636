// broker-gateway: serves BrokerService and AdminService over Connect, gRPC, gRPC-Web and JSON on one port, with
// /healthz, /readyz (a consensus leader is known) and /metrics. Stateless: any number of replicas.

import { createDashboardHandler } from '@regent/dashboard';
import {
  ConfigError,
  createLogger,
  createMetricsRegistry,
  createShutdown,
  loadConfigOrExit,
  startServer,
} from '@regent/service-kit';
import { type GatewayConfig, gatewayConfigSchema, parseOptions, toGatewayConfig } from './config.js';
import { createGateway } from './gateway.js';

const app = 'broker-gateway';
/** Responses relay consensus answers; GetSyncStateData of every group is the largest. */
const responseBytesMax = 32 * 1024 * 1024;

let config: GatewayConfig;
try {
  config = toGatewayConfig(loadConfigOrExit(gatewayConfigSchema, parseOptions));
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`${app}: ${error.message}\n`);
  process.exit(2);
}

const logger = createLogger(app);
const metrics = createMetricsRegistry(app);
const shutdown = createShutdown(logger);
const gateway = createGateway({ config, logger, metrics });
// Steps run last-registered first: drain the streams, close the server, then flush heartbeats and disconnect.
shutdown.add('gateway', () => gateway.close());

try {
  const server = await startServer({
    host: config.host,
    port: config.port,
    logger,
    metrics,
    routes: gateway.routes,
    interceptors: gateway.interceptors,
    ready: gateway.ready,
    health: gateway.health,
    readMaxBytes: config.readMaxBytes,
    writeMaxBytes: responseBytesMax,
    // The lean heartbeat-stream path, then the web dashboard (static page; its API calls go through AdminService
    // and need the admin token).
    handlers: [...gateway.handlers, createDashboardHandler({ pathPrefix: '/dashboard' })],
  });
  shutdown.add('server', () => server.close());
  shutdown.add('drain', () => gateway.drain());
  logger.info(
    { url: server.url, gatewayId: gateway.gatewayId, consensus: config.consensus },
    'broker-gateway listening',
  );
} catch (error) {
  logger.fatal({ err: error, host: config.host, port: config.port }, 'broker-gateway failed to start');
  process.exit(1);
}
