// WatchEvents: proxies a consensus node's Watch stream (the leader's when known). When that node's stream breaks or
// ends, the watch resumes on another node from the last index seen, and events already delivered (same index and
// position) are skipped, so the caller sees each committed event once and in order.
import { create } from '@bufbuild/protobuf';
import { Code, ConnectError } from '@connectrpc/connect';
import { type WatchEventsResponse, WatchEventsResponseSchema } from '@regent/proto/admin';
import type { WatchResponse } from '@regent/proto/consensus';
import { REQUEST_ID_HEADER } from '@regent/service-kit';
import type { Logger } from 'pino';
import type { ConsensusNodes } from './consensus-nodes.js';
import { classifyFailure } from './forwarder.js';
import { type Backoff, backoffMs, sleep } from './timing.js';

/** Where a watch stands: what has been delivered, and where to resume. */
export class WatchCursor {
  /** The last delivered (index, position); a resync delivers every position of its index. */
  private last: { readonly index: bigint; readonly position: number } | undefined;

  constructor(private readonly fromIndex: bigint) {}

  /** The from_index of the next Watch: the start, the index after a resync, or the last event's index. */
  resumeIndex(): bigint {
    if (this.last === undefined) return this.fromIndex;
    return this.last.position === Number.POSITIVE_INFINITY ? this.last.index + 1n : this.last.index;
  }

  /** True when `message` is new for the caller (and records it); false for an event already delivered. */
  accept(message: WatchResponse): boolean {
    const item = message.item;
    if (item.case === 'resync') {
      this.last = { index: item.value.index, position: Number.POSITIVE_INFINITY };
      return true;
    }
    if (item.case !== 'event') return false;
    const { index, position } = item.value;
    const last = this.last;
    if (last !== undefined && (index < last.index || (index === last.index && position <= last.position)))
      return false;
    this.last = { index, position };
    return true;
  }
}

export interface WatchProxyOptions {
  readonly nodes: ConsensusNodes;
  readonly backoff: Backoff;
  /** Consecutive failed (re)connections before the watch gives up with UNAVAILABLE. */
  readonly retriesMax: number;
  readonly logger: Logger;
  readonly requestId: string;
}

/** The node to watch: the leader if known (and not the one that just failed), else the next node in turn. */
function pickNode(nodes: ConsensusNodes, failed: string | undefined): string {
  const leader = nodes.leader?.address;
  if (leader !== undefined && leader !== failed) return leader;
  const addresses = nodes.addresses();
  const after = failed === undefined ? -1 : addresses.indexOf(failed);
  return addresses[(after + 1) % addresses.length]!;
}

/** Streams committed events from `fromIndex` until `signal` aborts; resumes across node failures. */
export async function* proxyWatch(
  fromIndex: bigint,
  signal: AbortSignal,
  options: WatchProxyOptions,
): AsyncGenerator<WatchEventsResponse> {
  const cursor = new WatchCursor(fromIndex);
  let failed: string | undefined;
  let failures = 0;
  while (!signal.aborted) {
    const address = pickNode(options.nodes, failed);
    const resumeFrom = cursor.resumeIndex();
    try {
      const stream = options.nodes
        .client(address)
        .watch({ fromIndex: resumeFrom }, { signal, headers: { [REQUEST_ID_HEADER]: options.requestId } });
      for await (const message of stream) {
        failures = 0;
        if (cursor.accept(message)) yield create(WatchEventsResponseSchema, { item: message.item });
      }
      options.logger.info(
        { node: address, resumeFrom: String(cursor.resumeIndex()) },
        'watch ended by node; resuming',
      );
    } catch (error) {
      if (signal.aborted) return;
      if (classifyFailure(error, signal) === 'final') throw error;
      options.logger.info(
        { node: address, error: (error as Error).message },
        'watch broke; resuming on another node',
      );
    }
    failed = address;
    if (++failures > options.retriesMax) {
      throw new ConnectError(
        `no consensus node could serve the watch after ${failures} attempts`,
        Code.Unavailable,
      );
    }
    await sleep(backoffMs(failures - 1, options.backoff), signal);
  }
}
