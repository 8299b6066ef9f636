// `regentctl audit <cluster> [group]`: the election audit trail — who was chosen, by which policy, on what trigger,
// and the verdict on every candidate.
import { GetElectionAuditResponseSchema } from '@regent/proto/admin';
import { Verdict } from '@regent/proto/election';
import { type ElectionAuditRecord, ElectionTrigger } from '@regent/proto/state';
import { parseCount } from '../args.js';
import { jsonOf, type Register } from '../context.js';
import { clean, enumLabel, formatTable } from '../format.js';

export const registerAudit: Register = (program, act) => {
  program
    .command('audit')
    .description('show the election audit trail with the reason for every candidate')
    .argument('<cluster>', 'cluster name')
    .argument('[group]', 'broker group (default: every group of the cluster)')
    .option('-n, --limit <n>', 'at most this many records per group, newest', parseCount)
    .action(
      act<[string, string | undefined, { limit?: number }]>(async (ctx, cluster, group, opts) => {
        const res = await ctx.client.getElectionAudit(
          { clusterName: cluster, brokerName: group ?? '', limit: opts.limit ?? 0 },
          ctx.call,
        );
        const text =
          res.records.length === 0
            ? 'no elections recorded\n'
            : res.records.map(formatAuditRecord).join('\n');
        return { json: jsonOf(GetElectionAuditResponseSchema, res), text };
      }),
    );
};

/** "master 1 → 2", "master 1 kept", "master 1 → none". */
export function formatMasterChange(r: ElectionAuditRecord): string {
  const from = r.oldMasterBrokerId === undefined ? 'none' : String(r.oldMasterBrokerId);
  const to = r.chosenBrokerId === undefined ? 'none' : String(r.chosenBrokerId);
  return from === to ? `master ${from} kept` : `master ${from} → ${to}`;
}

/** One record as a headline, its explanation, and a reasons table. */
export function formatAuditRecord(r: ElectionAuditRecord): string {
  const when = r.decidedAtUnixMs === 0n ? '' : `  ${new Date(Number(r.decidedAtUnixMs)).toISOString()}`;
  const headline = [
    `#${r.raftIndex} term ${r.raftTerm}${when}`,
    `${r.clusterName}/${r.brokerName}`,
    `${enumLabel(ElectionTrigger, r.trigger)}-triggered`,
    `${formatMasterChange(r)}, epoch ${r.masterEpoch}`,
    `policy ${r.policyName || '-'}${r.fallback ? ' (fallback: policy service did not answer)' : ''}`,
  ].join('  ');
  const reasons = formatTable(
    ['BROKER', 'VERDICT', 'DETAIL'],
    r.reasons.map((reason) => [String(reason.brokerId), enumLabel(Verdict, reason.verdict), reason.detail]),
    { align: ['right'] },
  )
    .split('\n')
    .map((line) => (line === '' ? line : `    ${line}`))
    .join('\n');
  return `${clean(headline)}\n    ${clean(r.explanation || '(no explanation)')}\n${r.reasons.length === 0 ? '' : reasons}`;
}
