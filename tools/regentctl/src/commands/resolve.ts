// Finding a group's cluster when the operator did not name it, as mqadmin resolves names through the NameServer.
import { ControllerCondition } from '@regent/proto/common';
import type { CommandContext } from '../context.js';
import { RefusedError } from '../exit-codes.js';

/** The cluster to send with a request about `group`: the one given, else the one the controller records. */
export async function clusterOf(
  ctx: CommandContext,
  group: string,
  given: string | undefined,
): Promise<string> {
  if (given !== undefined) return given;
  const res = await ctx.client.getSyncStateData({ clusterName: '', brokerNames: [group] }, ctx.call);
  const cluster = res.replicas[group]?.clusterName;
  if (cluster === undefined || cluster === '') {
    throw new RefusedError(
      `no such broker group: ${group} (or pass --cluster)`,
      ControllerCondition.BROKER_METADATA_NOT_EXIST,
    );
  }
  return cluster;
}
