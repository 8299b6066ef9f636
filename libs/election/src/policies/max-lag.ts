// max-lag: exclude candidates whose maxOffset trails a reference offset by more than `max_lag_bytes`, then rank the
// rest by the default ranking.
//
// The reference is the larger of
// - the best maxOffset among the live members of the pool being tried (the best eligible candidate), and
// - the old master's last known maxOffset (from its last heartbeat, even when it is dead now), when the old master
//   is one of the candidates and its offset is known (>= 0).
// Only the first term would make the bound nearly idle: the best eligible candidate is always within it, so the
// bound could never refuse an election and would only matter when a higher-epoch broker trails. With the dead
// master's last offset as the reference, the bound caps the data a failover may lose (what the old master had
// acknowledged beyond the new master), like Patroni's `maximum_lag_on_failover`; and when every live candidate
// trails too far the fallback decides: REFUSE (also UNSPECIFIED) elects nobody, so the group waits for the old
// master or an operator; DEFAULT_RANKING elects by the default ranking ignoring the bound.
//
// An unknown offset (-1) is treated as offset -1: it trails any known reference by at least one byte more than
// offset 0 would.
import { LagFallback, type MaxLagPolicy, Verdict } from '@regent/proto/election';
import type { CandidateView } from '../candidates.js';
import { describeRanking, type Judgement, type PoolRanker } from '../election.js';
import { rankDefault } from '../ranking.js';

/** The offset lag is measured against, and where it came from. */
export interface LagReference {
  readonly offset: bigint;
  readonly source: string;
}

/**
 * The reference for one pool: its best live maxOffset (ties named by the lowest broker id, so the explanation does
 * not depend on input order), or the old master's last offset when larger.
 */
export function lagReference(live: readonly CandidateView[], all: readonly CandidateView[]): LagReference {
  let best: CandidateView | undefined;
  for (const v of live) {
    const better = v.maxOffset > (best?.maxOffset ?? -2n);
    const tieLower = best !== undefined && v.maxOffset === best.maxOffset && v.brokerId < best.brokerId;
    if (better || tieLower) best = v;
  }
  if (best === undefined) throw new Error('lagReference needs at least one live candidate');
  const oldMaster = all.find((v) => v.isOldMaster);
  if (oldMaster !== undefined && oldMaster.maxOffset >= 0n && oldMaster.maxOffset > best.maxOffset) {
    return { offset: oldMaster.maxOffset, source: `old master ${oldMaster.brokerId}'s last offset` };
  }
  return { offset: best.maxOffset, source: `best live offset, broker ${best.brokerId}` };
}

/** A ranker excluding candidates more than `policy.maxLagBytes` behind the pool's reference. */
export function maxLagRanker(policy: MaxLagPolicy): PoolRanker {
  return (pool) => {
    const reference = lagReference(pool.live, pool.all);
    const within: CandidateView[] = [];
    const excluded = new Map<bigint, Judgement>();
    for (const v of pool.live) {
      const lagBytes = reference.offset - v.maxOffset;
      if (lagBytes <= policy.maxLagBytes) {
        within.push(v);
        continue;
      }
      excluded.set(v.brokerId, {
        verdict: Verdict.LAG_TOO_LARGE,
        detail: `max offset ${v.maxOffset} trails ${reference.offset} (${reference.source}) by ${lagBytes} bytes > ${policy.maxLagBytes}`,
      });
    }
    return {
      ranked: describeRanking(rankDefault(within)),
      excluded,
      note: `max lag ${policy.maxLagBytes} bytes behind ${reference.offset} (${reference.source})`,
    };
  };
}

/** True when an election that found nobody within the bound should fall back to the default ranking. */
export function fallsBackToDefault(policy: MaxLagPolicy): boolean {
  return policy.fallback === LagFallback.DEFAULT_RANKING;
}
