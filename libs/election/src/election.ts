// The election skeleton every policy shares: RocketMQ's `DefaultElectPolicy.elect` pool walk (reference §4.2).
// A policy only supplies how one pool's eligible members are filtered and ordered (`PoolRanker`).
//
// What holds for every policy:
// - The SyncStateSet pool is tried first; all replicas only when unclean election is enabled and the
//   SyncStateSet pool yields nothing.
// - Only live brokers are eligible.
// - A live old master in the pool is kept unless an admin designated another broker. Policies rank successors;
//   they never displace a live master (RocketMQ answers MASTER_STILL_EXIST), so policy filters (zone, lag,
//   rules) are not applied to it.
// - A designated broker is chosen if it is a live member of the pool, otherwise the pool yields nothing. Admin
//   designation is an explicit override: policy filters are not applied to it either.
import { Verdict } from '@regent/proto/election';
import type { CandidateView } from './candidates.js';
import { describeRankFields, outrankedDetail } from './ranking.js';

/** A verdict on one candidate with its short detail. */
export interface Judgement {
  readonly verdict: Verdict;
  readonly detail: string;
}

/** The judgement on one candidate of the request. */
export interface CandidateJudgement extends Judgement {
  readonly brokerId: bigint;
}

/** Which candidate pool is being tried. */
export type PoolKind = 'sync-state-set' | 'all-replicas';

/** What a ranker sees: the live members of one pool, in request order. */
export interface PoolInput {
  readonly kind: PoolKind;
  /** Live members of the pool, in request order; never empty. */
  readonly live: readonly CandidateView[];
  /** Every candidate of the request, in request order. */
  readonly all: readonly CandidateView[];
}

/** A ranker's answer for one pool. */
export interface PoolRanking {
  /** Eligible candidates best first, each with its detail (why chosen when first, why outranked otherwise). */
  readonly ranked: readonly RankedCandidate[];
  /** Live pool members the policy excluded, by broker id. */
  readonly excluded: ReadonlyMap<bigint, Judgement>;
  /** A short note for the explanation, for example `preferred zone "a"`. */
  readonly note?: string;
}

export interface RankedCandidate {
  readonly view: CandidateView;
  readonly detail: string;
}

/** Filters and orders the live members of one pool. Must be deterministic and independent of input order. */
export type PoolRanker = (pool: PoolInput) => PoolRanking;

/** What one pool produced. */
type PoolResult =
  | { readonly kind: 'empty'; readonly pool: PoolKind }
  | { readonly kind: 'kept'; readonly pool: PoolKind; readonly chosen: CandidateView }
  | { readonly kind: 'designated'; readonly pool: PoolKind; readonly chosen: CandidateView }
  | { readonly kind: 'designated-missing'; readonly pool: PoolKind }
  | {
      readonly kind: 'ranked';
      readonly pool: PoolKind;
      readonly chosen: CandidateView;
      readonly ranking: PoolRanking;
    }
  | { readonly kind: 'none-qualified'; readonly pool: PoolKind; readonly ranking: PoolRanking };

/** The decision of the skeleton with one judgement per candidate. */
export interface Outcome {
  readonly chosen: CandidateView | undefined;
  /** Eligible candidates best first (only the chosen one when kept or designated). */
  readonly ranked: readonly CandidateView[];
  /** One judgement per candidate, in request order. */
  readonly judgements: readonly CandidateJudgement[];
  readonly masterKept: boolean;
  readonly unclean: boolean;
  /** True when live pool members existed but the policy excluded all of them. */
  readonly noneQualified: boolean;
  /** One-line summary without the policy name. */
  readonly summary: string;
}

/** The election parameters of the request the skeleton needs. */
export interface ElectionInput {
  readonly views: readonly CandidateView[];
  readonly designatedBrokerId: bigint | undefined;
  readonly uncleanElectionEnabled: boolean;
}

function tryPool(
  kind: PoolKind,
  members: readonly CandidateView[],
  input: ElectionInput,
  ranker: PoolRanker,
): PoolResult {
  const live = members.filter((v) => v.alive);
  if (live.length === 0) return { kind: 'empty', pool: kind };
  const designated = input.designatedBrokerId;
  const oldMaster = live.find((v) => v.isOldMaster);
  if (oldMaster !== undefined && (designated === undefined || designated === oldMaster.brokerId)) {
    return { kind: 'kept', pool: kind, chosen: oldMaster };
  }
  if (designated !== undefined) {
    const chosen = live.find((v) => v.brokerId === designated);
    return chosen === undefined
      ? { kind: 'designated-missing', pool: kind }
      : { kind: 'designated', pool: kind, chosen };
  }
  const ranking = ranker({ kind, live, all: input.views });
  const first = ranking.ranked[0];
  return first === undefined
    ? { kind: 'none-qualified', pool: kind, ranking }
    : { kind: 'ranked', pool: kind, chosen: first.view, ranking };
}

