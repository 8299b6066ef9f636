// The history recorder: every controller operation a chaos client issues, as invoke → ok(result) |
// fail(definite refusal) | unknown(timeout, lost connection, or any error after which the operation may have taken
// effect), with times on one monotonic clock; plus what brokers saw on NATS, their beliefs about the master, and
// the replicated election audit trail. Bounded: past `operationsMax` operations the recorder refuses new ones.
import { Code, ConnectError } from '@connectrpc/connect';
import { readControllerError } from '@regent/proto';
import { ControllerCondition } from '@regent/proto/common';
import { type ElectionAuditRecord, ElectionTrigger } from '@regent/proto/state';
import type {
  AuditRecord,
  BeliefChange,
  GroupView,
  ObservedNotification,
  Operation,
  OpInput,
  OpOutput,
} from './check/types.js';

/** Refusals after which the controller surely did not apply the operation (it decided on its state). */
const definiteConditions = new Set<ControllerCondition>([
  ControllerCondition.BROKER_NEED_TO_BE_REGISTERED,
  ControllerCondition.ELECT_MASTER_FAILED,
  ControllerCondition.ALTER_SYNC_STATE_SET_FAILED,
  ControllerCondition.INVALID_MASTER,
  ControllerCondition.FENCED_MASTER_EPOCH,
  ControllerCondition.FENCED_SYNC_STATE_SET_EPOCH,
  ControllerCondition.INVALID_REPLICAS,
  ControllerCondition.BROKER_NOT_ALIVE,
  ControllerCondition.BROKER_ID_INVALID,
  ControllerCondition.BROKER_METADATA_NOT_EXIST,
  ControllerCondition.CLUSTER_MISMATCH,
  ControllerCondition.INVALID_ARGUMENT,
]);

/**
 * A failed call's outcome: a definite refusal only for the controller's own state-based conditions; everything
 * else (NOT_LEADER after retries, TIMEOUT, RAFT_INTERNAL_ERROR, STALE_SEQUENCE, OVERLOADED, transport errors,
 * deadlines, cancellations) may hide an applied operation.
 */
export function classifyError(error: unknown): OpOutput {
  const detail = readControllerError(error);
  if (detail !== undefined && definiteConditions.has(detail.condition)) {
    return { type: 'fail', condition: ControllerCondition[detail.condition] ?? String(detail.condition) };
  }
  const connectError = ConnectError.from(error);
  const condition = detail === undefined ? '' : ` ${ControllerCondition[detail.condition]}`;
  return {
    type: 'unknown',
    error: `${Code[connectError.code]}${condition}: ${connectError.rawMessage.slice(0, 200)}`,
  };
}

/** A group view from an answer's fields (proto ids are bigint; the history uses numbers). */
export function viewFrom(fields: {
  readonly masterBrokerId?: bigint | undefined;
  readonly masterEpoch: number;
  readonly syncStateSet?: { readonly brokerIds: readonly bigint[]; readonly epoch: number } | undefined;
}): GroupView {
  return {
    masterBrokerId: fields.masterBrokerId === undefined ? undefined : Number(fields.masterBrokerId),
    masterEpoch: fields.masterEpoch,
    syncStateSet: [...(fields.syncStateSet?.brokerIds ?? [])].map(Number).sort((a, b) => a - b),
    syncStateSetEpoch: fields.syncStateSet?.epoch ?? 0,
  };
}

const triggers: Partial<Record<ElectionTrigger, AuditRecord['trigger']>> = {
  [ElectionTrigger.BROKER]: 'broker',
  [ElectionTrigger.ADMIN]: 'admin',
  [ElectionTrigger.CONTROLLER]: 'controller',
};

export class RecorderFullError extends Error {
  override readonly name = 'RecorderFullError';
}

export interface RecorderOptions {
  readonly operationsMax?: number;
  readonly notificationsMax?: number;
}

export class Recorder {
  readonly operations: Operation[] = [];
  readonly notifications: ObservedNotification[] = [];
  readonly beliefs: BeliefChange[] = [];
  /** group → masterEpoch → record (merged over every poll; the controller keeps only the newest 64 per group). */
  readonly #audit = new Map<string, Map<number, AuditRecord>>();
  readonly #startMonoMs = performance.now();
  /** Wall-clock time at `#startMonoMs`. */
  readonly #startWallMs = Date.now();
  #nextId = 0;
  #inFlight = 0;

  constructor(private readonly options: RecorderOptions = {}) {}

  /** Milliseconds since the recorder started (monotonic). */
  now(): number {
    return performance.now() - this.#startMonoMs;
  }

  /** A wall-clock time (e.g. the leader's decision time) on the recorder's clock. */
  fromWallMs(wallMs: number): number {
    return wallMs - this.#startWallMs;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  get full(): boolean {
    return this.operations.length >= (this.options.operationsMax ?? 200_000);
  }

  /**
   * Runs `call` and records it. `toOutput` turns the answer into the recorded ok output; a thrown error is
   * classified. Returns the recorded output.
   */
  async record<T>(
    client: string,
    group: string,
    input: OpInput,
    call: () => Promise<T>,
    toOutput: (answer: T) => OpOutput,
  ): Promise<OpOutput> {
    if (this.full) throw new RecorderFullError(`${this.operations.length} operations recorded, the maximum`);
    const id = this.#nextId++;
    const invokeMs = this.now();
    this.#inFlight++;
    let output: OpOutput;
    try {
      output = toOutput(await call());
    } catch (error) {
      output = classifyError(error);
    } finally {
      this.#inFlight--;
    }
    this.operations.push({ id, client, group, input, invokeMs, returnMs: this.now(), output });
    return output;
  }

  noteNotification(observer: string, group: string, raftIndex: number, view: GroupView): void {
    if (this.notifications.length >= (this.options.notificationsMax ?? 100_000)) return;
    this.notifications.push({ observer, group, atMs: this.now(), raftIndex, view });
  }

  noteBelief(change: Omit<BeliefChange, 'atMs'>): void {
    if (this.beliefs.length >= 100_000) return;
    this.beliefs.push({ ...change, atMs: this.now() });
  }

  /** Merges polled audit records of `group`. */
  noteAudit(group: string, records: readonly ElectionAuditRecord[]): void {
    let byEpoch = this.#audit.get(group);
    if (byEpoch === undefined) this.#audit.set(group, (byEpoch = new Map()));
    for (const r of records) {
      const trigger = triggers[r.trigger];
      if (trigger === undefined) continue;
      byEpoch.set(r.masterEpoch, {
        group,
        masterEpoch: r.masterEpoch,
        masterBrokerId: r.chosenBrokerId === undefined ? undefined : Number(r.chosenBrokerId),
        trigger,
        decidedAtMs: this.fromWallMs(Number(r.decidedAtUnixMs)),
        raftIndex: Number(r.raftIndex),
      });
    }
  }

  audit(): AuditRecord[] {
    return [...this.#audit.values()]
      .flatMap((m) => [...m.values()])
      .sort((a, b) => a.raftIndex - b.raftIndex);
  }
}
