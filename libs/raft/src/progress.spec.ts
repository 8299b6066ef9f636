import { Inflights } from './inflights.js';
import { Progress } from './progress.js';
import { AssertionError } from './types.js';

describe('Inflights: a bounded window of in-flight appends', () => {
  test('fills up to capacity and frees acknowledged messages', () => {
    const w = new Inflights(3);
    w.add(5);
    w.add(7);
    expect(w.full()).toBe(false);
    w.add(9);
    expect(w.full()).toBe(true);
    expect(() => w.add(10)).toThrow(AssertionError);
    w.freeLE(7);
    expect(w.count).toBe(1);
    w.add(10);
    w.add(11);
    expect(w.full()).toBe(true);
    w.freeLE(100);
    expect(w.count).toBe(0);
  });

  test.each([
    { added: [1, 2, 3, 4], free: 0, left: 4 },
    { added: [1, 2, 3, 4], free: 1, left: 3 },
    { added: [1, 2, 3, 4], free: 3, left: 1 },
    { added: [2, 4, 6, 8], free: 5, left: 2 },
    { added: [2, 4, 6, 8], free: 8, left: 0 },
  ])('freeLE($free) after $added leaves $left', ({ added, free, left }) => {
    const w = new Inflights(4);
    for (const i of added) w.add(i);
    w.freeLE(free);
    expect(w.count).toBe(left);
  });

  test('wraps around the ring', () => {
    const w = new Inflights(2);
    for (let i = 1; i <= 10; i++) {
      w.add(i);
      w.freeLE(i - 1);
      expect(w.count).toBeLessThanOrEqual(2);
    }
    w.freeFirstOne();
    expect(w.count).toBe(0);
  });

  test('indexes must increase', () => {
    const w = new Inflights(4);
    w.add(5);
    expect(() => w.add(5)).toThrow(AssertionError);
  });
});

function progress(state: 'probe' | 'replicate' | 'snapshot', match: number, next: number): Progress {
  const pr = new Progress(next, 4, false);
  pr.match = match;
  if (state === 'replicate') pr.becomeReplicate();
  if (state === 'snapshot') pr.becomeSnapshot(20);
  pr.next = next;
  return pr;
}

describe('Progress', () => {
  test.each([
    {
      name: 'probe: advances',
      state: 'probe',
      match: 3,
      next: 5,
      ack: 7,
      updated: true,
      wantMatch: 7,
      wantNext: 8,
    },
    {
      name: 'probe: stale ack',
      state: 'probe',
      match: 3,
      next: 5,
      ack: 2,
      updated: false,
      wantMatch: 3,
      wantNext: 5,
    },
    {
      name: 'replicate: keeps next ahead',
      state: 'replicate',
      match: 3,
      next: 9,
      ack: 5,
      updated: true,
      wantMatch: 5,
      wantNext: 9,
    },
    {
      name: 'same match',
      state: 'replicate',
      match: 3,
      next: 9,
      ack: 3,
      updated: false,
      wantMatch: 3,
      wantNext: 9,
    },
  ] as const)('maybeUpdate: $name', ({ state, match, next, ack, updated, wantMatch, wantNext }) => {
    const pr = progress(state, match, next);
    expect(pr.maybeUpdate(ack)).toBe(updated);
    expect([pr.match, pr.next]).toEqual([wantMatch, wantNext]);
  });

  test.each([
    // Replicate: a rejection above match drops back to match + 1; one at or below match is stale.
    { state: 'replicate', match: 5, next: 10, rejected: 9, hint: 9, ok: true, wantNext: 6 },
    { state: 'replicate', match: 5, next: 10, rejected: 5, hint: 5, ok: false, wantNext: 10 },
    // Probe: only a rejection of the latest probe (next - 1) counts; next jumps to the hint.
    { state: 'probe', match: 0, next: 10, rejected: 9, hint: 3, ok: true, wantNext: 4 },
    { state: 'probe', match: 0, next: 10, rejected: 8, hint: 3, ok: false, wantNext: 10 },
    { state: 'probe', match: 0, next: 10, rejected: 9, hint: 20, ok: true, wantNext: 9 },
    { state: 'probe', match: 5, next: 10, rejected: 9, hint: 2, ok: true, wantNext: 6 },
  ] as const)(
    'maybeDecrTo in $state (match $match, next $next) rejected $rejected hint $hint → next $wantNext',
    (c) => {
      const pr = progress(c.state, c.match, c.next);
      expect(pr.maybeDecrTo(c.rejected, c.hint)).toBe(c.ok);
      expect(pr.next).toBe(c.wantNext);
      expect(pr.match).toBeLessThan(pr.next);
    },
  );

  test('probe pauses after one message until answered', () => {
    const pr = progress('probe', 0, 5);
    expect(pr.isPaused()).toBe(false);
    pr.sentEntries(2, 6);
    expect(pr.isPaused()).toBe(true);
    expect(pr.next).toBe(5);
    pr.maybeUpdate(6);
    expect(pr.isPaused()).toBe(false);
  });

  test('replicate pipelines up to the window, then pauses', () => {
    const pr = progress('replicate', 4, 5);
    for (let i = 0; i < 4; i++) {
      expect(pr.isPaused()).toBe(false);
      pr.sentEntries(1, pr.next);
    }
    expect(pr.next).toBe(9);
    expect(pr.isPaused()).toBe(true);
    pr.maybeUpdate(6);
    pr.inflights.freeLE(6);
    expect(pr.isPaused()).toBe(false);
  });

  test('snapshot state pauses; becoming probe resumes after the snapshot', () => {
    const pr = progress('probe', 3, 4);
    pr.becomeSnapshot(20);
    expect(pr.isPaused()).toBe(true);
    pr.becomeProbe();
    expect([pr.state, pr.next, pr.pendingSnapshot]).toEqual(['probe', 21, 0]);
  });

  test('becomeReplicate starts right after match', () => {
    const pr = progress('probe', 7, 12);
    pr.becomeReplicate();
    expect([pr.state, pr.next]).toEqual(['replicate', 8]);
  });
});
