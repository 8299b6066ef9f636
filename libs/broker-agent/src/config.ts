// The agent's configuration: the defaults (chosen with the controller for sub-second failover), the config a broker
// passes to `createBrokerAgent`, and its validation into the complete `Settings` the agent runs on.
import { BrokerAgentConfigError } from './errors.js';

/**
 * Defaults, chosen with the controller for sub-second failover (RocketMQ's are in brackets):
 * - heartbeat every 100 ms [1000], timeout 500 ms [10 000]: a silent broker is declared dead after five missed
 *   heartbeats, which rides out a ~400 ms GC or scheduling pause; a crashed one is caught at once by its broken
 *   heartbeat stream.
 * - GetReplicaInfo every 1000 ms [5000]: NATS notifications carry role changes within milliseconds; the poll is the
 *   fallback for a missed one and bounds convergence without it to ~1 s.
 * - RPC timeout 1000 ms [3000]: twice the heartbeat timeout, so a call outlives a leader change on the gateway's
 *   side but a dead path is noticed within one poll period.
 * - stream reconnect 50 ms → 1000 ms [n/a]: a broken stream reopens before the next heartbeat is due; unary
 *   heartbeats cover the gap meanwhile.
 * - registration retry 100 ms → 5000 ms [5 attempts, random sleep < 1 s, then every 5 s].
 */
export const BROKER_AGENT_DEFAULTS = {
  heartbeatIntervalMs: 100,
  heartbeatTimeoutMs: 500,
  syncBrokerMetadataPeriodMs: 1000,
  rpcTimeoutMs: 1000,
  useHeartbeatStream: true,
  streamReconnectMinMs: 50,
  streamReconnectMaxMs: 1000,
  registerRetryMinMs: 100,
  registerRetryMaxMs: 5000,
  /** Off: a master keeps serving while the controller is unreachable, as in RocketMQ. */
  selfFenceAfterMs: 0,
  restartRegistrationWhenForgotten: true,
  roleEventsBufferMax: 64,
  roleEventSubscribersMax: 16,
  subjectPrefix: 'regent',
} as const;

export interface BrokerAgentConfig {
  readonly clusterName: string;
  readonly brokerName: string;
  /** The broker's own "host:port" (registered with the controller, told to slaves as the master address). */
  readonly brokerAddress: string;
  /** Where the identity files live (RocketMQ `storePathRootDir`). */
  readonly dataDir: string;
  readonly heartbeatIntervalMs?: number;
  /** Sent in every heartbeat; the controller declares the broker dead after this long without one. */
  readonly heartbeatTimeoutMs?: number;
  readonly syncBrokerMetadataPeriodMs?: number;
  readonly rpcTimeoutMs?: number;
  /** Lower wins; absent means lowest priority (RocketMQ Integer.MAX_VALUE). */
  readonly electionPriority?: number;
  readonly zone?: string;
  /** At most 16 entries. */
  readonly labels?: Readonly<Record<string, string>>;
  readonly useHeartbeatStream?: boolean;
  readonly streamReconnectMinMs?: number;
  readonly streamReconnectMaxMs?: number;
  readonly registerRetryMinMs?: number;
  readonly registerRetryMaxMs?: number;
  /**
   * When > 0, the broker fences itself after this long without an acknowledged heartbeat, and unfences after the
   * next successful poll. 0 (default) keeps RocketMQ's behaviour: a master keeps serving without the controller.
   */
  readonly selfFenceAfterMs?: number;
  readonly restartRegistrationWhenForgotten?: boolean;
  readonly roleEventsBufferMax?: number;
  readonly roleEventSubscribersMax?: number;
  /** NATS subject prefix; the agent subscribes to `<prefix>.<cluster>.<brokerName>.role`. */
  readonly subjectPrefix?: string;
}

/** The config with every default filled in, validated by `settingsOf`. */
export type Settings = Required<Omit<BrokerAgentConfig, 'electionPriority'>> & {
  readonly electionPriority?: number;
};

const NAME_RE = /^[A-Za-z0-9_-]{1,255}$/;
const LABELS_MAX = 16;

/** Fills in the defaults and validates; throws `BrokerAgentConfigError`. */
export function settingsOf(config: BrokerAgentConfig): Settings {
  const s = { ...BROKER_AGENT_DEFAULTS, zone: '', labels: {}, ...stripUndefined(config) } as Settings;
  const bad = (message: string): never => {
    throw new BrokerAgentConfigError(message);
  };
  // Names end up in identity files ('#'-separated) and NATS subjects ('.'-separated tokens).
  if (!NAME_RE.test(s.clusterName)) bad(`clusterName ${JSON.stringify(s.clusterName)} must match ${NAME_RE}`);
  if (!NAME_RE.test(s.brokerName)) bad(`brokerName ${JSON.stringify(s.brokerName)} must match ${NAME_RE}`);
  if (!/^[^#;\s]{1,256}$/.test(s.brokerAddress))
    bad(`brokerAddress ${JSON.stringify(s.brokerAddress)} is invalid`);
  if (s.dataDir === '') bad('dataDir is required');
  if (!(s.heartbeatIntervalMs > 0)) bad('heartbeatIntervalMs must be > 0');
  if (!(s.heartbeatTimeoutMs > s.heartbeatIntervalMs))
    bad('heartbeatTimeoutMs must exceed heartbeatIntervalMs');
  if (!(s.syncBrokerMetadataPeriodMs > 0) || !(s.rpcTimeoutMs > 0)) bad('periods and timeouts must be > 0');
  if (!(s.roleEventsBufferMax >= 1) || !(s.roleEventSubscribersMax >= 1)) bad('event limits must be >= 1');
  if (Object.keys(s.labels).length > LABELS_MAX) bad(`at most ${LABELS_MAX} labels`);
  return s;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
