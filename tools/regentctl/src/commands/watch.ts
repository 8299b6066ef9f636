// `regentctl watch [--from N]`: committed controller events, one line each, until Ctrl-C. When the stream breaks
// (a gateway restart, a leader change) it resumes from the last event it printed and skips what it already showed.
import {
  type CommittedEvent,
  type Resync,
  type WatchEventsResponse,
  WatchEventsResponseSchema,
} from '@regent/proto/admin';
import type { ControllerEvent } from '@regent/proto/state';
import { parseCount, parseIndex } from '../args.js';
import { type CommandContext, jsonOf, type Register } from '../context.js';
import { ExitCode, exitCodeOf } from '../exit-codes.js';
import { clean, formatIds } from '../format.js';
import { formatMasterChange } from './audit.js';
import { describePolicy } from './policy.js';

/** Consecutive failed (re)connections before giving up; reset by every message received. */
export const WATCH_RETRIES_MAX = 5;
const BACKOFF_BASE_MS = 200;
const BACKOFF_MAX_MS = 3000;

export interface WatchOptions {
  readonly from: bigint;
  /** Stop after this many committed events (resync messages do not count). */
  readonly maxEvents?: number;
}

export const registerWatch: Register = (program, act) => {
  program
    .command('watch')
    .description('stream committed controller events, one per line, until Ctrl-C')
    .option(
      '--from <index>',
      'first log index to show; 0 starts with the current state (a resync)',
      parseIndex,
      0n,
    )
    .option('--max-events <n>', 'stop after this many events', parseCount)
    .action(
      act<[WatchOptions]>(async (ctx, opts) => {
        await watch(ctx, opts);
        return undefined;
      }),
    );
};

interface Position {
  readonly index: bigint;
  readonly position: number;
}

export async function watch(ctx: CommandContext, opts: WatchOptions): Promise<void> {
  let fromIndex = opts.from;
  let last: Position | undefined;
  let delivered = 0;
  let failures = 0;
  for (;;) {
    try {
      for await (const item of ctx.client.watchEvents({ fromIndex }, { signal: ctx.signal })) {
        failures = 0;
        if (item.item.case === 'resync') {
          fromIndex = item.item.value.index + 1n;
          last = { index: item.item.value.index, position: Number.MAX_SAFE_INTEGER };
        } else if (item.item.case === 'event') {
          const e = item.item.value;
          if (last !== undefined && !isAfter(e, last)) continue;
          last = { index: e.index, position: e.position };
          // Resume at the same entry: it may carry more events than we have seen.
          fromIndex = e.index;
          delivered++;
        } else {
          continue;
        }
        ctx.out(
          ctx.json ? `${JSON.stringify(jsonOf(WatchEventsResponseSchema, item))}\n` : formatWatchItem(item),
        );
        if (opts.maxEvents !== undefined && delivered >= opts.maxEvents) return;
      }
      failures++;
      if (failures > WATCH_RETRIES_MAX)
        throw new Error(`the watch stream kept ending (${failures} times in a row)`);
    } catch (error) {
      if (ctx.signal.aborted) return;
      if (exitCodeOf(error) !== ExitCode.Unavailable || ++failures > WATCH_RETRIES_MAX) throw error;
    }
    const waitMs = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (failures - 1));
    ctx.note(
      `watch: stream interrupted; resuming from index ${fromIndex} in ${waitMs}ms (${failures}/${WATCH_RETRIES_MAX})`,
    );
    if (!(await pause(waitMs, ctx.signal))) return;
  }
}

function isAfter(e: CommittedEvent, last: Position): boolean {
  return e.index > last.index || (e.index === last.index && e.position > last.position);
}

/** Waits `ms`; false when aborted first. */
function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Text lines for one watch message (a resync spans one line per group). */
export function formatWatchItem(item: WatchEventsResponse): string {
  switch (item.item.case) {
    case 'event':
      return `${clean(formatEvent(item.item.value))}\n`;
    case 'resync':
      return formatResync(item.item.value);
    default:
      return '';
  }
}

function formatResync(r: Resync): string {
  const lines = [`resync at #${r.index}: ${r.groups.length} group${r.groups.length === 1 ? '' : 's'}`];
  for (const g of r.groups) {
    const master = g.masterBrokerId === undefined ? 'none' : String(g.masterBrokerId);
    const sss = g.syncStateSet;
    lines.push(
      `  ${g.clusterName}/${g.brokerName}  master ${master} epoch ${g.masterEpoch}  ` +
        `sync-state-set {${formatIds(sss?.brokerIds ?? [])}} epoch ${sss?.epoch ?? 0}  ` +
        `replicas ${formatIds(g.replicas.map((r) => r.brokerId))}`,
    );
  }
  return lines.map((l) => `${clean(l)}\n`).join('');
}

export function formatEvent(c: CommittedEvent): string {
  const where = `#${c.index}.${c.position} t${c.term}`;
  return `${where}  ${describeEvent(c)}`;
}

function describeEvent(c: CommittedEvent): string {
  const e: ControllerEvent['event'] = c.event?.event ?? { case: undefined };
  const after = c.groupAfter;
  switch (e.case) {
    case 'applyBrokerId':
      return `apply-broker-id  ${e.value.clusterName}/${e.value.brokerName}  broker ${e.value.newBrokerId} at ${e.value.brokerAddress}`;
    case 'electMaster': {
      const audit = e.value.audit;
      const change =
        audit === undefined
          ? e.value.newMasterElected
            ? `master → ${e.value.newMasterBrokerId}`
            : 'master cleared'
          : formatMasterChange(audit);
      const epoch = after === undefined ? '' : `, epoch ${after.masterEpoch}`;
      const why = audit?.explanation ? `  — ${audit.explanation}` : '';
      return `elect-master  ${e.value.brokerName}  ${change}${epoch}${why}`;
    }
    case 'alterSyncStateSet': {
      const epoch = after?.syncStateSet === undefined ? '' : ` epoch ${after.syncStateSet.epoch}`;
      return `alter-sync-state-set  ${e.value.brokerName}  {${formatIds(e.value.newSyncStateSet)}}${epoch}`;
    }
    case 'cleanBrokerData':
      return `clean-broker-data  ${e.value.brokerName}  ${
        e.value.brokerIdsToClean.length === 0
          ? 'whole group'
          : `brokers ${formatIds(e.value.brokerIdsToClean)}`
      }`;
    case 'updateBrokerAddress':
      return `update-broker-address  ${e.value.clusterName}/${e.value.brokerName}  broker ${e.value.brokerId} → ${e.value.brokerAddress}`;
    case 'configChange':
      return `config-change  ${Object.entries(e.value.entries)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')}`;
    case 'policyConfig': {
      const scope =
        e.value.brokerName === '' ? e.value.clusterName : `${e.value.clusterName}/${e.value.brokerName}`;
      return `policy-config  ${scope}  ${e.value.policy === undefined ? 'cleared' : describePolicy(e.value.policy)}`;
    }
    case undefined:
      return 'unknown event';
  }
}
