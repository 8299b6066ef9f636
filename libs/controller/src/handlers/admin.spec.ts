import { create } from '@bufbuild/protobuf';
import { ControllerCondition } from '@regent/proto/common';
import { PolicyConfigSchema } from '@regent/proto/election';
import { commands, errorOf, Harness, replyValue } from '../testing.js';

const zoneAware = create(PolicyConfigSchema, { policy: { case: 'zoneAware', value: { zoneOrder: ['z1'] } } });
const badRules = create(PolicyConfigSchema, { policy: { case: 'rules', value: { filter: 'invalid' } } });

/** Group "a" with brokers 1..3, master 1 (masterEpoch 1), SyncStateSet {1, 2}. */
function groupWithMaster(): Harness {
  const h = new Harness();
  h.registerGroup('a', 3);
  h.submit(commands.electMaster('a', 1n));
  h.submit(
    commands.alterSyncStateSet('a', { masterBrokerId: 1n, masterEpoch: 1, brokerIds: [1n, 2n], epoch: 1 }),
  );
  return h;
}

describe('CleanBrokerData (RocketMQ 1011)', () => {
  it('refuses a whole-group clean while the group has a master', () => {
    const h = groupWithMaster();
    h.advance(20_000); // even a dead master blocks it: RocketMQ checks that the master is set
    expect(errorOf(h.submit(commands.cleanBrokerData('a', []))).condition).toBe(
      ControllerCondition.INVALID_CLEAN_BROKER_METADATA,
    );
  });

  it('refuses to clean a listed broker that is alive', () => {
    const h = groupWithMaster();
    expect(errorOf(h.submit(commands.cleanBrokerData('a', [3n]))).condition).toBe(
      ControllerCondition.INVALID_CLEAN_BROKER_METADATA,
    );
  });

  it('refuses an unknown group', () => {
    const h = new Harness();
    h.advance(1);
    expect(errorOf(h.submit(commands.cleanBrokerData('a', [1n]))).condition).toBe(
      ControllerCondition.INVALID_CLEAN_BROKER_METADATA,
    );
    expect(errorOf(h.submit(commands.cleanBrokerData('a', [], true))).condition).toBe(
      ControllerCondition.INVALID_CLEAN_BROKER_METADATA,
    );
  });

  it('checks liveness before existence (RocketMQ order): an unknown group with a live id is refused as alive', () => {
    const h = new Harness();
    h.heartbeat('a', 1n);
    expect(errorOf(h.submit(commands.cleanBrokerData('a', [1n]))).message).toMatch(/still alive/);
  });

  it('removes dead ids from the replicas and the SyncStateSet (which bumps its epoch)', () => {
    const h = groupWithMaster();
    h.advance(20_000);
    h.heartbeat('a', 1n);
    expect(
      replyValue(h.submit(commands.cleanBrokerData('a', [2n, 3n])), 'cleanBrokerData').groupRemoved,
    ).toBe(false);
    expect(h.state.groups.get('a')).toMatchObject({
      syncStateSet: [1n],
      syncStateSetEpoch: 3,
      masterBrokerId: 1n,
      masterEpoch: 1,
    });
    expect([...(h.state.groups.get('a')?.replicas.keys() ?? [])]).toEqual([1n]);
  });

  it('removes living brokers and whole groups with clean_living_broker', () => {
    const h = groupWithMaster();
    expect(
      replyValue(h.submit(commands.cleanBrokerData('a', [], true)), 'cleanBrokerData').groupRemoved,
    ).toBe(true);
    expect(h.state.groups.has('a')).toBe(false);
  });

  it('removes a master-less group whose ids are all listed', () => {
    const h = new Harness();
    h.registerGroup('a', 2);
    h.advance(20_000);
    expect(
      replyValue(h.submit(commands.cleanBrokerData('a', [1n, 2n])), 'cleanBrokerData').groupRemoved,
    ).toBe(true);
    expect(h.state.groups.size).toBe(0);
  });

  it('deviation: cleaning the master clears it and bumps masterEpoch, keeping the master in its set', () => {
    const h = groupWithMaster();
    h.advance(20_000);
    h.heartbeat('a', 2n);
    replyValue(h.submit(commands.cleanBrokerData('a', [1n])), 'cleanBrokerData');
    expect(h.state.groups.get('a')).toMatchObject({
      masterBrokerId: undefined,
      masterEpoch: 2,
      syncStateSet: [2n],
      syncStateSetEpoch: 3,
    });
  });

  it('answers CLUSTER_MISMATCH first for a known group of another cluster', () => {
    const h = groupWithMaster();
    expect(errorOf(h.submit(commands.cleanBrokerData('a', [3n], false, 'other'))).condition).toBe(
      ControllerCondition.CLUSTER_MISMATCH,
    );
  });
});

