import { describe, expect, it } from 'vitest';
import { confirmOffsetOf, nextSyncStateSet, type SlaveProgress } from './sync-state-set.js';

const slave = (brokerId: bigint, over: Partial<SlaveProgress> = {}): SlaveProgress => ({
  brokerId,
  connected: true,
  asyncLearner: false,
  ackOffset: 100n,
  lastTransferredOffset: 100n,
  lastCaughtUpMs: 1000,
  ...over,
});
const base = {
  masterBrokerId: 1n,
  nowMs: 1000,
  slaveNotCatchUpMaxMs: 500,
  confirmOffset: 100n,
  currentEpochStartOffset: 50n,
};

describe('nextSyncStateSet (§3.5)', () => {
  it.each([
    { name: 'steady: unchanged', current: [1n, 2n], slaves: [slave(2n)], next: undefined },
    {
      name: 'disconnected member leaves',
      current: [1n, 2n],
      slaves: [slave(2n, { connected: false })],
      next: [1n],
    },
    { name: 'member without HA record leaves', current: [1n, 2n], slaves: [], next: [1n] },
    {
      name: 'member not caught up for too long leaves',
      current: [1n, 2n],
      slaves: [slave(2n, { lastCaughtUpMs: 400 })],
      next: [1n],
    },
    {
      name: 'member behind for less than the bound stays',
      current: [1n, 2n],
      slaves: [slave(2n, { lastCaughtUpMs: 600, ackOffset: 90n })],
      next: undefined,
    },
    { name: 'caught-up slave joins', current: [1n], slaves: [slave(3n)], next: [1n, 3n] },
    {
      name: 'slave that has not acked all it was sent stays out',
      current: [1n],
      slaves: [slave(3n, { lastTransferredOffset: 120n })],
      next: undefined,
    },
    {
      name: 'slave below the confirm offset stays out',
      current: [1n],
      slaves: [slave(3n, { ackOffset: 90n, lastTransferredOffset: 90n })],
      next: undefined,
    },
    {
      name: 'slave below the current epoch start stays out',
      current: [1n],
      slaves: [slave(3n, { ackOffset: 40n, lastTransferredOffset: 40n })],
      next: undefined,
    },
    {
      name: 'async learner stays out',
      current: [1n],
      slaves: [slave(3n, { asyncLearner: true })],
      next: undefined,
    },
    { name: 'master missing from the set is added back', current: [2n], slaves: [slave(2n)], next: [1n, 2n] },
    {
      name: 'shrink and expand at once',
      current: [1n, 2n],
      slaves: [slave(2n, { connected: false }), slave(3n)],
      next: [1n, 3n],
    },
  ])('$name', ({ current, slaves, next }) => {
    expect(nextSyncStateSet({ ...base, current, slaves })).toEqual(next);
  });
});

describe('confirmOffsetOf', () => {
  const acks = new Map([
    [2n, 80n],
    [3n, 95n],
  ]);
  it.each([
    { name: 'master alone: its max offset', quorumSet: [1n], result: 100n },
    { name: 'minimum over the slaves', quorumSet: [1n, 2n, 3n], result: 80n },
    { name: 'one slave', quorumSet: [1n, 3n], result: 95n },
    { name: 'a member without a connection keeps the previous value', quorumSet: [1n, 3n, 4n], result: 70n },
  ])('$name', ({ quorumSet, result }) => {
    expect(
      confirmOffsetOf({ masterBrokerId: 1n, masterMaxOffset: 100n, quorumSet, acks, previous: 70n }),
    ).toBe(result);
  });
});
