import { committedIndex, quorumSize, voteResult } from './quorum.js';

describe('quorumSize', () => {
  test.each([
    [0, 1],
    [1, 1],
    [2, 2],
    [3, 2],
    [4, 3],
    [5, 3],
    [7, 4],
  ])('%i voters need %i', (voters, quorum) => {
    expect(quorumSize(voters)).toBe(quorum);
  });
});

describe('committedIndex: the largest index a majority has matched', () => {
  test.each([
    { matches: [], want: 0 },
    { matches: [5], want: 5 },
    { matches: [5, 3], want: 3 },
    { matches: [5, 3, 1], want: 3 },
    { matches: [1, 3, 5], want: 3 },
    { matches: [2, 2, 9], want: 2 },
    { matches: [9, 9, 0, 0], want: 0 },
    { matches: [9, 8, 7, 0], want: 7 },
    { matches: [10, 1, 10, 1, 10], want: 10 },
    { matches: [10, 1, 10, 1, 2], want: 2 },
    { matches: [0, 0, 0], want: 0 },
  ])('$matches → $want', ({ matches, want }) => {
    expect(committedIndex(matches)).toBe(want);
  });

  test('does not reorder its input', () => {
    const matches = [1, 3, 2];
    committedIndex(matches);
    expect(matches).toEqual([1, 3, 2]);
  });
});

describe('voteResult', () => {
  const voters = (...ids: number[]) => new Set(ids);
  const votes = (entries: [number, boolean][]) => new Map(entries);
  test.each([
    { name: 'no voters', voters: voters(), votes: votes([]), want: 'lost' },
    { name: 'single voter, granted', voters: voters(1), votes: votes([[1, true]]), want: 'won' },
    { name: 'single voter, none yet', voters: voters(1), votes: votes([]), want: 'pending' },
    { name: '3: one granted', voters: voters(1, 2, 3), votes: votes([[1, true]]), want: 'pending' },
    {
      name: '3: two granted',
      voters: voters(1, 2, 3),
      votes: votes([
        [1, true],
        [2, true],
      ]),
      want: 'won',
    },
    {
      name: '3: one granted, one rejected',
      voters: voters(1, 2, 3),
      votes: votes([
        [1, true],
        [2, false],
      ]),
      want: 'pending',
    },
    {
      name: '3: two rejected',
      voters: voters(1, 2, 3),
      votes: votes([
        [1, true],
        [2, false],
        [3, false],
      ]),
      want: 'lost',
    },
    {
      name: '4: two granted is not a majority',
      voters: voters(1, 2, 3, 4),
      votes: votes([
        [1, true],
        [2, true],
        [3, false],
      ]),
      want: 'pending',
    },
    {
      name: '4: two rejected loses',
      voters: voters(1, 2, 3, 4),
      votes: votes([
        [1, true],
        [2, true],
        [3, false],
        [4, false],
      ]),
      want: 'lost',
    },
    {
      name: 'non-voters do not count',
      voters: voters(1, 2, 3),
      votes: votes([
        [1, true],
        [7, true],
        [8, true],
      ]),
      want: 'pending',
    },
  ])('$name → $want', ({ voters, votes, want }) => {
    expect(voteResult(voters, votes)).toBe(want);
  });
});
