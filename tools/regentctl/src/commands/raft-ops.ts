// `regentctl transfer-leader [nodeId]` and `regentctl snapshot [nodeId]`: Raft maintenance operations.
import { TransferLeadershipResponseSchema, TriggerSnapshotResponseSchema } from '@regent/proto/admin';
import { parseNodeId } from '../args.js';
import { jsonOf, type Register } from '../context.js';
import { formatBytes } from '../format.js';

export const registerTransferLeader: Register = (program, act) => {
  program
    .command('transfer-leader')
    .description('move Raft leadership to a node (default: the most up-to-date voter)')
    .argument('[nodeId]', 'the target node', parseNodeId)
    .action(
      act<[bigint | undefined]>(async (ctx, target) => {
        const label = `transferring leadership${target === undefined ? '' : ` to node ${target}`}`;
        const res = await ctx.progress(
          label,
          ctx.client.transferLeadership({ targetNodeId: target ?? 0n }, ctx.call),
        );
        return {
          json: jsonOf(TransferLeadershipResponseSchema, res),
          text: `leader is now node ${res.leaderId}\n`,
        };
      }),
    );
};

export const registerSnapshot: Register = (program, act) => {
  program
    .command('snapshot')
    .description('make a node take a snapshot and compact its log now (default: the leader)')
    .argument('[nodeId]', 'the node', parseNodeId)
    .action(
      act<[bigint | undefined]>(async (ctx, nodeId) => {
        const label = `taking a snapshot on ${nodeId === undefined ? 'the leader' : `node ${nodeId}`}`;
        const res = await ctx.progress(label, ctx.client.triggerSnapshot({ nodeId: nodeId ?? 0n }, ctx.call));
        return {
          json: jsonOf(TriggerSnapshotResponseSchema, res),
          text: `snapshot at index ${res.snapshotIndex} (${formatBytes(res.snapshotBytes)})\n`,
        };
      }),
    );
};
