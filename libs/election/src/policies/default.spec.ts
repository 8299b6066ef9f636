// rocketmq-default: the DefaultElectPolicy behaviour of reference §4.2, with the offset-overflow and tie bugs fixed.
import { decide, policyName } from '../index.js';
import { detailOf, electRequest, policies, verdictsOf } from '../testing.js';

describe('rocketmq-default: ranking within the SyncStateSet', () => {
  test.each([
    {
      name: 'the highest epoch wins even with a lower offset',
      candidates: [
        { id: 1, epoch: 3, offset: 900 },
        { id: 2, epoch: 4, offset: 100 },
      ],
      chosen: 2n,
      ranked: [2n, 1n],
    },
    {
      name: 'equal epochs: the highest offset wins',
      candidates: [
        { id: 1, epoch: 4, offset: 100 },
        { id: 2, epoch: 4, offset: 900 },
      ],
      chosen: 2n,
      ranked: [2n, 1n],
    },
    {
      name: 'equal epoch and offset: the lowest priority value wins',
      candidates: [
        { id: 1, epoch: 4, offset: 100, priority: 5 },
        { id: 2, epoch: 4, offset: 100, priority: 1 },
        { id: 3, epoch: 4, offset: 100 },
      ],
      chosen: 2n,
      ranked: [2n, 1n, 3n],
    },
    {
      name: 'offsets more than 2^31 apart rank correctly (RocketMQ int cast would invert them)',
      candidates: [
        { id: 1, epoch: 4, offset: 0 },
        { id: 2, epoch: 4, offset: 2n ** 31n + 7n },
      ],
      chosen: 2n,
      ranked: [2n, 1n],
    },
    {
      name: 'offsets beyond 2^53 that differ by one rank correctly (no double rounding)',
      candidates: [
        { id: 1, epoch: 4, offset: 2n ** 53n },
        { id: 2, epoch: 4, offset: 2n ** 53n + 1n },
      ],
      chosen: 2n,
      ranked: [2n, 1n],
    },
    {
      name: 'full ties keep every candidate, lower broker id first (RocketMQ TreeSet would collapse them)',
      candidates: [
        { id: 5, epoch: 4, offset: 100, priority: 1 },
        { id: 3, epoch: 4, offset: 100, priority: 1 },
        { id: 4, epoch: 4, offset: 100, priority: 1 },
      ],
      chosen: 3n,
      ranked: [3n, 4n, 5n],
    },
  ])('$name', ({ candidates, chosen, ranked }) => {
    const response = decide(electRequest({ candidates }));
    expect(response.chosenBrokerId).toBe(chosen);
    expect(response.rankedBrokerIds).toEqual(ranked);
    expect(response.masterKept).toBe(false);
    expect(response.unclean).toBe(false);
    expect(response.policyName).toBe('rocketmq-default');
  });

  test('a full tie explains the broker-id tie break', () => {
    const response = decide(
      electRequest({
        candidates: [
          { id: 2, epoch: 4, offset: 100 },
          { id: 1, epoch: 4, offset: 100 },
        ],
      }),
    );
    expect(verdictsOf(response)).toEqual({ '1': 'CHOSEN', '2': 'OUTRANKED' });
    expect(detailOf(response, 2)).toBe(
      'ties broker 1 on epoch, max offset and priority; the lower broker id wins',
    );
  });
});

