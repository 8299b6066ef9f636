// A scripted controller log for tests: builds committed entries (one or more events each) with the group state
// after every event, keeps the current groups for Resyncs, can compact, and serves Watch(fromIndex) as the
// consensus does (Resync first when from 0 or compacted; then events; streams can be killed).
import { clone, create } from '@bufbuild/protobuf';
import { type CommittedEvent, CommittedEventSchema } from '@regent/proto/admin';
import { SyncStateSetSchema } from '@regent/proto/common';
import { type WatchResponse, WatchResponseSchema } from '@regent/proto/consensus';
import {
  type BrokerGroupState,
  BrokerGroupStateSchema,
  type ControllerEvent,
  ControllerEventSchema,
  ElectionAuditRecordSchema,
  ReplicaRecordSchema,
} from '@regent/proto/state';

/** One event of an entry: the event and how it changes the groups (returns the group it concerns). */
export interface EventSpec {
  readonly event: ControllerEvent;
  readonly apply: (groups: Map<string, BrokerGroupState>) => string | undefined;
}

export class StreamKilledError extends Error {
  override readonly name = 'StreamKilledError';
}

export class FakeControllerLog {
  readonly events: CommittedEvent[] = [];
  readonly groups = new Map<string, BrokerGroupState>();
  lastIndex = 0n;
  term = 1n;
  /** Events at or below this index are gone: a watch from there starts with a Resync. */
  compactedThrough = 0n;
  /** Every Watch request, in order. */
  readonly watchRequests: bigint[] = [];
  #waiters = new Set<() => void>();
  #generation = 0;
  #activeStreams = 0;

  get activeStreams(): number {
    return this.#activeStreams;
  }

  /** Appends one entry carrying `specs` in order; returns its index. */
  entry(...specs: EventSpec[]): bigint {
    const index = ++this.lastIndex;
    specs.forEach((spec, position) => {
      const name = spec.apply(this.groups);
      const group = name === undefined ? undefined : this.groups.get(name);
      this.events.push(
        create(CommittedEventSchema, {
          index,
          term: this.term,
          position,
          event: spec.event,
          groupAfter: group === undefined ? undefined : clone(BrokerGroupStateSchema, group),
        }),
      );
    });
    this.#wake();
    return index;
  }

  compact(throughIndex: bigint): void {
    this.compactedThrough = throughIndex;
  }

  /** Ends every open stream with an error (as a node crash or leader step-down does). */
  killStreams(): void {
    this.#generation++;
    this.#wake();
  }

  resync(): WatchResponse {
    const groups = [...this.groups.values()].map((g) => clone(BrokerGroupStateSchema, g));
    return create(WatchResponseSchema, {
      item: { case: 'resync', value: { index: this.lastIndex, groups } },
    });
  }

