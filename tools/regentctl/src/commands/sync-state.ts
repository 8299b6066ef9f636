// `regentctl sync-state [group…]`: each group's master, epochs, and the in-sync and not-in-sync replicas with
// their alive flags (mqadmin getSyncStateSet).

import { type GetSyncStateDataResponse, GetSyncStateDataResponseSchema } from '@regent/proto/admin';
import { ControllerCondition, type ReplicaInfo, type ReplicasInfo } from '@regent/proto/common';
import { jsonOf, type Output, type Register } from '../context.js';
import { RefusedError } from '../exit-codes.js';
import { formatTable, yesNo } from '../format.js';

export const registerSyncState: Register = (program, act) => {
  program
    .command('sync-state')
    .description(
      'show groups: master, epochs, in-sync and not-in-sync replicas with alive flags (getSyncStateSet)',
    )
    .argument('[group...]', 'broker group names (default: every group)')
    .option('-c, --cluster <name>', 'only groups of this cluster')
    .action(
      act<[string[], { cluster?: string }]>(async (ctx, groups, opts) => {
        const res = await ctx.client.getSyncStateData(
          { clusterName: opts.cluster ?? '', brokerNames: groups },
          ctx.call,
        );
        requireGroups(groups, Object.keys(res.replicas));
        return syncStateOutput(res);
      }),
    );
};

/** Refuses (exit 1) when a group the operator named is not in the answer. */
export function requireGroups(asked: readonly string[], found: readonly string[]): void {
  const have = new Set(found);
  const missing = asked.filter((g) => !have.has(g));
  if (missing.length > 0) {
    throw new RefusedError(
      `no such broker group: ${missing.join(', ')}`,
      ControllerCondition.BROKER_METADATA_NOT_EXIST,
    );
  }
}

export function syncStateOutput(res: GetSyncStateDataResponse): Output {
  const groups = Object.keys(res.replicas).sort();
  const rows: string[][] = [];
  for (const name of groups) rows.push(...groupRows(name, res.replicas[name]!));
  const text = formatTable(
    ['GROUP', 'CLUSTER', 'MASTER-EPOCH', 'SSS-EPOCH', 'BROKER', 'ADDRESS', 'ROLE', 'IN-SYNC', 'ALIVE'],
    rows,
    { align: ['left', 'left', 'right', 'right', 'right'] },
  );
  return { json: jsonOf(GetSyncStateDataResponseSchema, res), text };
}

function groupRows(name: string, info: ReplicasInfo): string[][] {
  const replicas: [ReplicaInfo, boolean][] = [
    ...info.inSyncReplicas.map((r): [ReplicaInfo, boolean] => [r, true]),
    ...info.notInSyncReplicas.map((r): [ReplicaInfo, boolean] => [r, false]),
  ].sort(([a], [b]) => (a.brokerId < b.brokerId ? -1 : a.brokerId > b.brokerId ? 1 : 0));
  const head = [name, info.clusterName, String(info.masterEpoch), String(info.syncStateSetEpoch)];
  if (replicas.length === 0)
    return [[...head, '-', '-', info.masterBrokerId === undefined ? 'no master' : '', '', '']];
  return replicas.map(([r, inSync]) => [
    ...head,
    String(r.brokerId),
    r.brokerAddress,
    roleOf(r.brokerId, info.masterBrokerId),
    yesNo(inSync),
    yesNo(r.alive),
  ]);
}

function roleOf(brokerId: bigint, masterId: bigint | undefined): string {
  if (masterId === undefined) return 'no-master';
  return brokerId === masterId ? 'master' : 'slave';
}
