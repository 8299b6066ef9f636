import { create } from '@bufbuild/protobuf';
import { ControllerCondition } from '@regent/proto/common';
import { type ElectResponse, ElectResponseSchema, Verdict } from '@regent/proto/election';
import { ElectionTrigger } from '@regent/proto/state';
import { handleCommand } from '../dispatch.js';
import { commands, errorOf, Harness, referencePolicy, replyValue, testValidatePolicy } from '../testing.js';
import {
  completeElection,
  firstElectionPolicyName,
  type PendingElection,
  prepareElection,
} from './election.js';

/** Group "a" with brokers 1..count alive, master 1 at masterEpoch 1, SyncStateSet {1..isr}. */
function groupWithMaster(count = 3, isr = 2): Harness {
  const h = new Harness();
  h.registerGroup('a', count);
  replyValue(h.submit(commands.electMaster('a', 1n)), 'electMaster');
  if (isr > 1) {
    const ids = Array.from({ length: isr }, (_, i) => BigInt(i + 1));
    replyValue(
      h.submit(
        commands.alterSyncStateSet('a', { masterBrokerId: 1n, masterEpoch: 1, brokerIds: ids, epoch: 1 }),
      ),
      'alterSyncStateSet',
    );
  }
  return h;
}

/** Lets every broker but `alive` expire. */
function onlyAlive(h: Harness, ...alive: bigint[]): void {
  h.advance(20_000);
  for (const id of alive) h.heartbeat('a', id);
}

function pending(h: Harness, trigger = ElectionTrigger.CONTROLLER, brokerId?: bigint): PendingElection {
  const outcome = prepareElection(h.state, { trigger, brokerName: 'a', clusterName: '', brokerId }, h.view());
  if (outcome.kind !== 'election')
    throw new Error(`expected an election, got ${JSON.stringify(outcome.reply.reply.case)}`);
  return outcome.pending;
}

function decision(init: Partial<Omit<ElectResponse, '$typeName'>>): ElectResponse {
  return create(ElectResponseSchema, { policyName: 'test', ...init });
}

describe('ElectMaster: unknown group and cluster', () => {
  it.each([
    ['broker', () => commands.electMaster('a', 1n)],
    ['admin', () => commands.adminElectMaster('a', 1n)],
  ])('%s trigger: unknown group → BROKER_NEED_TO_BE_REGISTERED', (_, c) => {
    const h = new Harness();
    expect(errorOf(h.submit(c())).condition).toBe(ControllerCondition.BROKER_NEED_TO_BE_REGISTERED);
  });

  it('controller trigger: unknown group → BROKER_NEED_TO_BE_REGISTERED', () => {
    const h = new Harness();
    expect(errorOf(h.electByController('a')).condition).toBe(
      ControllerCondition.BROKER_NEED_TO_BE_REGISTERED,
    );
  });

  it('another cluster → CLUSTER_MISMATCH', () => {
    const h = new Harness();
    h.registerGroup('a', 1);
    expect(errorOf(h.submit(commands.electMaster('a', 1n, 'other'))).condition).toBe(
      ControllerCondition.CLUSTER_MISMATCH,
    );
  });
});

