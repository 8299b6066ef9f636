// Property tests over random election requests (fast-check prints the seed and the shrunk counterexample on
// failure; replay with `fc.assert(..., { seed, path })`).
import { create, equals } from '@bufbuild/protobuf';
import {
  type ElectRequest,
  ElectRequestSchema,
  type ElectResponse,
  ElectResponseSchema,
  LagFallback,
  type PolicyConfig,
  Verdict,
} from '@regent/proto/election';
import fc from 'fast-check';
import { decide } from './index.js';
import { type CandidateInit, candidate, policies } from './testing.js';

const offsetArb = fc.oneof(
  fc.bigInt(-1n, 4n),
  fc.bigInt(0n, 2n ** 63n - 1n),
  fc.constantFrom(2n ** 31n - 1n, 2n ** 31n, 2n ** 31n + 1n, 2n ** 53n, 2n ** 53n + 1n, 2n ** 62n),
);

const candidateArb: fc.Arbitrary<CandidateInit> = fc.record({
  id: fc.integer({ min: 1, max: 12 }),
  alive: fc.boolean(),
  epoch: fc.integer({ min: -1, max: 3 }),
  offset: offsetArb,
  priority: fc.option(fc.integer({ min: -2, max: 3 }), { nil: undefined }),
  zone: fc.constantFrom('', 'a', 'b', 'c'),
  labels: fc.dictionary(fc.constantFrom('disk', 'rack', 'w'), fc.constantFrom('ssd', 'hdd', '1', '7', 'x'), {
    maxKeys: 3,
  }),
});

const ruleSets = [
  { filter: "c.labels.disk == 'ssd'" },
  { rank: 'int(c.labels.w)' },
  { filter: 'c.epoch >= 0', rank: 'double(c.max_offset) / 2.0' },
  { filter: "c.zone != 'a'", rank: '-c.election_priority' },
  { rank: 'c.max_offset * 2' },
  { filter: 'g.best_max_offset - c.max_offset <= 1000 && !c.is_old_master' },
  { filter: 'has(c.labels.rack) || c.zone == g.old_master_zone', rank: 'c.in_sync ? 1 : 0' },
];

const policyArb: fc.Arbitrary<PolicyConfig | undefined> = fc.oneof(
  fc.constant(undefined),
  fc.constant(policies.rocketmqDefault()),
  fc.shuffledSubarray(['a', 'b', 'c']).map((zones) => policies.zoneAware(zones)),
  fc
    .tuple(
      fc.oneof(fc.bigInt(0n, 8n), fc.bigInt(0n, 2n ** 62n)),
      fc.constantFrom(LagFallback.UNSPECIFIED, LagFallback.REFUSE, LagFallback.DEFAULT_RANKING),
    )
    .map(([bytes, fallback]) => policies.maxLag(bytes, fallback)),
  fc.constantFrom(...ruleSets).map((rules) => policies.rules(rules)),
);

function requestArb(policy: fc.Arbitrary<PolicyConfig | undefined>): fc.Arbitrary<ElectRequest> {
  return fc
    .uniqueArray(candidateArb, { selector: (c) => c.id, maxLength: 8 })
    .chain((candidates) => {
      const ids = [...candidates.map((c) => BigInt(c.id)), 99n];
      return fc.record({
        candidates: fc.constant(candidates),
        isr: fc.subarray(ids),
        oldMaster: fc.option(fc.constantFrom(...ids), { nil: undefined }),
        designated: fc.option(fc.constantFrom(...ids), { nil: undefined, freq: 5 }),
        unclean: fc.boolean(),
        policy,
      });
    })
    .map((r) =>
      create(ElectRequestSchema, {
        clusterName: 'c1',
        brokerName: 'broker-a',
        candidates: r.candidates.map(candidate),
        syncStateSet: r.isr,
        oldMasterBrokerId: r.oldMaster,
        designatedBrokerId: r.designated,
        uncleanElectionEnabled: r.unclean,
        policy: r.policy,
      }),
    );
}

const numRuns = 1000;

function chosenOf(request: ElectRequest, response: ElectResponse) {
  return request.candidates.find((c) => c.brokerId === response.chosenBrokerId);
}

