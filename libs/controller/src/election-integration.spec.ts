// The controller with libs/election's real policies (the production wiring): the decisions they make always pass
// completeElection's re-validation, and the RocketMQ bugs fixed on either side stay fixed end to end.
import { create } from '@bufbuild/protobuf';
import { decide, validatePolicy } from '@regent/election';
import { ControllerCondition } from '@regent/proto/common';
import { PolicyConfigSchema } from '@regent/proto/election';
import fc from 'fast-check';
import { createHistoryChecker } from './invariants.js';
import { commands, errorOf, Harness, replyValue } from './testing.js';

/** Group "a" with `count` live brokers, master 1 elected and every broker in the SyncStateSet. */
function fullGroup(count: number): Harness {
  const h = new Harness({ policy: decide });
  h.registerGroup('a', count);
  h.submit(commands.electMaster('a', 1n));
  const ids = Array.from({ length: count }, (_, i) => BigInt(i + 1));
  replyValue(
    h.submit(
      commands.alterSyncStateSet('a', { masterBrokerId: 1n, masterEpoch: 1, brokerIds: ids, epoch: 1 }),
    ),
    'alterSyncStateSet',
  );
  return h;
}

describe('with @regent/election', () => {
  it('bug fix: tied candidates do not collapse into one (rocketmq-default)', () => {
    const h = fullGroup(4);
    h.advance(20_000);
    for (const id of [4n, 3n, 2n]) h.heartbeat('a', id, { epoch: 1, maxOffset: 77n, electionPriority: 2 });
    const reply = replyValue(h.electByController('a'), 'electMaster');
    expect(reply.masterBrokerId).toBe(2n);
    const audit = h.state.groups.get('a')?.audit.at(-1);
    expect(audit?.policyName).toBe('rocketmq-default');
    expect(audit?.rankedBrokerIds).toEqual([2n, 3n, 4n]);
    expect(audit?.reasons.map((r) => r.brokerId)).toEqual([1n, 2n, 3n, 4n]);
  });

  it('bug fix: offsets more than 2^31 and 2^53 apart rank by their true order (rocketmq-default)', () => {
    const h = fullGroup(3);
    h.advance(20_000);
    h.heartbeat('a', 2n, { epoch: 1, maxOffset: 0n });
    h.heartbeat('a', 3n, { epoch: 1, maxOffset: 2n ** 31n + 1n });
    expect(replyValue(h.electByController('a'), 'electMaster').masterBrokerId).toBe(3n);
    const g = fullGroup(3);
    g.advance(20_000);
    g.heartbeat('a', 2n, { epoch: 1, maxOffset: 2n ** 53n + 1n });
    g.heartbeat('a', 3n, { epoch: 1, maxOffset: 2n ** 53n });
    expect(replyValue(g.electByController('a'), 'electMaster').masterBrokerId).toBe(2n);
  });

  it('refuses a policy the election library rejects with INVALID_POLICY', () => {
    const h = new Harness({ policy: decide, validatePolicy });
    const bad = create(PolicyConfigSchema, {
      policy: { case: 'zoneAware', value: { zoneOrder: ['z', 'z'] } },
    });
    expect(errorOf(h.submit(commands.setElectionPolicy('DefaultCluster', '', bad)))).toMatchObject({
      condition: ControllerCondition.INVALID_POLICY,
      field: 'zone_aware.zone_order[1]',
    });
    expect(h.state.clusterPolicies.size).toBe(0);
  });

  it('every decision of the real policies passes completeElection and keeps the invariants (property)', () => {
    const policies = [
      undefined,
      create(PolicyConfigSchema, { policy: { case: 'zoneAware', value: { zoneOrder: ['z1'] } } }),
      create(PolicyConfigSchema, { policy: { case: 'maxLag', value: { maxLagBytes: 100n } } }),
    ];
    const step = fc.oneof(
      fc.record({
        kind: fc.constant('heartbeat' as const),
        id: fc.integer({ min: 1, max: 4 }),
        epoch: fc.integer({ min: -1, max: 3 }),
        offset: fc.bigInt({ min: -1n, max: 2n ** 60n }),
        zone: fc.constantFrom('z1', 'z2', ''),
      }),
      fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 12_000 }) }),
      fc.record({ kind: fc.constant('elect' as const), id: fc.integer({ min: 1, max: 4 }) }),
      fc.record({
        kind: fc.constant('admin' as const),
        id: fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }),
      }),
      fc.record({ kind: fc.constant('controller' as const) }),
      fc.record({ kind: fc.constant('expand' as const) }),
      fc.record({ kind: fc.constant('unclean' as const), on: fc.boolean() }),
    );
    fc.assert(
      fc.property(
        fc.constantFrom(...policies),
        fc.array(step, { maxLength: 40, size: 'max' }),
        (policy, steps) => {
          const h = new Harness({ policy: decide });
          h.registerGroup('a', 4);
          h.submit(commands.setElectionPolicy('DefaultCluster', '', policy));
          const checker = createHistoryChecker();
          for (const s of steps) {
            const group = h.state.groups.get('a');
            if (s.kind === 'heartbeat')
              h.heartbeat('a', BigInt(s.id), { epoch: s.epoch, maxOffset: s.offset, zone: s.zone });
            else if (s.kind === 'advance') h.advance(s.ms);
            else if (s.kind === 'elect') h.submit(commands.electMaster('a', BigInt(s.id)));
            else if (s.kind === 'admin')
              h.submit(commands.adminElectMaster('a', s.id === undefined ? undefined : BigInt(s.id)));
            else if (s.kind === 'controller') h.electByController('a');
            else if (s.kind === 'unclean')
              h.submit(commands.updateControllerConfig({ enableElectUncleanMaster: String(s.on) }));
            else if (group?.masterBrokerId !== undefined) {
              const alive = [1n, 2n, 3n, 4n].filter((id) => h.view().isAlive('DefaultCluster', 'a', id));
              const ids = [...new Set([group.masterBrokerId, ...alive])];
              const reply = h.submit(
                commands.alterSyncStateSet('a', {
                  masterBrokerId: group.masterBrokerId,
                  masterEpoch: group.masterEpoch,
                  brokerIds: ids,
                  epoch: group.syncStateSetEpoch,
                }),
              );
              if (reply.reply.case === 'error')
                expect(errorOf(reply).condition).toBeOneOf([
                  ControllerCondition.ALTER_SYNC_STATE_SET_FAILED,
                  ControllerCondition.BROKER_NOT_ALIVE,
                ]);
            }
            expect(checker.observe(h.state)).toEqual([]);
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
