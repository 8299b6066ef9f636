// zone-aware: prefer the configured zones in order (or, without an order, the old master's zone), then the default
// ranking inside the first preferred zone that has a live pool member. Candidates outside that zone are excluded
// with VERDICT_ZONE_NOT_PREFERRED. When no preferred zone has a live pool member, every zone is eligible.
import { Verdict, type ZoneAwarePolicy } from '@regent/proto/election';
import type { CandidateView } from '../candidates.js';
import { describeRanking, type Judgement, type PoolRanker } from '../election.js';
import { rankDefault } from '../ranking.js';

/**
 * The zones to prefer, best first: the configured order, else the old master's zone when it is known (the old
 * master is a candidate with a non-empty zone), else none.
 */
export function preferredZones(policy: ZoneAwarePolicy, views: readonly CandidateView[]): readonly string[] {
  if (policy.zoneOrder.length > 0) return policy.zoneOrder;
  const zone = views.find((v) => v.isOldMaster)?.candidate.zone ?? '';
  return zone === '' ? [] : [zone];
}

/** A ranker preferring `zones` in order. */
export function zoneAwareRanker(zones: readonly string[]): PoolRanker {
  return (pool) => {
    for (const [index, zone] of zones.entries()) {
      const inZone = pool.live.filter((v) => v.candidate.zone === zone);
      if (inZone.length === 0) continue;
      const excluded = new Map<bigint, Judgement>();
      for (const v of pool.live) {
        if (v.candidate.zone !== zone) excluded.set(v.brokerId, notPreferred(v, zone, index));
      }
      const rank = index === 0 ? 'preferred' : `preferred #${index + 1}`;
      return {
        ranked: describeRanking(rankDefault(inZone)),
        excluded,
        note: `${rank} zone "${zone}"`,
      };
    }
    const note =
      zones.length === 0
        ? 'no preferred zone (no zone order and the old master zone is unknown)'
        : 'no live candidate in a preferred zone; any zone';
    return { ranked: describeRanking(rankDefault(pool.live)), excluded: new Map(), note };
  };
}

function notPreferred(view: CandidateView, zone: string, index: number): Judgement {
  const own = view.candidate.zone === '' ? 'zone unknown' : `zone "${view.candidate.zone}"`;
  const rank = index === 0 ? 'preferred' : `preferred #${index + 1}`;
  return {
    verdict: Verdict.ZONE_NOT_PREFERRED,
    detail: `${own}; ${rank} zone "${zone}" has an eligible candidate`,
  };
}
