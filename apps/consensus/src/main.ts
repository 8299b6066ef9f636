// apps/consensus: one Raft node with the controller (or kv) state machine. Wiring only.
import { ConsensusService } from '@regent/proto/consensus';
import { createRaftServiceRoutes, createRaftStreamHandler } from '@regent/raft-runtime';
import {
  createLogger,
  createMetricsRegistry,
  createShutdown,
  loadConfigOrExit,
  startServer,
} from '@regent/service-kit';
import { consensusConfigSchema } from './config.js';
import { createControllerModule } from './controller/module.js';
import { createKvModule } from './kv-module.js';
import { nodeServiceImpl } from './node-service.js';
import { openRaftNode } from './raft-node.js';

const config = loadConfigOrExit(consensusConfigSchema, {
  envPrefix: 'REGENT_CONSENSUS',
  program: 'regent-consensus',
  summary: 'A Regent consensus node: Raft plus the replicated controller state machine.',
});
const logger = createLogger('consensus').child({ nodeId: config.nodeId });
const registry = createMetricsRegistry('consensus');
const shutdown = createShutdown(logger);
const module =
  config.stateMachine === 'kv'
    ? createKvModule(registry, config.readMaxBytes)
    : createControllerModule({ config, logger, registry });
const node = openRaftNode({ config, stateMachine: module.stateMachine, logger, registry });
module.attach(node);
const raftService = {
  group: config.group,
  runtime: () => node.runtime,
  onBadMessage: (error: unknown) => logger.warn({ err: error }, 'dropped a bad raft message'),
};
const server = await startServer({
  host: config.host,
  port: config.port,
  logger,
  metrics: registry,
  readMaxBytes: Math.max(config.readMaxBytes, 64 * 1024 * 1024),
  handlers: [
    createRaftStreamHandler({
      ...raftService,
      readMaxBytes: Math.max(config.readMaxBytes, 64 * 1024 * 1024),
    }),
    ...(module.handlers?.() ?? []),
  ],
  routes: (router) => {
    createRaftServiceRoutes(raftService)(router);
    router.service(ConsensusService, { ...nodeServiceImpl(node), ...module.consensus });
    module.routes?.(router);
  },
  health: () => ({ nodeId: config.nodeId, role: node.runtime.node.basicStatus().role }),
  ready: () => ({
    ready: node.leader().id !== 0,
    detail: { leader: node.leader().id, ...(module.readyDetail?.() ?? {}) },
  }),
});
node.runtime.start();
logger.info(
  { url: server.url, dataDir: config.dataDir, stateMachine: config.stateMachine },
  'consensus node started',
);
// Steps run last-registered first: hand over leadership, stop the module, then close the server.
shutdown.add('server', () => server.close());
shutdown.add('module', () => module.stop());
shutdown.add('raft', () => node.stop());
