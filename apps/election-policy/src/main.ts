// election-policy: serves ElectionPolicyService (Elect, ValidatePolicy) over Connect, gRPC, gRPC-Web and JSON on
// one port, with /healthz, /readyz and /metrics. Stateless: any number of replicas may run side by side.
import { createElectionPolicy } from '@regent/election';
import {
  createLogger,
  createMetricsRegistry,
  createShutdown,
  loadConfigOrExit,
  option,
  startServer,
} from '@regent/service-kit';
import { createElectionPolicyRoutes } from './service.js';

const app = 'election-policy';
/** A request at the input limits (64 candidates with 16 labels of 128 + 256 characters) is about 400 KiB. */
const requestBytesDefault = 1024 * 1024;
/** A response carries at most 64 short reasons and a one-line explanation: far below this. */
const responseBytesMax = 1024 * 1024;

const config = loadConfigOrExit(
  {
    host: option.string({ description: 'address to listen on', default: '127.0.0.1' }),
    port: option.int({
      description: 'TCP port for every protocol (0 picks one)',
      default: 7300,
      min: 0,
      max: 65535,
    }),
    readMaxBytes: option.int({
      description: 'largest request message accepted, in bytes',
      default: requestBytesDefault,
      min: 1024,
      max: 64 * 1024 * 1024,
    }),
  },
  {
    envPrefix: 'REGENT_POLICY',
    program: app,
    summary: 'Regent election policy service: who becomes master, and why.',
  },
);

const logger = createLogger(app);
const metrics = createMetricsRegistry(app);
const shutdown = createShutdown(logger);

try {
  const server = await startServer({
    host: config.host,
    port: config.port,
    logger,
    metrics,
    routes: createElectionPolicyRoutes({ logger, metrics, policy: createElectionPolicy() }),
    readMaxBytes: config.readMaxBytes,
    writeMaxBytes: responseBytesMax,
  });
  shutdown.add('server', () => server.close());
  logger.info({ url: server.url, readMaxBytes: config.readMaxBytes }, 'election-policy listening');
} catch (error) {
  logger.fatal({ err: error, host: config.host, port: config.port }, 'election-policy failed to start');
  process.exit(1);
}
