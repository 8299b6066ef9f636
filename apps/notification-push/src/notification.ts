// Turns committed controller events (and Resync snapshots) into RoleChangeNotifications, names their NATS
// subject, and encodes them. Pure: no I/O, no clock (the publish time is passed in).
import { clone, create, toBinary } from '@bufbuild/protobuf';
import type { CommittedEvent } from '@regent/proto/admin';
import { SyncStateSetSchema } from '@regent/proto/common';
import {
  type RoleChangeNotification,
  RoleChangeNotificationSchema,
  RoleChangeReason,
} from '@regent/proto/notify';
import type { BrokerGroupState, ElectionAuditRecord } from '@regent/proto/state';
import { assert } from './assert.js';
import type { OutgoingMessage } from './ports.js';

export const CONTENT_TYPE_HEADER = 'Content-Type';
export const CONTENT_TYPE_PROTOBUF = 'application/x-protobuf';
export const MASTER_EPOCH_HEADER = 'Regent-Master-Epoch';

/** The epochs a broker gates on, in the order it compares them. */
export interface GroupEpochs {
  readonly masterEpoch: number;
  readonly syncStateSetEpoch: number;
}

/** A notification ready to publish except for its publish time. */
export interface Notification {
  readonly subject: string;
  /** `published_at_unix_ms` is 0 here and set when encoded. */
  readonly message: RoleChangeNotification;
  /** When the leader decided (elections only), unix ms; the latency metric measures from here when known. */
  readonly decidedAtUnixMs: number | undefined;
}

export type SkipCause = 'no_group_state' | 'group_mismatch' | 'invalid_subject';

/** What one committed event means for brokers. */
export type EventOutcome =
  | { readonly kind: 'notify'; readonly notification: Notification }
  /** The event changes no roles (registration, config, policy, address, or nothing to say). */
  | { readonly kind: 'none' }
  /** The event removed the whole group: nothing to publish, forget its epochs. */
  | { readonly kind: 'group_removed'; readonly brokerName: string }
  /** The event should notify but cannot (a defect upstream); logged and counted, never retried. */
  | { readonly kind: 'skip'; readonly cause: SkipCause; readonly detail: string };

/** A NATS subject token: not empty, no whitespace or control character, no '.', no wildcard ('*', '>'). */
export function isValidSubjectToken(token: string): boolean {
  if (token === '' || /[\s.*>]/.test(token)) return false;
  for (let i = 0; i < token.length; i++) {
    const code = token.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return false;
  }
  return true;
}

/** Returns an error message when `prefix` is not one or more dot-separated subject tokens. */
export function validateSubjectPrefix(prefix: string): string | undefined {
  if (prefix.split('.').every(isValidSubjectToken)) return undefined;
  return `${JSON.stringify(prefix)} is not a NATS subject prefix (dot-separated tokens without spaces or wildcards)`;
}

/** `<prefix>.<cluster>.<brokerName>.role`, or undefined when a name is not a valid subject token. */
export function subjectOf(prefix: string, clusterName: string, brokerName: string): string | undefined {
  if (!isValidSubjectToken(clusterName) || !isValidSubjectToken(brokerName)) return undefined;
  return `${prefix}.${clusterName}.${brokerName}.role`;
}

/** The epochs of a group state or of a notification. */
export function epochsOf(state: {
  readonly masterEpoch: number;
  readonly syncStateSet?: { readonly epoch: number } | undefined;
}): GroupEpochs {
  return { masterEpoch: state.masterEpoch, syncStateSetEpoch: state.syncStateSet?.epoch ?? 0 };
}

/** True when `a` is newer than `b` in the order brokers gate on (masterEpoch, then syncStateSetEpoch). */
export function isNewer(a: GroupEpochs, b: GroupEpochs): boolean {
  return a.masterEpoch !== b.masterEpoch
    ? a.masterEpoch > b.masterEpoch
    : a.syncStateSetEpoch > b.syncStateSetEpoch;
}

/** The notification a committed event calls for. */
export function outcomeOfEvent(committed: CommittedEvent, subjectPrefix: string): EventOutcome {
  const event = committed.event?.event;
  const group = committed.groupAfter;
  switch (event?.case) {
    case 'electMaster': {
      const e = event.value;
      const reason = e.newMasterElected ? RoleChangeReason.MASTER_ELECTED : RoleChangeReason.MASTER_CLEARED;
      return groupOutcome(group, e.brokerName, reason, committed.index, subjectPrefix, e.audit);
    }
    case 'alterSyncStateSet':
      return groupOutcome(
        group,
        event.value.brokerName,
        RoleChangeReason.SYNC_STATE_SET_CHANGED,
        committed.index,
        subjectPrefix,
        undefined,
      );
    case 'cleanBrokerData':
      if (group === undefined) return { kind: 'group_removed', brokerName: event.value.brokerName };
      return groupOutcome(
        group,
        event.value.brokerName,
        RoleChangeReason.BROKER_DATA_CLEANED,
        committed.index,
        subjectPrefix,
        undefined,
      );
    default:
      return { kind: 'none' };
  }
}

