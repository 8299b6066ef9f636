// The Raft core's data types and its storage read port. Pure: no I/O, no Node APIs.
//
// Units: indexes and terms are plain `number`s (safe integers; asserted below 2^53 at every boundary). Node ids are
// positive safe integers. Byte sizes are named `*Bytes`, durations are counted in ticks (`*Ticks`).

export type NodeId = number;

export enum EntryType {
  Normal = 1,
  ConfChange = 2,
  Noop = 3,
}

/** One log entry. `data` is owned by the log once appended; callers must not mutate it afterwards. */
export interface Entry {
  readonly term: number;
  readonly index: number;
  readonly type: EntryType;
  readonly data: Uint8Array;
}

/** The state that must be durable before any message depending on it is sent (Raft Figure 2). */
export interface HardState {
  readonly term: number;
  /** 0 when the node has not voted in `term`. */
  readonly vote: NodeId;
  readonly commit: number;
}

export interface ConfState {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
}

export enum ConfChangeType {
  AddVoter = 1,
  RemoveNode = 2,
  AddLearner = 3,
  PromoteLearner = 4,
}

/** A membership change, the decoded payload of a ConfChange entry. `context` is opaque to the core (addresses). */
export interface ConfChange {
  readonly type: ConfChangeType;
  readonly nodeId: NodeId;
  readonly context: string;
}

export interface SnapshotMetadata {
  readonly index: number;
  readonly term: number;
  readonly confState: ConfState;
  /** Opaque per-node context (addresses) carried with the membership; the core never interprets it. */
  readonly addresses: ReadonlyMap<NodeId, string>;
}

/** A snapshot: metadata plus the state machine's bytes. */
export interface Snapshot {
  readonly metadata: SnapshotMetadata;
  readonly data: Uint8Array;
}

/** Thrown by `Storage` when the requested index was compacted into a snapshot. */
export class CompactedError extends Error {
  override readonly name = 'CompactedError';
  constructor(
    readonly index: number,
    readonly firstIndex: number,
  ) {
    super(`index ${index} is compacted (first available index ${firstIndex})`);
  }
}

/** Thrown by `Storage` when the requested index is beyond the last entry. */
export class UnavailableError extends Error {
  override readonly name = 'UnavailableError';
  constructor(
    readonly index: number,
    readonly lastIndex: number,
  ) {
    super(`index ${index} is unavailable (last index ${lastIndex})`);
  }
}

/**
 * The core's read port onto stable storage (entries the runtime has already persisted). Writes are the runtime's
 * job: it persists what `Ready` hands it and then calls `advance()`. Synchronous by design: the runtime keeps
 * the stable log's index in memory (entries may be cached or read from files synchronously).
 */
export interface Storage {
  /**
   * The durable hard state at startup, and the membership as of the snapshot (`snapshot().metadata`): the core
   * replays ConfChange entries above the snapshot as the runtime applies them (membership changes take effect
   * on apply). A node that never saw a snapshot has an empty membership and index 0.
   */
  initialState(): { hardState: HardState; confState: ConfState; addresses: ReadonlyMap<NodeId, string> };
  /** Entries in [lo, hi), at most `maxBytes` in total but always at least one if any is in range. */
  entries(lo: number, hi: number, maxBytes: number): Entry[];
  /** The term of the entry at `index`, for firstIndex - 1 <= index <= lastIndex (firstIndex - 1: compaction point). */
  term(index: number): number;
  /**
   * The first index still available. Equals snapshot index + 1 when the log was compacted up to the snapshot;
   * may be lower when the runtime keeps some entries below the snapshot, never higher.
   */
  firstIndex(): number;
  /** The last index (snapshot index when the log is empty). */
  lastIndex(): number;
  /** The most recent snapshot; its metadata index is 0 when there is none. */
  snapshot(): Snapshot;
  /**
   * Optional start-up hint: the indexes of the `EntryType.ConfChange` entries in [lo, hi), ascending, for
   * firstIndex <= lo <= hi <= lastIndex + 1. With it the core reads only those entries to rebuild the membership
   * instead of scanning the whole tail; it checks that each one it reads is a ConfChange (a wrong hint crashes).
   * It must list every ConfChange entry in range: a missing one would go unnoticed.
   */
  confChangeIndexes?(lo: number, hi: number): number[];
}

/** Deterministic randomness injected into the core (for election timeouts). Returns an integer in [0, n). */
export interface Random {
  nextInt(n: number): number;
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionError(message);
}

/** A broken invariant: a bug, never an operating condition. Crashes the process. */
export class AssertionError extends Error {
  override readonly name = 'AssertionError';
}
