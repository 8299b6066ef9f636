import { ReadIndexTracker } from './read-index.js';
import { AssertionError } from './types.js';

describe('ReadIndexTracker: reads confirmed by a quorum echoing a round number (thesis §6.4)', () => {
  const voters = new Set([1, 2, 3]);

  test('a request is released once a majority echoed a round >= its own', () => {
    const t = new ReadIndexTracker(10);
    const a = t.add(1, 100, 7, 1);
    const b = t.add(2, 200, 8, 1);
    expect(t.latestSeq).toBe(b.seq);
    expect(t.release(voters)).toEqual([]);
    t.ack(2, a.seq);
    expect(t.release(voters)).toEqual([a]);
    t.ack(3, b.seq);
    expect(t.release(voters)).toEqual([b]);
    expect(t.size).toBe(0);
  });

  test('an echo of a later round confirms every earlier request', () => {
    const t = new ReadIndexTracker(10);
    const requests = [t.add(1, 1, 5, 1), t.add(1, 2, 5, 1), t.add(1, 3, 6, 1)];
    t.ack(3, requests[2]!.seq);
    expect(t.release(voters)).toEqual(requests);
  });

  test.each([
    { name: 'non-voter echoes do not count', acks: [[9, 1]], released: 0 },
    { name: 'unknown rounds are ignored', acks: [[2, 99]], released: 0 },
    { name: 'an older round does not confirm a newer request', acks: [[2, 1]], released: 1 },
    {
      name: 'two voters',
      acks: [
        [2, 2],
        [3, 1],
      ],
      released: 2,
    },
  ])('$name', ({ acks, released }) => {
    const t = new ReadIndexTracker(10);
    t.add(1, 1, 5, 1);
    t.add(1, 2, 5, 1);
    for (const [from, seq] of acks) t.ack(from!, seq!);
    expect(t.release(voters)).toHaveLength(released);
  });

  test('is bounded', () => {
    const t = new ReadIndexTracker(2);
    t.add(1, 1, 1, 1);
    t.add(1, 2, 1, 1);
    expect(t.full()).toBe(true);
    expect(() => t.add(1, 3, 1, 1)).toThrow(AssertionError);
  });

  test('reset drops everything and keeps round numbers increasing', () => {
    const t = new ReadIndexTracker(4);
    const a = t.add(1, 1, 1, 1);
    expect(t.reset()).toEqual([a]);
    expect(t.add(1, 2, 1, 1).seq).toBeGreaterThan(a.seq);
  });
});
