// Majority arithmetic over a voter set: the commit index a quorum has reached, and the outcome of a vote.
// Pure functions; learners never appear here (callers pass voters only).

import type { NodeId } from './types.js';

/** The smallest number of voters that forms a majority of `voterCount` voters (0 voters: 1, never reached). */
export function quorumSize(voterCount: number): number {
  return Math.floor(voterCount / 2) + 1;
}

/**
 * The largest index acknowledged by a majority: with match indexes sorted in descending order, the one at
 * position quorumSize - 1. Holds: at least a majority of `matchIndexes` is >= the result. 0 for no voters.
 */
export function committedIndex(matchIndexes: readonly number[]): number {
  if (matchIndexes.length === 0) return 0;
  const sorted = [...matchIndexes].sort((a, b) => b - a);
  return sorted[quorumSize(sorted.length) - 1]!;
}

export type VoteResult = 'won' | 'lost' | 'pending';

/**
 * Won once a majority of `voters` granted, lost once a majority can no longer be reached, pending otherwise.
 * Votes from non-voters are ignored. No voters: lost (such a node cannot be elected).
 */
export function voteResult(voters: ReadonlySet<NodeId>, votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  if (voters.size === 0) return 'lost';
  const quorum = quorumSize(voters.size);
  let granted = 0;
  let rejected = 0;
  for (const id of voters) {
    const vote = votes.get(id);
    if (vote === true) granted++;
    else if (vote === false) rejected++;
  }
  if (granted >= quorum) return 'won';
  if (voters.size - rejected < quorum) return 'lost';
  return 'pending';
}