describe('GetBrokerLiveness', () => {
  it("lists this node's records by group then id, with age, flags and the answering node", () => {
    const h = new Harness();
    h.heartbeat('b', 2n, { epoch: 3, maxOffset: 9n, zone: 'z' });
    h.heartbeat('a', 5n, { heartbeatTimeoutMs: 100n });
    h.heartbeat('b', 1n, { clusterName: 'c2' });
    h.advance(150);
    const reply = replyValue(h.submit(commands.getBrokerLiveness()), 'getBrokerLiveness');
    expect(reply.answeringNodeId).toBe(7n);
    expect(reply.brokers.map((b) => [b.brokerName, b.brokerId, b.alive])).toEqual([
      ['a', 5n, false],
      ['b', 1n, true],
      ['b', 2n, true],
    ]);
    expect(reply.brokers[2]).toMatchObject({
      lastHeartbeatAgeMs: 150n,
      heartbeatTimeoutMs: 10_000n,
      epoch: 3,
      maxOffset: 9n,
      zone: 'z',
    });
    const filtered = replyValue(h.submit(commands.getBrokerLiveness('c2', ['b'])), 'getBrokerLiveness');
    expect(filtered.brokers.map((b) => b.brokerId)).toEqual([1n]);
  });
});

describe('Get/UpdateControllerConfig', () => {
  it('gets every replicated key with its default and the forbidden keys', () => {
    const h = new Harness();
    const reply = replyValue(h.submit(commands.getControllerConfig()), 'getControllerConfig');
    expect(reply.entries).toEqual({
      electMasterMaxRetryCount: '3',
      electionPolicyDeadlineMs: '300',
      enableElectUncleanMaster: 'false',
      notifyBrokerRoleChanged: 'true',
    });
    expect(reply.forbiddenKeys).toEqual(['configBlackList', 'configStorePath', 'rocketmqHome']);
  });

  it('updates keys with canonical values, proposing only the changed ones', () => {
    const h = new Harness();
    const reply = replyValue(
      h.submit(
        commands.updateControllerConfig({ enableElectUncleanMaster: 'TRUE', electMasterMaxRetryCount: '3' }),
      ),
      'updateControllerConfig',
    );
    expect(reply.entries.enableElectUncleanMaster).toBe('true');
    expect(h.log.at(-1)?.events[0]?.event).toMatchObject({
      case: 'configChange',
      value: { entries: { enableElectUncleanMaster: 'true' } },
    });
    const entries = h.log.length;
    h.submit(commands.updateControllerConfig({ enableElectUncleanMaster: 'true' }));
    expect(h.log.length).toBe(entries);
  });

  it('refuses blacklisted keys with CONFIG_KEY_FORBIDDEN before any other problem', () => {
    const h = new Harness();
    const error = errorOf(h.submit(commands.updateControllerConfig({ bogus: 'x', configStorePath: '/tmp' })));
    expect(error).toMatchObject({
      condition: ControllerCondition.CONFIG_KEY_FORBIDDEN,
      field: 'entries[configStorePath]',
    });
    expect(errorOf(h.submit(commands.updateControllerConfig({ configBlackList: '' }))).condition).toBe(
      ControllerCondition.CONFIG_KEY_FORBIDDEN,
    );
  });

  it.each([
    [{ bogus: '1' }, 'entries[bogus]'],
    [{ enableElectUncleanMaster: 'yes' }, 'entries[enableElectUncleanMaster]'],
    [{ electionPolicyDeadlineMs: '5' }, 'entries[electionPolicyDeadlineMs]'],
    [{ electionPolicyDeadlineMs: '1e3' }, 'entries[electionPolicyDeadlineMs]'],
  ])('refuses %o with INVALID_ARGUMENT', (entries, field) => {
    const h = new Harness();
    expect(errorOf(h.submit(commands.updateControllerConfig(entries)))).toMatchObject({
      condition: ControllerCondition.INVALID_ARGUMENT,
      field,
    });
    expect(h.state.config.size).toBe(0);
  });
});

