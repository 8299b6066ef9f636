import { encodeConfChange } from './conf-change-codec.js';
import {
  applyConfChange,
  checkConfChange,
  type Membership,
  membershipFromConfState,
  toConfState,
} from './membership.js';
import { MembershipLog } from './membership-log.js';
import { type ConfChange, ConfChangeType, type Entry, EntryType } from './types.js';

function membership(voters: number[], learners: number[] = []): Membership {
  const m = membershipFromConfState({ voters, learners }, new Map());
  if (typeof m === 'string') throw new Error(m);
  return m;
}

const add = (nodeId: number): ConfChange => ({
  type: ConfChangeType.AddVoter,
  nodeId,
  context: `addr-${nodeId}`,
});
const learner = (nodeId: number): ConfChange => ({ type: ConfChangeType.AddLearner, nodeId, context: '' });
const promote = (nodeId: number): ConfChange => ({
  type: ConfChangeType.PromoteLearner,
  nodeId,
  context: '',
});
const remove = (nodeId: number): ConfChange => ({ type: ConfChangeType.RemoveNode, nodeId, context: '' });

describe('checkConfChange and applyConfChange (single-server changes, thesis §4.1)', () => {
  test.each([
    { change: add(4), voters: [1, 2, 3, 4], learners: [] },
    { change: add(1), error: 'already a voter' },
    { change: add(5), voters: [1, 2, 3, 5], learners: [] },
    { change: add(9), setup: [9], error: 'is a learner' },
    { change: learner(4), voters: [1, 2, 3], learners: [4] },
    { change: learner(2), error: 'already a member' },
    { change: promote(9), setup: [9], voters: [1, 2, 3, 9], learners: [] },
    { change: promote(2), error: 'not a learner' },
    { change: remove(2), voters: [1, 3], learners: [] },
    { change: remove(9), setup: [9], voters: [1, 2, 3], learners: [] },
    { change: remove(7), error: 'not a member' },
    { change: { type: ConfChangeType.AddVoter, nodeId: 0, context: '' }, error: 'positive safe integer' },
    { change: { type: 99 as ConfChangeType, nodeId: 4, context: '' }, error: 'unknown change type' },
  ])(
    '$change.type $change.nodeId → $voters $learners $error',
    ({ change, setup, voters, learners, error }) => {
      const m = membership([1, 2, 3], setup ?? []);
      const reason = checkConfChange(m, change);
      if (error) {
        expect(reason).toContain(error);
        return;
      }
      expect(reason).toBeUndefined();
      expect(toConfState(applyConfChange(m, change))).toEqual({ voters, learners });
    },
  );

  test('the last voter cannot be removed', () => {
    expect(checkConfChange(membership([1]), remove(1))).toContain('last voter');
    expect(checkConfChange(membership([1], [2]), remove(2))).toBeUndefined();
  });

  test('an add records the address; a remove forgets it', () => {
    const m = applyConfChange(membership([1]), add(4));
    expect(m.addresses.get(4)).toBe('addr-4');
    expect(applyConfChange(m, remove(4)).addresses.has(4)).toBe(false);
  });

  test.each([
    { voters: [1, 1], learners: [], error: 'duplicate voter' },
    { voters: [1], learners: [2, 2], error: 'duplicate learner' },
    { voters: [1, 2], learners: [2], error: 'both voter and learner' },
    { voters: [0], learners: [], error: 'positive safe integer' },
  ])('membershipFromConfState rejects $voters / $learners', ({ voters, learners, error }) => {
    expect(membershipFromConfState({ voters, learners }, new Map())).toContain(error);
  });
});

function ccEntry(index: number, change: ConfChange): Entry {
  return { index, term: 1, type: EntryType.ConfChange, data: encodeConfChange(change) };
}

function plain(index: number): Entry {
  return { index, term: 1, type: EntryType.Normal, data: new Uint8Array(0) };
}

describe('MembershipLog: a change takes effect when appended and is rolled back by truncation', () => {
  test('append, then truncate the change away', () => {
    const log = new MembershipLog(membership([1, 2, 3]), 10);
    expect(log.append([plain(11), ccEntry(12, add(4)), plain(13)])).toBe(true);
    expect(toConfState(log.current()).voters).toEqual([1, 2, 3, 4]);
    expect(log.lastChangeIndex()).toBe(12);
    expect(toConfState(log.previous()).voters).toEqual([1, 2, 3]);
    // A new leader overwrites index 12 with a normal entry.
    expect(log.append([plain(12)])).toBe(true);
    expect(toConfState(log.current()).voters).toEqual([1, 2, 3]);
    expect(log.lastChangeIndex()).toBe(10);
  });

  test('at(index) answers the membership in force at that index', () => {
    const log = new MembershipLog(membership([1, 2, 3]), 10);
    log.append([ccEntry(11, add(4)), plain(12), ccEntry(13, remove(1))]);
    expect(toConfState(log.at(10)).voters).toEqual([1, 2, 3]);
    expect(toConfState(log.at(12)).voters).toEqual([1, 2, 3, 4]);
    expect(toConfState(log.at(13)).voters).toEqual([2, 3, 4]);
    log.compactTo(12);
    expect(toConfState(log.at(12)).voters).toEqual([1, 2, 3, 4]);
    expect(toConfState(log.current()).voters).toEqual([2, 3, 4]);
    expect(() => log.at(11)).toThrow();
  });

  test('a change that does not fit is skipped alike on every node', () => {
    const log = new MembershipLog(membership([1, 2, 3]), 0);
    expect(log.append([ccEntry(1, add(2))])).toBe(false);
    expect(
      log.append([{ index: 2, term: 1, type: EntryType.ConfChange, data: new Uint8Array([0xff]) }]),
    ).toBe(false);
    expect(toConfState(log.current()).voters).toEqual([1, 2, 3]);
  });

  test('restore replaces everything with the snapshot membership', () => {
    const log = new MembershipLog(membership([1, 2, 3]), 0);
    log.append([ccEntry(1, add(4))]);
    log.restore(membership([7, 8, 9]), 50);
    expect(toConfState(log.current()).voters).toEqual([7, 8, 9]);
    expect(log.lastChangeIndex()).toBe(50);
  });
});
