// The first state of a new cluster's founding members: a snapshot at index 1, term 1 that carries the initial
// membership. Every node's log then starts from a snapshot, so a node that joins later (empty storage, empty
// membership) always receives a snapshot first and never rebuilds a membership from entries alone.

import { InvalidRequestError } from './errors.js';
import { membershipFromConfState, toConfState } from './membership.js';
import type { ConfState, HardState, NodeId, Snapshot } from './types.js';

export const bootstrapIndex = 1;
export const bootstrapTerm = 1;

/**
 * The snapshot the runtime persists once on each founding member (with the hard state
 * `{ term: 1, vote: 0, commit: 1 }`) before creating the node. `data` is the empty state machine's snapshot.
 */
export function bootstrapSnapshot(options: {
  readonly voters: readonly NodeId[];
  readonly learners?: readonly NodeId[];
  readonly addresses?: ReadonlyMap<NodeId, string>;
  readonly data?: Uint8Array;
}): { snapshot: Snapshot; hardState: HardState } {
  const confState: ConfState = { voters: options.voters, learners: options.learners ?? [] };
  const membership = membershipFromConfState(confState, options.addresses ?? new Map());
  if (typeof membership === 'string') throw new InvalidRequestError(`bootstrap membership: ${membership}`);
  if (membership.voters.size === 0) throw new InvalidRequestError('bootstrap needs at least one voter');
  return {
    snapshot: {
      metadata: {
        index: bootstrapIndex,
        term: bootstrapTerm,
        confState: toConfState(membership),
        addresses: membership.addresses,
      },
      data: options.data ?? new Uint8Array(0),
    },
    hardState: { term: bootstrapTerm, vote: 0, commit: bootstrapIndex },
  };
}
