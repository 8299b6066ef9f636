// Broker liveness: the soft, per-node table of heartbeats (never replicated, as in RocketMQ's DLedger mode) and
// the read-only view the request handlers and scans consult. Time is a number of milliseconds handed in by the
// caller (a monotonic clock); nothing here reads a clock.

import type { BrokerHeartbeat } from '@regent/proto/common';
import { ControllerCondition } from '@regent/proto/common';
import type { ReportHeartbeatsRequest, StreamSuspicion } from '@regent/proto/consensus';
import { assert } from './assert.js';
import {
  addressLengthMax,
  labelKeyLengthMax,
  labelsPerBrokerMax,
  labelValueLengthMax,
  nameLengthMax,
  zoneLengthMax,
} from './limits.js';
import { compareIds } from './state.js';

/** One broker's liveness record as the handlers see it. */
export interface BrokerLivenessRecord {
  readonly clusterName: string;
  readonly brokerName: string;
  readonly brokerId: bigint;
  readonly brokerAddress: string;
  /** The broker's last epoch-file epoch; -1 when unknown. Never moves backwards (see `LivenessTable`). */
  readonly epoch: number;
  /** The broker's max commit-log offset; -1 when unknown. Moves with `epoch`. */
  readonly maxOffset: bigint;
  /** The broker's confirm offset; -1 when unknown. Moves with `epoch`. */
  readonly confirmOffset: bigint;
  /** Lower wins; undefined means the lowest priority (RocketMQ Integer.MAX_VALUE). */
  readonly electionPriority: number | undefined;
  readonly zone: string;
  readonly labels: Readonly<Record<string, string>>;
  /** The broker's own liveness timeout, in milliseconds. */
  readonly heartbeatTimeoutMs: number;
  /** When the latest heartbeat arrived, in the table's milliseconds. */
  readonly lastHeartbeatMs: number;
  /** True when the broker's heartbeat stream broke and no newer heartbeat has arrived since. */
  readonly suspected: boolean;
}

/**
 * What the handlers and scans read. A view judges liveness at one instant, `nowMs`; it reads its table live,
 * so use it synchronously and take a new view for a new instant.
 */
export interface LivenessView {
  readonly nowMs: number;
  /** True when the broker is alive at `nowMs` (see `LivenessTable` for the rule, including the restart grace). */
  isAlive(clusterName: string, brokerName: string, brokerId: bigint): boolean;
  /** The broker's record, if it has heartbeated (and was not removed since). */
  get(clusterName: string, brokerName: string, brokerId: bigint): BrokerLivenessRecord | undefined;
  /** Every record, ordered by cluster, group, then broker id. */
  list(): readonly BrokerLivenessRecord[];
}

/** Where a heartbeat came from: the gateway and its monotonic sequence of the stream or call that carried it. */
export interface HeartbeatSource {
  readonly gatewayId: string;
  readonly sequence: bigint;
}

export type HeartbeatOutcome =
  | { readonly kind: 'accepted'; readonly effectiveTimeoutMs: number }
  | { readonly kind: 'rejected'; readonly condition: ControllerCondition; readonly message: string };

/**
 * What a suspicion did. Only `applied` marks the broker dead; every other outcome leaves it to the timeout:
 * - `ignored-unknown`: the broker has no record (nothing to compare the stream with).
 * - `ignored-unseen-stream`: no heartbeat of that stream reached this node, so it cannot be shown to be current.
 * - `ignored-stale`: a newer stream or call of the same gateway delivered a heartbeat (RocketMQ issue #11045).
 * - `ignored-superseded`: another stream or gateway delivered a heartbeat of the broker after that stream's first
 *   one (the broker has another live channel).
 */
export type SuspicionOutcome =
  | 'applied'
  | 'ignored-unknown'
  | 'ignored-unseen-stream'
  | 'ignored-stale'
  | 'ignored-superseded';

/** Most heartbeats, and most suspicions, one gateway batch may carry (`ReportHeartbeatsRequest`). */
export const reportEntriesMax = 10_000;

