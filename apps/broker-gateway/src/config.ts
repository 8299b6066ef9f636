// The gateway's configuration: flags, environment (prefix REGENT_GATEWAY) or a JSON file, validated once into a
// frozen `GatewayConfig`. Secrets (tokens) are better passed through the environment than on the command line.
import { randomBytes } from 'node:crypto';
import { ConfigError, type ConfigOf, option, validateAddress } from '@regent/service-kit';
import { namePattern } from './validation.js';

/** Most consensus nodes named with --consensus (a Raft group of 3 or 5, plus room for changes). */
export const consensusNodesMax = 16;
/** Most tokens of each kind. */
export const tokensMax = 1024;
const gatewayIdPattern = /^[A-Za-z0-9_.:-]{1,64}$/;

export const gatewayConfigSchema = {
  host: option.string({ description: 'address to listen on', default: '127.0.0.1' }),
  port: option.int({
    description: 'TCP port for every protocol (0 picks one)',
    default: 7200,
    min: 0,
    max: 65_535,
  }),
  consensus: option.list({
    description: 'consensus node client addresses, host:port, comma-separated',
    required: true,
    validate: validateConsensusList,
  }),
  gatewayId: option.string({
    description: 'this gateway instance id (the client session id at the controller); random when empty',
    validate: (value) =>
      value === '' || gatewayIdPattern.test(value)
        ? undefined
        : 'must be 1..64 characters of A-Z a-z 0-9 _ . : -',
  }),
  adminTokens: option.list({
    description: 'bearer tokens with the admin role, comma-separated (prefer the environment variable)',
    default: [],
    validate: (tokens) => validateTokens(tokens, 'admin token'),
  }),
  brokerTokens: option.list({
    description:
      'broker bearer tokens as cluster=token pairs, comma-separated; *=token is valid for every cluster',
    default: [],
    validate: validateBrokerTokens,
  }),
  authDisabled: option.bool({
    description: 'accept every call without a token (development only)',
    default: false,
  }),
  defaultHeartbeatTimeoutMs: option.int({
    description:
      "liveness timeout of a heartbeat without one, reported in heartbeat acks; keep it equal to the consensus nodes' --heartbeat-timeout-ms",
    default: 1000,
    min: 100,
    max: 600_000,
  }),
  requestTimeoutMs: option.int({
    description: 'deadline of a forwarded call when the caller sets none (or a longer one), in ms',
    default: 5000,
    min: 10,
    max: 600_000,
  }),
  heartbeatBatchMax: option.int({
    description: 'heartbeats per batch sent to the consensus nodes (a full batch is sent at once)',
    default: 2000,
    min: 1,
    max: 10_000,
  }),
  heartbeatBatchIntervalMs: option.int({
    description: 'longest time a heartbeat waits for its batch to fill, in ms',
    default: 20,
    min: 1,
    max: 10_000,
  }),
  maxInFlight: option.int({
    description: 'most forwarded calls in flight at once; more are refused with RESOURCE_EXHAUSTED',
    default: 1024,
    min: 1,
    max: 1_000_000,
  }),
  readMaxBytes: option.int({
    description: 'largest request message accepted, in bytes',
    default: 1024 * 1024,
    min: 1024,
    max: 64 * 1024 * 1024,
  }),
};

export type RawGatewayConfig = ConfigOf<typeof gatewayConfigSchema>;

/** Who a token speaks for: the admin, or brokers of some clusters ('*' for every cluster). */
export type Principal =
  | { readonly role: 'admin' }
  | { readonly role: 'broker'; readonly clusters: ReadonlySet<string> };

export interface GatewayConfig {
  readonly host: string;
  readonly port: number;
  readonly consensus: readonly string[];
  readonly gatewayId: string;
  /** token → principal (a token listed as admin and broker is admin). */
  readonly tokens: ReadonlyMap<string, Principal>;
  readonly authDisabled: boolean;
  /** The controller's timeout for a heartbeat without one (acks report it), in ms. */
  readonly defaultHeartbeatTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly heartbeatBatchMax: number;
  readonly heartbeatBatchIntervalMs: number;
  readonly maxInFlight: number;
  readonly readMaxBytes: number;
}

export const parseOptions = {
  envPrefix: 'REGENT_GATEWAY',
  program: 'broker-gateway',
  summary: 'Regent broker gateway: the broker and admin API in front of the consensus nodes.',
};

function validateConsensusList(addresses: readonly string[]): string | undefined {
  if (addresses.length === 0) return 'at least one consensus node address is required';
  if (addresses.length > consensusNodesMax) return `at most ${consensusNodesMax} addresses`;
  for (const address of addresses) {
    const problem = validateAddress(address);
    if (problem !== undefined) return problem;
  }
  return new Set(addresses).size === addresses.length ? undefined : 'duplicate address';
}

function validateTokens(tokens: readonly string[], what: string): string | undefined {
  if (tokens.length > tokensMax) return `at most ${tokensMax} tokens`;
  return tokens.some((token) => token === '' || /\s/.test(token))
    ? `an empty ${what} or one with whitespace`
    : undefined;
}

function validateBrokerTokens(pairs: readonly string[]): string | undefined {
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    const cluster = pair.slice(0, eq);
    if (eq <= 0) return `expected cluster=token, got ${JSON.stringify(pair.replace(/=.*/, '=…'))}`;
    if (cluster !== '*' && !namePattern.test(cluster))
      return `invalid cluster name ${JSON.stringify(cluster)}`;
  }
  return validateTokens(
    pairs.map((pair) => pair.slice(pair.indexOf('=') + 1)),
    'broker token',
  );
}

/** Resolves the parsed flags into the gateway's typed config; throws ConfigError on a cross-field problem. */
export function toGatewayConfig(raw: RawGatewayConfig): GatewayConfig {
  const tokens = buildTokenTable(raw.adminTokens, raw.brokerTokens);
  if (tokens.size === 0 && !raw.authDisabled) {
    throw new ConfigError(
      'no --admin-tokens or --broker-tokens given; set tokens or --auth-disabled (dev only)',
    );
  }
  const gatewayId =
    raw.gatewayId === undefined || raw.gatewayId === ''
      ? `gw-${randomBytes(6).toString('hex')}`
      : raw.gatewayId;
  return Object.freeze({
    host: raw.host,
    port: raw.port,
    consensus: Object.freeze([...raw.consensus]),
    gatewayId,
    tokens,
    authDisabled: raw.authDisabled,
    defaultHeartbeatTimeoutMs: raw.defaultHeartbeatTimeoutMs,
    requestTimeoutMs: raw.requestTimeoutMs,
    heartbeatBatchMax: raw.heartbeatBatchMax,
    heartbeatBatchIntervalMs: raw.heartbeatBatchIntervalMs,
    maxInFlight: raw.maxInFlight,
    readMaxBytes: raw.readMaxBytes,
  });
}

/** token → principal; broker entries of one token accumulate clusters; admin wins over broker. */
export function buildTokenTable(
  adminTokens: readonly string[],
  brokerTokens: readonly string[],
): Map<string, Principal> {
  const clustersByToken = new Map<string, Set<string>>();
  for (const pair of brokerTokens) {
    const eq = pair.indexOf('=');
    const token = pair.slice(eq + 1);
    const clusters = clustersByToken.get(token) ?? new Set<string>();
    clusters.add(pair.slice(0, eq));
    clustersByToken.set(token, clusters);
  }
  const table = new Map<string, Principal>();
  for (const [token, clusters] of clustersByToken) table.set(token, { role: 'broker', clusters });
  for (const token of adminTokens) table.set(token, { role: 'admin' });
  return table;
}