describe('Get/SetElectionPolicy', () => {
  it('falls back from group to cluster to default', () => {
    const h = new Harness();
    h.registerGroup('a', 1);
    const get = () =>
      replyValue(h.submit(commands.getElectionPolicy('DefaultCluster', 'a')), 'getElectionPolicy');
    expect(get()).toMatchObject({ source: 'default', policy: { policy: { case: 'rocketmqDefault' } } });
    replyValue(h.submit(commands.setElectionPolicy('DefaultCluster', '', zoneAware)), 'setElectionPolicy');
    expect(get()).toMatchObject({ source: 'cluster', policy: { policy: { case: 'zoneAware' } } });
    const maxLag = create(PolicyConfigSchema, { policy: { case: 'maxLag', value: { maxLagBytes: 10n } } });
    replyValue(h.submit(commands.setElectionPolicy('DefaultCluster', 'a', maxLag)), 'setElectionPolicy');
    expect(get()).toMatchObject({ source: 'group', policy: { policy: { case: 'maxLag' } } });
    replyValue(h.submit(commands.setElectionPolicy('DefaultCluster', 'a', undefined)), 'setElectionPolicy');
    expect(get().source).toBe('cluster');
  });

  it('refuses an invalid policy with INVALID_POLICY naming the field', () => {
    const h = new Harness();
    expect(errorOf(h.submit(commands.setElectionPolicy('DefaultCluster', '', badRules)))).toMatchObject({
      condition: ControllerCondition.INVALID_POLICY,
      field: 'rules.filter',
    });
  });

  it('is a read when nothing changes', () => {
    const h = new Harness();
    h.submit(commands.setElectionPolicy('DefaultCluster', '', zoneAware));
    const entries = h.log.length;
    h.submit(commands.setElectionPolicy('DefaultCluster', '', zoneAware));
    h.submit(commands.setElectionPolicy('DefaultCluster', 'x', undefined));
    expect(h.log.length).toBe(entries);
  });

  it('refuses a group of another cluster, a missing cluster and a full table', () => {
    const h = new Harness({
      limits: {
        groupsMax: 10,
        replicasPerGroupMax: 8,
        auditRecordsPerGroupMax: 4,
        sessionsMax: 10,
        clusterPoliciesMax: 1,
        groupPoliciesMax: 1,
      },
    });
    h.registerGroup('a', 1);
    expect(errorOf(h.submit(commands.setElectionPolicy('other', 'a', zoneAware))).condition).toBe(
      ControllerCondition.CLUSTER_MISMATCH,
    );
    expect(errorOf(h.submit(commands.setElectionPolicy('', '', zoneAware))).field).toBe('cluster_name');
    h.submit(commands.setElectionPolicy('c1', '', zoneAware));
    expect(errorOf(h.submit(commands.setElectionPolicy('c2', '', zoneAware))).condition).toBe(
      ControllerCondition.OVERLOADED,
    );
  });
});

describe('GetElectionAudit', () => {
  it('returns the newest records per group, oldest first, groups ascending', () => {
    const h = new Harness();
    h.registerGroup('b', 2);
    h.registerGroup('a', 2);
    h.submit(commands.electMaster('b', 1n));
    h.submit(commands.electMaster('a', 1n));
    h.submit(
      commands.alterSyncStateSet('a', { masterBrokerId: 1n, masterEpoch: 1, brokerIds: [1n, 2n], epoch: 1 }),
    );
    h.submit(commands.adminElectMaster('a', 2n));
    const all = replyValue(
      h.submit(commands.getElectionAudit('DefaultCluster', '')),
      'getElectionAudit',
    ).records;
    expect(all.map((r) => [r.brokerName, r.masterEpoch])).toEqual([
      ['a', 1],
      ['a', 2],
      ['b', 1],
    ]);
    const newest = replyValue(
      h.submit(commands.getElectionAudit('DefaultCluster', 'a', 1)),
      'getElectionAudit',
    ).records;
    expect(newest.map((r) => r.chosenBrokerId)).toEqual([2n]);
  });

  it('answers BROKER_METADATA_NOT_EXIST for a named unknown group', () => {
    const h = new Harness();
    expect(errorOf(h.submit(commands.getElectionAudit('DefaultCluster', 'a'))).condition).toBe(
      ControllerCondition.BROKER_METADATA_NOT_EXIST,
    );
  });
});
