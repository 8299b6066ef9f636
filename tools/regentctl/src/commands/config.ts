// `regentctl config get` and `regentctl config set key=value…`: the controller configuration. Unlike RocketMQ's
// updateControllerConfig (local to each node), a change is replicated through Raft, so one call reaches every node.
import { GetControllerConfigResponseSchema, UpdateControllerConfigResponseSchema } from '@regent/proto/admin';
import { parseAssignments } from '../args.js';
import { jsonOf, type Register } from '../context.js';
import { formatTable } from '../format.js';

export const registerConfig: Register = (program, act) => {
  const config = program.command('config').description('read or change the controller configuration');
  config
    .command('get')
    .description('show the effective configuration and the keys that may not be changed remotely')
    .action(
      act(async (ctx) => {
        const res = await ctx.client.getControllerConfig({}, ctx.call);
        const forbidden = [...res.forbiddenKeys].sort();
        const text =
          entriesTable(res.entries) +
          (forbidden.length === 0 ? '' : `\nnot settable remotely: ${forbidden.join(', ')}\n`);
        return { json: jsonOf(GetControllerConfigResponseSchema, res), text };
      }),
    );
  config
    .command('set')
    .description('change configuration keys (replicated to every node)')
    .argument('<key=value...>', 'keys and their new values (at most 64)')
    .action(
      act<[string[]]>(async (ctx, pairs) => {
        const entries = parseAssignments(pairs);
        const res = await ctx.client.updateControllerConfig({ entries }, ctx.call);
        return { json: jsonOf(UpdateControllerConfigResponseSchema, res), text: entriesTable(res.entries) };
      }),
    );
};

export function entriesTable(entries: Readonly<Record<string, string>>): string {
  const keys = Object.keys(entries).sort();
  return formatTable(
    ['KEY', 'VALUE'],
    keys.map((k) => [k, entries[k]!]),
  );
}
