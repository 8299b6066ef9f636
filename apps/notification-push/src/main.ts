// notification-push: follows the consensus leader's Watch stream and publishes every broker role change to NATS.
// Wiring only; the behaviour lives in pusher.ts and the adapters.
import { createLogger, createMetricsRegistry, createShutdown, startServer } from '@regent/service-kit';
import { createConsensusWatchSource } from './adapters/consensus-watch.js';
import { createNatsPublisher } from './adapters/nats-publisher.js';
import { createStateFile } from './adapters/state-file.js';
import { loadPushConfigOrExit, redacted } from './config.js';
import { createNotificationPusher, describeStatus } from './pusher.js';

const config = loadPushConfigOrExit();
const logger = createLogger('notification-push');
const metrics = createMetricsRegistry('notification-push');
const shutdown = createShutdown(logger);
logger.info({ config: redacted(config) }, 'starting');

const publisher = createNatsPublisher({
  servers: config.nats,
  user: config.natsUser,
  pass: config.natsPass,
  token: config.natsToken,
  logger,
});
const watchSource = createConsensusWatchSource({ nodes: config.consensus, logger });
const pusher = createNotificationPusher({
  watchSource,
  publisher,
  stateStore: createStateFile(config.dataDir),
  logger,
  metrics,
  subjectPrefix: config.subjectPrefix,
  pendingMax: config.pendingMax,
  stateSaveIntervalMs: config.stateSaveIntervalMs,
  onFatal: () => process.exit(1),
});

const server = await startServer({
  host: config.host,
  port: config.port,
  logger,
  metrics,
  health: () => describeStatus(pusher.status()),
  ready: () => {
    const status = pusher.status();
    return { ready: status.ready, detail: describeStatus(status) };
  },
});
// Steps run last-registered first: stop the pusher (saves the position), then the connections, then HTTP.
shutdown.add('http', () => server.close());
shutdown.add('connections', async () => {
  watchSource.close();
  await publisher.close();
});
shutdown.add('pusher', () => pusher.stop());
await pusher.start();
logger.info({ port: server.port }, 'notification-push serving');