/** A liveness key. */
export interface BrokerKey {
  readonly clusterName: string;
  readonly brokerName: string;
  readonly brokerId: bigint;
}

export interface LivenessTableOptions {
  /** When the table was created (the controller's start), in the caller's milliseconds. */
  readonly createdAtMs: number;
  /** The timeout of a heartbeat that does not carry one (RocketMQ 10 000 ms). */
  readonly defaultHeartbeatTimeoutMs?: number;
  /** The largest timeout a heartbeat may ask for. */
  readonly heartbeatTimeoutMsMax?: number;
  /** After creation, a broker without any record counts as alive this long (default: the default timeout). */
  readonly graceMs?: number;
  /** Most records; a heartbeat of a new broker beyond it is rejected with OVERLOADED. */
  readonly entriesMax?: number;
  /** `removeExpired` keeps an expired record this long (so operators still see it) before removing it. */
  readonly expiredRetentionMs?: number;
  /** Gateways remembered per broker (for stream-suspicion ordering); the least recently heard is forgotten. */
  readonly gatewaysPerBrokerMax?: number;
}

/** One gateway's path to a broker: the newest stream/call sequence seen and when (in arrival order). */
interface GatewayPath {
  maxSequence: bigint;
  /** Arrival number of the first heartbeat carrying `maxSequence`. */
  maxSequenceFirstArrival: number;
  /** Arrival number of the latest heartbeat carrying `maxSequence`. */
  maxSequenceLastArrival: number;
  /** Arrival number of the latest heartbeat through this gateway. */
  lastArrival: number;
  /** Arrival number of the latest heartbeat through this gateway on an older stream or call than the newest. */
  olderSequenceLastArrival: number;
}

interface MutableRecord {
  clusterName: string;
  brokerName: string;
  brokerId: bigint;
  brokerAddress: string;
  epoch: number;
  maxOffset: bigint;
  confirmOffset: bigint;
  electionPriority: number | undefined;
  zone: string;
  labels: Readonly<Record<string, string>>;
  heartbeatTimeoutMs: number;
  lastHeartbeatMs: number;
  /** The stream whose close marked the broker suspected; undefined when not suspected. */
  suspectedStream: { readonly gatewayId: string; readonly sequence: bigint } | undefined;
  /** gatewayId → path; iteration order is least recently heard first. */
  paths: Map<string, GatewayPath>;
  /** The last key of `paths` (the most recently heard gateway); undefined while `paths` is empty. */
  newestPathGatewayId: string | undefined;
  /** Arrival number of the latest unary heartbeat (sequence 0); 0 when none. */
  lastUnaryArrival: number;
}

/**
 * The table key of a broker: the names length-prefixed, so no two brokers share a key whatever their names hold.
 * Built for every heartbeat and every liveness check of a scan, hence plain concatenation.
 */
function keyOf(clusterName: string, brokerName: string, brokerId: bigint): string {
  return `${clusterName.length}:${clusterName}${brokerName.length}:${brokerName}${brokerId}`;
}

function sameLabels(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const keys = Object.keys(b);
  if (keys.length !== Object.keys(a).length) return false;
  for (const key of keys) {
    if (a[key] !== b[key]) return false;
  }
  return true;
}

function compareRecords(a: BrokerKey, b: BrokerKey): number {
  if (a.clusterName !== b.clusterName) return a.clusterName < b.clusterName ? -1 : 1;
  if (a.brokerName !== b.brokerName) return a.brokerName < b.brokerName ? -1 : 1;
  return compareIds(a.brokerId, b.brokerId);
}

function toRecord(record: MutableRecord): BrokerLivenessRecord {
  return {
    clusterName: record.clusterName,
    brokerName: record.brokerName,
    brokerId: record.brokerId,
    brokerAddress: record.brokerAddress,
    epoch: record.epoch,
    maxOffset: record.maxOffset,
    confirmOffset: record.confirmOffset,
    electionPriority: record.electionPriority,
    zone: record.zone,
    labels: record.labels,
    heartbeatTimeoutMs: record.heartbeatTimeoutMs,
    lastHeartbeatMs: record.lastHeartbeatMs,
    suspected: record.suspectedStream !== undefined,
  };
}

