// Input limits: a request breaking one throws PolicyInputError naming the field.
import { decide, PolicyInputError, policyName, policyNames, validatePolicy } from './index.js';
import { candidate, electRequest, policies } from './testing.js';

function inputErrorOf(run: () => unknown): PolicyInputError {
  try {
    run();
  } catch (err) {
    if (err instanceof PolicyInputError) return err;
    throw err;
  }
  throw new Error('expected a PolicyInputError');
}

describe('input limits', () => {
  const ids = (n: number) => Array.from({ length: n }, (_, i) => ({ id: i + 1 }));

  test('64 candidates are fine, 65 are not', () => {
    expect(decide(electRequest({ candidates: ids(64) })).reasons).toHaveLength(64);
    const err = inputErrorOf(() => decide(electRequest({ candidates: ids(65) })));
    expect(err.field).toBe('candidates');
    expect(err.message).toBe('candidates: 65 candidates, at most 64');
  });

  test('16 labels per candidate are fine, 17 are not', () => {
    const labels = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, 'v']));
    expect(decide(electRequest({ candidates: [{ id: 1, labels: labels(16) }] })).chosenBrokerId).toBe(1n);
    const err = inputErrorOf(() =>
      decide(electRequest({ candidates: [{ id: 1 }, { id: 2, labels: labels(17) }] })),
    );
    expect(err.field).toBe('candidates[1].labels');
    expect(err.message).toContain('17 labels, at most 16 per candidate');
  });

  test.each([
    {
      name: 'a duplicate broker id',
      candidates: [candidate({ id: 3 }), candidate({ id: 3 })],
      field: 'candidates[1].broker_id',
    },
    {
      name: 'an overlong label key',
      candidates: [candidate({ id: 1, labels: { ['k'.repeat(129)]: 'v' } })],
      field: 'candidates[0].labels',
    },
    {
      name: 'an overlong label value',
      candidates: [candidate({ id: 1, labels: { k: 'v'.repeat(257) } })],
      field: 'candidates[0].labels',
    },
    {
      name: 'an overlong zone',
      candidates: [candidate({ id: 1, zone: 'z'.repeat(129) })],
      field: 'candidates[0].zone',
    },
  ])('$name', ({ candidates, field }) => {
    expect(inputErrorOf(() => decide(electRequest({ candidates }))).field).toBe(field);
  });

  test('a SyncStateSet longer than 64 ids', () => {
    const isr = Array.from({ length: 65 }, (_, i) => i + 1);
    expect(inputErrorOf(() => decide(electRequest({ candidates: [{ id: 1 }], isr }))).field).toBe(
      'sync_state_set',
    );
  });

  test('input limits are checked for every policy', () => {
    const request = electRequest({ candidates: ids(65), policy: policies.rules({ filter: 'true' }) });
    expect(inputErrorOf(() => decide(request)).field).toBe('candidates');
  });
});

describe('policy names', () => {
  test('every policy has its name', () => {
    expect(policyNames).toEqual(['rocketmq-default', 'zone-aware', 'max-lag', 'rules']);
    expect(
      [policies.rocketmqDefault(), policies.zoneAware(), policies.maxLag(1), policies.rules({})].map(
        policyName,
      ),
    ).toEqual(policyNames);
  });

  test('the default policy has nothing to validate', () => {
    expect(validatePolicy(undefined)).toEqual([]);
    expect(validatePolicy(policies.rocketmqDefault())).toEqual([]);
  });
});
