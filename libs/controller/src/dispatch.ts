// The dispatcher: maps each ControllerCommand case to its handler. Handlers are pure functions of the applied
// state, this node's liveness view and the options; none has side effects.
import { ControllerCondition } from '@regent/proto/common';
import type { ControllerCommand } from '@regent/proto/consensus';
import {
  handleCleanBrokerData,
  handleGetBrokerLiveness,
  handleGetControllerConfig,
  handleGetElectionAudit,
  handleGetElectionPolicy,
  handleSetElectionPolicy,
  handleUpdateControllerConfig,
  type PolicyValidator,
} from './handlers/admin.js';
import { handleAdminElectMaster, handleElectMaster } from './handlers/election.js';
import { handleApplyBrokerId, handleGetNextBrokerId, handleRegisterBroker } from './handlers/registration.js';
import {
  handleAdminGetSyncStateData,
  handleAlterSyncStateSet,
  handleGetReplicaInfo,
  handleGetSyncStateData,
} from './handlers/sync-state.js';
import type { LivenessView } from './liveness.js';
import { type CommandOutcome, type CommandResult, refuse } from './result.js';
import type { ControllerState } from './state.js';

export interface HandlerOptions {
  /** Validates an election policy configuration (libs/election owns the rules and CEL). */
  readonly validatePolicy: PolicyValidator;
  /** The leader's wall clock in unix ms, recorded in audit records (informational only; default 0). */
  readonly nowUnixMs?: number;
  /** This node's Raft id, reported by GetBrokerLiveness (default 0). */
  readonly nodeId?: bigint;
}

function result(commandResult: CommandResult): CommandOutcome {
  return { kind: 'result', ...commandResult };
}

/**
 * Runs one command against the applied state. For `result`, propose `events` (if any) as one log entry via
 * `makeLogCommand` and answer `reply` after it is applied (or at once, after a ReadIndex check, for a read).
 * For `election`, ask a policy with `pending.request` and finish with `completeElection`.
 */
export function handleCommand(
  state: ControllerState,
  command: ControllerCommand,
  liveness: LivenessView,
  options: HandlerOptions,
): CommandOutcome {
  const c = command.command;
  switch (c.case) {
    case 'getNextBrokerId':
      return result(handleGetNextBrokerId(state, c.value));
    case 'applyBrokerId':
      return result(handleApplyBrokerId(state, c.value));
    case 'registerBroker':
      return result(handleRegisterBroker(state, c.value, liveness));
    case 'electMaster':
      return handleElectMaster(state, c.value, liveness, options);
    case 'alterSyncStateSet':
      return result(handleAlterSyncStateSet(state, c.value, liveness));
    case 'getReplicaInfo':
      return result(handleGetReplicaInfo(state, c.value));
    case 'getSyncStateData':
      return result(handleGetSyncStateData(state, c.value, liveness));
    case 'adminElectMaster':
      return handleAdminElectMaster(state, c.value, liveness, options);
    case 'cleanBrokerData':
      return result(handleCleanBrokerData(state, c.value, liveness));
    case 'updateControllerConfig':
      return result(handleUpdateControllerConfig(state, c.value));
    case 'setElectionPolicy':
      return result(handleSetElectionPolicy(state, c.value, options.validatePolicy));
    case 'adminGetSyncStateData':
      return result(handleAdminGetSyncStateData(state, c.value, liveness));
    case 'getBrokerLiveness':
      return result(handleGetBrokerLiveness(c.value, liveness, options));
    case 'getControllerConfig':
      return result(handleGetControllerConfig(state, c.value));
    case 'getElectionPolicy':
      return result(handleGetElectionPolicy(state, c.value));
    case 'getElectionAudit':
      return result(handleGetElectionAudit(state, c.value));
    case undefined:
      return result(
        refuse(ControllerCondition.INVALID_ARGUMENT, 'the command is empty', { field: 'command' }),
      );
  }
}