describe('ElectMaster: first election (§4.1 step 3)', () => {
  it('the requesting broker wins outright, alive or not, in the SyncStateSet or not', () => {
    const h = new Harness();
    h.registerGroup('a', 3);
    h.advance(20_000); // everybody is dead
    const reply = replyValue(h.submit(commands.electMaster('a', 2n)), 'electMaster');
    expect(reply).toMatchObject({
      condition: ControllerCondition.UNSPECIFIED,
      masterBrokerId: 2n,
      masterAddress: 'a-2:10911',
      masterEpoch: 1,
    });
    expect(reply.syncStateSet).toMatchObject({ brokerIds: [2n], epoch: 1 });
    expect(reply.brokerAddresses).toEqual({ '1': 'a-1:10911', '2': 'a-2:10911', '3': 'a-3:10911' });
    expect(h.state.groups.get('a')).toMatchObject({
      masterBrokerId: 2n,
      masterEpoch: 1,
      syncStateSet: [2n],
      syncStateSetEpoch: 1,
    });
    const audit = h.state.groups.get('a')?.audit[0];
    expect(audit).toMatchObject({
      policyName: firstElectionPolicyName,
      chosenBrokerId: 2n,
      trigger: ElectionTrigger.BROKER,
      masterEpoch: 1,
    });
  });

  it('the designated broker of an admin election wins outright', () => {
    const h = new Harness();
    h.registerGroup('a', 2);
    const reply = replyValue(h.submit(commands.adminElectMaster('a', 2n)), 'adminElectMaster');
    expect(reply).toMatchObject({
      condition: ControllerCondition.UNSPECIFIED,
      masterBrokerId: 2n,
      masterEpoch: 1,
    });
  });

  it('deviation: an unregistered requester gets BROKER_NEED_TO_BE_REGISTERED instead of becoming master', () => {
    const h = new Harness();
    h.registerGroup('a', 1);
    expect(errorOf(h.submit(commands.electMaster('a', 9n))).condition).toBe(
      ControllerCondition.BROKER_NEED_TO_BE_REGISTERED,
    );
    expect(h.state.groups.get('a')?.masterEpoch).toBe(0);
  });

  it('a controller trigger goes to the policy; with an empty SyncStateSet nothing changes', () => {
    const h = new Harness();
    h.registerGroup('a', 2);
    expect(errorOf(h.electByController('a')).condition).toBe(ControllerCondition.MASTER_NOT_AVAILABLE);
    expect(h.state.groups.get('a')?.masterEpoch).toBe(0);
  });
});

