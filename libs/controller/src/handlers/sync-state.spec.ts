import { ControllerCondition } from '@regent/proto/common';
import { cluster, commands, errorOf, Harness, replyValue } from '../testing.js';

/** Group "a" with brokers 1..3 alive, master 1 at masterEpoch 1, SyncStateSet {1} at epoch 1. */
function groupWithMaster(): Harness {
  const h = new Harness();
  h.registerGroup('a', 3);
  replyValue(h.submit(commands.electMaster('a', 1n)), 'electMaster');
  return h;
}

const alter = (
  init: { masterBrokerId?: bigint; masterEpoch?: number; brokerIds: bigint[]; epoch?: number },
  clusterName?: string,
) =>
  commands.alterSyncStateSet(
    'a',
    {
      masterBrokerId: init.masterBrokerId ?? 1n,
      masterEpoch: init.masterEpoch ?? 1,
      brokerIds: init.brokerIds,
      epoch: init.epoch ?? 1,
    },
    clusterName,
  );

describe('AlterSyncStateSet (RocketMQ 1001): each check', () => {
  it('1: unknown group → ALTER_SYNC_STATE_SET_FAILED', () => {
    const h = new Harness();
    expect(errorOf(h.submit(alter({ brokerIds: [1n, 2n] }))).condition).toBe(
      ControllerCondition.ALTER_SYNC_STATE_SET_FAILED,
    );
  });

  it('2: a set equal to the current one → ALTER_SYNC_STATE_SET_FAILED', () => {
    const h = groupWithMaster();
    expect(errorOf(h.submit(alter({ brokerIds: [1n, 1n] }))).condition).toBe(
      ControllerCondition.ALTER_SYNC_STATE_SET_FAILED,
    );
  });

  it('3: the requester is not the master → INVALID_MASTER', () => {
    const h = groupWithMaster();
    expect(errorOf(h.submit(alter({ masterBrokerId: 2n, brokerIds: [1n, 2n] }))).condition).toBe(
      ControllerCondition.INVALID_MASTER,
    );
  });

  it('3: the group has no master → INVALID_MASTER', () => {
    const h = new Harness();
    h.registerGroup('a', 2);
    expect(errorOf(h.submit(alter({ masterEpoch: 0, epoch: 0, brokerIds: [1n, 2n] }))).condition).toBe(
      ControllerCondition.INVALID_MASTER,
    );
  });

  it('4: a stale masterEpoch → FENCED_MASTER_EPOCH', () => {
    const h = groupWithMaster();
    expect(errorOf(h.submit(alter({ masterEpoch: 0, brokerIds: [1n, 2n] }))).condition).toBe(
      ControllerCondition.FENCED_MASTER_EPOCH,
    );
  });

  it('5: a stale syncStateSetEpoch → FENCED_SYNC_STATE_SET_EPOCH', () => {
    const h = groupWithMaster();
    expect(errorOf(h.submit(alter({ epoch: 0, brokerIds: [1n, 2n] }))).condition).toBe(
      ControllerCondition.FENCED_SYNC_STATE_SET_EPOCH,
    );
  });

  it('6: an unregistered member → INVALID_REPLICAS', () => {
    const h = groupWithMaster();
    expect(errorOf(h.submit(alter({ brokerIds: [1n, 9n] }))).condition).toBe(
      ControllerCondition.INVALID_REPLICAS,
    );
  });

  it('6: a dead member → BROKER_NOT_ALIVE', () => {
    const h = groupWithMaster();
    h.advance(20_000);
    h.heartbeat('a', 1n);
    expect(errorOf(h.submit(alter({ brokerIds: [1n, 2n] }))).condition).toBe(
      ControllerCondition.BROKER_NOT_ALIVE,
    );
  });

  it('7: a set without the master → ALTER_SYNC_STATE_SET_FAILED', () => {
    const h = groupWithMaster();
    expect(errorOf(h.submit(alter({ brokerIds: [2n, 3n] }))).condition).toBe(
      ControllerCondition.ALTER_SYNC_STATE_SET_FAILED,
    );
  });

  it('success: bumps the epoch, answers the new set, emits AlterSyncStateSet', () => {
    const h = groupWithMaster();
    const reply = replyValue(h.submit(alter({ brokerIds: [3n, 1n, 2n] })), 'alterSyncStateSet');
    expect(reply.syncStateSet).toMatchObject({ brokerIds: [1n, 2n, 3n], epoch: 2 });
    expect(h.state.groups.get('a')).toMatchObject({
      syncStateSet: [1n, 2n, 3n],
      syncStateSetEpoch: 2,
      masterEpoch: 1,
    });
    expect(h.log.at(-1)?.events[0]?.event.case).toBe('alterSyncStateSet');
  });

  it('Regent: another cluster → CLUSTER_MISMATCH', () => {
    const h = groupWithMaster();
    expect(errorOf(h.submit(alter({ brokerIds: [1n, 2n] }, 'other'))).condition).toBe(
      ControllerCondition.CLUSTER_MISMATCH,
    );
  });
});

