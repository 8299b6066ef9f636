// Maps the controller's closed condition enum to Connect codes and RocketMQ response codes, and converts between
// `ControllerError` (the detail every failed Regent call carries) and `ConnectError`.
import { create } from '@bufbuild/protobuf';
import { Code, ConnectError } from '@connectrpc/connect';
import {
  ControllerCondition,
  type ControllerError,
  ControllerErrorSchema,
  type NodeRef,
} from './gen/regent/common/v1/common_pb.js';

interface ConditionInfo {
  readonly code: Code;
  readonly rocketmqCode: number;
}

const C = ControllerCondition;

/** Connect code and RocketMQ response code of every condition. Exhaustive by construction (see the test). */
export const conditionTable: Readonly<Record<ControllerCondition, ConditionInfo>> = {
  [C.UNSPECIFIED]: { code: Code.Unknown, rocketmqCode: 0 },
  [C.FENCED_MASTER_EPOCH]: { code: Code.FailedPrecondition, rocketmqCode: 2000 },
  [C.FENCED_SYNC_STATE_SET_EPOCH]: { code: Code.FailedPrecondition, rocketmqCode: 2001 },
  [C.INVALID_MASTER]: { code: Code.FailedPrecondition, rocketmqCode: 2002 },
  [C.INVALID_REPLICAS]: { code: Code.FailedPrecondition, rocketmqCode: 2003 },
  [C.MASTER_NOT_AVAILABLE]: { code: Code.Unavailable, rocketmqCode: 2004 },
  [C.INVALID_REQUEST]: { code: Code.InvalidArgument, rocketmqCode: 2005 },
  [C.BROKER_NOT_ALIVE]: { code: Code.FailedPrecondition, rocketmqCode: 2006 },
  [C.NOT_LEADER]: { code: Code.Unavailable, rocketmqCode: 2007 },
  [C.BROKER_METADATA_NOT_EXIST]: { code: Code.NotFound, rocketmqCode: 2008 },
  [C.INVALID_CLEAN_BROKER_METADATA]: { code: Code.FailedPrecondition, rocketmqCode: 2009 },
  [C.BROKER_NEED_TO_BE_REGISTERED]: { code: Code.FailedPrecondition, rocketmqCode: 2010 },
  [C.MASTER_STILL_EXIST]: { code: Code.AlreadyExists, rocketmqCode: 2011 },
  [C.ELECT_MASTER_FAILED]: { code: Code.FailedPrecondition, rocketmqCode: 2012 },
  [C.ALTER_SYNC_STATE_SET_FAILED]: { code: Code.FailedPrecondition, rocketmqCode: 2013 },
  [C.BROKER_ID_INVALID]: { code: Code.AlreadyExists, rocketmqCode: 2014 },
  [C.RAFT_INTERNAL_ERROR]: { code: Code.Unavailable, rocketmqCode: 2015 },
  [C.BROKER_LIVE_INFO_NOT_EXISTS]: { code: Code.NotFound, rocketmqCode: 2016 },
  [C.OVERLOADED]: { code: Code.ResourceExhausted, rocketmqCode: 0 },
  [C.CONFIG_KEY_FORBIDDEN]: { code: Code.PermissionDenied, rocketmqCode: 0 },
  [C.TIMEOUT]: { code: Code.DeadlineExceeded, rocketmqCode: 0 },
  [C.MEMBERSHIP_CHANGE_IN_PROGRESS]: { code: Code.FailedPrecondition, rocketmqCode: 0 },
  [C.INVALID_ARGUMENT]: { code: Code.InvalidArgument, rocketmqCode: 0 },
  [C.CLUSTER_MISMATCH]: { code: Code.FailedPrecondition, rocketmqCode: 0 },
  [C.INVALID_POLICY]: { code: Code.InvalidArgument, rocketmqCode: 0 },
  [C.STALE_SEQUENCE]: { code: Code.FailedPrecondition, rocketmqCode: 0 },
};

export interface ControllerErrorOptions {
  readonly leader?: NodeRef;
  readonly field?: string;
}

/** Builds the `ControllerError` detail for a condition. */
export function controllerError(
  condition: ControllerCondition,
  message: string,
  options: ControllerErrorOptions = {},
): ControllerError {
  return create(ControllerErrorSchema, {
    condition,
    rocketmqCode: conditionTable[condition].rocketmqCode,
    message,
    leader: options.leader,
    field: options.field ?? '',
  });
}

/** Wraps a `ControllerError` into the `ConnectError` sent on the wire, with the detail attached. */
export function toConnectError(detail: ControllerError): ConnectError {
  const name = ControllerCondition[detail.condition] ?? String(detail.condition);
  return new ConnectError(`${name}: ${detail.message}`, conditionTable[detail.condition].code, undefined, [
    { desc: ControllerErrorSchema, value: detail },
  ]);
}

/** Shorthand: a `ConnectError` for a condition. */
export function connectErrorOf(
  condition: ControllerCondition,
  message: string,
  options: ControllerErrorOptions = {},
): ConnectError {
  return toConnectError(controllerError(condition, message, options));
}

/** The `ControllerError` detail of an error, if it carries one. */
export function readControllerError(error: unknown): ControllerError | undefined {
  const connectError = ConnectError.from(error);
  const [detail] = connectError.findDetails(ControllerErrorSchema);
  return detail;
}
