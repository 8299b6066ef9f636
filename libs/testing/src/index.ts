export {
  freePort,
  type ManagedProcess,
  NATS_SERVER_BIN,
  type NatsServer,
  spawnProcess,
  spawnTs,
  startNatsServer,
  WORKSPACE_ROOT,
  waitFor,
  waitForHttpOk,
} from './process.js';
