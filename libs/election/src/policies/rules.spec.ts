import { decide, InvalidPolicyError, PolicyInputError } from '../index.js';
import { detailOf, electRequest, policies, verdictsOf } from '../testing.js';
import { compareRank } from './rules.js';

describe('rules: filter', () => {
  test('a filter over labels excludes candidates; the default ranking orders the rest', () => {
    const response = decide(
      electRequest({
        candidates: [
          { id: 1, epoch: 9, labels: { disk: 'hdd' } },
          { id: 2, epoch: 3, labels: { disk: 'ssd' } },
          { id: 3, epoch: 4, labels: { disk: 'ssd' } },
        ],
        policy: policies.rules({ filter: "c.labels.disk == 'ssd'" }),
      }),
    );
    expect(response.policyName).toBe('rules');
    expect(response.chosenBrokerId).toBe(3n);
    expect(response.rankedBrokerIds).toEqual([3n, 2n]);
    expect(verdictsOf(response)).toEqual({ '1': 'RULE_REJECTED', '2': 'OUTRANKED', '3': 'CHOSEN' });
    expect(detailOf(response, 1)).toBe('filter returned false');
  });

  test('a missing label rejects that candidate with the evaluation error, never crashing', () => {
    const response = decide(
      electRequest({
        candidates: [
          { id: 1, epoch: 9 },
          { id: 2, labels: { disk: 'ssd' } },
        ],
        policy: policies.rules({ filter: "c.labels.disk == 'ssd'" }),
      }),
    );
    expect(response.chosenBrokerId).toBe(2n);
    expect(verdictsOf(response)).toEqual({ '1': 'RULE_REJECTED', '2': 'CHOSEN' });
    expect(detailOf(response, 1)).toMatch(/^filter: line 1, column \d+: field not found: disk$/);
  });

  test('has() guards a missing label', () => {
    const response = decide(
      electRequest({
        candidates: [
          { id: 1, epoch: 9 },
          { id: 2, labels: { maintenance: 'true' } },
        ],
        policy: policies.rules({ filter: "!has(c.labels.maintenance) || c.labels.maintenance != 'true'" }),
      }),
    );
    expect(verdictsOf(response)).toEqual({ '1': 'CHOSEN', '2': 'RULE_REJECTED' });
  });

  test('a dyn filter producing a non-bool rejects the candidate', () => {
    const response = decide(
      electRequest({ candidates: [{ id: 1, zone: 'a' }], policy: policies.rules({ filter: 'dyn(c.zone)' }) }),
    );
    expect(response.chosenBrokerId).toBeUndefined();
    expect(detailOf(response, 1)).toBe('filter returned a string, want bool');
  });

  test('the group variables: stay within 100 bytes of the best live offset', () => {
    const response = decide(
      electRequest({
        candidates: [
          { id: 1, epoch: 9, offset: 500 },
          { id: 2, epoch: 2, offset: 1000 },
          { id: 3, epoch: 3, offset: 950, zone: 'z' },
        ],
        policy: policies.rules({
          filter:
            "g.best_max_offset - c.max_offset <= 100 && g.cluster_name == 'c1' && g.broker_name == 'broker-a'",
        }),
      }),
    );
    expect(response.chosenBrokerId).toBe(3n);
    expect(verdictsOf(response)).toEqual({ '1': 'RULE_REJECTED', '2': 'OUTRANKED', '3': 'CHOSEN' });
  });

  test('in_sync, is_old_master and old_master_zone are bound', () => {
    const response = decide(
      electRequest({
        candidates: [
          { id: 1, alive: false, zone: 'a' },
          { id: 2, zone: 'b', epoch: 5 },
          { id: 3, zone: 'a' },
          { id: 4, zone: 'a', epoch: 9 },
        ],
        isr: [1, 2, 3],
        oldMaster: 1,
        policy: policies.rules({ filter: 'c.in_sync && !c.is_old_master && c.zone == g.old_master_zone' }),
      }),
    );
    expect(response.chosenBrokerId).toBe(3n);
    expect(verdictsOf(response)).toEqual({
      '1': 'NOT_ALIVE',
      '2': 'RULE_REJECTED',
      '3': 'CHOSEN',
      '4': 'NOT_IN_SYNC_STATE_SET',
    });
  });

  test('a filter rejecting everyone elects nobody', () => {
    const response = decide(
      electRequest({ candidates: [{ id: 1 }, { id: 2 }], policy: policies.rules({ filter: 'false' }) }),
    );
    expect(response.chosenBrokerId).toBeUndefined();
    expect(response.rankedBrokerIds).toEqual([]);
    expect(verdictsOf(response)).toEqual({ '1': 'RULE_REJECTED', '2': 'RULE_REJECTED' });
    expect(response.explanation).toBe(
      'rules: no live candidate in the SyncStateSet qualified (2 rejected by the rules); no master elected',
    );
  });
});