function groupOutcome(
  group: BrokerGroupState | undefined,
  brokerName: string,
  reason: RoleChangeReason,
  raftIndex: bigint,
  subjectPrefix: string,
  audit: ElectionAuditRecord | undefined,
): EventOutcome {
  if (group === undefined) {
    return {
      kind: 'skip',
      cause: 'no_group_state',
      detail: `event for ${brokerName} carries no group state`,
    };
  }
  if (group.brokerName !== brokerName) {
    const detail = `event for ${brokerName} carries the state of ${group.brokerName}`;
    return { kind: 'skip', cause: 'group_mismatch', detail };
  }
  const decidedAt = audit === undefined ? 0n : audit.decidedAtUnixMs;
  const decidedAtUnixMs = decidedAt > 0n ? Number(decidedAt) : undefined;
  return notifyOutcome(group, reason, raftIndex, subjectPrefix, audit?.explanation ?? '', decidedAtUnixMs);
}

function notifyOutcome(
  group: BrokerGroupState,
  reason: RoleChangeReason,
  raftIndex: bigint,
  subjectPrefix: string,
  explanation: string,
  decidedAtUnixMs: number | undefined,
): EventOutcome {
  const subject = subjectOf(subjectPrefix, group.clusterName, group.brokerName);
  if (subject === undefined) {
    const detail = `cluster ${JSON.stringify(group.clusterName)} / group ${JSON.stringify(group.brokerName)}`;
    return { kind: 'skip', cause: 'invalid_subject', detail };
  }
  return {
    kind: 'notify',
    notification: { subject, message: messageOf(group, reason, raftIndex, explanation), decidedAtUnixMs },
  };
}

/**
 * The notification for one group of a Resync at `index`, given the epochs last published for it (undefined when
 * none): the group's current master (or none), or only its SyncStateSet when the master epoch is unchanged.
 */
export function outcomeOfResyncGroup(
  group: BrokerGroupState,
  index: bigint,
  published: GroupEpochs | undefined,
  subjectPrefix: string,
): EventOutcome {
  const sameMaster = published !== undefined && published.masterEpoch === group.masterEpoch;
  const reason = sameMaster
    ? RoleChangeReason.SYNC_STATE_SET_CHANGED
    : group.masterBrokerId === undefined
      ? RoleChangeReason.MASTER_CLEARED
      : RoleChangeReason.MASTER_ELECTED;
  // The newest decision explains the current master only when it produced this masterEpoch. Latency is measured
  // from receipt: that decision may be long past.
  const last = group.audit.at(-1);
  const explains = last !== undefined && last.masterEpoch === group.masterEpoch && !sameMaster;
  return notifyOutcome(group, reason, index, subjectPrefix, explains ? last.explanation : '', undefined);
}

function messageOf(
  group: BrokerGroupState,
  reason: RoleChangeReason,
  raftIndex: bigint,
  explanation: string,
): RoleChangeNotification {
  const master = group.masterBrokerId;
  const masterAddress =
    master === undefined ? '' : (group.replicas.find((r) => r.brokerId === master)?.brokerAddress ?? '');
  const brokerAddresses: Record<string, string> = {};
  for (const replica of group.replicas) brokerAddresses[replica.brokerId.toString()] = replica.brokerAddress;
  return create(RoleChangeNotificationSchema, {
    clusterName: group.clusterName,
    brokerName: group.brokerName,
    masterBrokerId: master,
    masterAddress,
    masterEpoch: group.masterEpoch,
    syncStateSet:
      group.syncStateSet === undefined
        ? create(SyncStateSetSchema)
        : clone(SyncStateSetSchema, group.syncStateSet),
    reason,
    raftIndex,
    brokerAddresses,
    explanation,
    publishedAtUnixMs: 0n,
  });
}

/** The wire form: protobuf binary with the content type and the master epoch in headers. */
export function encodeNotification(notification: Notification, publishedAtUnixMs: number): OutgoingMessage {
  const message = clone(RoleChangeNotificationSchema, notification.message);
  message.publishedAtUnixMs = BigInt(Math.trunc(publishedAtUnixMs));
  assert(message.masterEpoch >= 0, `masterEpoch ${message.masterEpoch} < 0 for ${notification.subject}`);
  const payload = toBinary(RoleChangeNotificationSchema, message);
  assert(payload.byteLength > 0, `empty payload for ${notification.subject}`);
  return {
    subject: notification.subject,
    payload,
    headers: {
      [CONTENT_TYPE_HEADER]: CONTENT_TYPE_PROTOBUF,
      [MASTER_EPOCH_HEADER]: String(message.masterEpoch),
    },
  };
}

/** Metric label of a reason. */
export function reasonLabel(reason: RoleChangeReason): string {
  return (RoleChangeReason[reason] ?? String(reason)).toLowerCase();
}
