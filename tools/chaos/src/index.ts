// @regent/chaos: fault injection against a real Regent system and the history checkers.
export { type CheckReport, checkRun, excerpt, type RecordedRun } from './check/index.js';
export {
  checkLinearizable,
  type SearchModel,
  type SearchOperation,
  type SearchResult,
} from './check/linearizability.js';
export { initialModelState, type ModelState, step } from './check/model.js';
export type {
  AuditRecord,
  BeliefChange,
  FinalGroupState,
  GroupView,
  ObservedNotification,
  Operation,
  OpInput,
  OpOutput,
  Violation,
} from './check/types.js';
export { FaultProxy, type LinkFault } from './proxy.js';
export { type ChaosOptions, type ChaosResult, runChaos } from './run.js';
export { type Fault, type FaultKind, planFaults } from './schedule.js';
