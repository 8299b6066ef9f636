// @regent/controller: RocketMQ 5's controller state machine (DLedger controller semantics) as a pure library.
// The consensus app calls, per request: `checkSession` → `handleCommand` → (for elections: ask a policy →
// `completeElection`) → `makeLogCommand` → Raft → `applyCommand` on every node. The leader also keeps a
// `LivenessTable` fed by gateways and runs `findInactiveMasters` to start controller-triggered elections.
export {
  type AppliedEvent,
  type ApplyOptions,
  type ApplyResult,
  applyCommand,
  decodeLogCommand,
  encodeLogCommand,
  makeLogCommand,
} from './apply.js';
export { AssertionError } from './assert.js';
export {
  type ConfigKeyName,
  type ControllerConfig,
  configKeys,
  controllerConfigOf,
  effectiveConfigEntries,
  forbiddenConfigKeys,
  validateConfigEntry,
} from './config.js';
export { allGroupStates, type GroupProtoOptions, groupStateOf } from './convert.js';
export { type HandlerOptions, handleCommand } from './dispatch.js';
export {
  handleCleanBrokerData,
  handleGetBrokerLiveness,
  handleGetControllerConfig,
  handleGetElectionAudit,
  handleGetElectionPolicy,
  handleSetElectionPolicy,
  handleUpdateControllerConfig,
  type PolicyValidator,
} from './handlers/admin.js';
export {
  type CompleteElectionOptions,
  completeElection,
  type ElectionBasis,
  type ElectionCompletion,
  type ElectionInput,
  firstElectionPolicyName,
  handleAdminElectMaster,
  handleElectMaster,
  type PendingElection,
  prepareElection,
} from './handlers/election.js';
export {
  firstBrokerId,
  handleApplyBrokerId,
  handleGetNextBrokerId,
  handleRegisterBroker,
} from './handlers/registration.js';
export {
  handleAdminGetSyncStateData,
  handleAlterSyncStateSet,
  handleGetReplicaInfo,
  handleGetSyncStateData,
  replicasInfoOf,
} from './handlers/sync-state.js';
export {
  checkStateInvariants,
  createHistoryChecker,
  type HistoryChecker,
  type InvariantViolation,
} from './invariants.js';
export { type ControllerLimits, defaultControllerLimits } from './limits.js';
export {
  type BrokerKey,
  type BrokerLivenessRecord,
  type HeartbeatOutcome,
  type HeartbeatSource,
  LivenessTable,
  type LivenessTableOptions,
  type LivenessView,
  type SuspicionOutcome,
} from './liveness.js';
export { type CommandOutcome, type CommandResult, errorReply } from './result.js';
export { findInactiveMasters, type InactiveMaster } from './scan.js';
export { checkSession, decodeReply, encodeReply, type SessionCheck } from './session.js';
export {
  decodeSnapshot,
  encodeSnapshot,
  SnapshotError,
  snapshotOf,
  snapshotParts,
  stateOfSnapshot,
} from './snapshot.js';
export {
  type ClientSession,
  type ControllerState,
  cloneState,
  createControllerState,
  defaultPolicy,
  effectivePolicy,
  type GroupState,
  groupPolicyKey,
  type PolicySource,
  type ReplicaEntry,
} from './state.js';
