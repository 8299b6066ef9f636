// `regentctl member add-voter|add-learner|promote|remove <nodeId>`: Raft membership changes, one at a time. A new
// node usually joins as a learner, catches up, then is promoted, so the quorum never waits on an empty log.
import { create } from '@bufbuild/protobuf';
import { ChangeMembershipResponseSchema, MembershipChange } from '@regent/proto/admin';
import type { PeerInfo } from '@regent/proto/common';
import type { Command } from 'commander';
import { parseHostPort, parseNodeId } from '../args.js';
import { type Act, jsonOf, type Output, type Register } from '../context.js';
import { UsageError } from '../exit-codes.js';
import { formatTable } from '../format.js';

interface AddOptions {
  readonly address?: string;
  readonly clientAddress?: string;
}

const changes = [
  ['add-voter', MembershipChange.ADD_VOTER, 'add a voting member', true],
  ['add-learner', MembershipChange.ADD_LEARNER, 'add a non-voting member (a learner)', true],
  ['promote', MembershipChange.PROMOTE_LEARNER, 'make a learner a voter', false],
  ['remove', MembershipChange.REMOVE_NODE, 'remove a node', false],
] as const;

export const registerMember: Register = (program, act) => {
  const member = program.command('member').description('change the Raft membership (one change at a time)');
  for (const [name, change, description, needsAddress] of changes) {
    const cmd = member
      .command(name)
      .description(description)
      .argument('<nodeId>', 'the node id', parseNodeId);
    if (needsAddress) addressOptions(cmd);
    cmd.action(memberAction(act, name, change, needsAddress));
  }
};

function addressOptions(cmd: Command): void {
  cmd
    .option('-a, --address <host:port>', "the node's address (Raft peers and clients)", parseHostPort)
    .option(
      '--client-address <host:port>',
      'a different client-facing address (default: --address)',
      parseHostPort,
    );
}

function memberAction(act: Act, name: string, change: MembershipChange, needsAddress: boolean) {
  return act<[bigint, AddOptions]>(async (ctx, nodeId, opts) => {
    if (needsAddress && opts.address === undefined)
      throw new UsageError(`member ${name} needs --address host:port`);
    const request = {
      change,
      nodeId,
      peerAddress: opts.address ?? '',
      clientAddress: opts.clientAddress ?? opts.address ?? '',
    };
    const res = await ctx.progress(
      `member ${name} ${nodeId}`,
      ctx.client.changeMembership(request, ctx.call),
    );
    return membersOutput(res.peers, `member ${name} ${nodeId}: done\n`);
  });
}

export function membersOutput(peers: readonly PeerInfo[], headline: string): Output {
  const sorted = [...peers].sort((a, b) => (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0));
  const table = formatTable(
    ['NODE', 'ADDRESS', 'KIND'],
    sorted.map((p) => [String(p.nodeId), p.address, p.learner ? 'learner' : 'voter']),
    { align: ['right'] },
  );
  return {
    json: jsonOf(ChangeMembershipResponseSchema, create(ChangeMembershipResponseSchema, { peers: sorted })),
    text: `${headline}${table}`,
  };
}