describe('AlterSyncStateSet: validation order', () => {
  it('an unchanged set (2) wins over a wrong master (3)', () => {
    const h = groupWithMaster();
    expect(errorOf(h.submit(alter({ masterBrokerId: 2n, brokerIds: [1n] }))).condition).toBe(
      ControllerCondition.ALTER_SYNC_STATE_SET_FAILED,
    );
  });

  it('a wrong master (3) wins over a stale masterEpoch (4)', () => {
    const h = groupWithMaster();
    expect(
      errorOf(h.submit(alter({ masterBrokerId: 2n, masterEpoch: 0, brokerIds: [1n, 2n] }))).condition,
    ).toBe(ControllerCondition.INVALID_MASTER);
  });

  it('a stale masterEpoch (4) wins over a stale syncStateSetEpoch (5)', () => {
    const h = groupWithMaster();
    expect(errorOf(h.submit(alter({ masterEpoch: 7, epoch: 7, brokerIds: [1n, 2n] }))).condition).toBe(
      ControllerCondition.FENCED_MASTER_EPOCH,
    );
  });

  it('a stale syncStateSetEpoch (5) wins over an unregistered member (6)', () => {
    const h = groupWithMaster();
    expect(errorOf(h.submit(alter({ epoch: 7, brokerIds: [1n, 9n] }))).condition).toBe(
      ControllerCondition.FENCED_SYNC_STATE_SET_EPOCH,
    );
  });

  it('members are checked in ascending order: a dead 2 wins over an unregistered 9', () => {
    const h = groupWithMaster();
    h.advance(20_000);
    h.heartbeat('a', 1n);
    expect(errorOf(h.submit(alter({ brokerIds: [9n, 2n, 1n] }))).condition).toBe(
      ControllerCondition.BROKER_NOT_ALIVE,
    );
  });

  it('an unregistered member (6) wins over a set without the master (7)', () => {
    const h = groupWithMaster();
    expect(errorOf(h.submit(alter({ brokerIds: [2n, 9n] }))).condition).toBe(
      ControllerCondition.INVALID_REPLICAS,
    );
  });
});

describe('GetReplicaInfo (RocketMQ 1004)', () => {
  it('answers BROKER_METADATA_NOT_EXIST for an unknown group', () => {
    const h = new Harness();
    expect(errorOf(h.submit(commands.getReplicaInfo('a'))).condition).toBe(
      ControllerCondition.BROKER_METADATA_NOT_EXIST,
    );
  });

  it('answers the master as the state holds it, without a liveness check', () => {
    const h = groupWithMaster();
    h.advance(60_000);
    const reply = replyValue(h.submit(commands.getReplicaInfo('a')), 'getReplicaInfo');
    expect(reply).toMatchObject({ masterBrokerId: 1n, masterAddress: 'a-1:10911', masterEpoch: 1 });
    expect(reply.syncStateSet).toMatchObject({ brokerIds: [1n], epoch: 1 });
  });

  it('answers CLUSTER_MISMATCH for another cluster', () => {
    const h = groupWithMaster();
    expect(errorOf(h.submit(commands.getReplicaInfo('a', 'other'))).condition).toBe(
      ControllerCondition.CLUSTER_MISMATCH,
    );
  });
});

describe('GetSyncStateData (RocketMQ 1006)', () => {
  it('broker variant: splits replicas by the SyncStateSet with alive flags and skips unknown names', () => {
    const h = groupWithMaster();
    h.advance(20_000);
    h.heartbeat('a', 1n);
    h.heartbeat('a', 3n);
    const reply = replyValue(h.submit(commands.getSyncStateData(['a', 'nope'])), 'getSyncStateData');
    expect(Object.keys(reply.replicas)).toEqual(['a']);
    const info = reply.replicas.a;
    expect(info).toMatchObject({
      masterBrokerId: 1n,
      masterAddress: 'a-1:10911',
      masterEpoch: 1,
      syncStateSetEpoch: 1,
      clusterName: cluster,
    });
    expect(info?.inSyncReplicas.map((r) => [r.brokerId, r.alive])).toEqual([[1n, true]]);
    expect(info?.notInSyncReplicas.map((r) => [r.brokerId, r.alive])).toEqual([
      [2n, false],
      [3n, true],
    ]);
  });

  it('broker variant: an empty list is INVALID_ARGUMENT (RocketMQ SYSTEM_ERROR)', () => {
    const h = new Harness();
    expect(errorOf(h.submit(commands.getSyncStateData([]))).condition).toBe(
      ControllerCondition.INVALID_ARGUMENT,
    );
  });

  it('broker variant: skips groups of another cluster', () => {
    const h = groupWithMaster();
    const reply = replyValue(h.submit(commands.getSyncStateData(['a'], 'other')), 'getSyncStateData');
    expect(reply.replicas).toEqual({});
  });

  it('admin variant: no names means every group, filtered by cluster when one is named', () => {
    const h = groupWithMaster();
    h.registerGroup('b', 1, 'c2');
    expect(
      Object.keys(replyValue(h.submit(commands.adminGetSyncStateData([])), 'adminGetSyncStateData').replicas),
    ).toEqual(['a', 'b']);
    expect(
      Object.keys(
        replyValue(h.submit(commands.adminGetSyncStateData([], 'c2')), 'adminGetSyncStateData').replicas,
      ),
    ).toEqual(['b']);
  });
});