  async *watch(fromIndex: bigint, signal: AbortSignal): AsyncGenerator<WatchResponse> {
    this.watchRequests.push(fromIndex);
    const generation = this.#generation;
    this.#activeStreams++;
    try {
      let next = fromIndex;
      if (next === 0n || next <= this.compactedThrough) {
        const resync = this.resync();
        next = this.lastIndex + 1n;
        yield resync;
      }
      let i = this.events.findIndex((e) => e.index >= next);
      if (i === -1) i = this.events.length;
      for (;;) {
        if (generation !== this.#generation) throw new StreamKilledError('stream killed');
        if (signal.aborted) return;
        if (i < this.events.length) {
          yield create(WatchResponseSchema, { item: { case: 'event', value: this.events[i++]! } });
          continue;
        }
        await this.#changed(signal);
      }
    } finally {
      this.#activeStreams--;
    }
  }

  #changed(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        this.#waiters.delete(done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      this.#waiters.add(done);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  #wake(): void {
    for (const wake of [...this.#waiters]) wake();
  }
}

// ---- event builders ------------------------------------------------------------------------------------------

function groupOf(groups: Map<string, BrokerGroupState>, brokerName: string): BrokerGroupState | undefined {
  return groups.get(brokerName);
}

/** ApplyBrokerId: registers a replica (creating the group). Needs no notification. */
export function register(
  clusterName: string,
  brokerName: string,
  brokerId: bigint,
  address: string,
): EventSpec {
  return {
    event: create(ControllerEventSchema, {
      event: {
        case: 'applyBrokerId',
        value: {
          clusterName,
          brokerName,
          brokerAddress: address,
          newBrokerId: brokerId,
          registerCheckCode: address,
        },
      },
    }),
    apply: (groups) => {
      let group = groups.get(brokerName);
      if (group === undefined) {
        group = create(BrokerGroupStateSchema, {
          clusterName,
          brokerName,
          nextAssignBrokerId: 1n,
          syncStateSet: create(SyncStateSetSchema, { brokerIds: [], epoch: 0 }),
        });
        groups.set(brokerName, group);
      }
      group.replicas.push(
        create(ReplicaRecordSchema, { brokerId, brokerAddress: address, registerCheckCode: address }),
      );
      group.replicas.sort((a, b) => (a.brokerId < b.brokerId ? -1 : 1));
      if (brokerId >= group.nextAssignBrokerId) group.nextAssignBrokerId = brokerId + 1n;
      return brokerName;
    },
  };
}

export interface ElectOptions {
  readonly explanation?: string;
  readonly decidedAtUnixMs?: number;
}

/** ElectMaster: `masterId` elected (SyncStateSet becomes {master}), or the master cleared when undefined. */
export function elect(
  brokerName: string,
  masterId: bigint | undefined,
  options: ElectOptions = {},
): EventSpec {
  const audit = create(ElectionAuditRecordSchema, {
    brokerName,
    chosenBrokerId: masterId,
    explanation: options.explanation ?? '',
    decidedAtUnixMs: BigInt(options.decidedAtUnixMs ?? 0),
  });
  return {
    event: create(ControllerEventSchema, {
      event: {
        case: 'electMaster',
        value: {
          brokerName,
          newMasterElected: masterId !== undefined,
          newMasterBrokerId: masterId ?? 0n,
          audit,
        },
      },
    }),
    apply: (groups) => {
      const group = groupOf(groups, brokerName);
      if (group === undefined) return undefined;
      group.masterEpoch++;
      audit.clusterName = group.clusterName;
      audit.masterEpoch = group.masterEpoch;
      group.audit.push(clone(ElectionAuditRecordSchema, audit));
      group.masterBrokerId = masterId;
      if (masterId !== undefined) {
        group.syncStateSet = create(SyncStateSetSchema, {
          brokerIds: [masterId],
          epoch: (group.syncStateSet?.epoch ?? 0) + 1,
        });
      }
      return brokerName;
    },
  };
}

/** AlterSyncStateSet: replaces the set and bumps its epoch. */
export function alterSyncStateSet(brokerName: string, ids: readonly bigint[]): EventSpec {
  return {
    event: create(ControllerEventSchema, {
      event: { case: 'alterSyncStateSet', value: { brokerName, newSyncStateSet: [...ids] } },
    }),
    apply: (groups) => {
      const group = groupOf(groups, brokerName);
      if (group === undefined) return undefined;
      group.syncStateSet = create(SyncStateSetSchema, {
        brokerIds: [...ids],
        epoch: (group.syncStateSet?.epoch ?? 0) + 1,
      });
      return brokerName;
    },
  };
}

/** CleanBrokerData: removes `ids`, or the whole group when empty. */
export function clean(brokerName: string, ids: readonly bigint[]): EventSpec {
  return {
    event: create(ControllerEventSchema, {
      event: { case: 'cleanBrokerData', value: { brokerName, brokerIdsToClean: [...ids] } },
    }),
    apply: (groups) => {
      const group = groupOf(groups, brokerName);
      if (group === undefined) return undefined;
      if (ids.length === 0) {
        groups.delete(brokerName);
        return brokerName;
      }
      group.replicas = group.replicas.filter((r) => !ids.includes(r.brokerId));
      return brokerName;
    },
  };
}

/** ConfigChange: needs no notification. */
export function configChange(key: string, value: string): EventSpec {
  return {
    event: create(ControllerEventSchema, {
      event: { case: 'configChange', value: { entries: { [key]: value } } },
    }),
    apply: () => undefined,
  };
}

/** A group with `replicas` registered and `masterId` elected, as one entry per step; returns the last index. */
export function seedGroup(
  log: FakeControllerLog,
  clusterName: string,
  brokerName: string,
  replicas: readonly [bigint, string][],
  masterId: bigint,
): bigint {
  for (const [id, address] of replicas) log.entry(register(clusterName, brokerName, id, address));
  return log.entry(elect(brokerName, masterId, { explanation: `${masterId} ranked first` }));
}
