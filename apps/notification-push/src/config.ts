// The pusher's configuration: flags, REGENT_PUSH_* environment variables, or a JSON file (see --help).
import {
  type ConfigOf,
  loadConfigOrExit,
  option,
  type ParseOptions,
  validateAddress,
} from '@regent/service-kit';
import { validateSubjectPrefix } from './notification.js';

export const configSchema = {
  host: option.string({ description: 'address for /healthz, /readyz and /metrics', default: '127.0.0.1' }),
  port: option.int({
    description: 'port for /healthz, /readyz and /metrics (0 picks one)',
    default: 7400,
    min: 0,
    max: 65535,
  }),
  consensus: option.list({
    description: 'consensus nodes, host:port,... (the leader is found with Status)',
    required: true,
    validate: (nodes) =>
      nodes.length === 0
        ? 'needs at least one node'
        : nodes.map(validateAddress).find((p) => p !== undefined),
  }),
  nats: option.list({
    description: 'NATS server URLs, comma-separated',
    default: ['nats://127.0.0.1:4222'],
    validate: (urls) => (urls.length === 0 ? 'needs at least one server' : undefined),
  }),
  natsUser: option.string({ description: 'NATS user (with --nats-pass)' }),
  natsPass: option.string({ description: 'NATS password' }),
  natsToken: option.string({ description: 'NATS token (instead of user and password)' }),
  dataDir: option.string({
    description: 'directory of the state file (the last published position)',
    default: './.data/notification-push',
    validate: (dir) => (dir === '' ? 'must not be empty' : undefined),
  }),
  subjectPrefix: option.string({
    description: 'first subject token(s): <prefix>.<cluster>.<brokerName>.role',
    default: 'regent',
    validate: validateSubjectPrefix,
  }),
  pendingMax: option.int({
    description: 'most notifications held while NATS is slow or down (then the watch pauses)',
    default: 10_000,
    min: 1,
    max: 1_000_000,
  }),
  stateSaveIntervalMs: option.int({
    description: 'the position is written at most this often (and on shutdown), ms',
    default: 1_000,
    min: 0,
    max: 60_000,
  }),
} as const;

export type PushConfig = ConfigOf<typeof configSchema>;

export const parseOptions: ParseOptions = {
  envPrefix: 'REGENT_PUSH',
  program: 'notification-push',
  summary: 'Publishes every committed broker role change from the consensus Watch stream to NATS.',
};

/** Cross-field checks the schema cannot express; returns an error message or undefined. */
export function checkCredentials(config: PushConfig): string | undefined {
  if (config.natsToken !== undefined && (config.natsUser !== undefined || config.natsPass !== undefined)) {
    return '--nats-token excludes --nats-user/--nats-pass';
  }
  if (config.natsPass !== undefined && config.natsUser === undefined) return '--nats-pass needs --nats-user';
  return undefined;
}

/** The config for logs: secrets replaced. */
export function redacted(config: PushConfig): Record<string, unknown> {
  return {
    ...config,
    natsPass: config.natsPass === undefined ? undefined : '***',
    natsToken: config.natsToken === undefined ? undefined : '***',
  };
}

/** Parses the config (flags > env > file > defaults) or prints the problem and exits with code 2. */
export function loadPushConfigOrExit(): PushConfig {
  const config = loadConfigOrExit(configSchema, parseOptions);
  const problem = checkCredentials(config);
  if (problem !== undefined) {
    process.stderr.write(`${parseOptions.program}: ${problem}\n`);
    process.exit(2);
  }
  return config;
}