describe('ElectMaster: policy outcomes (§4.1 steps 5–7)', () => {
  it('the live master is kept: OK with MASTER_STILL_EXIST, current state, no event', () => {
    const h = groupWithMaster();
    const entries = h.log.length;
    const reply = replyValue(h.submit(commands.electMaster('a', 2n)), 'electMaster');
    expect(reply).toMatchObject({
      condition: ControllerCondition.MASTER_STILL_EXIST,
      masterBrokerId: 1n,
      masterAddress: 'a-1:10911',
      masterEpoch: 1,
    });
    expect(reply.syncStateSet).toMatchObject({ brokerIds: [1n, 2n], epoch: 2 });
    expect(reply.brokerAddresses).toEqual({});
    expect(h.log.length).toBe(entries);
    expect(h.state.groups.get('a')?.audit).toHaveLength(1);
  });

  it('a dead master is replaced by a live in-sync replica: both epochs bump, SyncStateSet = {new}', () => {
    const h = groupWithMaster();
    onlyAlive(h, 2n, 3n);
    const reply = replyValue(h.electByController('a'), 'electMaster');
    expect(reply).toMatchObject({
      condition: ControllerCondition.UNSPECIFIED,
      masterBrokerId: 2n,
      masterEpoch: 2,
    });
    expect(reply.syncStateSet).toMatchObject({ brokerIds: [2n], epoch: 3 });
    expect(h.state.groups.get('a')).toMatchObject({
      masterBrokerId: 2n,
      masterEpoch: 2,
      syncStateSet: [2n],
      syncStateSetEpoch: 3,
    });
  });

  it('controller trigger, nobody in sync alive: clears the master, bumps masterEpoch, MASTER_NOT_AVAILABLE', () => {
    const h = groupWithMaster();
    onlyAlive(h, 3n);
    expect(errorOf(h.electByController('a')).condition).toBe(ControllerCondition.MASTER_NOT_AVAILABLE);
    expect(h.state.groups.get('a')).toMatchObject({
      masterBrokerId: undefined,
      masterEpoch: 2,
      syncStateSet: [1n, 2n],
      syncStateSetEpoch: 2,
    });
    const audit = h.state.groups.get('a')?.audit.at(-1);
    expect(audit).toMatchObject({
      oldMasterBrokerId: 1n,
      trigger: ElectionTrigger.CONTROLLER,
      masterEpoch: 2,
    });
    expect(audit?.chosenBrokerId).toBeUndefined();
  });

  it('bug fix (row 33): a retried controller election with the master already cleared changes nothing', () => {
    const h = groupWithMaster();
    onlyAlive(h, 3n);
    h.electByController('a');
    const entries = h.log.length;
    for (let attempt = 0; attempt < 3; attempt += 1) {
      expect(errorOf(h.electByController('a')).condition).toBe(ControllerCondition.MASTER_NOT_AVAILABLE);
    }
    expect(h.log.length).toBe(entries);
    expect(h.state.groups.get('a')?.masterEpoch).toBe(2);
  });

  it('broker trigger, nobody qualifies: ELECT_MASTER_FAILED, no event', () => {
    const h = groupWithMaster();
    onlyAlive(h, 3n);
    const entries = h.log.length;
    expect(errorOf(h.submit(commands.electMaster('a', 3n))).condition).toBe(
      ControllerCondition.ELECT_MASTER_FAILED,
    );
    expect(h.log.length).toBe(entries);
    expect(h.state.groups.get('a')).toMatchObject({ masterBrokerId: 1n, masterEpoch: 1 });
  });

  it('with enableElectUncleanMaster a replica outside the SyncStateSet may win', () => {
    const h = groupWithMaster();
    replyValue(
      h.submit(commands.updateControllerConfig({ enableElectUncleanMaster: 'true' })),
      'updateControllerConfig',
    );
    onlyAlive(h, 3n);
    const reply = replyValue(h.submit(commands.electMaster('a', 3n)), 'electMaster');
    expect(reply).toMatchObject({ masterBrokerId: 3n, masterEpoch: 2 });
  });

  it('an admin may move mastership off a live master to a designated live in-sync replica', () => {
    const h = groupWithMaster();
    const reply = replyValue(h.submit(commands.adminElectMaster('a', 2n)), 'adminElectMaster');
    expect(reply).toMatchObject({
      condition: ControllerCondition.UNSPECIFIED,
      masterBrokerId: 2n,
      masterEpoch: 2,
    });
    expect(h.state.groups.get('a')?.audit.at(-1)).toMatchObject({
      trigger: ElectionTrigger.ADMIN,
      chosenBrokerId: 2n,
      oldMasterBrokerId: 1n,
    });
  });

  it('an admin designating the live master gets MASTER_STILL_EXIST', () => {
    const h = groupWithMaster();
    expect(replyValue(h.submit(commands.adminElectMaster('a', 1n)), 'adminElectMaster').condition).toBe(
      ControllerCondition.MASTER_STILL_EXIST,
    );
  });

  it('an admin designating a dead or out-of-sync broker gets ELECT_MASTER_FAILED', () => {
    const h = groupWithMaster();
    expect(errorOf(h.submit(commands.adminElectMaster('a', 3n))).condition).toBe(
      ControllerCondition.ELECT_MASTER_FAILED,
    );
    onlyAlive(h, 1n);
    expect(errorOf(h.submit(commands.adminElectMaster('a', 2n))).condition).toBe(
      ControllerCondition.ELECT_MASTER_FAILED,
    );
  });

  it('an admin election without designation is an ordinary election', () => {
    const h = groupWithMaster();
    onlyAlive(h, 2n);
    expect(replyValue(h.submit(commands.adminElectMaster('a')), 'adminElectMaster')).toMatchObject({
      masterBrokerId: 2n,
    });
  });
});

