// `regentctl brokers [group…]`: the liveness table (epoch, maxOffset, confirmOffset, last heartbeat age) — the
// controller-side view of mqadmin getBrokerEpoch. Liveness is soft state, so the answering node is shown.
import {
  type BrokerLiveness,
  type GetBrokerLivenessResponse,
  GetBrokerLivenessResponseSchema,
} from '@regent/proto/admin';
import { jsonOf, type Output, type Register } from '../context.js';
import { formatDurationMs, formatTable } from '../format.js';

export const registerBrokers: Register = (program, act) => {
  program
    .command('brokers')
    .description('show broker liveness: epoch, maxOffset, confirmOffset, last heartbeat age (getBrokerEpoch)')
    .argument('[group...]', 'broker group names (default: every group)')
    .option('-c, --cluster <name>', 'only brokers of this cluster')
    .action(
      act<[string[], { cluster?: string }]>(async (ctx, groups, opts) => {
        const res = await ctx.client.getBrokerLiveness(
          { clusterName: opts.cluster ?? '', brokerNames: groups },
          ctx.call,
        );
        const seen = new Set(res.brokers.map((b) => b.brokerName));
        const silent = groups.filter((g) => !seen.has(g));
        // Liveness is soft state: a registered group whose brokers have not heartbeated yet has no entries.
        if (silent.length > 0) ctx.note(`no liveness entries for: ${silent.join(', ')}`);
        return brokersOutput(res);
      }),
    );
};

export function brokersOutput(res: GetBrokerLivenessResponse): Output {
  const brokers = [...res.brokers].sort(byGroupThenId);
  const text = formatTable(
    [
      'GROUP',
      'BROKER',
      'ADDRESS',
      'STATE',
      'EPOCH',
      'MAX-OFFSET',
      'CONFIRM-OFFSET',
      'LAST-HEARTBEAT',
      'TIMEOUT',
      'PRIORITY',
      'ZONE',
    ],
    brokers.map((b) => [
      b.brokerName,
      String(b.brokerId),
      b.brokerAddress,
      stateOf(b),
      String(b.epoch),
      String(b.maxOffset),
      String(b.confirmOffset),
      `${formatDurationMs(b.lastHeartbeatAgeMs)} ago`,
      formatDurationMs(b.heartbeatTimeoutMs),
      b.electionPriority === undefined ? '-' : String(b.electionPriority),
      b.zone || '-',
    ]),
    { align: ['left', 'right', 'left', 'left', 'right', 'right', 'right', 'right', 'right', 'right'] },
  );
  return {
    json: jsonOf(GetBrokerLivenessResponseSchema, res),
    text: `${text}(liveness as seen by node ${res.answeringNodeId})\n`,
  };
}

function stateOf(b: BrokerLiveness): string {
  if (b.suspected) return 'suspected';
  return b.alive ? 'alive' : 'dead';
}

function byGroupThenId(a: BrokerLiveness, b: BrokerLiveness): number {
  if (a.brokerName !== b.brokerName) return a.brokerName < b.brokerName ? -1 : 1;
  return a.brokerId < b.brokerId ? -1 : a.brokerId > b.brokerId ? 1 : 0;
}
