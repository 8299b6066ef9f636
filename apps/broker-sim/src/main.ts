// broker-sim: runs N broker groups × R replicas (or, with --single, one broker) against a Regent gateway, with
// /healthz, /metrics and the control API (see simulation.ts) on one port.
import {
  createLogger,
  createMetricsRegistry,
  createShutdown,
  loadConfigOrExit,
  startServer,
} from '@regent/service-kit';
import { checkSimConfig, simConfigSchema, simParseOptions } from './config.js';
import { createSimulation, type Simulation } from './simulation.js';

const app = 'broker-sim';
const config = loadConfigOrExit(simConfigSchema, simParseOptions);
const problem = checkSimConfig(config);
if (problem !== undefined) {
  process.stderr.write(`${app}: ${problem}\n`);
  process.exit(2);
}

const logger = createLogger(app);
const metrics = createMetricsRegistry(app);
const shutdown = createShutdown(logger);
let simulation: Simulation | undefined;

try {
  // The server comes first: the brokers register its address and serve HA fetches on it.
  const server = await startServer({
    host: config.host,
    port: config.port,
    logger,
    metrics,
    handlers: [(req, res) => simulation?.handler(req, res) ?? false],
    health: () => simulation?.health() ?? {},
  });
  shutdown.add('server', () => server.close());
  simulation = createSimulation(config, { logger, metrics, address: `${config.host}:${server.port}` });
  shutdown.add('brokers', () => simulation?.stop());
  await simulation.start();
  logger.info(
    { url: server.url, brokers: simulation.brokers.length, gateway: config.gateway },
    'broker-sim running',
  );
} catch (error) {
  logger.fatal({ err: error }, 'broker-sim failed to start');
  process.exit(1);
}
