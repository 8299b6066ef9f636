// Applying committed log entries to the state, deterministically: the same entries in the same order give the
// same state on every node. Apply never re-validates a request (as RocketMQ's DLedger controller); it is total:
// an event that does not fit the state (unknown group, unregistered id) changes nothing on every node alike and
// is reported in `AppliedEvent.ignored` so the caller can log it.
import { clone, create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { PolicyConfigSchema } from '@regent/proto/election';
import {
  type AlterSyncStateSetEvent,
  type ApplyBrokerIdEvent,
  type BrokerGroupState,
  type CleanBrokerDataEvent,
  type ConfigChangeEvent,
  type ControllerEvent,
  ControllerEventSchema,
  ElectionAuditRecordSchema,
  type ElectMasterEvent,
  type LogCommand,
  LogCommandSchema,
  type PolicyConfigEvent,
  type UpdateBrokerAddressEvent,
} from '@regent/proto/state';
import { assert } from './assert.js';
import { validateConfigEntry } from './config.js';
import { groupToProto } from './convert.js';
import { epochMax } from './limits.js';
import type { CommandResult } from './result.js';
import { encodeReply, recordSession, staleSequenceReply } from './session.js';
import { type ControllerState, type GroupState, groupPolicyKey, sortedUniqueIds } from './state.js';

/** One event as applied. */
export interface AppliedEvent {
  /** The event's position within its entry. */
  readonly position: number;
  /** The event as applied: an ElectMaster audit record carries its Raft term, index and masterEpoch. */
  readonly event: ControllerEvent;
  /** The group the event concerns; undefined for configuration and cluster-wide policy events. */
  readonly brokerName: string | undefined;
  /** Why the event changed nothing; undefined when it was applied. */
  readonly ignored: string | undefined;
  /** The group right after the event, without its audit trail (only with `groupAfter`; undefined when gone). */
  readonly groupAfter: BrokerGroupState | undefined;
}

/** What one log entry did. */
export interface ApplyResult {
  /**
   * `applied`: the events were applied; `duplicate`: the entry repeats the session's last applied request and
   * changed nothing; `stale`: the entry is older than the session's last request and changed nothing.
   */
  readonly outcome: 'applied' | 'duplicate' | 'stale';
  /** The encoded `ControllerReply` to answer the entry's waiter with (for a duplicate: the first reply). */
  readonly reply: Uint8Array;
  /** Events in order (empty unless `applied`). */
  readonly applied: readonly AppliedEvent[];
  /** Groups an applied event concerned, ascending (including removed ones). */
  readonly touchedGroups: readonly string[];
  /** Groups removed by this entry, ascending. */
  readonly removedGroups: readonly string[];
  /** True when the replicated configuration changed. */
  readonly configChanged: boolean;
  /** True when an election policy was set or cleared. */
  readonly policiesChanged: boolean;
}

export interface ApplyOptions {
  /** Fill `AppliedEvent.groupAfter` (for watch events); off by default to keep log replay cheap. */
  readonly groupAfter?: boolean;
}

interface EventEffect {
  readonly event: ControllerEvent;
  readonly brokerName: string | undefined;
  readonly ignored?: string;
  readonly removed?: boolean;
  readonly configChanged?: boolean;
  readonly policiesChanged?: boolean;
}

interface ApplyContext {
  readonly raftIndex: bigint;
  readonly raftTerm: bigint;
}

/** Builds the log entry payload of an accepted command. */
export function makeLogCommand(init: {
  readonly clientId: string;
  readonly sequence: bigint;
  readonly result: CommandResult;
}): LogCommand {
  assert(init.result.events.length > 0, 'a command without events is a read and is never logged');
  return create(LogCommandSchema, {
    clientId: init.clientId,
    sequence: init.sequence,
    events: [...init.result.events],
    reply: encodeReply(init.result.reply),
  });
}

export function encodeLogCommand(command: LogCommand): Uint8Array {
  return toBinary(LogCommandSchema, command);
}

/** Decodes a log entry payload; throws the protobuf decoding error on malformed bytes. */
export function decodeLogCommand(bytes: Uint8Array): LogCommand {
  return fromBinary(LogCommandSchema, bytes);
}

function toSafeIndex(value: number, name: string): bigint {
  assert(Number.isSafeInteger(value) && value >= 1, `${name} ${value} is not a positive safe integer`);
  return BigInt(value);
}

/**
 * Applies all events of one committed entry at (`raftIndex`, `raftTerm`) and records its client session. A
 * repeat of the session's last sequence (a retry that reached the log twice) or an older one changes nothing.
 * Entries must be applied in log order. The state keeps `command.reply` (as the session's reply): the caller must
 * not mutate the command afterwards.
 */
export function applyCommand(
  state: ControllerState,
  command: LogCommand,
  raftIndex: number,
  raftTerm: number,
  options: ApplyOptions = {},
): ApplyResult {
  const context: ApplyContext = {
    raftIndex: toSafeIndex(raftIndex, 'raftIndex'),
    raftTerm: toSafeIndex(raftTerm, 'raftTerm'),
  };
  const session = command.clientId === '' ? undefined : state.sessions.get(command.clientId);
  if (session !== undefined && command.sequence <= session.lastSequence) {
    const duplicate = command.sequence === session.lastSequence;
    const reply = duplicate
      ? session.lastReply
      : encodeReply(staleSequenceReply(command.clientId, command.sequence, session.lastSequence));
    return {
      outcome: duplicate ? 'duplicate' : 'stale',
      reply,
      applied: [],
      touchedGroups: [],
      removedGroups: [],
      configChanged: false,
      policiesChanged: false,
    };
  }
  const applied: AppliedEvent[] = [];
  const touched = new Set<string>();
  const removed = new Set<string>();
  let configChanged = false;
  let policiesChanged = false;
  command.events.forEach((event, position) => {
    const effect = applyEvent(state, event, context);
    if (effect.brokerName !== undefined && effect.ignored === undefined) touched.add(effect.brokerName);
    if (effect.removed === true && effect.brokerName !== undefined) removed.add(effect.brokerName);
    configChanged ||= effect.configChanged === true;
    policiesChanged ||= effect.policiesChanged === true;
    const group = effect.brokerName === undefined ? undefined : state.groups.get(effect.brokerName);
    applied.push({
      position,
      event: effect.event,
      brokerName: effect.brokerName,
      ignored: effect.ignored,
      groupAfter:
        options.groupAfter === true && group !== undefined
          ? groupToProto(group, { includeAudit: false })
          : undefined,
    });
  });
  if (command.clientId !== '')
    recordSession(state, command.clientId, command.sequence, command.reply, context.raftIndex);
  return {
    outcome: 'applied',
    reply: command.reply,
    applied,
    touchedGroups: [...touched].sort(),
    removedGroups: [...removed].sort(),
    configChanged,
    policiesChanged,
  };
}

function applyEvent(state: ControllerState, event: ControllerEvent, context: ApplyContext): EventEffect {
  const e = event.event;
  switch (e.case) {
    case 'applyBrokerId':
      return applyApplyBrokerId(state, event, e.value);
    case 'electMaster':
      return applyElectMaster(state, event, e.value, context);
    case 'alterSyncStateSet':
      return applyAlterSyncStateSet(state, event, e.value);
    case 'cleanBrokerData':
      return applyCleanBrokerData(state, event, e.value);
    case 'updateBrokerAddress':
      return applyUpdateBrokerAddress(state, event, e.value);
    case 'configChange':
      return applyConfigChange(state, event, e.value);
    case 'policyConfig':
      return applyPolicyConfig(state, event, e.value);
    case undefined:
      return { event, brokerName: undefined, ignored: 'empty event' };
  }
}

function bumpEpoch(epoch: number, what: string, brokerName: string): number {
  assert(epoch < epochMax, `${what} of ${brokerName} would overflow int32 (${epoch})`);
  return epoch + 1;
}

/** Never hands out an id at or below a registered one (RocketMQ increments instead; see the README). */
function addReplica(group: GroupState, event: ApplyBrokerIdEvent): void {
  group.replicas.set(event.newBrokerId, {
    address: event.brokerAddress,
    registerCheckCode: event.registerCheckCode,
  });
  const next = event.newBrokerId + 1n;
  if (next > group.nextAssignBrokerId) group.nextAssignBrokerId = next;
}

function applyApplyBrokerId(
  state: ControllerState,
  event: ControllerEvent,
  e: ApplyBrokerIdEvent,
): EventEffect {
  const brokerName = e.brokerName;
  const group = state.groups.get(brokerName);
  if (group === undefined) {
    const created: GroupState = {
      clusterName: e.clusterName,
      brokerName,
      nextAssignBrokerId: 1n,
      replicas: new Map(),
      masterBrokerId: undefined,
      masterEpoch: 0,
      syncStateSet: [],
      syncStateSetEpoch: 0,
      audit: [],
    };
    addReplica(created, e);
    state.groups.set(brokerName, created);
    return { event, brokerName };
  }
  if (group.replicas.has(e.newBrokerId))
    return { event, brokerName, ignored: `broker id ${e.newBrokerId} is already registered` };
  addReplica(group, e);
  return { event, brokerName };
}

function applyElectMaster(
  state: ControllerState,
  event: ControllerEvent,
  e: ElectMasterEvent,
  context: ApplyContext,
): EventEffect {
  const brokerName = e.brokerName;
  const group = state.groups.get(brokerName);
  if (group === undefined) return { event, brokerName, ignored: 'unknown broker group' };
  if (e.newMasterElected) {
    if (!group.replicas.has(e.newMasterBrokerId)) {
      return { event, brokerName, ignored: `new master ${e.newMasterBrokerId} is not registered` };
    }
    group.masterBrokerId = e.newMasterBrokerId;
    group.masterEpoch = bumpEpoch(group.masterEpoch, 'masterEpoch', brokerName);
    group.syncStateSet = [e.newMasterBrokerId];
    group.syncStateSetEpoch = bumpEpoch(group.syncStateSetEpoch, 'syncStateSetEpoch', brokerName);
  } else {
    group.masterBrokerId = undefined;
    group.masterEpoch = bumpEpoch(group.masterEpoch, 'masterEpoch', brokerName);
  }
  if (e.audit === undefined) return { event, brokerName };
  const audit = clone(ElectionAuditRecordSchema, e.audit);
  audit.raftIndex = context.raftIndex;
  audit.raftTerm = context.raftTerm;
  audit.masterEpoch = group.masterEpoch;
  group.audit.push(audit);
  if (group.audit.length > state.limits.auditRecordsPerGroupMax) {
    group.audit.splice(0, group.audit.length - state.limits.auditRecordsPerGroupMax);
  }
  const appliedEvent = create(ControllerEventSchema, {
    event: { case: 'electMaster', value: { ...e, audit } },
  });
  return { event: appliedEvent, brokerName };
}

function applyAlterSyncStateSet(
  state: ControllerState,
  event: ControllerEvent,
  e: AlterSyncStateSetEvent,
): EventEffect {
  const brokerName = e.brokerName;
  const group = state.groups.get(brokerName);
  if (group === undefined) return { event, brokerName, ignored: 'unknown broker group' };
  const ids = sortedUniqueIds(e.newSyncStateSet);
  const unregistered = ids.find((id) => !group.replicas.has(id));
  if (unregistered !== undefined)
    return { event, brokerName, ignored: `broker id ${unregistered} is not registered` };
  if (group.masterBrokerId !== undefined && !ids.includes(group.masterBrokerId)) {
    return { event, brokerName, ignored: `the set leaves out the master ${group.masterBrokerId}` };
  }
  group.syncStateSet = ids;
  group.syncStateSetEpoch = bumpEpoch(group.syncStateSetEpoch, 'syncStateSetEpoch', brokerName);
  return { event, brokerName };
}

/**
 * RocketMQ removes the ids from the replicas and the SyncStateSet and drops the group once it has no replica.
 * Regent keeps the state coherent where RocketMQ does not: removing members of the SyncStateSet bumps its epoch,
 * and removing the master clears it and bumps masterEpoch (see the README).
 */
function applyCleanBrokerData(
  state: ControllerState,
  event: ControllerEvent,
  e: CleanBrokerDataEvent,
): EventEffect {
  const brokerName = e.brokerName;
  const group = state.groups.get(brokerName);
  if (group === undefined) return { event, brokerName, ignored: 'unknown broker group' };
  if (e.brokerIdsToClean.length === 0) {
    state.groups.delete(brokerName);
    return { event, brokerName, removed: true };
  }
  const toClean = new Set(e.brokerIdsToClean);
  for (const id of toClean) group.replicas.delete(id);
  if (group.replicas.size === 0) {
    state.groups.delete(brokerName);
    return { event, brokerName, removed: true };
  }
  const remaining = group.syncStateSet.filter((id) => !toClean.has(id));
  if (remaining.length !== group.syncStateSet.length) {
    group.syncStateSet = remaining;
    group.syncStateSetEpoch = bumpEpoch(group.syncStateSetEpoch, 'syncStateSetEpoch', brokerName);
  }
  if (group.masterBrokerId !== undefined && toClean.has(group.masterBrokerId)) {
    group.masterBrokerId = undefined;
    group.masterEpoch = bumpEpoch(group.masterEpoch, 'masterEpoch', brokerName);
  }
  return { event, brokerName };
}

function applyUpdateBrokerAddress(
  state: ControllerState,
  event: ControllerEvent,
  e: UpdateBrokerAddressEvent,
): EventEffect {
  const brokerName = e.brokerName;
  const group = state.groups.get(brokerName);
  if (group === undefined) return { event, brokerName, ignored: 'unknown broker group' };
  const replica = group.replicas.get(e.brokerId);
  if (replica === undefined)
    return { event, brokerName, ignored: `broker id ${e.brokerId} is not registered` };
  group.replicas.set(e.brokerId, { address: e.brokerAddress, registerCheckCode: replica.registerCheckCode });
  return { event, brokerName };
}

function applyConfigChange(
  state: ControllerState,
  event: ControllerEvent,
  e: ConfigChangeEvent,
): EventEffect {
  const refused: string[] = [];
  for (const key of Object.keys(e.entries).sort()) {
    const checked = validateConfigEntry(key, e.entries[key] as string);
    if ('error' in checked) refused.push(key);
    else state.config.set(key, checked.canonical);
  }
  const ignored = refused.length === 0 ? undefined : `config keys refused: ${refused.join(', ')}`;
  return {
    event,
    brokerName: undefined,
    ignored,
    configChanged: refused.length < Object.keys(e.entries).length,
  };
}

function applyPolicyConfig(
  state: ControllerState,
  event: ControllerEvent,
  e: PolicyConfigEvent,
): EventEffect {
  if (e.brokerName === '') {
    if (e.policy === undefined) state.clusterPolicies.delete(e.clusterName);
    else state.clusterPolicies.set(e.clusterName, clone(PolicyConfigSchema, e.policy));
    return { event, brokerName: undefined, policiesChanged: true };
  }
  const key = groupPolicyKey(e.clusterName, e.brokerName);
  if (e.policy === undefined) state.groupPolicies.delete(key);
  else state.groupPolicies.set(key, clone(PolicyConfigSchema, e.policy));
  return { event, brokerName: e.brokerName, policiesChanged: true };
}