describe('rules: rank', () => {
  test('higher rank first, whatever the default ranking says', () => {
    const response = decide(
      electRequest({
        candidates: [
          { id: 1, epoch: 9, labels: { weight: '1' } },
          { id: 2, epoch: 1, labels: { weight: '30' } },
          { id: 3, epoch: 1, labels: { weight: '20' } },
        ],
        policy: policies.rules({ rank: 'int(c.labels.weight)' }),
      }),
    );
    expect(response.rankedBrokerIds).toEqual([2n, 3n, 1n]);
    expect(detailOf(response, 2)).toBe('rank 30 (epoch 1, max offset 0, priority none)');
    expect(detailOf(response, 3)).toBe('rank 20 < 30 of broker 2');
  });

  test('rank ties are broken by the default ranking', () => {
    const response = decide(
      electRequest({
        candidates: [
          { id: 1, epoch: 1, offset: 5 },
          { id: 2, epoch: 2, offset: 1 },
          { id: 3, epoch: 2, offset: 3 },
        ],
        policy: policies.rules({ rank: '1.5' }),
      }),
    );
    expect(response.rankedBrokerIds).toEqual([3n, 2n, 1n]);
    expect(detailOf(response, 2)).toBe('rank ties broker 3; max offset 1 < 3 of broker 3');
  });

  test('int and double ranks compare exactly', () => {
    const response = decide(
      electRequest({
        candidates: [{ id: 1 }, { id: 2 }, { id: 3 }],
        policy: policies.rules({
          rank: 'c.broker_id == 1 ? dyn(2) : (c.broker_id == 2 ? dyn(2.5) : dyn(3u))',
        }),
      }),
    );
    expect(response.rankedBrokerIds).toEqual([3n, 2n, 1n]);
  });

  test('a rank that fails to evaluate (overflow, NaN, wrong type) rejects the candidate', () => {
    const response = decide(
      electRequest({
        candidates: [
          { id: 1, offset: 2n ** 62n },
          { id: 2, offset: 1 },
          { id: 3, offset: 2 },
          { id: 4, offset: 3 },
        ],
        policy: policies.rules({
          rank: "c.broker_id == 1 ? dyn(c.max_offset * 4) : (c.broker_id == 2 ? dyn(0.0 / 0.0) : (c.broker_id == 3 ? dyn('x') : dyn(c.max_offset)))",
        }),
      }),
    );
    expect(response.chosenBrokerId).toBe(4n);
    expect(verdictsOf(response)).toEqual({
      '1': 'RULE_REJECTED',
      '2': 'RULE_REJECTED',
      '3': 'RULE_REJECTED',
      '4': 'CHOSEN',
    });
    // @bufbuild/cel reports arithmetic overflow without an expression id, so without a position.
    expect(detailOf(response, 1)).toBe('rank: int overflow during _*_');
    expect(detailOf(response, 2)).toBe('rank is NaN');
    expect(detailOf(response, 3)).toBe('rank returned a string, want int, uint or double');
  });

  test('empty or blank expressions keep everyone and use the default ranking', () => {
    const candidates = [
      { id: 1, epoch: 2 },
      { id: 2, epoch: 3 },
      { id: 3, alive: false },
    ];
    const byDefault = decide(electRequest({ candidates }));
    for (const rules of [{}, { filter: '  ', rank: '\n' }]) {
      const response = decide(electRequest({ candidates, policy: policies.rules(rules) }));
      expect(response.rankedBrokerIds).toEqual(byDefault.rankedBrokerIds);
      expect(response.reasons).toEqual(byDefault.reasons);
    }
  });

  test('an invalid expression makes decide throw InvalidPolicyError naming the expression', () => {
    const request = electRequest({ candidates: [{ id: 1 }], policy: policies.rules({ rank: 'c.epoch +' }) });
    expect(() => decide(request)).toThrow(InvalidPolicyError);
    expect(() => decide(request)).toThrow(expect.objectContaining({ field: 'rules.rank' }));
  });
});

describe('compareRank', () => {
  test.each([
    { a: 2n, b: 2.5, sign: -1 },
    { a: 3n, b: 2.5, sign: 1 },
    { a: 2n, b: 2, sign: 0 },
    { a: -3n, b: -2.5, sign: -1 },
    { a: 2n ** 60n + 1n, b: 2 ** 60, sign: 1 },
    { a: 5n, b: Number.POSITIVE_INFINITY, sign: -1 },
    { a: 5n, b: Number.NEGATIVE_INFINITY, sign: 1 },
    { a: 1.5, b: 1n, sign: 1 },
    { a: 7n, b: 7n, sign: 0 },
  ])('compareRank($a, $b) has sign $sign', ({ a, b, sign }) => {
    expect(Math.sign(compareRank(a, b))).toBe(sign);
  });
});

describe('InvalidPolicyError', () => {
  test('carries every problem, names the first field and is a PolicyInputError', () => {
    const request = electRequest({
      candidates: [{ id: 1 }],
      policy: policies.rules({ filter: '1', rank: 'x' }),
    });
    let caught: unknown;
    try {
      decide(request);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(InvalidPolicyError);
    expect(caught).toBeInstanceOf(PolicyInputError);
    const err = caught as InvalidPolicyError;
    expect(err.name).toBe('InvalidPolicyError');
    expect(err.field).toBe('rules.filter');
    expect(err.problems.map((p) => p.field)).toEqual(['rules.filter', 'rules.rank']);
    expect(err.message).toBe(
      "rules.filter: result has type int, want bool; rules.rank: line 1, column 1: undeclared reference to 'x' (known variables: c, g)",
    );
  });
});
