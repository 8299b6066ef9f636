// TEMPORARY mirror of the types this lib needs from libs/raft/src/types.ts.
// libs/raft has no src/index.ts yet, so '@regent/raft' cannot be imported. Once it re-exports types.ts, replace this
// whole file with:
//   export { AssertionError, assert, CompactedError, UnavailableError } from '@regent/raft';
//   export type { ConfState, Entry, EntryType, HardState, NodeId, Snapshot, SnapshotMetadata, Storage } from '@regent/raft';
// and add "@regent/raft": "*" to package.json (then `npx nx sync`). Until then `instanceof CompactedError` in the core
// does NOT match the classes below: keep the two definitions byte-for-byte equal and switch before integrating.

export type NodeId = number;

export const enum EntryType {
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

/** The core's read port onto stable storage (see libs/raft/src/types.ts for the full contract). */
export interface Storage {
  initialState(): { hardState: HardState; confState: ConfState; addresses: ReadonlyMap<NodeId, string> };
  entries(lo: number, hi: number, maxBytes: number): Entry[];
  term(index: number): number;
  firstIndex(): number;
  lastIndex(): number;
  snapshot(): Snapshot;
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionError(message);
}

/** A broken invariant: a bug, never an operating condition. Crashes the process. */
export class AssertionError extends Error {
  override readonly name = 'AssertionError';
}