describe('prepareElection: the ElectRequest', () => {
  it('carries every replica in id order with its liveness and progress, the set, the old master and the config', () => {
    const h = groupWithMaster(3, 2);
    onlyAlive(h, 2n);
    h.heartbeat('a', 2n, {
      epoch: 4,
      maxOffset: 2n ** 53n + 1n,
      confirmOffset: 7n,
      electionPriority: 3,
      zone: 'z1',
      labels: { rack: 'r1' },
    });
    replyValue(
      h.submit(
        commands.setElectionPolicy('DefaultCluster', '', {
          $typeName: 'regent.election.v1.PolicyConfig',
          policy: {
            case: 'zoneAware',
            value: { $typeName: 'regent.election.v1.ZoneAwarePolicy', zoneOrder: ['z1'] },
          },
        }),
      ),
      'setElectionPolicy',
    );
    const request = pending(h).request;
    expect(request.candidates.map((c) => [c.brokerId, c.alive])).toEqual([
      [1n, false],
      [2n, true],
      [3n, false],
    ]);
    expect(request.candidates[1]).toMatchObject({
      epoch: 4,
      maxOffset: 2n ** 53n + 1n,
      confirmOffset: 7n,
      electionPriority: 3,
      zone: 'z1',
      labels: { rack: 'r1' },
    });
    expect(request.candidates[0]).toMatchObject({ brokerAddress: 'a-1:10911' });
    expect(request).toMatchObject({
      clusterName: 'DefaultCluster',
      brokerName: 'a',
      syncStateSet: [1n, 2n],
      oldMasterBrokerId: 1n,
      uncleanElectionEnabled: false,
    });
    expect(request.designatedBrokerId).toBeUndefined();
    expect(request.policy?.policy.case).toBe('zoneAware');
  });

  it('a broker without a record yet is a candidate with unknown progress (-1)', () => {
    const h = groupWithMaster();
    h.table.remove('DefaultCluster', 'a', 3n);
    h.advance(1); // past the (zero) restart grace
    expect(pending(h).request.candidates[2]).toMatchObject({
      brokerId: 3n,
      alive: false,
      epoch: -1,
      maxOffset: -1n,
      confirmOffset: -1n,
    });
  });

  it('only an admin election designates', () => {
    const h = groupWithMaster();
    expect(pending(h, ElectionTrigger.BROKER, 2n).request.designatedBrokerId).toBeUndefined();
    expect(pending(h, ElectionTrigger.ADMIN, 2n).request.designatedBrokerId).toBe(2n);
  });

  it('the dispatcher hands ElectMaster commands back as pending elections', () => {
    const h = groupWithMaster();
    const outcome = handleCommand(h.state, commands.electMaster('a', 2n), h.view(), {
      validatePolicy: testValidatePolicy,
    });
    expect(outcome.kind).toBe('election');
  });
});

describe('completeElection: re-validation', () => {
  it('answers stale when masterEpoch moved since prepare', () => {
    const h = groupWithMaster();
    onlyAlive(h, 2n, 3n);
    const p = pending(h);
    h.submit(commands.adminElectMaster('a', 2n));
    expect(
      completeElection(h.state, p, referencePolicy(p.request), { fallback: false, nowUnixMs: 0 }),
    ).toMatchObject({ kind: 'stale' });
  });

  it('answers stale when the SyncStateSet lost a member to a clean (no epoch of RocketMQ would show it)', () => {
    const h = groupWithMaster(3, 3);
    onlyAlive(h, 2n);
    const p = pending(h);
    replyValue(h.submit(commands.cleanBrokerData('a', [3n])), 'cleanBrokerData');
    expect(
      completeElection(h.state, p, referencePolicy(p.request), { fallback: false, nowUnixMs: 0 }),
    ).toMatchObject({ kind: 'stale' });
  });

  it('answers stale when the unclean setting changed', () => {
    const h = groupWithMaster();
    onlyAlive(h, 3n);
    const p = pending(h);
    h.submit(commands.updateControllerConfig({ enableElectUncleanMaster: 'true' }));
    expect(completeElection(h.state, p, decision({}), { fallback: false, nowUnixMs: 0 })).toMatchObject({
      kind: 'stale',
    });
  });

  it.each([
    ['a dead choice', { chosenBrokerId: 1n }],
    ['an unknown choice', { chosenBrokerId: 9n }],
    ['an out-of-sync choice without unclean election', { chosenBrokerId: 3n }],
    ['master_kept for a non-master', { chosenBrokerId: 2n, masterKept: true }],
    ['master_kept without a choice', { masterKept: true }],
    ['an oversized explanation', { chosenBrokerId: 2n, explanation: 'x'.repeat(2000) }],
    ['more ranked ids than candidates', { chosenBrokerId: 2n, rankedBrokerIds: [1n, 2n, 3n, 4n] }],
  ])('answers invalid-decision for %s', (_, init) => {
    const h = groupWithMaster();
    onlyAlive(h, 2n, 3n);
    const p = pending(h);
    expect(completeElection(h.state, p, decision(init), { fallback: false, nowUnixMs: 0 })).toMatchObject({
      kind: 'invalid-decision',
    });
    expect(h.state.groups.get('a')?.masterEpoch).toBe(1);
  });

  it('answers invalid-decision for an admin election choosing someone other than the designated', () => {
    const h = groupWithMaster(3, 3);
    const p = pending(h, ElectionTrigger.ADMIN, 3n);
    expect(
      completeElection(h.state, p, decision({ chosenBrokerId: 2n }), { fallback: false, nowUnixMs: 0 }),
    ).toMatchObject({
      kind: 'invalid-decision',
    });
  });
});

