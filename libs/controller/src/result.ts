// The shapes handlers return, and the small builders every handler uses.
import { create } from '@bufbuild/protobuf';
import { type ControllerErrorOptions, controllerError } from '@regent/proto';
import type { ControllerCondition, ControllerError } from '@regent/proto/common';
import { type ControllerReply, ControllerReplySchema } from '@regent/proto/consensus';
import type { ControllerEvent } from '@regent/proto/state';
import type { PendingElection } from './handlers/election.js';

/**
 * A handler's answer. `events` empty means the command is a read: nothing is proposed and `reply` is answered
 * (after the leader's ReadIndex check). Otherwise the events are proposed as one log entry and `reply` is
 * answered once that entry is applied. An `error` reply always comes with no events, except the controller-
 * triggered election that clears a dead master (RocketMQ MASTER_NOT_AVAILABLE).
 */
export interface CommandResult {
  readonly events: readonly ControllerEvent[];
  readonly reply: ControllerReply;
}

/**
 * What the dispatcher returns: a `result`, or (for ElectMaster commands that need a policy) an `election` to
 * finish with `completeElection` once a policy has decided.
 */
export type CommandOutcome =
  | ({ readonly kind: 'result' } & CommandResult)
  | { readonly kind: 'election'; readonly pending: PendingElection };

/** The reply oneof of `ControllerReply`. */
export type ReplyCase = ControllerReply['reply'];

/** A read: the reply, no events. */
export function answer(reply: Exclude<ReplyCase, { case: undefined }>): CommandResult {
  return { events: [], reply: create(ControllerReplySchema, { reply }) };
}

/** A write: events to propose and the reply to answer after they are applied. */
export function propose(
  events: readonly ControllerEvent[],
  reply: Exclude<ReplyCase, { case: undefined }>,
): CommandResult {
  return { events, reply: create(ControllerReplySchema, { reply }) };
}

/** A typed refusal: the `error` reply, no events. */
export function refuse(
  condition: ControllerCondition,
  message: string,
  options?: ControllerErrorOptions,
): CommandResult {
  return { events: [], reply: errorReply(condition, message, options) };
}

/** A typed refusal with a ready-made `ControllerError`. */
export function refuseWith(error: ControllerError): CommandResult {
  return { events: [], reply: create(ControllerReplySchema, { reply: { case: 'error', value: error } }) };
}

/** A `ControllerReply` carrying a `ControllerError`. */
export function errorReply(
  condition: ControllerCondition,
  message: string,
  options?: ControllerErrorOptions,
): ControllerReply {
  return create(ControllerReplySchema, {
    reply: { case: 'error', value: controllerError(condition, message, options) },
  });
}
