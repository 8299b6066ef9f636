// The recorded history of a chaos run, as the checkers read it. Pure data (JSON-friendly: broker ids are numbers,
// times are milliseconds on the recorder's monotonic clock since the run started).

/** A broker group's replicated state as one answer shows it. */
export interface GroupView {
  /** Undefined when the group has no master. */
  readonly masterBrokerId: number | undefined;
  readonly masterEpoch: number;
  /** Ascending, without duplicates. */
  readonly syncStateSet: readonly number[];
  readonly syncStateSetEpoch: number;
}

/** What a client asked for (one controller operation on one group). */
export type OpInput =
  | { readonly kind: 'getReplicaInfo' }
  | { readonly kind: 'getNextBrokerId' }
  | { readonly kind: 'applyBrokerId'; readonly brokerId: number; readonly checkCode: string }
  | { readonly kind: 'registerBroker'; readonly brokerId: number }
  | { readonly kind: 'electMaster'; readonly brokerId: number }
  | { readonly kind: 'adminElectMaster'; readonly designatedBrokerId: number }
  | {
      readonly kind: 'alterSyncStateSet';
      readonly masterBrokerId: number;
      readonly masterEpoch: number;
      /** Ascending, without duplicates. */
      readonly syncStateSet: readonly number[];
      readonly syncStateSetEpoch: number;
    }
  /**
   * An election the controller started itself (its liveness scan), known from the replicated audit trail: it took
   * effect at some point after `invokeMs`. `masterBrokerId` undefined: the dead master was cleared.
   */
  | {
      readonly kind: 'controllerElect';
      readonly masterBrokerId: number | undefined;
      readonly masterEpoch: number;
    };

export type OpKind = OpInput['kind'];

/** How an operation ended. */
export type OpOutput =
  | {
      readonly type: 'ok';
      /**
       * The group after the operation: GetReplicaInfo, ElectMaster (both kinds) and RegisterBroker answers, and
       * AlterSyncStateSet (the requester as master at the request's masterEpoch, the answered set and epoch).
       */
      readonly view?: GroupView;
      /** ElectMaster answered MASTER_STILL_EXIST (the live master was kept). */
      readonly masterKept?: boolean;
      /** RegisterBroker leaves the master out when it is not alive: `view.masterBrokerId` may then be undefined. */
      readonly masterOmittedWhenDead?: boolean;
      readonly nextBrokerId?: number;
    }
  /** A definite refusal by the controller (the condition's enum name without prefix, e.g. FENCED_MASTER_EPOCH). */
  | { readonly type: 'fail'; readonly condition: string }
  /** Timeout, lost connection, or an error after which the operation may or may not have taken effect. */
  | { readonly type: 'unknown'; readonly error: string };

export interface Operation {
  /** Unique in the run. */
  readonly id: number;
  /** The observer that issued it (one sequential client), e.g. "broker-a/2#1". */
  readonly client: string;
  readonly group: string;
  readonly input: OpInput;
  readonly invokeMs: number;
  /** When the answer arrived or the client gave up; an unknown outcome counts as never returned. */
  readonly returnMs: number;
  readonly output: OpOutput;
}

/** A RoleChangeNotification as one broker's NATS subscription received it. */
export interface ObservedNotification {
  readonly observer: string;
  readonly group: string;
  readonly atMs: number;
  readonly raftIndex: number;
  readonly view: GroupView;
}

/** One replicated election audit record. */
export interface AuditRecord {
  readonly group: string;
  readonly masterEpoch: number;
  readonly masterBrokerId: number | undefined;
  readonly trigger: 'broker' | 'admin' | 'controller';
  /** The leader's decision time on the recorder's clock (same host; informational bound). */
  readonly decidedAtMs: number;
  readonly raftIndex: number;
}

/** A group as read after the faults healed. */
export interface FinalGroupState {
  readonly group: string;
  readonly view: GroupView;
  /** Registered broker ids, ascending. */
  readonly replicaIds: readonly number[];
  readonly nextBrokerId: number;
}

/** A broker's belief about its group's master changed (it adopts only newer masterEpochs). */
export interface BeliefChange {
  readonly broker: string;
  readonly group: string;
  readonly atMs: number;
  readonly masterEpoch: number;
  readonly masterBrokerId: number | undefined;
}

export interface Violation {
  /** Which checker found it. */
  readonly checker:
    | 'linearizability'
    | 'single-master'
    | 'monotonic-epochs'
    | 'durability'
    | 'convergence'
    /** A process of the system exited without being asked to (a broken invariant or an unhandled error). */
    | 'process-crash';
  readonly group: string;
  readonly message: string;
  /** Ids of the operations involved (for history excerpts). */
  readonly operationIds?: readonly number[];
}
