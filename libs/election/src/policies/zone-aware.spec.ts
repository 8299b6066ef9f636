import { decide, validatePolicy } from '../index.js';
import { detailOf, electRequest, policies, verdictsOf } from '../testing.js';

describe('zone-aware', () => {
  test("without a zone order, the dead old master's zone is preferred over a higher-ranked candidate", () => {
    const response = decide(
      electRequest({
        candidates: [
          { id: 1, alive: false, zone: 'a' },
          { id: 2, epoch: 9, zone: 'b' },
          { id: 3, epoch: 2, zone: 'a', offset: 5 },
          { id: 4, epoch: 2, zone: 'a', offset: 7 },
        ],
        oldMaster: 1,
        policy: policies.zoneAware(),
      }),
    );
    expect(response.policyName).toBe('zone-aware');
    expect(response.chosenBrokerId).toBe(4n);
    expect(response.rankedBrokerIds).toEqual([4n, 3n]);
    expect(verdictsOf(response)).toEqual({
      '1': 'NOT_ALIVE',
      '2': 'ZONE_NOT_PREFERRED',
      '3': 'OUTRANKED',
      '4': 'CHOSEN',
    });
    expect(detailOf(response, 2)).toBe('zone "b"; preferred zone "a" has an eligible candidate');
    expect(response.explanation).toContain('preferred zone "a"');
  });

  test("no live candidate in the old master's zone: any zone, by the default ranking", () => {
    const response = decide(
      electRequest({
        candidates: [
          { id: 1, alive: false, zone: 'a' },
          { id: 2, epoch: 3, zone: 'b' },
          { id: 3, epoch: 4, zone: 'c' },
        ],
        oldMaster: 1,
        policy: policies.zoneAware(),
      }),
    );
    expect(response.chosenBrokerId).toBe(3n);
    expect(verdictsOf(response)).toEqual({ '1': 'NOT_ALIVE', '2': 'OUTRANKED', '3': 'CHOSEN' });
    expect(response.explanation).toContain('no live candidate in a preferred zone; any zone');
  });

  test('a configured zone order overrides the old master zone', () => {
    const response = decide(
      electRequest({
        candidates: [
          { id: 1, alive: false, zone: 'a' },
          { id: 2, epoch: 9, zone: 'a' },
          { id: 3, epoch: 1, zone: 'b' },
        ],
        oldMaster: 1,
        policy: policies.zoneAware(['b', 'a']),
      }),
    );
    expect(response.chosenBrokerId).toBe(3n);
    expect(verdictsOf(response)).toEqual({ '1': 'NOT_ALIVE', '2': 'ZONE_NOT_PREFERRED', '3': 'CHOSEN' });
  });

  test('falls through to the next zone in the order when the first has nobody eligible', () => {
    const response = decide(
      electRequest({
        candidates: [
          { id: 1, alive: false, zone: 'c' },
          { id: 2, zone: 'c' },
          { id: 3, epoch: 1, zone: 'a' },
          { id: 4, epoch: 5, zone: 'b' },
        ],
        isr: [1, 3, 4],
        policy: policies.zoneAware(['c', 'a', 'b']),
      }),
    );
    // 1 is dead and 2 is not in the SyncStateSet, so zone c has nobody eligible; zone a is next.
    expect(response.chosenBrokerId).toBe(3n);
    expect(verdictsOf(response)).toEqual({
      '1': 'NOT_ALIVE',
      '2': 'NOT_IN_SYNC_STATE_SET',
      '3': 'CHOSEN',
      '4': 'ZONE_NOT_PREFERRED',
    });
    expect(detailOf(response, 4)).toBe('zone "b"; preferred #2 zone "a" has an eligible candidate');
  });

  test('candidates in no listed zone are eligible only when no listed zone has one', () => {
    const response = decide(
      electRequest({
        candidates: [
          { id: 1, zone: '' },
          { id: 2, epoch: 3, zone: 'x' },
        ],
        policy: policies.zoneAware(['a']),
      }),
    );
    expect(response.chosenBrokerId).toBe(2n);
    expect(verdictsOf(response)).toEqual({ '1': 'OUTRANKED', '2': 'CHOSEN' });
  });

  test('no zone order and no old master zone: the default ranking', () => {
    const response = decide(
      electRequest({
        candidates: [
          { id: 1, zone: 'a' },
          { id: 2, epoch: 3, zone: 'b' },
        ],
        policy: policies.zoneAware(),
      }),
    );
    expect(response.chosenBrokerId).toBe(2n);
    expect(response.explanation).toContain('no preferred zone');
  });

  test('a live old master is kept even outside the preferred zone', () => {
    const response = decide(
      electRequest({
        candidates: [
          { id: 1, zone: 'b' },
          { id: 2, zone: 'a' },
        ],
        oldMaster: 1,
        policy: policies.zoneAware(['a']),
      }),
    );
    expect(response.chosenBrokerId).toBe(1n);
    expect(response.masterKept).toBe(true);
    expect(verdictsOf(response)).toEqual({ '1': 'CHOSEN', '2': 'MASTER_KEPT' });
  });

  test('unclean pool: zone preference applies among all replicas', () => {
    const response = decide(
      electRequest({
        candidates: [
          { id: 1, alive: false, zone: 'a' },
          { id: 2, epoch: 7, zone: 'b' },
          { id: 3, epoch: 1, zone: 'a' },
        ],
        isr: [1],
        oldMaster: 1,
        unclean: true,
        policy: policies.zoneAware(),
      }),
    );
    expect(response.chosenBrokerId).toBe(3n);
    expect(response.unclean).toBe(true);
    expect(verdictsOf(response)).toEqual({ '1': 'NOT_ALIVE', '2': 'ZONE_NOT_PREFERRED', '3': 'CHOSEN' });
  });
});

describe('zone-aware validation', () => {
  test('a valid order has no problems', () => {
    expect(validatePolicy(policies.zoneAware(['a', 'b']))).toEqual([]);
    expect(validatePolicy(policies.zoneAware())).toEqual([]);
  });

  test('empty, duplicate, overlong zones and too many zones', () => {
    const problems = validatePolicy(policies.zoneAware(['a', '', 'a', 'z'.repeat(129)]));
    expect(problems.map((p) => [p.field, p.message])).toEqual([
      ['zone_aware.zone_order[1]', 'zone is empty'],
      ['zone_aware.zone_order[2]', 'zone "a" is listed more than once'],
      ['zone_aware.zone_order[3]', 'zone is 129 long, at most 128'],
    ]);
    const many = validatePolicy(policies.zoneAware(Array.from({ length: 33 }, (_, i) => `z${i}`)));
    expect(many.map((p) => [p.field, p.message])).toEqual([
      ['zone_aware.zone_order', '33 zones, at most 32'],
    ]);
  });

  test('decide rejects an invalid zone order', () => {
    expect(() => decide(electRequest({ candidates: [{ id: 1 }], policy: policies.zoneAware(['']) }))).toThrow(
      expect.objectContaining({ name: 'InvalidPolicyError', field: 'zone_aware.zone_order[0]' }),
    );
  });
});
