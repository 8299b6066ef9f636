// Waits on a ProcessCluster's node statuses (a leader every node follows, logs converged, some node leading) and the
// leadership and membership changes that end in such a wait.
import { Code, ConnectError } from '@connectrpc/connect';
import { MembershipChange, type NodeStatus } from '@regent/proto/admin';
import { waitFor } from '@regent/testing';
import type { ProcessCluster } from './process-cluster.js';
import { CALL_TIMEOUT_MS, retrying, WAIT_DEADLINE_MS } from './retry.js';

export type MembershipChangeKind = 'add-learner' | 'add-voter' | 'promote' | 'remove';

/** One line per node: role, term, leader and indexes (for failure messages). */
export function describeStatuses(statuses: ReadonlyMap<number, NodeStatus>): string {
  if (statuses.size === 0) return 'no node answered';
  return [...statuses.values()]
    .map(
      (s) =>
        `node ${s.nodeId} ${s.role} term ${s.term} leader ${s.leaderId} commit ${s.commitIndex} ` +
        `applied ${s.appliedIndex} last ${s.lastIndex}`,
    )
    .join('; ');
}

/**
 * Waits for a leader among `among` (default the running members): a node in the leader role whose term no other
 * answering node exceeds, and which every answering node follows.
 */
export async function waitForLeader(
  cluster: ProcessCluster,
  options: { among?: readonly number[]; timeoutMs?: number; not?: number },
): Promise<{ id: number; term: bigint }> {
  let seen = new Map<number, NodeStatus>();
  try {
    return await waitFor(
      async () => {
        const statuses = await cluster.statuses(options.among ?? cluster.memberIds());
        seen = statuses;
        const maxTerm = [...statuses.values()].reduce((m, s) => (s.term > m ? s.term : m), 0n);
        for (const [id, s] of statuses) {
          if (s.role !== 'leader' || s.term !== maxTerm || id === options.not) continue;
          const followed = [...statuses.values()].every(
            (o) => o.leaderId === BigInt(id) && o.term === s.term,
          );
          if (followed) return { id, term: s.term };
        }
        return undefined;
      },
      { timeoutMs: options.timeoutMs ?? WAIT_DEADLINE_MS, what: 'a leader followed by every running node' },
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}; last statuses: ${describeStatuses(seen)}`, {
      cause: error,
    });
  }
}

/**
 * Waits until the nodes (default: the running members) report the same commit, applied and last index, with applied =
 * commit, and at least `minIndex`. Resolves with that index.
 */
export async function waitForConvergence(
  cluster: ProcessCluster,
  options: { ids?: readonly number[]; minIndex?: bigint; timeoutMs?: number },
): Promise<bigint> {
  const ids = options.ids ?? cluster.memberIds();
  const reached = await waitFor(
    async () => {
      const statuses = await cluster.statuses(ids);
      if (statuses.size !== ids.length) return undefined;
      const first = statuses.values().next().value!;
      const same = [...statuses.values()].every(
        (s) =>
          s.commitIndex === first.commitIndex &&
          s.appliedIndex === first.commitIndex &&
          s.lastIndex === first.lastIndex &&
          s.term === first.term,
      );
      if (!same || first.commitIndex < (options.minIndex ?? 1n)) return undefined;
      return { index: first.commitIndex };
    },
    { timeoutMs: options.timeoutMs ?? WAIT_DEADLINE_MS, what: `nodes ${ids.join(',')} converging` },
  );
  return reached.index;
}

/**
 * Moves leadership to `target` through the current leader and waits until it serves reads; resolves with the new
 * leader's term.
 */
export async function transferLeadership(cluster: ProcessCluster, target: number): Promise<bigint> {
  return retrying(`leadership moving to node ${target}`, async () => {
    const leader = await cluster.waitForLeader();
    if (leader.id !== target) {
      await cluster
        .consensus(leader.id)
        .transferLeadership({ request: { targetNodeId: BigInt(target) } }, { timeoutMs: 5_000 });
    }
    const after = await cluster.waitForLeader();
    if (after.id !== target) throw new ConnectError(`leader is ${after.id}`, Code.Unavailable);
    // Serving: a linearizable read succeeds once the new leader's first entry committed (before that it
    // answers NOT_LEADER naming itself).
    await cluster.kv(target).get({ key: 'regent-harness-probe' }, { timeoutMs: CALL_TIMEOUT_MS });
    return after.term;
  });
}

/** Proposes a membership change through the leader (retrying while another change is in progress). */
export async function changeMembership(
  cluster: ProcessCluster,
  change: MembershipChangeKind,
  nodeId: number,
): Promise<void> {
  const kind = {
    'add-learner': MembershipChange.ADD_LEARNER,
    'add-voter': MembershipChange.ADD_VOTER,
    promote: MembershipChange.PROMOTE_LEARNER,
    remove: MembershipChange.REMOVE_NODE,
  }[change];
  const address = change === 'add-learner' || change === 'add-voter' ? cluster.node(nodeId).address : '';
  const inEffect = async (leader: number): Promise<boolean> => {
    const peer = (await cluster.status(leader)).metadata?.peers.find((p) => Number(p.nodeId) === nodeId);
    if (change === 'remove') return peer === undefined;
    if (change === 'add-learner') return peer !== undefined;
    return peer !== undefined && !peer.learner;
  };
  await retrying(`membership change ${change} ${nodeId}`, async () => {
    // Any node in the leader role will do (a wrong one answers NOT_LEADER): the node being removed may lead.
    const leader = await someLeader(cluster);
    // A retry after a lost answer must not propose the change twice.
    if (await inEffect(leader.id)) return;
    await cluster
      .consensus(leader.id)
      .changeMembership(
        { request: { change: kind, nodeId: BigInt(nodeId), peerAddress: address, clientAddress: address } },
        { timeoutMs: 5_000 },
      );
  });
}

/** A running node in the leader role (the highest term if several claim it). */
async function someLeader(cluster: ProcessCluster): Promise<{ id: number; term: bigint }> {
  return waitFor(
    async () => {
      let best: { id: number; term: bigint } | undefined;
      for (const [id, s] of await cluster.statuses(cluster.runningIds())) {
        if (s.role === 'leader' && (best === undefined || s.term > best.term)) best = { id, term: s.term };
      }
      return best;
    },
    { timeoutMs: WAIT_DEADLINE_MS, what: 'a node in the leader role' },
  );
}
