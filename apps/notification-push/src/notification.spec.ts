import { clone, create, fromBinary } from '@bufbuild/protobuf';
import { type CommittedEvent, CommittedEventSchema } from '@regent/proto/admin';
import { RoleChangeNotificationSchema, RoleChangeReason } from '@regent/proto/notify';
import { BrokerGroupStateSchema } from '@regent/proto/state';
import { describe, expect, it } from 'vitest';
import {
  alterSyncStateSet,
  clean,
  configChange,
  elect,
  FakeControllerLog,
  register,
  seedGroup,
} from './fake-log.test-support.js';
import {
  encodeNotification,
  isNewer,
  MASTER_EPOCH_HEADER,
  type Notification,
  outcomeOfEvent,
  outcomeOfResyncGroup,
  subjectOf,
  validateSubjectPrefix,
} from './notification.js';

function lastEvent(log: FakeControllerLog): CommittedEvent {
  return log.events[log.events.length - 1]!;
}

function notificationOf(committed: CommittedEvent, prefix = 'regent'): Notification {
  const outcome = outcomeOfEvent(committed, prefix);
  if (outcome.kind !== 'notify') throw new Error(`expected a notification, got ${outcome.kind}`);
  return outcome.notification;
}

function seeded(): FakeControllerLog {
  const log = new FakeControllerLog();
  seedGroup(
    log,
    'DefaultCluster',
    'broker-a',
    [
      [1n, '10.0.0.1:10911'],
      [2n, '10.0.0.2:10911'],
    ],
    1n,
  );
  return log;
}

describe('outcomeOfEvent', () => {
  it('an election names the master, its address, the epochs, every replica and the explanation', () => {
    const log = seeded();
    log.entry(
      elect('broker-a', 2n, { explanation: 'broker 2 is the only live replica', decidedAtUnixMs: 1234 }),
    );
    const n = notificationOf(lastEvent(log));
    expect(n.subject).toBe('regent.DefaultCluster.broker-a.role');
    expect(n.decidedAtUnixMs).toBe(1234);
    expect(n.message).toMatchObject({
      clusterName: 'DefaultCluster',
      brokerName: 'broker-a',
      masterBrokerId: 2n,
      masterAddress: '10.0.0.2:10911',
      masterEpoch: 2,
      reason: RoleChangeReason.MASTER_ELECTED,
      raftIndex: log.lastIndex,
      explanation: 'broker 2 is the only live replica',
      brokerAddresses: { '1': '10.0.0.1:10911', '2': '10.0.0.2:10911' },
    });
    expect(n.message.syncStateSet).toMatchObject({ brokerIds: [2n], epoch: 2 });
  });

  it('a cleared master has no id and no address', () => {
    const log = seeded();
    log.entry(elect('broker-a', undefined, { explanation: 'no candidate' }));
    const n = notificationOf(lastEvent(log));
    expect(n.message.reason).toBe(RoleChangeReason.MASTER_CLEARED);
    expect(n.message.masterBrokerId).toBeUndefined();
    expect(n.message.masterAddress).toBe('');
    expect(n.message.masterEpoch).toBe(2);
    expect(n.decidedAtUnixMs).toBeUndefined();
  });

  it('a SyncStateSet change and a partial clean notify with the state after the event', () => {
    const log = seeded();
    log.entry(alterSyncStateSet('broker-a', [1n, 2n]));
    const altered = notificationOf(lastEvent(log));
    expect(altered.message.reason).toBe(RoleChangeReason.SYNC_STATE_SET_CHANGED);
    expect(altered.message.syncStateSet).toMatchObject({ brokerIds: [1n, 2n], epoch: 2 });
    expect(altered.message.explanation).toBe('');

    log.entry(clean('broker-a', [2n]));
    const cleaned = notificationOf(lastEvent(log));
    expect(cleaned.message.reason).toBe(RoleChangeReason.BROKER_DATA_CLEANED);
    expect(cleaned.message.brokerAddresses).toEqual({ '1': '10.0.0.1:10911' });
  });

  it('removing a whole group publishes nothing and says which group is gone', () => {
    const log = seeded();
    log.entry(clean('broker-a', []));
    expect(outcomeOfEvent(lastEvent(log), 'regent')).toEqual({
      kind: 'group_removed',
      brokerName: 'broker-a',
    });
  });

  it('registration and configuration events need no notification', () => {
    const log = new FakeControllerLog();
    log.entry(register('c', 'b', 1n, 'a:1'));
    expect(outcomeOfEvent(lastEvent(log), 'regent').kind).toBe('none');
    log.entry(configChange('k', 'v'));
    expect(outcomeOfEvent(lastEvent(log), 'regent').kind).toBe('none');
  });

  it('skips what it cannot describe: no group state, another group, names invalid in a subject', () => {
    const log = seeded();
    log.entry(elect('missing', 1n));
    expect(outcomeOfEvent(lastEvent(log), 'regent')).toMatchObject({ kind: 'skip', cause: 'no_group_state' });

    log.entry(elect('broker-a', 1n));
    const wrong = clone(CommittedEventSchema, lastEvent(log));
    wrong.groupAfter!.brokerName = 'broker-b';
    expect(outcomeOfEvent(wrong, 'regent')).toMatchObject({ kind: 'skip', cause: 'group_mismatch' });

    const bad = new FakeControllerLog();
    seedGroup(bad, 'my cluster', 'broker-a', [[1n, 'a:1']], 1n);
    expect(outcomeOfEvent(lastEvent(bad), 'regent')).toMatchObject({
      kind: 'skip',
      cause: 'invalid_subject',
    });
  });
});

