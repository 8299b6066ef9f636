// `regentctl metadata`: where the Raft leader is and who the peers are (mqadmin getControllerMetaData).
import { create } from '@bufbuild/protobuf';
import { type ControllerMetadata, ControllerMetadataSchema } from '@regent/proto/common';
import { jsonOf, type Output, type Register } from '../context.js';
import { formatFields, formatTable } from '../format.js';

export const registerMetadata: Register = (program, act) => {
  program
    .command('metadata')
    .description('show the controller leader, its address and the Raft peers (getControllerMetaData)')
    .action(
      act(async (ctx) => {
        const res = await ctx.client.getControllerMetadata({}, ctx.call);
        return metadataOutput(res.metadata ?? create(ControllerMetadataSchema));
      }),
    );
};

export function metadataOutput(md: ControllerMetadata): Output {
  const leader = md.leaderId === 0n ? 'unknown' : `${md.leaderId} (${md.leaderAddress || 'address unknown'})`;
  const fields = formatFields([
    ['group', md.group],
    ['leader', leader],
    ['term', String(md.term)],
    ['answered by', `${md.answeringNodeId}${md.isLeader ? ' (the leader)' : ''}`],
  ]);
  const peers = formatTable(
    ['NODE', 'ADDRESS', 'KIND', 'LEADER'],
    md.peers.map((p) => [
      String(p.nodeId),
      p.address,
      p.learner ? 'learner' : 'voter',
      p.nodeId === md.leaderId ? '*' : '',
    ]),
    { align: ['right'] },
  );
  return { json: jsonOf(ControllerMetadataSchema, md), text: `${fields}\n${peers}` };
}