/**
 * The heartbeat table (RocketMQ `DefaultBrokerHeartbeatManager`), keyed by (cluster, group, broker id).
 *
 * Update rule: every heartbeat refreshes the timestamp, timeout, priority, address, zone and labels; the
 * progress triple (epoch, maxOffset, confirmOffset) is replaced only when the epoch is larger, or equal with a
 * larger maxOffset, so recorded progress never moves backwards. Offsets are compared as bigints (RocketMQ casts a
 * long difference to int, which overflows beyond 2 GiB).
 *
 * Alive: not suspected and `lastHeartbeatMs + heartbeatTimeoutMs >= nowMs` (RocketMQ `isBrokerActive`).
 * Restart grace: a broker without a record counts as alive until `createdAtMs + graceMs`, so after a controller
 * restart nobody is declared dead before they had a full timeout to heartbeat again; after the grace, no record
 * means dead. Records only expire from the table after the grace, so the grace never resurrects a broker.
 *
 * Stream suspicion: a broken heartbeat stream marks its broker dead at once, unless the close is stale (see
 * `SuspicionOutcome`; streams are ordered by the gateway's sequence, gateways by arrival order at this node). A
 * later heartbeat clears the suspicion unless it came through the very stream that broke.
 */
export class LivenessTable {
  readonly createdAtMs: number;
  readonly defaultHeartbeatTimeoutMs: number;
  readonly heartbeatTimeoutMsMax: number;
  readonly graceMs: number;
  readonly entriesMax: number;
  readonly expiredRetentionMs: number;
  readonly gatewaysPerBrokerMax: number;
  private readonly records = new Map<string, MutableRecord>();
  /** Counts heartbeats in arrival order; orders gateways against each other without a shared clock. */
  private arrivals = 0;

  constructor(options: LivenessTableOptions) {
    assert(Number.isFinite(options.createdAtMs), `createdAtMs ${options.createdAtMs} is not finite`);
    this.createdAtMs = options.createdAtMs;
    this.defaultHeartbeatTimeoutMs = options.defaultHeartbeatTimeoutMs ?? 10_000;
    this.heartbeatTimeoutMsMax = options.heartbeatTimeoutMsMax ?? 600_000;
    this.graceMs = options.graceMs ?? this.defaultHeartbeatTimeoutMs;
    this.entriesMax = options.entriesMax ?? 100_000;
    this.expiredRetentionMs = options.expiredRetentionMs ?? 60_000;
    this.gatewaysPerBrokerMax = options.gatewaysPerBrokerMax ?? 8;
    assert(
      this.defaultHeartbeatTimeoutMs > 0,
      `defaultHeartbeatTimeoutMs ${this.defaultHeartbeatTimeoutMs} <= 0`,
    );
    assert(
      this.defaultHeartbeatTimeoutMs <= this.heartbeatTimeoutMsMax,
      `defaultHeartbeatTimeoutMs ${this.defaultHeartbeatTimeoutMs} > heartbeatTimeoutMsMax ${this.heartbeatTimeoutMsMax}`,
    );
    assert(this.graceMs >= 0, `graceMs ${this.graceMs} < 0`);
    assert(this.entriesMax > 0, `entriesMax ${this.entriesMax} <= 0`);
    assert(this.gatewaysPerBrokerMax > 0, `gatewaysPerBrokerMax ${this.gatewaysPerBrokerMax} <= 0`);
  }

  /** Number of records. */
  get size(): number {
    return this.records.size;
  }

