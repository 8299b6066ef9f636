// `regentctl policy get|set|clear <cluster> [group]`: the election policy of a cluster or one group. The
// controller validates a policy (including rule expressions) before storing it and refuses with INVALID_POLICY.
import { create } from '@bufbuild/protobuf';
import { GetElectionPolicyResponseSchema } from '@regent/proto/admin';
import { LagFallback, type PolicyConfig, PolicyConfigSchema } from '@regent/proto/election';
import { Option } from 'commander';
import { parseBytes, parseNameList } from '../args.js';
import { jsonOf, type Register } from '../context.js';
import { UsageError } from '../exit-codes.js';
import { formatFields } from '../format.js';

export const POLICY_NAMES = ['rocketmq-default', 'zone-aware', 'max-lag', 'rules'] as const;
export type PolicyName = (typeof POLICY_NAMES)[number];

export interface PolicyOptions {
  readonly policy?: PolicyName;
  readonly zoneOrder?: readonly string[];
  readonly maxLagBytes?: bigint;
  readonly lagFallback?: 'refuse' | 'default';
  readonly filter?: string;
  readonly rank?: string;
}

export const registerPolicy: Register = (program, act) => {
  const policy = program
    .command('policy')
    .description('read or set the election policy of a cluster or group');
  policy
    .command('get')
    .description('show the policy in force and where it comes from (group, cluster or default)')
    .argument('<cluster>', 'cluster name')
    .argument('[group]', 'broker group (default: the cluster-wide policy)')
    .action(
      act<[string, string | undefined]>(async (ctx, cluster, group) => {
        const res = await ctx.client.getElectionPolicy(
          { clusterName: cluster, brokerName: group ?? '' },
          ctx.call,
        );
        const text = formatFields([
          ['scope', group === undefined ? `cluster ${cluster}` : `group ${cluster}/${group}`],
          ['policy', describePolicy(res.policy)],
          ['source', res.source || '-'],
        ]);
        return { json: jsonOf(GetElectionPolicyResponseSchema, res), text };
      }),
    );
  policy
    .command('set')
    .description('set the election policy of a cluster, or of one group')
    .argument('<cluster>', 'cluster name')
    .argument('[group]', 'broker group (default: the cluster-wide policy)')
    .addOption(new Option('--policy <name>', 'the policy').choices(POLICY_NAMES).makeOptionMandatory())
    .option('--zone-order <zones>', 'zone-aware: zones in preference order, e.g. a,b', parseNameList)
    .option('--max-lag-bytes <n>', 'max-lag: the largest allowed lag behind the best candidate', parseBytes)
    .addOption(
      new Option('--lag-fallback <what>', 'max-lag: when nobody is within the bound').choices([
        'refuse',
        'default',
      ]),
    )
    .option('--filter <expr>', 'rules: CEL filter over candidate c and group g')
    .option('--rank <expr>', 'rules: CEL ranking expression (higher first)')
    .action(
      act<[string, string | undefined, PolicyOptions]>(async (ctx, cluster, group, opts) => {
        const config = policyFromOptions(opts);
        await ctx.client.setElectionPolicy(
          { clusterName: cluster, brokerName: group ?? '', policy: config },
          ctx.call,
        );
        const scope = group === undefined ? `cluster ${cluster}` : `group ${cluster}/${group}`;
        return { json: { ok: true }, text: `${scope}: policy set to ${describePolicy(config)}\n` };
      }),
    );
  policy
    .command('clear')
    .description('remove the policy setting of a cluster or group (falls back to cluster, then default)')
    .argument('<cluster>', 'cluster name')
    .argument('[group]', 'broker group (default: the cluster-wide setting)')
    .action(
      act<[string, string | undefined]>(async (ctx, cluster, group) => {
        await ctx.client.setElectionPolicy({ clusterName: cluster, brokerName: group ?? '' }, ctx.call);
        const scope = group === undefined ? `cluster ${cluster}` : `group ${cluster}/${group}`;
        return { json: { ok: true }, text: `${scope}: policy setting cleared\n` };
      }),
    );
};

/** The PolicyConfig for `policy set`; refuses options that belong to another policy. */
export function policyFromOptions(opts: PolicyOptions): PolicyConfig {
  const given = (
    [
      ['--zone-order', opts.zoneOrder, 'zone-aware'],
      ['--max-lag-bytes', opts.maxLagBytes, 'max-lag'],
      ['--lag-fallback', opts.lagFallback, 'max-lag'],
      ['--filter', opts.filter, 'rules'],
      ['--rank', opts.rank, 'rules'],
    ] as const
  ).filter(([, value]) => value !== undefined);
  for (const [flag, , owner] of given) {
    if (owner !== opts.policy)
      throw new UsageError(`${flag} applies to --policy ${owner}, not ${opts.policy}`);
  }
  switch (opts.policy) {
    case 'zone-aware':
      return create(PolicyConfigSchema, {
        policy: { case: 'zoneAware', value: { zoneOrder: [...(opts.zoneOrder ?? [])] } },
      });
    case 'max-lag':
      if (opts.maxLagBytes === undefined) throw new UsageError('--policy max-lag needs --max-lag-bytes');
      return create(PolicyConfigSchema, {
        policy: {
          case: 'maxLag',
          value: {
            maxLagBytes: opts.maxLagBytes,
            fallback: opts.lagFallback === 'default' ? LagFallback.DEFAULT_RANKING : LagFallback.REFUSE,
          },
        },
      });
    case 'rules':
      if (opts.filter === undefined && opts.rank === undefined) {
        throw new UsageError('--policy rules needs --filter, --rank or both');
      }
      return create(PolicyConfigSchema, {
        policy: { case: 'rules', value: { filter: opts.filter ?? '', rank: opts.rank ?? '' } },
      });
    case 'rocketmq-default':
      return create(PolicyConfigSchema, { policy: { case: 'rocketmqDefault', value: {} } });
    case undefined:
      throw new UsageError('--policy is required');
  }
}

/** One line for a policy: "max-lag (at most 1048576 bytes behind; fallback refuse)". */
export function describePolicy(policy: PolicyConfig | undefined): string {
  const p = policy?.policy;
  switch (p?.case) {
    case undefined:
    case 'rocketmqDefault':
      return 'rocketmq-default';
    case 'zoneAware':
      return p.value.zoneOrder.length === 0
        ? "zone-aware (prefer the old master's zone)"
        : `zone-aware (zones in order: ${p.value.zoneOrder.join(', ')})`;
    case 'maxLag':
      return `max-lag (at most ${p.value.maxLagBytes} bytes behind; fallback ${
        p.value.fallback === LagFallback.DEFAULT_RANKING ? 'default ranking' : 'refuse'
      })`;
    case 'rules':
      return `rules (filter: ${p.value.filter || 'none'}; rank: ${p.value.rank || 'default'})`;
  }
}
