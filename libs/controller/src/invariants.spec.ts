import { checkStateInvariants, createHistoryChecker } from './invariants.js';
import { type ControllerState, cloneState } from './state.js';
import { commands, Harness } from './testing.js';

function electedGroup(): Harness {
  const h = new Harness();
  h.registerGroup('a', 2);
  h.submit(commands.electMaster('a', 1n));
  return h;
}

function mutate(
  state: ControllerState,
  change: (group: NonNullable<ReturnType<ControllerState['groups']['get']>>) => void,
): ControllerState {
  const copy = cloneState(state);
  const group = copy.groups.get('a');
  if (group === undefined) throw new Error('no group a');
  change(group);
  return copy;
}

describe('checkStateInvariants', () => {
  it('accepts a state built by the handlers', () => {
    expect(checkStateInvariants(electedGroup().state)).toEqual([]);
  });

  it('reports a master outside its SyncStateSet, an unregistered member and a reused id', () => {
    const state = electedGroup().state;
    expect(checkStateInvariants(mutate(state, (g) => (g.syncStateSet = [2n])))[0]?.message).toMatch(
      /not in its SyncStateSet/,
    );
    expect(checkStateInvariants(mutate(state, (g) => (g.syncStateSet = [1n, 9n])))[0]?.message).toMatch(
      /not registered/,
    );
    expect(checkStateInvariants(mutate(state, (g) => (g.nextAssignBrokerId = 2n)))[0]?.message).toMatch(
      /nextAssignBrokerId/,
    );
  });
});

describe('createHistoryChecker', () => {
  it('reports two masters at one masterEpoch, across sources', () => {
    const state = electedGroup().state;
    const checker = createHistoryChecker();
    expect(checker.observe(state, 'n1')).toEqual([]);
    const other = mutate(state, (g) => {
      g.masterBrokerId = 2n;
      g.syncStateSet = [2n];
    });
    expect(checker.observe(other, 'n2')[0]?.message).toMatch(/two masters at masterEpoch 1/);
  });

  it('reports epochs going back within a source', () => {
    const state = electedGroup().state;
    const checker = createHistoryChecker();
    checker.observe(state);
    const back = mutate(state, (g) => {
      g.masterEpoch = 0;
      g.masterBrokerId = undefined;
      g.syncStateSetEpoch = 0;
    });
    expect(checker.observe(back).map((v) => v.message)).toEqual([
      'masterEpoch went back from 1 to 0',
      'syncStateSetEpoch went back from 1 to 0',
    ]);
  });

  it('starts a new life for a group that was removed and re-created', () => {
    const h = electedGroup();
    const checker = createHistoryChecker();
    checker.observe(h.state);
    h.submit(commands.cleanBrokerData('a', [], true));
    expect(checker.observe(h.state)).toEqual([]);
    h.submit(commands.applyBrokerId('a', 1n, 'x:1;1'));
    h.submit(commands.applyBrokerId('a', 2n, 'x:2;1'));
    h.submit(commands.electMaster('a', 2n));
    expect(checker.observe(h.state)).toEqual([]);
  });
});