describe('properties of every policy', () => {
  test('the chosen broker is alive, in the SyncStateSet unless unclean is enabled, and ranks first', () => {
    fc.assert(
      fc.property(requestArb(policyArb), (request) => {
        const response = decide(request);
        const chosen = chosenOf(request, response);
        if (response.chosenBrokerId === undefined) {
          expect(response.masterKept).toBe(false);
          expect(response.unclean).toBe(false);
          return;
        }
        expect(chosen).toBeDefined();
        expect(chosen?.alive).toBe(true);
        const inSync = request.syncStateSet.includes(response.chosenBrokerId);
        if (!request.uncleanElectionEnabled) expect(inSync).toBe(true);
        expect(response.unclean).toBe(!inSync);
        expect(response.rankedBrokerIds[0]).toBe(response.chosenBrokerId);
        if (response.masterKept) expect(response.chosenBrokerId).toBe(request.oldMasterBrokerId);
      }),
      { numRuns },
    );
  });

  test('exactly one reason per candidate, in request order; CHOSEN only for the chosen broker', () => {
    fc.assert(
      fc.property(requestArb(policyArb), (request) => {
        const response = decide(request);
        expect(response.reasons.map((r) => r.brokerId)).toEqual(request.candidates.map((c) => c.brokerId));
        for (const reason of response.reasons) {
          expect(reason.verdict).not.toBe(Verdict.UNSPECIFIED);
          expect(reason.detail).not.toBe('');
          expect(reason.verdict === Verdict.CHOSEN).toBe(reason.brokerId === response.chosenBrokerId);
        }
        const ranked = new Set(response.rankedBrokerIds);
        expect(ranked.size).toBe(response.rankedBrokerIds.length);
        for (const reason of response.reasons) {
          const isRanked = reason.verdict === Verdict.CHOSEN || reason.verdict === Verdict.OUTRANKED;
          expect(ranked.has(reason.brokerId)).toBe(isRanked);
        }
      }),
      { numRuns },
    );
  });

  test('the same request gives the same decision', () => {
    fc.assert(
      fc.property(requestArb(policyArb), (request) => {
        const first = decide(request);
        const again = decide(create(ElectRequestSchema, request));
        expect(equals(ElectResponseSchema, first, again)).toBe(true);
      }),
      { numRuns },
    );
  });

  test('shuffling the candidates and the SyncStateSet does not change the decision', () => {
    const arb = requestArb(policyArb).chain((request) =>
      fc.record({
        request: fc.constant(request),
        candidates: fc.shuffledSubarray(request.candidates, {
          minLength: request.candidates.length,
          maxLength: request.candidates.length,
        }),
        isr: fc.shuffledSubarray(request.syncStateSet, {
          minLength: request.syncStateSet.length,
          maxLength: request.syncStateSet.length,
        }),
      }),
    );
    fc.assert(
      fc.property(arb, ({ request, candidates, isr }) => {
        const a = decide(request);
        const b = decide(create(ElectRequestSchema, { ...request, candidates, syncStateSet: isr }));
        expect(b.chosenBrokerId).toBe(a.chosenBrokerId);
        expect(b.rankedBrokerIds).toEqual(a.rankedBrokerIds);
        expect(b.masterKept).toBe(a.masterKept);
        expect(b.unclean).toBe(a.unclean);
        expect(b.explanation).toBe(a.explanation);
        const byId = (r: ElectResponse) => [...r.reasons].sort((x, y) => (x.brokerId < y.brokerId ? -1 : 1));
        expect(byId(b)).toEqual(byId(a));
      }),
      { numRuns },
    );
  });
});

describe('properties of rocketmq-default', () => {
  test('no eligible candidate has a higher (epoch, maxOffset) than an elected one', () => {
    fc.assert(
      fc.property(requestArb(fc.constant(undefined)), (request) => {
        const response = decide(request);
        const chosen = chosenOf(request, response);
        if (chosen === undefined || response.masterKept || request.designatedBrokerId !== undefined) return;
        const inSync = (id: bigint) => request.syncStateSet.includes(id);
        // The SyncStateSet pool decides when it has a live member; otherwise (unclean) all live replicas.
        const pool = request.candidates.filter(
          (c) => c.alive && (inSync(chosen.brokerId) ? inSync(c.brokerId) : true),
        );
        for (const c of pool) {
          const higher =
            c.epoch > chosen.epoch || (c.epoch === chosen.epoch && c.maxOffset > chosen.maxOffset);
          expect(higher, `broker ${c.brokerId} beats chosen ${chosen.brokerId}`).toBe(false);
        }
      }),
      { numRuns },
    );
  });

  test('without a live old master or designation, a live SyncStateSet member is always elected', () => {
    fc.assert(
      fc.property(requestArb(fc.constant(undefined)), (request) => {
        if (request.designatedBrokerId !== undefined) return;
        const liveInSync = request.candidates.some(
          (c) => c.alive && request.syncStateSet.includes(c.brokerId),
        );
        const response = decide(request);
        expect(response.chosenBrokerId !== undefined).toBe(
          liveInSync || (request.uncleanElectionEnabled && request.candidates.some((c) => c.alive)),
        );
      }),
      { numRuns },
    );
  });
});

describe('properties of max-lag', () => {
  test("with REFUSE, an elected broker is within the bound of the old master's last offset", () => {
    const policy = fc
      .tuple(fc.bigInt(0n, 16n), fc.constantFrom(LagFallback.UNSPECIFIED, LagFallback.REFUSE))
      .map(([bytes, fallback]) => policies.maxLag(bytes, fallback));
    fc.assert(
      fc.property(requestArb(policy), (request) => {
        const response = decide(request);
        const chosen = chosenOf(request, response);
        if (chosen === undefined || response.masterKept || request.designatedBrokerId !== undefined) return;
        const bound = request.policy?.policy.case === 'maxLag' ? request.policy.policy.value.maxLagBytes : 0n;
        const oldMaster = request.candidates.find((c) => c.brokerId === request.oldMasterBrokerId);
        if (oldMaster !== undefined && oldMaster.maxOffset >= 0n) {
          expect(oldMaster.maxOffset - chosen.maxOffset <= bound).toBe(true);
        }
      }),
      { numRuns },
    );
  });
});

describe('properties of zone-aware', () => {
  test('an elected broker is in the first preferred zone that has an eligible candidate', () => {
    const arb = requestArb(
      fc.shuffledSubarray(['a', 'b', 'c'], { minLength: 1 }).map((z) => policies.zoneAware(z)),
    );
    fc.assert(
      fc.property(arb, (request) => {
        const response = decide(request);
        const chosen = chosenOf(request, response);
        if (chosen === undefined || response.masterKept || request.designatedBrokerId !== undefined) return;
        const zones =
          request.policy?.policy.case === 'zoneAware' ? request.policy.policy.value.zoneOrder : [];
        const inSync = (id: bigint) => request.syncStateSet.includes(id);
        const pool = request.candidates.filter(
          (c) => c.alive && (inSync(chosen.brokerId) ? inSync(c.brokerId) : true),
        );
        const firstZone = zones.find((z) => pool.some((c) => c.zone === z));
        if (firstZone !== undefined) expect(chosen.zone).toBe(firstZone);
      }),
      { numRuns },
    );
  });
});
