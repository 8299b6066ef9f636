// broker-sim configuration: flags > REGENT_BROKER_SIM_* environment > --config file > defaults.
import { type ConfigOf, option, type ParseOptions, validateAddress } from '@regent/service-kit';

export const simConfigSchema = {
  gateway: option.string({
    description: 'broker gateway base URL (h2c), e.g. http://127.0.0.1:7000',
    required: true,
  }),
  token: option.string({ description: 'bearer token for the gateway', default: '' }),
  cluster: option.string({ description: 'cluster name', default: 'DefaultCluster' }),
  groups: option.int({ description: 'broker groups to simulate', default: 1, min: 1, max: 1000 }),
  replicas: option.int({ description: 'replicas per group', default: 3, min: 1, max: 16 }),
  groupPrefix: option.string({ description: 'group names are <prefix><index>', default: 'broker-' }),
  single: option.bool({
    description: 'run exactly one broker (--group, --replica-index) in this process',
    default: false,
  }),
  group: option.string({ description: 'with --single: the group name', default: '' }),
  replicaIndex: option.int({
    description: 'with --single: the replica index (names its data dir)',
    default: 0,
    min: 0,
  }),
  nats: option.list({ description: 'NATS servers (comma-separated); empty: polling only', default: [] }),
  natsUser: option.string({ description: 'NATS user', default: '' }),
  natsPass: option.string({ description: 'NATS password', default: '' }),
  natsToken: option.string({ description: 'NATS token', default: '' }),
  dataDir: option.string({ description: "root of the brokers' identity and store files", required: true }),
  host: option.string({
    description: "control/health HTTP host (also the brokers' address)",
    default: '127.0.0.1',
  }),
  port: option.int({
    description: 'control/health HTTP port (0: any free port)',
    default: 0,
    min: 0,
    max: 65535,
  }),
  heartbeatIntervalMs: option.int({ description: 'broker heartbeat interval', default: 100, min: 10 }),
  heartbeatTimeoutMs: option.int({
    description: 'broker liveness timeout sent in heartbeats',
    default: 500,
    min: 20,
  }),
  syncBrokerMetadataPeriodMs: option.int({
    description: 'GetReplicaInfo poll period',
    default: 1000,
    min: 10,
  }),
  rpcTimeoutMs: option.int({ description: 'timeout of each gateway call', default: 1000, min: 10 }),
  writeRateBytesPerSec: option.int({
    description: 'commit-log growth of a master',
    default: 1_048_576,
    min: 0,
  }),
  storeTickMs: option.int({
    description: 'store growth period (writes arrive in bursts of this period)',
    default: 100,
    min: 5,
  }),
  storeFlushMs: option.int({
    description: 'store checkpoint period (a crash loses at most this much)',
    default: 200,
    min: 10,
  }),
  replicationPollMs: option.int({ description: 'slave fetch period from its master', default: 25, min: 5 }),
  replicationLagMs: option.int({
    description: 'how far behind the master a slave applies data',
    default: 20,
    min: 0,
  }),
  checkSyncStateSetPeriodMs: option.int({
    description: 'master SyncStateSet shrink/expand check',
    default: 1000,
    min: 10,
  }),
  haMaxTimeSlaveNotCatchupMs: option.int({
    description: 'a slave behind this long leaves the SyncStateSet',
    default: 5000,
    min: 10,
  }),
  zones: option.list({ description: 'zones assigned to replicas round-robin by replica index', default: [] }),
} as const;

export type SimConfig = ConfigOf<typeof simConfigSchema>;

export const simParseOptions: ParseOptions = {
  envPrefix: 'REGENT_BROKER_SIM',
  program: 'broker-sim',
  summary:
    'Simulates broker groups (masters growing their commit log, slaves replicating) under a Regent gateway.',
};

/** Cross-field checks the schema cannot express; returns a message or undefined. */
export function checkSimConfig(config: SimConfig): string | undefined {
  if (!/^https?:\/\//.test(config.gateway)) return `--gateway must be an http(s) URL, got ${config.gateway}`;
  if (config.single && config.group === '') return '--single needs --group';
  if (!config.single && config.group !== '') return '--group is only for --single';
  if (config.heartbeatTimeoutMs <= config.heartbeatIntervalMs)
    return '--heartbeat-timeout-ms must exceed the interval';
  return validateAddress(`${config.host}:${config.port === 0 ? 1 : config.port}`);
}
