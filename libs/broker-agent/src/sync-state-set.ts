// The master's SyncStateSet maths (RocketMQ `AutoSwitchHAService.maybeShrinkSyncStateSet` /
// `maybeExpandInSyncStateSet` and the confirm offset, §3.5), pure, for the embedding broker's HA layer. The agent
// reports the result to the controller (`BrokerAgent.proposeSyncStateSet`); the local set changes only when the
// controller accepts.
import { sameIds, sortedUnique } from './role.js';

/** What the master knows about one slave's replication. */
export interface SlaveProgress {
  readonly brokerId: bigint;
  /** False when the slave has no HA connection. */
  readonly connected: boolean;
  /** An async learner never joins the SyncStateSet. */
  readonly asyncLearner: boolean;
  /** The slave's last acknowledged offset; -1n when none. */
  readonly ackOffset: bigint;
  /** The master's max offset when it last sent data to this slave (RocketMQ "last transferred offset"). */
  readonly lastTransferredOffset: bigint;
  /** When the slave last acknowledged everything sent to it, in clock ms. */
  readonly lastCaughtUpMs: number;
}

export interface SyncStateSetCheck {
  readonly masterBrokerId: bigint;
  readonly current: readonly bigint[];
  readonly slaves: readonly SlaveProgress[];
  readonly nowMs: number;
  /** A slave that has not caught up for longer than this leaves the set (RocketMQ `haMaxTimeSlaveNotCatchup`). */
  readonly slaveNotCatchUpMaxMs: number;
  readonly confirmOffset: bigint;
  /** The start offset of the master's current epoch. */
  readonly currentEpochStartOffset: bigint;
}

/**
 * The set the master should propose, or undefined when it should stay as it is. Shrink: a member without an HA
 * connection, or not caught up within `slaveNotCatchUpMaxMs`. Expand: a connected non-learner that has acked all
 * it was sent, at least the confirm offset and at least the current epoch's start. The master is always a member.
 */
export function nextSyncStateSet(check: SyncStateSetCheck): readonly bigint[] | undefined {
  const bySlave = new Map(check.slaves.map((s) => [s.brokerId, s]));
  const keep = check.current.filter((id) => {
    if (id === check.masterBrokerId) return true;
    const s = bySlave.get(id);
    return s?.connected === true && check.nowMs - s.lastCaughtUpMs <= check.slaveNotCatchUpMaxMs;
  });
  const join = check.slaves
    .filter((s) => !check.current.includes(s.brokerId) && mayJoin(s, check))
    .map((s) => s.brokerId);
  const next = sortedUnique([check.masterBrokerId, ...keep, ...join]);
  return sameIds(next, check.current) ? undefined : next;
}

function mayJoin(s: SlaveProgress, check: SyncStateSetCheck): boolean {
  return (
    s.connected &&
    !s.asyncLearner &&
    s.ackOffset >= s.lastTransferredOffset &&
    s.ackOffset >= check.confirmOffset &&
    s.ackOffset >= check.currentEpochStartOffset
  );
}

export interface ConfirmOffsetInput {
  readonly masterBrokerId: bigint;
  readonly masterMaxOffset: bigint;
  /** The set acks are counted against (`BrokerAgent.ackQuorumSet()`). */
  readonly quorumSet: readonly bigint[];
  /** Connected slaves' ack offsets. */
  readonly acks: ReadonlyMap<bigint, bigint>;
  readonly previous: bigint;
}

/**
 * The confirm offset: the minimum ack over the quorum set's slaves; the master's max offset when it is alone.
 * A member without a connection keeps the previous value (RocketMQ #6662) rather than dropping it to -1.
 */
export function confirmOffsetOf(input: ConfirmOffsetInput): bigint {
  let confirm = input.masterMaxOffset;
  for (const id of input.quorumSet) {
    if (id === input.masterBrokerId) continue;
    const ack = input.acks.get(id);
    if (ack === undefined) return input.previous;
    if (ack < confirm) confirm = ack;
  }
  return confirm;
}
