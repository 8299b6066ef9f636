// `regentctl elect <group> [--broker id]`: an admin election, designating a broker or not (mqadmin electMaster).
// Keeping the current master is a success (RocketMQ answered MASTER_STILL_EXIST as an error; Regent does not).
import { create } from '@bufbuild/protobuf';
import {
  ElectMasterRequestSchema,
  type ElectMasterResponse,
  ElectMasterResponseSchema,
} from '@regent/proto/admin';
import { ControllerCondition } from '@regent/proto/common';
import { parseBrokerId } from '../args.js';
import { jsonOf, type Output, type Register } from '../context.js';
import { formatFields, formatIds } from '../format.js';
import { clusterOf } from './resolve.js';

export const registerElect: Register = (program, act) => {
  program
    .command('elect')
    .description('elect a master for a group, optionally designating the broker (electMaster)')
    .argument('<group>', 'broker group name')
    .option('-b, --broker <id>', 'the broker to make master (default: let the policy choose)', parseBrokerId)
    .option('-c, --cluster <name>', 'the cluster (default: the one the controller records for the group)')
    .action(
      act<[string, { broker?: bigint; cluster?: string }]>(async (ctx, group, opts) => {
        const request = create(ElectMasterRequestSchema, {
          clusterName: await clusterOf(ctx, group, opts.cluster),
          brokerName: group,
          designatedBrokerId: opts.broker,
        });
        const label = `electing a master for ${group}${opts.broker === undefined ? '' : ` (broker ${opts.broker})`}`;
        const res = await ctx.progress(label, ctx.client.electMaster(request, ctx.call));
        return electOutput(group, res);
      }),
    );
};

export function electOutput(group: string, res: ElectMasterResponse): Output {
  const kept = res.condition === ControllerCondition.MASTER_STILL_EXIST;
  const master =
    res.masterBrokerId === undefined
      ? 'none'
      : `${res.masterBrokerId} (${res.masterAddress || 'address unknown'})`;
  const sss = res.syncStateSet;
  const text = formatFields([
    ['group', group],
    ['outcome', kept ? 'master kept (MASTER_STILL_EXIST)' : 'new master elected'],
    ['master', master],
    ['master epoch', String(res.masterEpoch)],
    ['sync state set', sss === undefined ? '-' : `{${formatIds(sss.brokerIds)}} epoch ${sss.epoch}`],
    ['why', res.explanation || '-'],
  ]);
  return { json: jsonOf(ElectMasterResponseSchema, res), text };
}
