import { ControllerCondition } from '@regent/proto/common';
import { cluster, commands, errorOf, Harness, replyValue } from '../testing.js';
import { handleApplyBrokerId } from './registration.js';

describe('GetNextBrokerId (RocketMQ 1012)', () => {
  it('answers 1 for an unknown group', () => {
    const h = new Harness();
    expect(replyValue(h.submit(commands.getNextBrokerId('a')), 'getNextBrokerId').nextBrokerId).toBe(1n);
  });

  it("answers the group's counter, which never goes back after a clean", () => {
    const h = new Harness();
    h.registerGroup('a', 3);
    expect(replyValue(h.submit(commands.getNextBrokerId('a')), 'getNextBrokerId').nextBrokerId).toBe(4n);
    h.advance(20_000);
    h.heartbeat('a', 1n);
    h.submit(commands.cleanBrokerData('a', [3n]));
    expect(replyValue(h.submit(commands.getNextBrokerId('a')), 'getNextBrokerId').nextBrokerId).toBe(4n);
  });

  it('answers CLUSTER_MISMATCH for a known group named under another cluster (Regent)', () => {
    const h = new Harness();
    h.registerGroup('a', 1);
    expect(errorOf(h.submit(commands.getNextBrokerId('a', 'other'))).condition).toBe(
      ControllerCondition.CLUSTER_MISMATCH,
    );
  });

  it('answers INVALID_ARGUMENT for an empty group name', () => {
    const h = new Harness();
    expect(errorOf(h.submit(commands.getNextBrokerId(''))).field).toBe('broker_name');
  });
});

describe('ApplyBrokerId (RocketMQ 1013)', () => {
  it('creates an unknown group with id 1, taking the address from the check code', () => {
    const h = new Harness();
    replyValue(h.submit(commands.applyBrokerId('a', 1n, '10.0.0.1:10911;123')), 'applyBrokerId');
    const group = h.state.groups.get('a');
    expect(group?.clusterName).toBe(cluster);
    expect(group?.replicas.get(1n)).toEqual({
      address: '10.0.0.1:10911',
      registerCheckCode: '10.0.0.1:10911;123',
    });
    expect(group?.nextAssignBrokerId).toBe(2n);
    expect(group?.masterEpoch).toBe(0);
    expect(group?.syncStateSet).toEqual([]);
  });

  it('answers BROKER_ID_INVALID for an unknown group and an id other than 1', () => {
    const h = new Harness();
    expect(errorOf(h.submit(commands.applyBrokerId('a', 2n, 'x:1;1'))).condition).toBe(
      ControllerCondition.BROKER_ID_INVALID,
    );
    expect(h.state.groups.size).toBe(0);
  });

  it('claims a free id of a known group', () => {
    const h = new Harness();
    h.submit(commands.applyBrokerId('a', 1n, 'x:1;1'));
    replyValue(h.submit(commands.applyBrokerId('a', 2n, 'x:2;1')), 'applyBrokerId');
    expect([...(h.state.groups.get('a')?.replicas.keys() ?? [])]).toEqual([1n, 2n]);
  });

  it('is an idempotent read when the id is held under the same check code', () => {
    const h = new Harness();
    h.submit(commands.applyBrokerId('a', 1n, 'x:1;1'));
    const result = handleApplyBrokerId(
      h.state,
      commands.applyBrokerId('a', 1n, 'x:1;1').command.value as never,
    );
    expect(result.events).toEqual([]);
    expect(result.reply.reply.case).toBe('applyBrokerId');
  });

  it('answers BROKER_ID_INVALID when the id is held under another check code', () => {
    const h = new Harness();
    h.submit(commands.applyBrokerId('a', 1n, 'x:1;1'));
    expect(errorOf(h.submit(commands.applyBrokerId('a', 1n, 'y:1;2'))).condition).toBe(
      ControllerCondition.BROKER_ID_INVALID,
    );
    expect(h.state.groups.get('a')?.replicas.get(1n)?.address).toBe('x:1');
  });

  it('lets the loser of a race for id 1 fail and retry with the next id', () => {
    const h = new Harness();
    h.submit(commands.applyBrokerId('a', 1n, 'winner:1;1'));
    expect(errorOf(h.submit(commands.applyBrokerId('a', 1n, 'loser:1;1'))).condition).toBe(
      ControllerCondition.BROKER_ID_INVALID,
    );
    const next = replyValue(h.submit(commands.getNextBrokerId('a')), 'getNextBrokerId').nextBrokerId;
    expect(next).toBe(2n);
    replyValue(h.submit(commands.applyBrokerId('a', next, 'loser:1;1')), 'applyBrokerId');
  });

  it('answers CLUSTER_MISMATCH for a known group of another cluster (Regent)', () => {
    const h = new Harness();
    h.submit(commands.applyBrokerId('a', 1n, 'x:1;1'));
    expect(errorOf(h.submit(commands.applyBrokerId('a', 2n, 'x:2;1', 'other'))).condition).toBe(
      ControllerCondition.CLUSTER_MISMATCH,
    );
  });

  it('answers BROKER_ID_INVALID for ids below 1 of a known group (Regent)', () => {
    const h = new Harness();
    h.submit(commands.applyBrokerId('a', 1n, 'x:1;1'));
    expect(errorOf(h.submit(commands.applyBrokerId('a', 0n, 'x:0;1'))).condition).toBe(
      ControllerCondition.BROKER_ID_INVALID,
    );
    expect(errorOf(h.submit(commands.applyBrokerId('a', -1n, 'x:0;1'))).condition).toBe(
      ControllerCondition.BROKER_ID_INVALID,
    );
  });

  it('answers OVERLOADED when the group or the group table is full', () => {
    const h = new Harness({
      limits: {
        groupsMax: 1,
        replicasPerGroupMax: 2,
        auditRecordsPerGroupMax: 4,
        sessionsMax: 4,
        clusterPoliciesMax: 1,
        groupPoliciesMax: 1,
      },
    });
    h.submit(commands.applyBrokerId('a', 1n, 'x:1;1'));
    h.submit(commands.applyBrokerId('a', 2n, 'x:2;1'));
    expect(errorOf(h.submit(commands.applyBrokerId('a', 3n, 'x:3;1'))).condition).toBe(
      ControllerCondition.OVERLOADED,
    );
    expect(errorOf(h.submit(commands.applyBrokerId('b', 1n, 'x:1;1'))).condition).toBe(
      ControllerCondition.OVERLOADED,
    );
  });

  it('requires a cluster name and a check code', () => {
    const h = new Harness();
    expect(errorOf(h.submit(commands.applyBrokerId('a', 1n, 'x:1;1', ''))).field).toBe('cluster_name');
    expect(errorOf(h.submit(commands.applyBrokerId('a', 1n, ''))).field).toBe('register_check_code');
  });

  it('deviation: an id applied out of turn moves the counter past it, so GetNextBrokerId cannot livelock', () => {
    const h = new Harness();
    h.submit(commands.applyBrokerId('a', 1n, 'x:1;1'));
    h.submit(commands.applyBrokerId('a', 5n, 'x:5;1'));
    // RocketMQ increments the counter to 3 and later hands out 5 again, which its holder refuses forever.
    expect(replyValue(h.submit(commands.getNextBrokerId('a')), 'getNextBrokerId').nextBrokerId).toBe(6n);
  });
});