/** Runs the pool walk with `ranker` and explains the result for every candidate. */
export function elect(input: ElectionInput, ranker: PoolRanker): Outcome {
  let result = tryPool(
    'sync-state-set',
    input.views.filter((v) => v.inSync),
    input,
    ranker,
  );
  if (!('chosen' in result) && input.uncleanElectionEnabled) {
    result = tryPool('all-replicas', input.views, input, ranker);
  }
  return explain(input, result);
}

function explain(input: ElectionInput, result: PoolResult): Outcome {
  const chosen = 'chosen' in result ? result.chosen : undefined;
  const ranking = 'ranking' in result ? result.ranking : undefined;
  const ranked =
    ranking !== undefined ? ranking.ranked.map((r) => r.view) : chosen !== undefined ? [chosen] : [];
  return {
    chosen,
    ranked,
    judgements: input.views.map((v) => ({ brokerId: v.brokerId, ...judge(v, input, result, chosen) })),
    masterKept: result.kind === 'kept',
    unclean: chosen !== undefined && !chosen.inSync,
    noneQualified: result.kind === 'none-qualified',
    summary: summarize(input, result),
  };
}

function judge(
  view: CandidateView,
  input: ElectionInput,
  result: PoolResult,
  chosen: CandidateView | undefined,
): Judgement {
  if (!view.alive) {
    const extra = view.inSync ? '' : '; not in the SyncStateSet';
    return { verdict: Verdict.NOT_ALIVE, detail: `no heartbeat within its timeout${extra}` };
  }
  if (view === chosen) return chosenJudgement(view, result);
  if (result.kind === 'kept') {
    return { verdict: Verdict.MASTER_KEPT, detail: `live old master ${result.chosen.brokerId} is kept` };
  }
  const designated = input.designatedBrokerId;
  if (designated !== undefined && view.brokerId !== designated) {
    return { verdict: Verdict.NOT_DESIGNATED, detail: `an admin designated broker ${designated}` };
  }
  if (result.pool === 'sync-state-set' && !view.inSync) {
    const why = input.uncleanElectionEnabled
      ? 'an in-sync candidate was elected first'
      : 'unclean election is disabled';
    return { verdict: Verdict.NOT_IN_SYNC_STATE_SET, detail: `not in the SyncStateSet; ${why}` };
  }
  const ranking = 'ranking' in result ? result.ranking : undefined;
  const excluded = ranking?.excluded.get(view.brokerId);
  if (excluded !== undefined) return excluded;
  const entry = ranking?.ranked.find((r) => r.view === view);
  if (entry !== undefined) return { verdict: Verdict.OUTRANKED, detail: entry.detail };
  // Every live pool member is kept, designated, excluded or ranked; a live non-member was handled above.
  throw new Error(`broker ${view.brokerId} has no verdict after a ${result.kind} ${result.pool} pool`);
}

function chosenJudgement(view: CandidateView, result: PoolResult): Judgement {
  switch (result.kind) {
    case 'kept':
      return { verdict: Verdict.CHOSEN, detail: 'live old master is kept' };
    case 'designated':
      return { verdict: Verdict.CHOSEN, detail: `designated by an admin (${describeRankFields(view)})` };
    default: {
      const ranking = 'ranking' in result ? result.ranking : undefined;
      const detail = ranking?.ranked[0]?.detail ?? describeRankFields(view);
      return { verdict: Verdict.CHOSEN, detail };
    }
  }
}

function poolPhrase(pool: PoolKind, chosen: CandidateView): string {
  if (pool === 'sync-state-set') return 'from the SyncStateSet';
  return chosen.inSync ? 'from all replicas' : 'outside the SyncStateSet (unclean election)';
}

function summarize(input: ElectionInput, result: PoolResult): string {
  const pool = result.pool === 'sync-state-set' ? 'SyncStateSet' : 'replica set';
  switch (result.kind) {
    case 'kept':
      return `kept live old master ${result.chosen.brokerId}`;
    case 'designated':
      return `elected designated broker ${result.chosen.brokerId} ${poolPhrase(result.pool, result.chosen)}`;
    case 'designated-missing':
      return `designated broker ${input.designatedBrokerId} is not a live member of the ${pool}; no master elected`;
    case 'empty':
      return input.uncleanElectionEnabled
        ? 'no live candidate among all replicas; no master elected'
        : 'no live candidate in the SyncStateSet and unclean election is disabled; no master elected';
    case 'ranked': {
      const note = result.ranking.note !== undefined ? `; ${result.ranking.note}` : '';
      const facts = describeRankFields(result.chosen);
      return `elected broker ${result.chosen.brokerId} ${poolPhrase(result.pool, result.chosen)} (${facts})${note}`;
    }
    case 'none-qualified': {
      const note = result.ranking.note !== undefined ? ` (${result.ranking.note})` : '';
      return `no live candidate in the ${pool} qualified${note}; no master elected`;
    }
  }
}

/** Ranked entries for candidates already in final order: the first is described, the rest compared to it. */
export function describeRanking(ordered: readonly CandidateView[]): RankedCandidate[] {
  const first = ordered[0];
  if (first === undefined) return [];
  return ordered.map((view, index) => ({
    view,
    detail: index === 0 ? describeRankFields(view) : outrankedDetail(view, first),
  }));
}
