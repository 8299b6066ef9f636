import { LagFallback } from '@regent/proto/election';
import { decide, InvalidPolicyError, validatePolicy } from '../index.js';
import { detailOf, electRequest, policies, verdictsOf } from '../testing.js';

describe('max-lag', () => {
  test('a higher-epoch candidate trailing the best live offset by more than the bound is excluded', () => {
    const candidates = [
      { id: 1, epoch: 5, offset: 100 },
      { id: 2, epoch: 4, offset: 10_000 },
    ];
    expect(decide(electRequest({ candidates })).chosenBrokerId).toBe(1n);
    const response = decide(electRequest({ candidates, policy: policies.maxLag(1000) }));
    expect(response.policyName).toBe('max-lag');
    expect(response.chosenBrokerId).toBe(2n);
    expect(response.rankedBrokerIds).toEqual([2n]);
    expect(verdictsOf(response)).toEqual({ '1': 'LAG_TOO_LARGE', '2': 'CHOSEN' });
    expect(detailOf(response, 1)).toBe(
      'max offset 100 trails 10000 (best live offset, broker 2) by 9900 bytes > 1000',
    );
  });

  test('a lag equal to the bound is allowed', () => {
    const response = decide(
      electRequest({
        candidates: [
          { id: 1, epoch: 5, offset: 9000 },
          { id: 2, epoch: 4, offset: 10_000 },
        ],
        policy: policies.maxLag(1000),
      }),
    );
    expect(response.chosenBrokerId).toBe(1n);
    expect(verdictsOf(response)).toEqual({ '1': 'CHOSEN', '2': 'OUTRANKED' });
  });

  test("the dead old master's last offset is the reference when it is ahead", () => {
    const response = decide(
      electRequest({
        candidates: [
          { id: 1, alive: false, offset: 100_000 },
          { id: 2, epoch: 3, offset: 90_000 },
          { id: 3, epoch: 2, offset: 99_500 },
        ],
        oldMaster: 1,
        policy: policies.maxLag(1000),
      }),
    );
    expect(response.chosenBrokerId).toBe(3n);
    expect(verdictsOf(response)).toEqual({ '1': 'NOT_ALIVE', '2': 'LAG_TOO_LARGE', '3': 'CHOSEN' });
    expect(detailOf(response, 2)).toContain("trails 100000 (old master 1's last offset) by 10000 bytes");
  });

  const allTrailing = {
    candidates: [
      { id: 1, alive: false, offset: 100_000 },
      { id: 2, epoch: 3, offset: 90_000 },
      { id: 3, epoch: 2, offset: 80_000 },
    ],
    oldMaster: 1,
  };

  test.each([LagFallback.REFUSE, LagFallback.UNSPECIFIED])(
    'nobody within the bound, fallback %s: nobody',
    (fallback) => {
      const response = decide(electRequest({ ...allTrailing, policy: policies.maxLag(1000, fallback) }));
      expect(response.chosenBrokerId).toBeUndefined();
      expect(response.rankedBrokerIds).toEqual([]);
      expect(verdictsOf(response)).toEqual({ '1': 'NOT_ALIVE', '2': 'LAG_TOO_LARGE', '3': 'LAG_TOO_LARGE' });
      expect(response.explanation).toBe(
        'max-lag: no live candidate within 1000 bytes of the reference offset; fallback REFUSE elects nobody',
      );
    },
  );

  test('nobody within the bound, fallback DEFAULT_RANKING: the default ranking ignoring the bound', () => {
    const response = decide(
      electRequest({ ...allTrailing, policy: policies.maxLag(1000, LagFallback.DEFAULT_RANKING) }),
    );
    expect(response.chosenBrokerId).toBe(2n);
    expect(response.rankedBrokerIds).toEqual([2n, 3n]);
    expect(verdictsOf(response)).toEqual({ '1': 'NOT_ALIVE', '2': 'CHOSEN', '3': 'OUTRANKED' });
    expect(response.explanation).toContain('fell back to the default ranking: elected broker 2');
  });

  test('the fallback does not apply when nobody is alive', () => {
    const response = decide(
      electRequest({
        candidates: [{ id: 1, alive: false }],
        policy: policies.maxLag(0, LagFallback.DEFAULT_RANKING),
      }),
    );
    expect(response.chosenBrokerId).toBeUndefined();
    expect(response.explanation).not.toContain('fell back');
  });

  test('lags beyond 2^53 are exact', () => {
    const response = decide(
      electRequest({
        candidates: [
          { id: 1, epoch: 5, offset: 2n ** 60n },
          { id: 2, epoch: 4, offset: 2n ** 60n + 2n ** 53n + 1n },
        ],
        policy: policies.maxLag(2n ** 53n),
      }),
    );
    expect(response.chosenBrokerId).toBe(2n);
    expect(verdictsOf(response)).toEqual({ '1': 'LAG_TOO_LARGE', '2': 'CHOSEN' });
  });

  test('an unknown offset (-1) trails a known reference', () => {
    const response = decide(
      electRequest({
        candidates: [
          { id: 1, epoch: 5, offset: -1 },
          { id: 2, epoch: 4, offset: 0 },
        ],
        policy: policies.maxLag(0),
      }),
    );
    expect(response.chosenBrokerId).toBe(2n);
    expect(verdictsOf(response)).toEqual({ '1': 'LAG_TOO_LARGE', '2': 'CHOSEN' });
  });

  test('unclean pool: a replica outside the SyncStateSet within the bound is elected', () => {
    const response = decide(
      electRequest({
        candidates: [
          { id: 1, alive: false, offset: 5000 },
          { id: 2, epoch: 3, offset: 1000 },
          { id: 3, epoch: 2, offset: 4990 },
        ],
        isr: [1, 2],
        oldMaster: 1,
        unclean: true,
        policy: policies.maxLag(100),
      }),
    );
    expect(response.chosenBrokerId).toBe(3n);
    expect(response.unclean).toBe(true);
    expect(verdictsOf(response)).toEqual({ '1': 'NOT_ALIVE', '2': 'LAG_TOO_LARGE', '3': 'CHOSEN' });
  });

  test('a live old master is kept regardless of the bound', () => {
    const response = decide(
      electRequest({
        candidates: [
          { id: 1, offset: 0 },
          { id: 2, offset: 5000 },
        ],
        oldMaster: 1,
        policy: policies.maxLag(10),
      }),
    );
    expect(response.chosenBrokerId).toBe(1n);
    expect(response.masterKept).toBe(true);
  });
});

describe('max-lag validation', () => {
  test('a negative bound and an unknown fallback', () => {
    expect(validatePolicy(policies.maxLag(0))).toEqual([]);
    const problems = validatePolicy(policies.maxLag(-1, 9 as LagFallback));
    expect(problems.map((p) => [p.field, p.message])).toEqual([
      ['max_lag.max_lag_bytes', 'must be >= 0, got -1'],
      ['max_lag.fallback', 'unknown fallback 9'],
    ]);
    expect(() => decide(electRequest({ candidates: [], policy: policies.maxLag(-5) }))).toThrow(
      InvalidPolicyError,
    );
  });
});