  /** Records one heartbeat that arrived at `nowMs` through `source`. */
  heartbeat(heartbeat: BrokerHeartbeat, source: HeartbeatSource, nowMs: number): HeartbeatOutcome {
    assert(Number.isFinite(nowMs), `nowMs ${nowMs} is not finite`);
    const problem = this.checkHeartbeat(heartbeat);
    if (problem !== undefined) return problem;
    const brokerId = heartbeat.brokerId as bigint;
    const timeoutMs =
      heartbeat.heartbeatTimeoutMs === 0n
        ? this.defaultHeartbeatTimeoutMs
        : Number(heartbeat.heartbeatTimeoutMs);
    const key = keyOf(heartbeat.clusterName, heartbeat.brokerName, brokerId);
    let record = this.records.get(key);
    if (record === undefined) {
      if (this.records.size >= this.entriesMax) {
        return {
          kind: 'rejected',
          condition: ControllerCondition.OVERLOADED,
          message: `liveness table holds ${this.records.size} brokers, the maximum`,
        };
      }
      record = {
        clusterName: heartbeat.clusterName,
        brokerName: heartbeat.brokerName,
        brokerId,
        brokerAddress: heartbeat.brokerAddress,
        epoch: heartbeat.epoch,
        maxOffset: heartbeat.maxOffset,
        confirmOffset: heartbeat.confirmOffset,
        electionPriority: heartbeat.electionPriority,
        zone: heartbeat.zone,
        labels: { ...heartbeat.labels },
        heartbeatTimeoutMs: timeoutMs,
        lastHeartbeatMs: nowMs,
        suspectedStream: undefined,
        paths: new Map(),
        newestPathGatewayId: undefined,
        lastUnaryArrival: 0,
      };
      this.records.set(key, record);
    } else {
      this.refresh(record, heartbeat, timeoutMs, nowMs);
    }
    this.notePath(record, source);
    return { kind: 'accepted', effectiveTimeoutMs: timeoutMs };
  }

  /** Records a broken heartbeat stream reported by `gatewayId`. */
  suspect(suspicion: StreamSuspicion, gatewayId: string): SuspicionOutcome {
    const record = this.records.get(keyOf(suspicion.clusterName, suspicion.brokerName, suspicion.brokerId));
    if (record === undefined) return 'ignored-unknown';
    const path = record.paths.get(gatewayId);
    const sequence = suspicion.streamOpenedSequence;
    if (path === undefined || path.maxSequence < sequence) return 'ignored-unseen-stream';
    if (path.maxSequence > sequence) return 'ignored-stale';
    // Superseded when another stream delivered after this stream started (the broker moved: a stale close,
    // RocketMQ #11045), or a unary heartbeat arrived after this stream's last heartbeat (the broker is alive
    // without it). Unary heartbeats sent while the stream was opening do not count.
    if (path.olderSequenceLastArrival > path.maxSequenceFirstArrival) return 'ignored-superseded';
    if (record.lastUnaryArrival > path.maxSequenceLastArrival) return 'ignored-superseded';
    for (const [otherId, other] of record.paths) {
      if (otherId !== gatewayId && other.lastArrival > path.maxSequenceFirstArrival)
        return 'ignored-superseded';
    }
    record.suspectedStream = { gatewayId, sequence };
    return 'applied';
  }

  /**
   * Applies one gateway batch: heartbeats (each with the sequence at the same position, 0 when missing) then
   * suspicions, at most `reportEntriesMax` of each (the rest are counted rejected / dropped). Returns the counts
   * for `ReportHeartbeatsResponse` and the suspicions that marked a broker dead.
   */
  report(
    batch: ReportHeartbeatsRequest,
    nowMs: number,
  ): {
    readonly acceptedCount: number;
    readonly rejectedCount: number;
    readonly suspected: readonly BrokerKey[];
  } {
    let acceptedCount = 0;
    let rejectedCount = 0;
    batch.heartbeats.forEach((heartbeat, position) => {
      if (position >= reportEntriesMax) {
        rejectedCount += 1;
        return;
      }
      const sequence = batch.heartbeatSequences[position] ?? 0n;
      const outcome = this.heartbeat(heartbeat, { gatewayId: batch.gatewayId, sequence }, nowMs);
      if (outcome.kind === 'accepted') acceptedCount += 1;
      else rejectedCount += 1;
    });
    const suspected: BrokerKey[] = [];
    for (const suspicion of batch.suspicions.slice(0, reportEntriesMax)) {
      if (this.suspect(suspicion, batch.gatewayId) === 'applied') {
        suspected.push({
          clusterName: suspicion.clusterName,
          brokerName: suspicion.brokerName,
          brokerId: suspicion.brokerId,
        });
      }
    }
    return { acceptedCount, rejectedCount, suspected };
  }

