// The in-memory model of the storage used by the property and fuzz specs: the records written, in order, and the
// state a (re)opened storage must present after any prefix of them.

import { entryOverheadBytes, type HardState } from '@regent/raft';
import type { FileStorage } from './file-storage.js';

export type WrittenRecord =
  | { readonly kind: 'entry'; readonly index: number; readonly term: number; readonly data: Uint8Array }
  | { readonly kind: 'hardState'; readonly hardState: HardState }
  | {
      readonly kind: 'snapshot';
      readonly index: number;
      readonly term: number;
      readonly data: Uint8Array;
      readonly dropLog: boolean;
      /** applySnapshot (compacts the live log) rather than saveSnapshot (does not). */
      readonly fromLeader: boolean;
    };

/** The log as the storage should present it. Arrays are indexed by log index; entries above `last` are stale. */
export interface ModelState {
  terms: number[];
  datas: Uint8Array[];
  last: number;
  compacted: number;
  snapshot: { index: number; term: number; data: Uint8Array };
  hardState: HardState;
}

export function emptyState(): ModelState {
  return {
    terms: [0],
    datas: [new Uint8Array(0)],
    last: 0,
    compacted: 0,
    snapshot: { index: 0, term: 0, data: new Uint8Array(0) },
    hardState: { term: 0, vote: 0, commit: 0 },
  };
}

/** The state a restart presents after exactly `records` reached the disk. */
export function replay(records: readonly WrittenRecord[]): ModelState {
  const state = emptyState();
  for (const record of records) apply(state, record);
  state.compacted = state.snapshot.index;
  if (state.hardState.commit < state.snapshot.index)
    state.hardState = { ...state.hardState, commit: state.snapshot.index };
  return state;
}

export function apply(state: ModelState, record: WrittenRecord): void {
  switch (record.kind) {
    case 'entry':
      state.terms[record.index] = record.term;
      state.datas[record.index] = record.data;
      state.last = record.index;
      return;
    case 'hardState':
      state.hardState = record.hardState;
      return;
    case 'snapshot':
      state.snapshot = { index: record.index, term: record.term, data: record.data };
      if (record.fromLeader) state.compacted = record.index;
      if (record.dropLog) {
        state.last = record.index;
        state.terms[record.index] = record.term;
      }
      if (record.fromLeader && state.hardState.commit < record.index) {
        state.hardState = { ...state.hardState, commit: record.index };
      }
      return;
  }
}

/** Differences between the storage and the model, empty when they agree. */
export function differences(storage: FileStorage, state: ModelState): string[] {
  const found: string[] = [];
  const check = (what: string, actual: unknown, expected: unknown): void => {
    if (JSON.stringify(actual) !== JSON.stringify(expected)) {
      found.push(`${what}: ${JSON.stringify(actual)} != ${JSON.stringify(expected)}`);
    }
  };
  check('firstIndex', storage.firstIndex(), state.compacted + 1);
  check('lastIndex', storage.lastIndex(), state.last);
  check('hardState', storage.hardState(), state.hardState);
  check('initialState().hardState', storage.initialState().hardState, state.hardState);
  const snapshot = storage.snapshot();
  check(
    'snapshot',
    [snapshot.metadata.index, snapshot.metadata.term],
    [state.snapshot.index, state.snapshot.term],
  );
  check('snapshot data', [...snapshot.data], [...state.snapshot.data]);
  if (found.length > 0) return found;
  for (let i = state.compacted; i <= state.last; i++) check(`term(${i})`, storage.term(i), state.terms[i]);
  const read = storage.entries(state.compacted + 1, state.last + 1, Number.POSITIVE_INFINITY);
  check(
    'entries',
    read.map((e) => [e.index, e.term, ...e.data]),
    range(state.compacted + 1, state.last).map((i) => [i, state.terms[i], ...state.datas[i]!]),
  );
  for (const maxBytes of [0, 50]) {
    const lo = state.compacted + 1;
    check(
      `entries(maxBytes ${maxBytes})`,
      storage.entries(lo, state.last + 1, maxBytes).length,
      expectedCount(state, lo, maxBytes),
    );
  }
  return found;
}

/** How many entries from `lo` fit in `maxBytes` of data (at least one when any exists). */
export function expectedCount(state: ModelState, lo: number, maxBytes: number): number {
  let bytes = 0;
  let count = 0;
  for (let i = lo; i <= state.last; i++) {
    bytes += state.datas[i]!.byteLength + entryOverheadBytes;
    if (count > 0 && bytes > maxBytes) break;
    count++;
  }
  return count;
}

export function range(from: number, to: number): number[] {
  const result: number[] = [];
  for (let i = from; i <= to; i++) result.push(i);
  return result;
}
