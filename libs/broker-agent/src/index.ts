// @regent/broker-agent — the broker-side SDK a broker embeds to live under the Regent controller: crash-safe
// registration with a persisted identity, heartbeats, replica-info sync, the NATS role-change subscription with
// epoch gating, SyncStateSet reporting by the master, and the epoch cache maths. Fakes: '@regent/broker-agent/testing'.
export {
  type BrokerServiceConnection,
  type BrokerServiceConnectionOptions,
  connectBrokerService,
  createNatsConnector,
  type NatsConnectorOptions,
  roleSubject,
} from './adapters.js';
export { createBrokerAgent } from './agent.js';
export type {
  AgentCounters,
  AgentPhase,
  AlterOutcome,
  BrokerAgent,
  BrokerAgentPorts,
  BrokerAgentStatus,
} from './agent-api.js';
export { AssertionError } from './assert.js';
export { type Backoff, type BackoffOptions, createBackoff } from './backoff.js';
export { type Cancel, type Clock, type Random, systemClock, systemRandom } from './clock.js';
export { BROKER_AGENT_DEFAULTS, type BrokerAgentConfig } from './config.js';
export {
  type EpochAppendResult,
  EpochCache,
  EpochCacheError,
  type EpochEntry,
  type EpochView,
  OFFSET_UNBOUNDED,
  truncationPoint,
} from './epoch-cache.js';
export {
  BrokerAgentConfigError,
  IdentityFileError,
  IdentityMismatchError,
  RegistrationRejectedError,
} from './errors.js';
export type { HeartbeatStats } from './heartbeat.js';
export {
  type BrokerIdentity,
  IDENTITY_FILE_NAME,
  type IdentityFiles,
  readIdentityFiles,
  TEMP_IDENTITY_FILE_NAME,
  type TempBrokerIdentity,
} from './identity-files.js';
export {
  type AgentLogger,
  type BrokerServiceClient,
  type NatsConnector,
  type StoreView,
  silentLogger,
} from './ports.js';
export {
  REGISTRATION_STEPS,
  type Registered,
  type RegistrationDeps,
  type RegistrationHooks,
  type RegistrationParams,
  type RegistrationStep,
  registerBroker,
} from './registration.js';
export {
  decideRole,
  type ReplicaInfo,
  type Role,
  type RoleDecision,
  type RoleState,
  unionOf,
} from './role.js';
export { type FenceReason, type RoleEvent, TooManySubscribersError } from './role-events.js';
export {
  type ConfirmOffsetInput,
  confirmOffsetOf,
  nextSyncStateSet,
  type SlaveProgress,
  type SyncStateSetCheck,
} from './sync-state-set.js';
