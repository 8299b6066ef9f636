import { describe, expect, it } from 'vitest';
import { decideRole, initialRoleState, type ReplicaInfo, type RoleState, unionOf } from './role.js';

const self = 2n;
const info = (
  masterEpoch: number,
  master: bigint | undefined,
  ssEpoch = 1,
  ss: bigint[] = [1n],
): ReplicaInfo => ({
  masterBrokerId: master,
  masterAddress: master === undefined ? '' : `h:${master}`,
  masterEpoch,
  syncStateSet: ss,
  syncStateSetEpoch: ssEpoch,
});
const slaveAt3: RoleState = {
  role: 'slave',
  masterEpoch: 3,
  masterBrokerId: 1n,
  masterAddress: 'h:1',
  syncStateSet: [1n, 2n],
  syncStateSetEpoch: 4,
};
const masterAt3: RoleState = { ...slaveAt3, role: 'master', masterBrokerId: self, masterAddress: 'h:2' };
const unknownAt3: RoleState = { ...initialRoleState, masterEpoch: 3 };

describe('decideRole: every role change needs a strictly newer masterEpoch', () => {
  it.each([
    { name: 'initial → master', current: initialRoleState, news: info(1, self), kind: 'became-master' },
    { name: 'initial → slave', current: initialRoleState, news: info(1, 1n), kind: 'became-slave' },
    {
      name: 'initial, no master at epoch 1',
      current: initialRoleState,
      news: info(1, undefined),
      kind: 'no-master',
    },
    { name: 'lower epoch naming another master', current: masterAt3, news: info(2, 1n), kind: 'stale' },
    { name: 'lower epoch naming self', current: slaveAt3, news: info(2, self), kind: 'stale' },
    { name: 'lower epoch without master', current: slaveAt3, news: info(1, undefined), kind: 'stale' },
    { name: 'same epoch, same news', current: slaveAt3, news: info(3, 1n, 4, [1n, 2n]), kind: 'duplicate' },
    {
      name: 'same epoch naming self (never a role change)',
      current: slaveAt3,
      news: info(3, self, 9),
      kind: 'duplicate',
    },
    {
      name: 'same epoch, no master, role known',
      current: slaveAt3,
      news: info(3, undefined),
      kind: 'duplicate',
    },
    {
      name: 'same epoch, no master, role unknown',
      current: unknownAt3,
      news: info(3, undefined),
      kind: 'no-master',
    },
    {
      name: 'same epoch, newer set',
      current: masterAt3,
      news: info(3, self, 5, [2n]),
      kind: 'sync-state-set',
    },
    { name: 'same epoch, older set', current: masterAt3, news: info(3, self, 3, [2n]), kind: 'duplicate' },
    { name: 'newer epoch demotes the master', current: masterAt3, news: info(4, 1n), kind: 'became-slave' },
    { name: 'newer epoch promotes the slave', current: slaveAt3, news: info(4, self), kind: 'became-master' },
    {
      name: 'newer epoch re-elects the master',
      current: masterAt3,
      news: info(4, self),
      kind: 'became-master',
    },
    {
      name: 'newer epoch clears the master',
      current: masterAt3,
      news: info(4, undefined),
      kind: 'no-master',
    },
  ])('$name → $kind', ({ current, news, kind }) => {
    expect(decideRole(current, news, self).kind).toBe(kind);
  });

  it('records the new epoch, master and sorted set', () => {
    const decision = decideRole(slaveAt3, info(7, self, 8, [3n, 2n, 3n]), self);
    expect(decision).toEqual({
      kind: 'became-master',
      state: {
        role: 'master',
        masterEpoch: 7,
        masterBrokerId: self,
        masterAddress: 'h:2',
        syncStateSet: [2n, 3n],
        syncStateSetEpoch: 8,
      },
    });
    const cleared = decideRole(slaveAt3, info(4, undefined), self);
    expect(cleared.kind === 'no-master' && cleared.state).toMatchObject({ role: 'unknown', masterEpoch: 4 });
  });

  it('unions id sets in ascending order', () => {
    expect(unionOf([3n, 1n], [2n, 3n])).toEqual([1n, 2n, 3n]);
  });
});
