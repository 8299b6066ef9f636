import { priorityAbsent } from './limits.js';
import {
  compareDefault,
  effectivePriority,
  outrankedDetail,
  type RankFields,
  rankDefault,
} from './ranking.js';

function key(brokerId: number, epoch: number, maxOffset: bigint, priority = priorityAbsent): RankFields {
  return { brokerId: BigInt(brokerId), epoch, maxOffset, priority };
}

describe('compareDefault', () => {
  test.each([
    { name: 'higher epoch wins over offset', a: key(1, 5, 0n), b: key(2, 4, 1_000_000n), first: 1 },
    { name: 'equal epoch: higher offset wins', a: key(1, 4, 10n), b: key(2, 4, 11n), first: 2 },
    {
      name: 'equal epoch and offset: lower priority value wins',
      a: key(1, 4, 10n, 3),
      b: key(2, 4, 10n, 2),
      first: 2,
    },
    { name: 'absent priority is the lowest', a: key(1, 4, 10n), b: key(2, 4, 10n, 2_147_483_646), first: 2 },
    { name: 'negative priorities beat positive ones', a: key(1, 4, 10n, 0), b: key(2, 4, 10n, -1), first: 2 },
    { name: 'full tie: lower broker id wins', a: key(7, 4, 10n, 1), b: key(3, 4, 10n, 1), first: 3 },
    { name: 'unknown epoch (-1) ranks below epoch 0', a: key(1, -1, 99n), b: key(2, 0, 0n), first: 2 },
    // RocketMQ casts the long difference to int: (int) (2^31 + 5 - 0) is negative and inverts the order.
    {
      name: 'offsets more than 2^31 apart (int-cast bug fixed)',
      a: key(1, 1, 0n),
      b: key(2, 1, 2n ** 31n + 5n),
      first: 2,
    },
    { name: 'offsets more than 2^32 apart', a: key(1, 1, 2n ** 32n + 1n), b: key(2, 1, 1n), first: 1 },
    // As doubles, 2^53 and 2^53 + 1 are equal; as bigints they are not.
    {
      name: 'offsets beyond 2^53 differing by one',
      a: key(1, 1, 2n ** 53n),
      b: key(2, 1, 2n ** 53n + 1n),
      first: 2,
    },
    { name: 'offsets near 2^63', a: key(1, 1, 2n ** 63n - 1n), b: key(2, 1, 2n ** 63n - 2n), first: 1 },
  ])('$name', ({ a, b, first }) => {
    const sorted = rankDefault([a, b]);
    expect(sorted[0]?.brokerId).toBe(BigInt(first));
    expect(Math.sign(compareDefault(a, b))).toBe(-Math.sign(compareDefault(b, a)));
  });

  test('ties do not collapse: every tied candidate stays, ordered by broker id', () => {
    const tied = [key(9, 2, 50n, 1), key(4, 2, 50n, 1), key(6, 2, 50n, 1)];
    expect(rankDefault(tied).map((k) => k.brokerId)).toEqual([4n, 6n, 9n]);
  });

  test('zero only for the same broker id', () => {
    expect(compareDefault(key(1, 2, 3n, 4), key(1, 2, 3n, 4))).toBe(0);
    expect(compareDefault(key(1, 2, 3n, 4), key(2, 2, 3n, 4))).toBeLessThan(0);
  });
});

describe('effectivePriority', () => {
  test('absent means Integer.MAX_VALUE', () => {
    expect(effectivePriority(undefined)).toBe(2 ** 31 - 1);
    expect(effectivePriority(0)).toBe(0);
  });
});

describe('outrankedDetail', () => {
  test.each([
    { loser: key(2, 3, 9n), winner: key(1, 4, 0n), detail: 'epoch 3 < 4 of broker 1' },
    { loser: key(2, 4, 9n), winner: key(1, 4, 10n), detail: 'max offset 9 < 10 of broker 1' },
    { loser: key(2, 4, 10n), winner: key(1, 4, 10n, 1), detail: 'priority none > 1 of broker 1' },
    {
      loser: key(2, 4, 10n, 1),
      winner: key(1, 4, 10n, 1),
      detail: 'ties broker 1 on epoch, max offset and priority; the lower broker id wins',
    },
  ])('$detail', ({ loser, winner, detail }) => {
    expect(outrankedDetail(loser, winner)).toBe(detail);
  });
});