describe('outcomeOfResyncGroup', () => {
  const log = seeded();
  const group = log.groups.get('broker-a')!;

  it('a group never published is announced with its master and the decision that made it', () => {
    const outcome = outcomeOfResyncGroup(group, 9n, undefined, 'regent');
    expect(outcome).toMatchObject({
      kind: 'notify',
      notification: {
        message: { reason: RoleChangeReason.MASTER_ELECTED, raftIndex: 9n, masterBrokerId: 1n },
      },
    });
    if (outcome.kind === 'notify') expect(outcome.notification.message.explanation).toBe('1 ranked first');
  });

  it('an unchanged master epoch with a newer set is a SyncStateSet change', () => {
    const published = { masterEpoch: group.masterEpoch, syncStateSetEpoch: 0 };
    const outcome = outcomeOfResyncGroup(group, 9n, published, 'regent');
    expect(outcome).toMatchObject({
      notification: { message: { reason: RoleChangeReason.SYNC_STATE_SET_CHANGED } },
    });
  });

  it('a group without master is announced as cleared', () => {
    const noMaster = create(BrokerGroupStateSchema, { ...group, masterBrokerId: undefined, masterEpoch: 7 });
    const outcome = outcomeOfResyncGroup(noMaster, 9n, { masterEpoch: 6, syncStateSetEpoch: 9 }, 'regent');
    expect(outcome).toMatchObject({ notification: { message: { reason: RoleChangeReason.MASTER_CLEARED } } });
  });
});

describe('subjects and epochs', () => {
  it.each([
    ['regent', 'DefaultCluster', 'broker-a', 'regent.DefaultCluster.broker-a.role'],
    ['prod.regent', 'c1', 'b_1', 'prod.regent.c1.b_1.role'],
    ['regent', 'a.b', 'x', undefined],
    ['regent', 'c', 'b*', undefined],
    ['regent', 'c', '>', undefined],
    ['regent', '', 'b', undefined],
    ['regent', 'c', 'with space', undefined],
  ])('subjectOf(%s, %s, %s) = %s', (prefix, cluster, broker, expected) => {
    expect(subjectOf(prefix, cluster, broker)).toBe(expected);
  });

  it.each([
    ['regent', true],
    ['a.b.c', true],
    ['', false],
    ['a..b', false],
    ['a.*', false],
    ['a b', false],
  ])('prefix %j valid: %s', (prefix, valid) => {
    expect(validateSubjectPrefix(prefix) === undefined).toBe(valid);
  });

  it.each([
    [{ masterEpoch: 2, syncStateSetEpoch: 1 }, { masterEpoch: 1, syncStateSetEpoch: 5 }, true],
    [{ masterEpoch: 1, syncStateSetEpoch: 6 }, { masterEpoch: 1, syncStateSetEpoch: 5 }, true],
    [{ masterEpoch: 1, syncStateSetEpoch: 5 }, { masterEpoch: 1, syncStateSetEpoch: 5 }, false],
    [{ masterEpoch: 1, syncStateSetEpoch: 9 }, { masterEpoch: 2, syncStateSetEpoch: 1 }, false],
  ])('isNewer(%j, %j) = %s', (a, b, expected) => {
    expect(isNewer(a, b)).toBe(expected);
  });
});

describe('encodeNotification', () => {
  it('round-trips through protobuf binary with the publish time and the epoch header', () => {
    const log = seeded();
    const n = notificationOf(lastEvent(log));
    const wire = encodeNotification(n, 1_700_000_000_123);
    expect(wire.subject).toBe('regent.DefaultCluster.broker-a.role');
    expect(wire.headers).toEqual({ 'Content-Type': 'application/x-protobuf', [MASTER_EPOCH_HEADER]: '1' });
    const decoded = fromBinary(RoleChangeNotificationSchema, wire.payload);
    expect(decoded.publishedAtUnixMs).toBe(1_700_000_000_123n);
    expect(decoded.masterBrokerId).toBe(1n);
    expect(n.message.publishedAtUnixMs).toBe(0n);
  });
});
