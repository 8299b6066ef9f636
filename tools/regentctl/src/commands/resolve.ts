// Finding a group's cluster when the operator did not name it, as mqadmin resolves names through the NameServer.
import type { CommandContext } from '../context.js';

/**
 * The cluster to send with a request about `group`: the one given, else the one the controller records for the
 * group, else "" (the controller then answers for the unknown group with its own condition).
 */
export async function clusterOf(ctx: CommandContext, group: string, given: string | undefined): Promise<string> {
  if (given !== undefined) return given;
  const res = await ctx.client.getSyncStateData({ clusterName: '', brokerNames: [group] }, ctx.call);
  return res.replicas[group]?.clusterName ?? '';
}