  /** Forgets a broker (for example after CleanBrokerData). */
  remove(clusterName: string, brokerName: string, brokerId: bigint): boolean {
    return this.records.delete(keyOf(clusterName, brokerName, brokerId));
  }

  /**
   * Removes records expired for longer than `expiredRetentionMs` (never during the restart grace) and returns
   * their keys in table order.
   */
  removeExpired(nowMs: number): BrokerKey[] {
    if (nowMs <= this.createdAtMs + this.graceMs) return [];
    const removed: BrokerKey[] = [];
    for (const [key, record] of this.records) {
      if (record.lastHeartbeatMs + record.heartbeatTimeoutMs + this.expiredRetentionMs < nowMs) {
        this.records.delete(key);
        removed.push({
          clusterName: record.clusterName,
          brokerName: record.brokerName,
          brokerId: record.brokerId,
        });
      }
    }
    return removed.sort(compareRecords);
  }

  /** The view at `nowMs`. */
  view(nowMs: number): LivenessView {
    assert(Number.isFinite(nowMs), `nowMs ${nowMs} is not finite`);
    return {
      nowMs,
      isAlive: (clusterName, brokerName, brokerId) => this.isAlive(clusterName, brokerName, brokerId, nowMs),
      get: (clusterName, brokerName, brokerId) => {
        const record = this.records.get(keyOf(clusterName, brokerName, brokerId));
        return record === undefined ? undefined : toRecord(record);
      },
      list: () => [...this.records.values()].map(toRecord).sort(compareRecords),
    };
  }

  private isAlive(clusterName: string, brokerName: string, brokerId: bigint, nowMs: number): boolean {
    const record = this.records.get(keyOf(clusterName, brokerName, brokerId));
    if (record === undefined) return nowMs <= this.createdAtMs + this.graceMs;
    if (record.suspectedStream !== undefined) return false;
    return record.lastHeartbeatMs + record.heartbeatTimeoutMs >= nowMs;
  }

  private checkHeartbeat(heartbeat: BrokerHeartbeat): HeartbeatOutcome | undefined {
    const reject = (condition: ControllerCondition, message: string): HeartbeatOutcome => ({
      kind: 'rejected',
      condition,
      message,
    });
    if (heartbeat.brokerId === undefined)
      return reject(ControllerCondition.INVALID_REQUEST, 'heartbeat without broker_id');
    if (heartbeat.brokerName === '' || heartbeat.brokerName.length > nameLengthMax) {
      return reject(
        ControllerCondition.INVALID_ARGUMENT,
        `broker_name must have 1..${nameLengthMax} characters`,
      );
    }
    if (heartbeat.clusterName.length > nameLengthMax) {
      return reject(
        ControllerCondition.INVALID_ARGUMENT,
        `cluster_name must have at most ${nameLengthMax} characters`,
      );
    }
    if (heartbeat.brokerAddress.length > addressLengthMax) {
      return reject(
        ControllerCondition.INVALID_ARGUMENT,
        `broker_address must have at most ${addressLengthMax} characters`,
      );
    }
    if (
      heartbeat.heartbeatTimeoutMs < 0n ||
      heartbeat.heartbeatTimeoutMs > BigInt(this.heartbeatTimeoutMsMax)
    ) {
      return reject(
        ControllerCondition.INVALID_ARGUMENT,
        `heartbeat_timeout_ms ${heartbeat.heartbeatTimeoutMs} outside [0, ${this.heartbeatTimeoutMsMax}]`,
      );
    }
    if (heartbeat.zone.length > zoneLengthMax) {
      return reject(
        ControllerCondition.INVALID_ARGUMENT,
        `zone must have at most ${zoneLengthMax} characters`,
      );
    }
    const labels = Object.entries(heartbeat.labels);
    if (labels.length > labelsPerBrokerMax) {
      return reject(
        ControllerCondition.INVALID_ARGUMENT,
        `${labels.length} labels, at most ${labelsPerBrokerMax}`,
      );
    }
    for (const [key, value] of labels) {
      if (key.length > labelKeyLengthMax || value.length > labelValueLengthMax) {
        return reject(ControllerCondition.INVALID_ARGUMENT, `label ${key.slice(0, 32)} too long`);
      }
    }
    return undefined;
  }