describe('rocketmq-default: pools, liveness, old master and designation', () => {
  test('dead candidates are excluded', () => {
    const response = decide(
      electRequest({
        candidates: [
          { id: 1, epoch: 9, alive: false },
          { id: 2, epoch: 3 },
        ],
      }),
    );
    expect(response.chosenBrokerId).toBe(2n);
    expect(response.rankedBrokerIds).toEqual([2n]);
    expect(verdictsOf(response)).toEqual({ '1': 'NOT_ALIVE', '2': 'CHOSEN' });
  });

  test('replicas outside the SyncStateSet are excluded when unclean election is disabled', () => {
    const response = decide(
      electRequest({
        candidates: [
          { id: 1, epoch: 9, offset: 999 },
          { id: 2, epoch: 3 },
        ],
        isr: [2],
      }),
    );
    expect(response.chosenBrokerId).toBe(2n);
    expect(verdictsOf(response)).toEqual({ '1': 'NOT_IN_SYNC_STATE_SET', '2': 'CHOSEN' });
    expect(detailOf(response, 1)).toBe('not in the SyncStateSet; unclean election is disabled');
  });

  test('no live SyncStateSet member and unclean disabled: nobody', () => {
    const response = decide(
      electRequest({
        candidates: [
          { id: 1, alive: false },
          { id: 2, epoch: 3 },
        ],
        isr: [1],
      }),
    );
    expect(response.chosenBrokerId).toBeUndefined();
    expect(response.rankedBrokerIds).toEqual([]);
    expect(verdictsOf(response)).toEqual({ '1': 'NOT_ALIVE', '2': 'NOT_IN_SYNC_STATE_SET' });
    expect(response.explanation).toBe(
      'rocketmq-default: no live candidate in the SyncStateSet and unclean election is disabled; no master elected',
    );
  });

  test('no live SyncStateSet member and unclean enabled: the best of all live replicas, flagged unclean', () => {
    const response = decide(
      electRequest({
        candidates: [
          { id: 1, alive: false, epoch: 9 },
          { id: 2, epoch: 3, offset: 10 },
          { id: 3, epoch: 3, offset: 20 },
        ],
        isr: [1],
        unclean: true,
      }),
    );
    expect(response.chosenBrokerId).toBe(3n);
    expect(response.rankedBrokerIds).toEqual([3n, 2n]);
    expect(response.unclean).toBe(true);
    expect(verdictsOf(response)).toEqual({ '1': 'NOT_ALIVE', '2': 'OUTRANKED', '3': 'CHOSEN' });
    expect(response.explanation).toContain('outside the SyncStateSet (unclean election)');
  });

  test('unclean enabled but a live SyncStateSet member exists: the SyncStateSet pool decides', () => {
    const response = decide(
      electRequest({
        candidates: [
          { id: 1, epoch: 2 },
          { id: 2, epoch: 9, offset: 999 },
        ],
        isr: [1],
        unclean: true,
      }),
    );
    expect(response.chosenBrokerId).toBe(1n);
    expect(response.unclean).toBe(false);
    expect(verdictsOf(response)).toEqual({ '1': 'CHOSEN', '2': 'NOT_IN_SYNC_STATE_SET' });
    expect(detailOf(response, 2)).toBe('not in the SyncStateSet; an in-sync candidate was elected first');
  });

  test('a live old master is kept even when another candidate ranks higher', () => {
    const response = decide(
      electRequest({
        candidates: [
          { id: 1, epoch: 3, offset: 10 },
          { id: 2, epoch: 4, offset: 99 },
          { id: 3, alive: false },
        ],
        oldMaster: 1,
      }),
    );
    expect(response.chosenBrokerId).toBe(1n);
    expect(response.masterKept).toBe(true);
    expect(response.rankedBrokerIds).toEqual([1n]);
    expect(verdictsOf(response)).toEqual({ '1': 'CHOSEN', '2': 'MASTER_KEPT', '3': 'NOT_ALIVE' });
    expect(response.explanation).toBe('rocketmq-default: kept live old master 1');
  });

  test('a dead old master is replaced', () => {
    const response = decide(
      electRequest({
        candidates: [
          { id: 1, alive: false, epoch: 9 },
          { id: 2, epoch: 3 },
        ],
        oldMaster: 1,
      }),
    );
    expect(response.chosenBrokerId).toBe(2n);
    expect(response.masterKept).toBe(false);
  });

  test('a designated broker replaces a live old master', () => {
    const response = decide(
      electRequest({
        candidates: [
          { id: 1, epoch: 4 },
          { id: 2, epoch: 3 },
          { id: 3, epoch: 3 },
        ],
        oldMaster: 1,
        designated: 2,
      }),
    );
    expect(response.chosenBrokerId).toBe(2n);
    expect(response.masterKept).toBe(false);
    expect(response.rankedBrokerIds).toEqual([2n]);
    expect(verdictsOf(response)).toEqual({ '1': 'NOT_DESIGNATED', '2': 'CHOSEN', '3': 'NOT_DESIGNATED' });
  });

  test('designating the live old master keeps it', () => {
    const response = decide(
      electRequest({ candidates: [{ id: 1 }, { id: 2, epoch: 5 }], oldMaster: 1, designated: 1 }),
    );
    expect(response.chosenBrokerId).toBe(1n);
    expect(response.masterKept).toBe(true);
  });

  test('a dead designated broker gives nobody', () => {
    const response = decide(
      electRequest({
        candidates: [{ id: 1, alive: false }, { id: 2 }],
        designated: 1,
        unclean: true,
      }),
    );
    expect(response.chosenBrokerId).toBeUndefined();
    expect(verdictsOf(response)).toEqual({ '1': 'NOT_ALIVE', '2': 'NOT_DESIGNATED' });
  });

  test('a designated broker outside the SyncStateSet needs unclean election', () => {
    const base = { candidates: [{ id: 1 }, { id: 2 }], isr: [1], designated: 2 };
    const clean = decide(electRequest(base));
    expect(clean.chosenBrokerId).toBeUndefined();
    expect(verdictsOf(clean)).toEqual({ '1': 'NOT_DESIGNATED', '2': 'NOT_IN_SYNC_STATE_SET' });
    expect(clean.explanation).toBe(
      'rocketmq-default: designated broker 2 is not a live member of the SyncStateSet; no master elected',
    );
    const unclean = decide(electRequest({ ...base, unclean: true }));
    expect(unclean.chosenBrokerId).toBe(2n);
    expect(unclean.unclean).toBe(true);
  });

  test('a designated broker that is not a candidate gives nobody', () => {
    const response = decide(electRequest({ candidates: [{ id: 1 }], designated: 7 }));
    expect(response.chosenBrokerId).toBeUndefined();
    expect(verdictsOf(response)).toEqual({ '1': 'NOT_DESIGNATED' });
  });

  test('no candidates at all', () => {
    const response = decide(electRequest({ candidates: [] }));
    expect(response.chosenBrokerId).toBeUndefined();
    expect(response.reasons).toEqual([]);
  });

  test('SyncStateSet ids without a candidate are ignored', () => {
    const response = decide(electRequest({ candidates: [{ id: 1 }], isr: [1, 42] }));
    expect(response.chosenBrokerId).toBe(1n);
  });

  test('reasons come one per candidate, in request order', () => {
    const response = decide(
      electRequest({ candidates: [{ id: 9 }, { id: 2, alive: false }, { id: 5, epoch: 3 }], isr: [9, 5] }),
    );
    expect(response.reasons.map((r) => r.brokerId)).toEqual([9n, 2n, 5n]);
  });

  test('an explicit rocketmq_default policy is the same as no policy', () => {
    const candidates = [{ id: 1, epoch: 2 }, { id: 2 }];
    const explicit = decide(electRequest({ candidates, policy: policies.rocketmqDefault() }));
    const implicit = decide(electRequest({ candidates }));
    expect(explicit).toEqual(implicit);
    expect(policyName(policies.rocketmqDefault())).toBe('rocketmq-default');
    expect(policyName(undefined)).toBe('rocketmq-default');
  });
});
