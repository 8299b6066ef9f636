// Checks on what the runtime writes, kept pure: an append batch's shape and its committed prefix, and a hard state's
// step from the persisted one. A failed check is a broken invariant (AssertionError), never an operating error.

import { assert, type Entry, type HardState } from '@regent/raft';
import type { LogIndex } from './log-index.js';

/**
 * Validates a batch and returns the entries above `committedIndex` (max(snapshot index, commit)). Those at or below
 * it are committed, hence already in the log with the same term (asserted where `log` still holds them), and are
 * skipped.
 */
export function newEntries(
  entries: readonly Entry[],
  committedIndex: number,
  log: LogIndex,
): readonly Entry[] {
  for (const [i, entry] of entries.entries()) {
    assert(Number.isSafeInteger(entry.index) && entry.index >= 1, `entry index ${entry.index}`);
    assert(Number.isSafeInteger(entry.term) && entry.term >= 0, `entry ${entry.index} term ${entry.term}`);
    if (i === 0) continue;
    const previous = entries[i - 1]!;
    assert(
      entry.index === previous.index + 1,
      `entries not consecutive: ${previous.index} then ${entry.index}`,
    );
    assert(
      entry.term >= previous.term,
      `entry ${entry.index} term ${entry.term} < previous ${previous.term}`,
    );
  }
  let from = 0;
  for (; from < entries.length && entries[from]!.index <= committedIndex; from++) {
    const entry = entries[from]!;
    if (entry.index >= log.dummyIndex && entry.index <= log.lastIndex) {
      const term = log.term(entry.index);
      assert(
        term === entry.term,
        `committed entry ${entry.index} has term ${term}, append brings ${entry.term}`,
      );
    }
  }
  return from === 0 ? entries : entries.slice(from);
}

/**
 * Asserts that `next` may follow the persisted `current`: the term never goes back, the vote does not change within
 * a term, and commit never goes back nor beyond `lastIndex`.
 */
export function assertHardStateStep(current: HardState, next: HardState, lastIndex: number): void {
  assert(next.term >= current.term, `hard state term ${next.term} < persisted term ${current.term}`);
  assert(
    next.term > current.term || current.vote === 0 || next.vote === current.vote,
    `vote changed from ${current.vote} to ${next.vote} within term ${current.term}`,
  );
  assert(next.commit >= current.commit, `commit ${next.commit} < persisted commit ${current.commit}`);
  assert(next.commit <= lastIndex, `commit ${next.commit} > last index ${lastIndex}`);
}
