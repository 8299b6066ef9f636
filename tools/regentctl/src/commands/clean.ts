// `regentctl clean <group> [--broker-ids 1,2] [--clean-living]`: remove broker ids, or a whole group, from the
// controller's metadata (mqadmin cleanBrokerMetadata).
import { CleanBrokerDataResponseSchema } from '@regent/proto/admin';
import { parseBrokerIds } from '../args.js';
import { jsonOf, type Register } from '../context.js';
import { formatIds } from '../format.js';
import { clusterOf } from './resolve.js';

export const registerClean: Register = (program, act) => {
  program
    .command('clean')
    .description('remove broker ids, or the whole group, from the controller metadata (cleanBrokerMetadata)')
    .argument('<group>', 'broker group name')
    .option('-b, --broker-ids <ids>', 'comma-separated broker ids (default: the whole group)', parseBrokerIds)
    .option('-l, --clean-living', 'also remove brokers that are alive', false)
    .option('-c, --cluster <name>', 'the cluster (default: the one the controller records for the group)')
    .action(
      act<[string, { brokerIds?: bigint[]; cleanLiving: boolean; cluster?: string }]>(
        async (ctx, group, opts) => {
          const ids = opts.brokerIds ?? [];
          const res = await ctx.client.cleanBrokerData(
            {
              clusterName: await clusterOf(ctx, group, opts.cluster),
              brokerName: group,
              brokerIds: ids,
              cleanLivingBroker: opts.cleanLiving,
            },
            ctx.call,
          );
          const text = res.groupRemoved
            ? `removed group ${group}\n`
            : `removed broker${ids.length === 1 ? '' : 's'} ${formatIds(ids)} from ${group}\n`;
          return { json: jsonOf(CleanBrokerDataResponseSchema, res), text };
        },
      ),
    );
};
