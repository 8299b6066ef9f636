// rules: operator-written CEL. `filter` (bool) excludes candidates, `rank` (number) orders the rest, higher
// first, ties broken by the default ranking. A candidate whose filter or rank fails to evaluate (a missing label,
// an overflow, a wrong result type) is rejected with the error as its detail; evaluation never throws.
//
// Bindings: `c` is the candidate (Candidate fields by proto name; `election_priority` is the effective priority,
// 2147483647 when unset; plus `in_sync` and `is_old_master`), `g` is the group: `best_max_offset` (the highest
// max offset among the live members of the pool being tried, so the same as max-lag's best eligible candidate),
// `old_master_zone` ("" when unknown), `cluster_name` and `broker_name`. 64-bit fields are CEL ints.
import type { CelInput } from '@bufbuild/cel';
import { type ElectRequest, Verdict } from '@regent/proto/election';
import type { CandidateView } from '../candidates.js';
import type { CompiledRule, RuleBindings } from '../cel/rule.js';
import { filterValue, rankValue } from '../cel/rule.js';
import type { Judgement, PoolInput, PoolRanker, RankedCandidate } from '../election.js';
import { compareDefault, describeRankFields, outrankedDetail } from '../ranking.js';

/** The compiled expressions of a rules policy; an absent one keeps everyone / uses the default ranking. */
export interface CompiledRules {
  readonly filter: CompiledRule | undefined;
  readonly rank: CompiledRule | undefined;
}

/**
 * Compares two rank values exactly (an int against a double included): negative when `a` < `b`.
 * Doubles are never NaN here (`rankValue` rejects NaN); infinities compare as usual.
 */
export function compareRank(a: bigint | number, b: bigint | number): number {
  if (typeof a === 'bigint' && typeof b === 'bigint') return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === 'number' && typeof b === 'number') return a < b ? -1 : a > b ? 1 : 0;
  return typeof a === 'bigint' ? compareBigintNumber(a, b as number) : -compareBigintNumber(b as bigint, a);
}

function compareBigintNumber(a: bigint, b: number): number {
  if (b === Number.POSITIVE_INFINITY) return -1;
  if (b === Number.NEGATIVE_INFINITY) return 1;
  const floor = BigInt(Math.floor(b));
  if (a < floor) return -1;
  if (a > floor) return 1;
  return Number.isInteger(b) ? 0 : -1;
}

function groupBindings(request: ElectRequest, pool: PoolInput): ReadonlyMap<string, CelInput> {
  let best = -1n;
  for (const v of pool.live) if (v.maxOffset > best) best = v.maxOffset;
  const oldMaster = pool.all.find((v) => v.isOldMaster);
  return new Map<string, CelInput>([
    ['best_max_offset', best],
    ['old_master_zone', oldMaster?.candidate.zone ?? ''],
    ['cluster_name', request.clusterName],
    ['broker_name', request.brokerName],
  ]);
}

/** The `c` binding of one candidate. */
export function candidateBindings(v: CandidateView): ReadonlyMap<string, CelInput> {
  const c = v.candidate;
  return new Map<string, CelInput>([
    ['broker_id', c.brokerId],
    ['broker_address', c.brokerAddress],
    ['alive', c.alive],
    ['epoch', BigInt(c.epoch)],
    ['max_offset', c.maxOffset],
    ['confirm_offset', c.confirmOffset],
    ['election_priority', BigInt(v.priority)],
    ['zone', c.zone],
    ['labels', new Map(Object.entries(c.labels))],
    ['in_sync', v.inSync],
    ['is_old_master', v.isOldMaster],
  ]);
}

interface Scored {
  readonly view: CandidateView;
  readonly rank: bigint | number | undefined;
}

function rejected(detail: string): Judgement {
  return { verdict: Verdict.RULE_REJECTED, detail };
}

/** Filters and scores one candidate: its rank (undefined without a rank rule), or why it was rejected. */
function score(
  rules: CompiledRules,
  bindings: RuleBindings,
): { rank: bigint | number | undefined } | Judgement {
  if (rules.filter !== undefined) {
    const result = rules.filter.evaluate(bindings);
    if (!result.ok) return rejected(`filter: ${result.message}`);
    const keep = filterValue(result.value);
    if (!keep.ok) return rejected(keep.message);
    if (!keep.keep) return rejected('filter returned false');
  }
  if (rules.rank === undefined) return { rank: undefined };
  const result = rules.rank.evaluate(bindings);
  if (!result.ok) return rejected(`rank: ${result.message}`);
  const rank = rankValue(result.value);
  return rank.ok ? { rank: rank.rank } : rejected(rank.message);
}

function compareScored(a: Scored, b: Scored): number {
  if (a.rank !== undefined && b.rank !== undefined) {
    const byRank = compareRank(b.rank, a.rank);
    if (byRank !== 0) return byRank;
  }
  return compareDefault(a.view, b.view);
}

function describeScored(s: Scored, first: Scored, index: number): string {
  if (index === 0) {
    return s.rank === undefined
      ? describeRankFields(s.view)
      : `rank ${s.rank} (${describeRankFields(s.view)})`;
  }
  if (s.rank === undefined || first.rank === undefined) return outrankedDetail(s.view, first.view);
  if (compareRank(s.rank, first.rank) !== 0)
    return `rank ${s.rank} < ${first.rank} of broker ${first.view.brokerId}`;
  return `rank ties broker ${first.view.brokerId}; ${outrankedDetail(s.view, first.view)}`;
}

/** A ranker applying the compiled rules to the live members of each pool. */
export function rulesRanker(rules: CompiledRules, request: ElectRequest): PoolRanker {
  return (pool) => {
    const g = groupBindings(request, pool);
    const scored: Scored[] = [];
    const excluded = new Map<bigint, Judgement>();
    for (const view of pool.live) {
      const s = score(rules, { c: candidateBindings(view), g });
      if ('verdict' in s) excluded.set(view.brokerId, s);
      else scored.push({ view, rank: s.rank });
    }
    scored.sort(compareScored);
    const first = scored[0];
    const ranked: RankedCandidate[] =
      first === undefined
        ? []
        : scored.map((s, index) => ({ view: s.view, detail: describeScored(s, first, index) }));
    const note = excluded.size > 0 ? `${excluded.size} rejected by the rules` : undefined;
    return note === undefined ? { ranked, excluded } : { ranked, excluded, note };
  };
}
