// Single-server membership changes (Raft thesis §4.1): validation and application, pure. Holds for every
// Membership: voters and learners are disjoint; ids are positive safe integers; addresses only for members.

import { type ConfChange, ConfChangeType, type ConfState, type NodeId } from './types.js';

export interface Membership {
  readonly voters: ReadonlySet<NodeId>;
  readonly learners: ReadonlySet<NodeId>;
  /** Opaque per-node context (peer and client addresses) from the ConfChange that added the node. */
  readonly addresses: ReadonlyMap<NodeId, string>;
}

export const emptyMembership: Membership = Object.freeze({
  voters: new Set<NodeId>(),
  learners: new Set<NodeId>(),
  addresses: new Map<NodeId, string>(),
});

/** Builds a membership from a snapshot's ConfState; returns a reason when it is malformed. */
export function membershipFromConfState(
  confState: ConfState,
  addresses: ReadonlyMap<NodeId, string>,
): Membership | string {
  const voters = new Set(confState.voters);
  const learners = new Set(confState.learners);
  for (const id of [...voters, ...learners]) {
    if (!isNodeId(id)) return `node id ${id} is not a positive safe integer`;
  }
  if (voters.size !== confState.voters.length) return 'duplicate voter';
  if (learners.size !== confState.learners.length) return 'duplicate learner';
  for (const id of learners) if (voters.has(id)) return `node ${id} is both voter and learner`;
  const kept = new Map<NodeId, string>();
  for (const [id, address] of addresses) if (voters.has(id) || learners.has(id)) kept.set(id, address);
  return { voters, learners, addresses: kept };
}

export function toConfState(m: Membership): ConfState {
  return { voters: sortedIds(m.voters), learners: sortedIds(m.learners) };
}

export function isMember(m: Membership, id: NodeId): boolean {
  return m.voters.has(id) || m.learners.has(id);
}

export function isEmptyMembership(m: Membership): boolean {
  return m.voters.size === 0 && m.learners.size === 0;
}

/** Returns why `cc` cannot be applied to `m`, or undefined when it can. */
export function checkConfChange(m: Membership, cc: ConfChange): string | undefined {
  if (!isNodeId(cc.nodeId)) return `node id ${cc.nodeId} is not a positive safe integer`;
  const id = cc.nodeId;
  switch (cc.type) {
    case ConfChangeType.AddVoter:
      if (m.voters.has(id)) return `node ${id} is already a voter`;
      if (m.learners.has(id)) return `node ${id} is a learner; promote it instead`;
      return undefined;
    case ConfChangeType.AddLearner:
      return isMember(m, id) ? `node ${id} is already a member` : undefined;
    case ConfChangeType.PromoteLearner:
      return m.learners.has(id) ? undefined : `node ${id} is not a learner`;
    case ConfChangeType.RemoveNode:
      if (!isMember(m, id)) return `node ${id} is not a member`;
      if (m.voters.has(id) && m.voters.size === 1) return `node ${id} is the last voter`;
      return undefined;
    default:
      return `unknown change type ${String(cc.type)}`;
  }
}

/** Applies a change that `checkConfChange` accepted. An add's non-empty context replaces the node's address. */
export function applyConfChange(m: Membership, cc: ConfChange): Membership {
  const voters = new Set(m.voters);
  const learners = new Set(m.learners);
  const addresses = new Map(m.addresses);
  const id = cc.nodeId;
  switch (cc.type) {
    case ConfChangeType.AddVoter:
      voters.add(id);
      break;
    case ConfChangeType.AddLearner:
      learners.add(id);
      break;
    case ConfChangeType.PromoteLearner:
      learners.delete(id);
      voters.add(id);
      break;
    case ConfChangeType.RemoveNode:
      voters.delete(id);
      learners.delete(id);
      addresses.delete(id);
      break;
  }
  if (cc.type !== ConfChangeType.RemoveNode && cc.context !== '') addresses.set(id, cc.context);
  return { voters, learners, addresses };
}

function isNodeId(id: number): boolean {
  return Number.isSafeInteger(id) && id > 0;
}

function sortedIds(ids: ReadonlySet<NodeId>): NodeId[] {
  return [...ids].sort((a, b) => a - b);
}