describe('ElectMaster: the audit trail', () => {
  it('records the decision with its term, index, epoch, fallback flag and time', () => {
    const h = groupWithMaster();
    onlyAlive(h, 2n, 3n);
    const p = pending(h);
    const completion = completeElection(h.state, p, referencePolicy(p.request), {
      fallback: true,
      nowUnixMs: 1234,
    });
    if (completion.kind !== 'result') throw new Error(completion.kind);
    h.commit(completion, { clientId: '', sequence: 0n });
    const audit = h.state.groups.get('a')?.audit.at(-1);
    expect(audit).toMatchObject({
      clusterName: 'DefaultCluster',
      brokerName: 'a',
      policyName: 'test-reference',
      chosenBrokerId: 2n,
      oldMasterBrokerId: 1n,
      rankedBrokerIds: [2n],
      fallback: true,
      masterEpoch: 2,
      raftIndex: BigInt(h.log.length),
      raftTerm: 1n,
      decidedAtUnixMs: 1234n,
    });
    expect(audit?.reasons.map((r) => r.verdict)).toEqual([
      Verdict.NOT_ALIVE,
      Verdict.CHOSEN,
      Verdict.OUTRANKED,
    ]);
  });

  it('keeps only the newest records per group', () => {
    const h = new Harness({
      limits: {
        groupsMax: 10,
        replicasPerGroupMax: 8,
        auditRecordsPerGroupMax: 2,
        sessionsMax: 10,
        clusterPoliciesMax: 1,
        groupPoliciesMax: 1,
      },
    });
    h.registerGroup('a', 2);
    h.submit(commands.electMaster('a', 1n));
    h.submit(
      commands.alterSyncStateSet('a', { masterBrokerId: 1n, masterEpoch: 1, brokerIds: [1n, 2n], epoch: 1 }),
    );
    h.submit(commands.adminElectMaster('a', 2n));
    h.submit(
      commands.alterSyncStateSet('a', { masterBrokerId: 2n, masterEpoch: 2, brokerIds: [1n, 2n], epoch: 3 }),
    );
    h.submit(commands.adminElectMaster('a', 1n));
    expect(h.state.groups.get('a')?.audit.map((a) => a.masterEpoch)).toEqual([2, 3]);
  });
});

describe('known RocketMQ election bugs, fixed', () => {
  it('bug fix: tied candidates do not collapse into one (all kept in the ranking, lowest id first)', () => {
    const h = groupWithMaster(4, 4);
    onlyAlive(h, 2n, 3n, 4n);
    for (const id of [4n, 3n, 2n]) h.heartbeat('a', id, { epoch: 1, maxOffset: 500n, electionPriority: 1 });
    const p = pending(h);
    expect(p.request.candidates.map((c) => c.brokerId)).toEqual([1n, 2n, 3n, 4n]);
    const completion = completeElection(h.state, p, referencePolicy(p.request), {
      fallback: false,
      nowUnixMs: 0,
    });
    if (completion.kind !== 'result') throw new Error(completion.kind);
    h.commit(completion, { clientId: '', sequence: 0n });
    expect(h.state.groups.get('a')?.masterBrokerId).toBe(2n);
    expect(h.state.groups.get('a')?.audit.at(-1)?.rankedBrokerIds).toEqual([2n, 3n, 4n]);
  });

  it('bug fix: offsets more than 2^31 and 2^53 apart reach the policy exactly and rank correctly', () => {
    const h = groupWithMaster(3, 3);
    onlyAlive(h, 2n, 3n);
    h.heartbeat('a', 2n, { epoch: 1, maxOffset: 2n ** 53n });
    h.heartbeat('a', 3n, { epoch: 1, maxOffset: 2n ** 53n + 1n });
    let p = pending(h);
    expect(p.request.candidates.map((c) => c.maxOffset)).toEqual([-1n, 2n ** 53n, 2n ** 53n + 1n]);
    expect(referencePolicy(p.request).chosenBrokerId).toBe(3n);
    h.heartbeat('a', 2n, { epoch: 2, maxOffset: 2n ** 31n + 1n });
    h.heartbeat('a', 3n, { epoch: 2, maxOffset: 0n });
    p = pending(h);
    expect(referencePolicy(p.request).chosenBrokerId).toBe(2n);
  });
});