describe('RegisterBroker (RocketMQ 1003)', () => {
  it('answers BROKER_NEED_TO_BE_REGISTERED for an unknown group', () => {
    const h = new Harness();
    expect(errorOf(h.submit(commands.registerBroker('a', 1n, 'x:1'))).condition).toBe(
      ControllerCondition.BROKER_NEED_TO_BE_REGISTERED,
    );
  });

  it('answers BROKER_NEED_TO_BE_REGISTERED for an unknown id', () => {
    const h = new Harness();
    h.registerGroup('a', 1);
    expect(errorOf(h.submit(commands.registerBroker('a', 9n, 'x:9'))).condition).toBe(
      ControllerCondition.BROKER_NEED_TO_BE_REGISTERED,
    );
  });

  it('answers CLUSTER_MISMATCH for another cluster (Regent)', () => {
    const h = new Harness();
    h.registerGroup('a', 1);
    expect(errorOf(h.submit(commands.registerBroker('a', 1n, 'a-1:10911', 'other'))).condition).toBe(
      ControllerCondition.CLUSTER_MISMATCH,
    );
  });

  it('is a read when the address is unchanged and leaves out a master that does not exist', () => {
    const h = new Harness();
    h.registerGroup('a', 2);
    const entries = h.log.length;
    const reply = replyValue(h.submit(commands.registerBroker('a', 2n, 'a-2:10911')), 'registerBroker');
    expect(h.log.length).toBe(entries);
    expect(reply.masterBrokerId).toBeUndefined();
    expect(reply.masterAddress).toBe('');
    expect(reply.masterEpoch).toBe(0);
    expect(reply.syncStateSet?.brokerIds).toEqual([]);
  });

  it('fills the master fields when the master exists and is alive', () => {
    const h = new Harness();
    h.registerGroup('a', 2);
    h.submit(commands.electMaster('a', 1n));
    const reply = replyValue(h.submit(commands.registerBroker('a', 2n, 'a-2:10911')), 'registerBroker');
    expect(reply).toMatchObject({ masterBrokerId: 1n, masterAddress: 'a-1:10911', masterEpoch: 1 });
    expect(reply.syncStateSet).toMatchObject({ brokerIds: [1n], epoch: 1 });
  });

  it('leaves out a master that exists but is not alive', () => {
    const h = new Harness();
    h.registerGroup('a', 2);
    h.submit(commands.electMaster('a', 1n));
    h.advance(20_000);
    h.heartbeat('a', 2n);
    const reply = replyValue(h.submit(commands.registerBroker('a', 2n, 'a-2:10911')), 'registerBroker');
    expect(reply.masterBrokerId).toBeUndefined();
    expect(reply.masterEpoch).toBe(1);
  });

  it('emits UpdateBrokerAddress when the address changed, keeping the check code', () => {
    const h = new Harness();
    h.registerGroup('a', 1);
    h.submit(commands.electMaster('a', 1n));
    const entries = h.log.length;
    const reply = replyValue(h.submit(commands.registerBroker('a', 1n, 'moved:10911')), 'registerBroker');
    expect(h.log.length).toBe(entries + 1);
    expect(h.log.at(-1)?.events[0]?.event.case).toBe('updateBrokerAddress');
    expect(reply.masterAddress).toBe('moved:10911');
    expect(h.state.groups.get('a')?.replicas.get(1n)).toEqual({
      address: 'moved:10911',
      registerCheckCode: 'a-1:10911;1000',
    });
  });
});