  private refresh(record: MutableRecord, heartbeat: BrokerHeartbeat, timeoutMs: number, nowMs: number): void {
    record.lastHeartbeatMs = Math.max(record.lastHeartbeatMs, nowMs);
    record.heartbeatTimeoutMs = timeoutMs;
    record.electionPriority = heartbeat.electionPriority;
    // A record lives long; a heartbeat's decoded strings and objects replace its values only when they differ, so
    // the unchanged ones (nearly all) die young instead of being promoted and piling up in the old generation.
    if (record.brokerAddress !== heartbeat.brokerAddress) record.brokerAddress = heartbeat.brokerAddress;
    if (record.zone !== heartbeat.zone) record.zone = heartbeat.zone;
    if (!sameLabels(record.labels, heartbeat.labels)) record.labels = { ...heartbeat.labels };
    const newer =
      heartbeat.epoch > record.epoch ||
      (heartbeat.epoch === record.epoch && heartbeat.maxOffset > record.maxOffset);
    if (newer) {
      record.epoch = heartbeat.epoch;
      record.maxOffset = heartbeat.maxOffset;
      record.confirmOffset = heartbeat.confirmOffset;
    }
  }

  private notePath(record: MutableRecord, source: HeartbeatSource): void {
    this.arrivals += 1;
    const arrival = this.arrivals;
    const suspected = record.suspectedStream;
    if (
      suspected !== undefined &&
      (suspected.gatewayId !== source.gatewayId || source.sequence !== suspected.sequence)
    ) {
      record.suspectedStream = undefined;
    }
    // Sequence 0: a unary heartbeat, not a stream. It proves the broker alive after its streams' last heartbeats
    // but takes no part in ordering streams (otherwise the unary heartbeats a broker sends while its stream opens
    // would make that stream look older for its whole life, and its break would never count).
    if (source.sequence === 0n) {
      record.lastUnaryArrival = arrival;
      return;
    }
    let path = record.paths.get(source.gatewayId);
    if (path === undefined) {
      path = {
        maxSequence: source.sequence,
        maxSequenceFirstArrival: arrival,
        maxSequenceLastArrival: arrival,
        lastArrival: arrival,
        olderSequenceLastArrival: 0,
      };
    } else {
      // Moved to the end (most recently heard), unless it is there already (one gateway: always).
      if (record.newestPathGatewayId !== source.gatewayId) record.paths.delete(source.gatewayId);
      if (source.sequence > path.maxSequence) {
        path.maxSequence = source.sequence;
        path.maxSequenceFirstArrival = arrival;
        path.maxSequenceLastArrival = arrival;
      } else if (source.sequence < path.maxSequence) {
        path.olderSequenceLastArrival = arrival;
      } else {
        path.maxSequenceLastArrival = arrival;
      }
      path.lastArrival = arrival;
      if (record.newestPathGatewayId === source.gatewayId) return;
    }
    record.paths.set(source.gatewayId, path);
    record.newestPathGatewayId = source.gatewayId;
    if (record.paths.size > this.gatewaysPerBrokerMax) {
      const [oldest] = record.paths.keys();
      if (oldest !== undefined) record.paths.delete(oldest);
    }
  }
}
