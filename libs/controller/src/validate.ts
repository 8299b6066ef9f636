// Shape checks shared by the handlers (a Regent addition that runs before RocketMQ's checks; the gateway checks
// the same shapes, so a well-behaved client never sees these) and the CLUSTER_MISMATCH check.
import { ControllerCondition } from '@regent/proto/common';
import { addressLengthMax, nameLengthMax } from './limits.js';
import { type CommandResult, refuse } from './result.js';
import type { GroupState } from './state.js';

/** A broker group name: 1..255 characters. */
export function checkBrokerName(brokerName: string, field = 'broker_name'): CommandResult | undefined {
  if (brokerName === '' || brokerName.length > nameLengthMax) {
    return refuse(ControllerCondition.INVALID_ARGUMENT, `${field} must have 1..${nameLengthMax} characters`, {
      field,
    });
  }
  return undefined;
}

/**
 * A cluster name: at most 255 characters, no '/' (per-group policies are keyed "<cluster>/<group>"); empty
 * only when not `required` (an empty cluster in a request means "do not check the cluster").
 */
export function checkClusterName(
  clusterName: string,
  required: boolean,
  field = 'cluster_name',
): CommandResult | undefined {
  if (required && clusterName === '') {
    return refuse(ControllerCondition.INVALID_ARGUMENT, `${field} is required`, { field });
  }
  if (clusterName.length > nameLengthMax || clusterName.includes('/')) {
    return refuse(
      ControllerCondition.INVALID_ARGUMENT,
      `${field} must have at most ${nameLengthMax} characters and no '/'`,
      {
        field,
      },
    );
  }
  return undefined;
}

/** A broker address or register check code: 1..512 characters. */
export function checkAddress(value: string, field: string): CommandResult | undefined {
  if (value === '' || value.length > addressLengthMax) {
    return refuse(
      ControllerCondition.INVALID_ARGUMENT,
      `${field} must have 1..${addressLengthMax} characters`,
      { field },
    );
  }
  return undefined;
}

/**
 * Regent addition: a request naming a cluster other than the group's gets CLUSTER_MISMATCH (RocketMQ keys groups
 * by brokerName alone and ignores the cluster). An empty cluster name is not checked.
 */
export function checkClusterMatch(group: GroupState, clusterName: string): CommandResult | undefined {
  if (clusterName !== '' && clusterName !== group.clusterName) {
    return refuse(
      ControllerCondition.CLUSTER_MISMATCH,
      `broker group ${group.brokerName} belongs to cluster ${group.clusterName}, not ${clusterName}`,
      { field: 'cluster_name' },
    );
  }
  return undefined;
}
