// ConsensusService operations every node serves regardless of the state machine: Status, membership changes,
// leadership transfer and snapshots. Submit/ReportHeartbeats/Watch come from the state machine's module.
import { create } from '@bufbuild/protobuf';
import type { ServiceImpl } from '@connectrpc/connect';
import { Code, ConnectError } from '@connectrpc/connect';
import { MembershipChange, type NodeStatus, NodeStatusSchema } from '@regent/proto/admin';
import { type ControllerMetadata, ControllerMetadataSchema } from '@regent/proto/common';
import type { ConsensusService } from '@regent/proto/consensus';
import { confChangeOf, type RaftNodeHandle } from './raft-node.js';

const started = performance.now();

export function nodeStatus(node: RaftNodeHandle): NodeStatus {
  const s = node.runtime.status();
  const matchIndex: Record<string, bigint> = {};
  for (const [id, p] of s.progress) matchIndex[String(id)] = BigInt(p.match);
  return create(NodeStatusSchema, {
    nodeId: BigInt(s.id),
    address: node.selfAddress,
    // The proto's role vocabulary has "learner"; the core reports a learner as a follower.
    role: s.confState.learners.includes(s.id) ? 'learner' : s.role,
    term: BigInt(s.term),
    leaderId: BigInt(s.leader),
    commitIndex: BigInt(s.commit),
    appliedIndex: BigInt(node.runtime.appliedIndex),
    lastIndex: BigInt(s.lastIndex),
    firstIndex: BigInt(s.firstIndex),
    snapshotIndex: BigInt(node.runtime.snapshotIndex),
    matchIndex: matchIndex as never,
    uptimeSeconds: (performance.now() - started) / 1000,
  });
}

export function controllerMetadata(node: RaftNodeHandle): ControllerMetadata {
  const s = node.runtime.node.basicStatus();
  const membership = node.runtime.node.membership();
  const leader = node.leader();
  const peers = [
    ...membership.confState.voters.map((id) => ({ id, learner: false })),
    ...membership.confState.learners.map((id) => ({ id, learner: true })),
  ]
    .sort((a, b) => a.id - b.id)
    .map((p) => ({
      nodeId: BigInt(p.id),
      address: membership.addresses.get(p.id) ?? '',
      learner: p.learner,
    }));
  return create(ControllerMetadataSchema, {
    group: node.config.group,
    leaderId: BigInt(leader.id),
    leaderAddress: leader.address,
    isLeader: s.role === 'leader' && leader.id === s.id,
    peers,
    answeringNodeId: BigInt(s.id),
    term: BigInt(s.term),
  });
}

const membershipKinds = {
  [MembershipChange.ADD_VOTER]: 'add-voter',
  [MembershipChange.REMOVE_NODE]: 'remove',
  [MembershipChange.ADD_LEARNER]: 'add-learner',
  [MembershipChange.PROMOTE_LEARNER]: 'promote',
} as const;

export function nodeServiceImpl(
  node: RaftNodeHandle,
): Pick<
  ServiceImpl<typeof ConsensusService>,
  'status' | 'changeMembership' | 'transferLeadership' | 'triggerSnapshot'
> {
  return {
    status: () => ({ status: nodeStatus(node), metadata: controllerMetadata(node) }),
    changeMembership: async (req) => {
      const r = req.request;
      const kind = r === undefined ? undefined : membershipKinds[r.change as keyof typeof membershipKinds];
      if (r === undefined || kind === undefined)
        throw new ConnectError('change is required', Code.InvalidArgument);
      if (r.nodeId <= 0n || r.nodeId > BigInt(Number.MAX_SAFE_INTEGER)) {
        throw new ConnectError('node_id must be a positive safe integer', Code.InvalidArgument);
      }
      if ((kind === 'add-voter' || kind === 'add-learner') && !/^[^\s:]+:\d{1,5}$/.test(r.peerAddress)) {
        throw new ConnectError('peer_address must be host:port', Code.InvalidArgument);
      }
      node.requireLeader();
      try {
        await node.runtime.proposeConfChange(confChangeOf(kind, Number(r.nodeId), r.peerAddress));
      } catch (error) {
        throw node.toConnectError(error);
      }
      return { response: { peers: controllerMetadata(node).peers } };
    },
    transferLeadership: async (req) => {
      node.requireLeader();
      let target = Number(req.request?.targetNodeId ?? 0n);
      const status = node.runtime.status();
      if (target === 0) {
        let bestMatch = -1;
        for (const [id, p] of status.progress) {
          if (id !== status.id && !p.isLearner && p.match > bestMatch) {
            target = id;
            bestMatch = p.match;
          }
        }
      }
      if (target === 0 || target === status.id)
        throw new ConnectError('no other voter to transfer to', Code.FailedPrecondition);
      try {
        node.runtime.transferLeadership(target);
      } catch (error) {
        throw node.toConnectError(error);
      }
      const deadline = Date.now() + 3000;
      while (Date.now() < deadline && node.runtime.leaderId !== target)
        await new Promise((r) => setTimeout(r, 5));
      if (node.runtime.leaderId !== target) {
        throw new ConnectError(`leadership did not move to ${target} within 3 s`, Code.DeadlineExceeded);
      }
      return { response: { leaderId: BigInt(target) } };
    },
    triggerSnapshot: async () => {
      const index = await node.runtime.snapshotNow();
      const snap = node.storage.snapshot();
      return { response: { snapshotIndex: BigInt(index), snapshotBytes: BigInt(snap.data.byteLength) } };
    },
  };
}
