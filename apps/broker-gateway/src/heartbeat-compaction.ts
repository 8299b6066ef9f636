// Compaction of a backlog of heartbeats for one consensus node: a heartbeat is state, not a log entry, so of the
// heartbeats a broker sent on one stream (or as unary calls) only the newest matters to the node, with the most
// advanced progress among them. A node that fell behind then gets the latest state of every broker in a few
// requests instead of losing whole batches when its queue is full — which made live brokers look dead.
//
// What the node's liveness table (libs/controller liveness.ts) does with the compacted heartbeats is what it does
// with the originals: the timestamp is the delivery time either way; address, timeout, zone and labels come from
// the newest heartbeat; progress (epoch, maxOffset, confirmOffset) is the most advanced one, as the table keeps it;
// and stream ordering only compares arrivals of one broker. A broker whose backlog holds heartbeats of more than
// one sequence (two streams, or a stream and unary calls) keeps all of them in their order: the table orders its
// streams by those arrivals.
import { create } from '@bufbuild/protobuf';
import { type BrokerHeartbeat, BrokerHeartbeatSchema } from '@regent/proto/common';

export interface HeartbeatRun {
  readonly heartbeats: readonly BrokerHeartbeat[];
  /** The gateway sequence of the stream or call of the heartbeat at the same position. */
  readonly sequences: readonly bigint[];
}

interface BrokerEntry {
  readonly sequence: bigint;
  /** Heartbeats of more than one sequence: keep them all. */
  mixed: boolean;
  /** Position of the newest heartbeat. */
  last: number;
  /** Position of the heartbeat with the most advanced progress (the table's rule). */
  mostAdvanced: number;
}

function keyOf(heartbeat: BrokerHeartbeat): string {
  const { clusterName, brokerName } = heartbeat;
  return `${clusterName.length}:${clusterName}${brokerName.length}:${brokerName}${heartbeat.brokerId}`;
}

/** The liveness table's rule: a larger epoch, or an equal epoch with a larger maxOffset. */
function moreAdvanced(a: BrokerHeartbeat, b: BrokerHeartbeat): boolean {
  return a.epoch > b.epoch || (a.epoch === b.epoch && a.maxOffset > b.maxOffset);
}

/** The run without the heartbeats a newer one of the same broker and sequence supersedes; order is kept. */
export function compactHeartbeats(run: HeartbeatRun): { heartbeats: BrokerHeartbeat[]; sequences: bigint[] } {
  const entries = new Map<string, BrokerEntry>();
  const keys: string[] = [];
  run.heartbeats.forEach((heartbeat, position) => {
    const key = keyOf(heartbeat);
    keys.push(key);
    const sequence = run.sequences[position] ?? 0n;
    const entry = entries.get(key);
    if (entry === undefined) {
      entries.set(key, { sequence, mixed: false, last: position, mostAdvanced: position });
      return;
    }
    if (entry.sequence !== sequence) entry.mixed = true;
    entry.last = position;
    if (moreAdvanced(heartbeat, run.heartbeats[entry.mostAdvanced]!)) entry.mostAdvanced = position;
  });
  const heartbeats: BrokerHeartbeat[] = [];
  const sequences: bigint[] = [];
  run.heartbeats.forEach((heartbeat, position) => {
    const entry = entries.get(keys[position]!)!;
    if (!entry.mixed && position !== entry.last) return;
    heartbeats.push(entry.mixed ? heartbeat : withProgressOf(heartbeat, run.heartbeats[entry.mostAdvanced]!));
    sequences.push(run.sequences[position] ?? 0n);
  });
  return { heartbeats, sequences };
}

function withProgressOf(newest: BrokerHeartbeat, mostAdvanced: BrokerHeartbeat): BrokerHeartbeat {
  if (!moreAdvanced(mostAdvanced, newest)) return newest;
  return create(BrokerHeartbeatSchema, {
    ...newest,
    epoch: mostAdvanced.epoch,
    maxOffset: mostAdvanced.maxOffset,
    confirmOffset: mostAdvanced.confirmOffset,
  });
}
