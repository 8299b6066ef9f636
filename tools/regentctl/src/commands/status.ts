// `regentctl status`: every consensus node's Raft status, with how far each node's state machine trails the
// cluster's commit index.
import type { JsonObject } from '@bufbuild/protobuf';
import { type GetClusterStatusResponse, type NodeStatus, NodeStatusSchema } from '@regent/proto/admin';
import { jsonOf, type Output, type Register } from '../context.js';
import { formatDurationMs, formatTable } from '../format.js';

export const registerStatus: Register = (program, act) => {
  program
    .command('status')
    .description("show every node's Raft status: role, term, commit and applied index, lag")
    .action(
      act(async (ctx) => {
        return statusOutput(await ctx.client.getClusterStatus({}, ctx.call));
      }),
    );
};

/**
 * The commit index everyone is measured against: the leader's when it answered, else the highest one seen.
 * Undefined when no node answered.
 */
export function referenceCommit(nodes: readonly NodeStatus[]): bigint | undefined {
  const reachable = nodes.filter((n) => n.role !== 'unreachable');
  const leader = reachable.find((n) => n.role === 'leader');
  if (leader !== undefined) return leader.commitIndex;
  return reachable.reduce<bigint | undefined>(
    (m, n) => (m === undefined || n.commitIndex > m ? n.commitIndex : m),
    undefined,
  );
}

/** Entries committed but not yet applied on this node, relative to `reference` (0 when ahead). */
export function lagOf(node: NodeStatus, reference: bigint | undefined): bigint | undefined {
  if (node.role === 'unreachable' || reference === undefined) return undefined;
  return reference > node.appliedIndex ? reference - node.appliedIndex : 0n;
}

export function statusOutput(res: GetClusterStatusResponse): Output {
  const nodes = [...res.nodes].sort((a, b) => (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0));
  const reference = referenceCommit(nodes);
  const json = {
    nodes: nodes.map((n) => {
      const lag = lagOf(n, reference);
      return { ...(jsonOf(NodeStatusSchema, n) as JsonObject), lag: lag === undefined ? null : String(lag) };
    }),
  };
  const rows = nodes.map((n) => {
    const reachable = n.role !== 'unreachable';
    const num = (v: bigint): string => (reachable ? String(v) : '-');
    return [
      String(n.nodeId),
      n.address,
      n.role,
      num(n.term),
      reachable && n.leaderId !== 0n ? String(n.leaderId) : '-',
      num(n.commitIndex),
      num(n.appliedIndex),
      num(n.lastIndex),
      num(n.snapshotIndex),
      String(lagOf(n, reference) ?? '-'),
      reachable ? formatDurationMs(n.uptimeSeconds * 1000) : '-',
      n.error,
    ];
  });
  const text = formatTable(
    [
      'NODE',
      'ADDRESS',
      'ROLE',
      'TERM',
      'LEADER',
      'COMMIT',
      'APPLIED',
      'LAST',
      'SNAPSHOT',
      'LAG',
      'UPTIME',
      'ERROR',
    ],
    rows,
    {
      align: [
        'right',
        'left',
        'left',
        'right',
        'right',
        'right',
        'right',
        'right',
        'right',
        'right',
        'right',
      ],
    },
  );
  return { json, text };
}
