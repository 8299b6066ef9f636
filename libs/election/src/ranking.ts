// RocketMQ's DefaultElectPolicy ordering (epoch desc, maxOffset desc, electionPriority asc) with its two latent
// bugs fixed, plus the "why not this one" details that explain a ranking.
//
// Fixes, relative to `DefaultElectPolicy` (reference §4.2):
// - Offsets are compared as bigints. RocketMQ casts the `long` difference to `int`, so offsets more than ~2 GiB
//   apart can invert the order; a JS `number` would also lose precision above 2^53.
// - Candidates that tie on (epoch, maxOffset, priority) are all kept. RocketMQ's `TreeSet` collapses them to the
//   first inserted (HashSet order); here the tie is broken by ascending broker id, so the order is total and does
//   not depend on the order of the input.
import { priorityAbsent } from './limits.js';

/** The fields the default ranking reads. `priority` is the effective one (`priorityAbsent` when unset). */
export interface RankFields {
  readonly brokerId: bigint;
  readonly epoch: number;
  readonly maxOffset: bigint;
  readonly priority: number;
}

/** The effective election priority: lower wins; an absent priority is the lowest (`Integer.MAX_VALUE`). */
export function effectivePriority(priority: number | undefined): number {
  return priority ?? priorityAbsent;
}

function compareBigint(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The default order: negative when `a` ranks before (is better than) `b`, zero only for the same broker id.
 * Epoch descending, then maxOffset descending, then priority ascending, then broker id ascending.
 */
export function compareDefault(a: RankFields, b: RankFields): number {
  if (a.epoch !== b.epoch) return b.epoch - a.epoch;
  if (a.maxOffset !== b.maxOffset) return compareBigint(b.maxOffset, a.maxOffset);
  if (a.priority !== b.priority) return a.priority < b.priority ? -1 : 1;
  return compareBigint(a.brokerId, b.brokerId);
}

/** Sorts a copy of `items` by the default order. */
export function rankDefault<T extends RankFields>(items: readonly T[]): T[] {
  return [...items].sort(compareDefault);
}

function formatPriority(priority: number): string {
  return priority === priorityAbsent ? 'none' : String(priority);
}

/** The default-ranking facts about one candidate, for example `epoch 4, max offset 1000, priority 1`. */
export function describeRankFields(c: RankFields): string {
  return `epoch ${c.epoch}, max offset ${c.maxOffset}, priority ${formatPriority(c.priority)}`;
}

/** Why `loser` ranks below `winner` under the default order, naming the first key that differs. */
export function outrankedDetail(loser: RankFields, winner: RankFields): string {
  const by = `broker ${winner.brokerId}`;
  if (loser.epoch !== winner.epoch) return `epoch ${loser.epoch} < ${winner.epoch} of ${by}`;
  if (loser.maxOffset !== winner.maxOffset) {
    return `max offset ${loser.maxOffset} < ${winner.maxOffset} of ${by}`;
  }
  if (loser.priority !== winner.priority) {
    return `priority ${formatPriority(loser.priority)} > ${formatPriority(winner.priority)} of ${by}`;
  }
  return `ties ${by} on epoch, max offset and priority; the lower broker id wins`;
}
