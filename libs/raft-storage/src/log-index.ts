// The in-memory index of the log: for every live entry its term, its entry type and where its record is (segment seq,
// byte offset, record bytes), in parallel typed arrays — 21 bytes per entry, so 1,000,000 entries cost about 22 MB.

import { AssertionError, EntryType } from '@regent/raft';

const INITIAL_CAPACITY = 1024;
/** Bytes per slot: Float64 term + Uint32 seq + Uint32 position + Uint32 record bytes + Uint8 entry type. */
export const LOG_INDEX_SLOT_BYTES = 21;

/**
 * Slot 0 is the "dummy": the entry at `dummyIndex` (the compacted or snapshot index) of which only the term is kept,
 * so `term(firstIndex - 1)` is always answerable. During recovery the dummy's term may be unknown (NaN).
 * Invariant: capacity <= max(INITIAL_CAPACITY, 4 × slots in use) after any compaction, so memory follows the live
 * log, not its history.
 */
export class LogIndex {
  #terms = new Float64Array(INITIAL_CAPACITY);
  #seqs = new Uint32Array(INITIAL_CAPACITY);
  #positions = new Uint32Array(INITIAL_CAPACITY);
  #sizes = new Uint32Array(INITIAL_CAPACITY);
  /**
   * The entry type byte as recorded (the dummy's is meaningless). Parallel to the other arrays, so truncation,
   * compaction and reset keep it right with no work of their own; push writes it for every live slot.
   */
  #types = new Uint8Array(INITIAL_CAPACITY);
  /** Array slot of the dummy. */
  #start = 0;
  /** Slots in use including the dummy (>= 1). */
  #count = 1;
  #dummyIndex: number;

  constructor(dummyIndex = 0, dummyTerm = 0) {
    this.#dummyIndex = dummyIndex;
    this.#terms[0] = dummyTerm;
  }

  get dummyIndex(): number {
    return this.#dummyIndex;
  }

  get firstIndex(): number {
    return this.#dummyIndex + 1;
  }

  get lastIndex(): number {
    return this.#dummyIndex + this.#count - 1;
  }

  get memoryBytes(): number {
    return this.#terms.length * LOG_INDEX_SLOT_BYTES;
  }

  /** True when `index` is a live entry (not the dummy). */
  contains(index: number): boolean {
    return index > this.#dummyIndex && index <= this.lastIndex;
  }

  /** Term of a live entry or of the dummy (NaN if the dummy's term is unknown). */
  term(index: number): number {
    if (!(index >= this.#dummyIndex && index <= this.lastIndex))
      throw new AssertionError(`term(${index}) outside [${this.#dummyIndex}, ${this.lastIndex}]`);
    return this.#terms[this.#slot(index)]!;
  }

  seq(index: number): number {
    return this.#seqs[this.#liveSlot(index)]!;
  }

  position(index: number): number {
    return this.#positions[this.#liveSlot(index)]!;
  }

  recordBytes(index: number): number {
    return this.#sizes[this.#liveSlot(index)]!;
  }

  /**
   * The ConfChange entries in [lo, hi), ascending, for firstIndex <= lo <= hi <= lastIndex + 1: a scan of one byte
   * per entry in range, no file read.
   */
  confChangeIndexes(lo: number, hi: number): number[] {
    if (!(lo >= this.firstIndex && lo <= hi && hi <= this.lastIndex + 1))
      throw new AssertionError(
        `confChangeIndexes(${lo}, ${hi}) outside [${this.firstIndex}, ${this.lastIndex + 1}]`,
      );
    const indexes: number[] = [];
    const types = this.#types;
    const end = this.#slot(hi);
    for (let slot = this.#slot(lo); slot < end; slot++) {
      if (types[slot] === EntryType.ConfChange) indexes.push(slot - this.#start + this.#dummyIndex);
    }
    return indexes;
  }

  push(
    index: number,
    term: number,
    type: EntryType,
    seq: number,
    position: number,
    recordBytes: number,
  ): void {
    if (index !== this.lastIndex + 1)
      throw new AssertionError(`push(${index}) after last index ${this.lastIndex}`);
    this.#ensureRoom();
    const slot = this.#start + this.#count;
    this.#terms[slot] = term;
    this.#types[slot] = type;
    this.#seqs[slot] = seq;
    this.#positions[slot] = position;
    this.#sizes[slot] = recordBytes;
    this.#count++;
  }

  /** Keeps entries <= `index`. */
  truncateAfter(index: number): void {
    if (!(index >= this.#dummyIndex && index <= this.lastIndex))
      throw new AssertionError(`truncateAfter(${index}) outside [${this.#dummyIndex}, ${this.lastIndex}]`);
    this.#count = index - this.#dummyIndex + 1;
  }

  /** Drops entries < `index`; the entry at `index` becomes the dummy (its term is kept). */
  compactTo(index: number): void {
    if (!(index >= this.#dummyIndex && index <= this.lastIndex))
      throw new AssertionError(`compactTo(${index}) outside [${this.#dummyIndex}, ${this.lastIndex}]`);
    const dropped = index - this.#dummyIndex;
    this.#start += dropped;
    this.#count -= dropped;
    this.#dummyIndex = index;
    this.#maybeShrink();
  }

  /** Empties the log: only the dummy (index, term) remains. */
  reset(index: number, term: number): void {
    this.#start = 0;
    this.#count = 1;
    this.#dummyIndex = index;
    this.#maybeShrink();
    this.#terms[0] = term;
  }

  setDummyTerm(term: number): void {
    this.#terms[this.#start] = term;
  }

  #slot(index: number): number {
    return this.#start + index - this.#dummyIndex;
  }

  #liveSlot(index: number): number {
    if (!this.contains(index))
      throw new AssertionError(`index ${index} outside [${this.firstIndex}, ${this.lastIndex}]`);
    return this.#slot(index);
  }

  #ensureRoom(): void {
    const capacity = this.#terms.length;
    if (this.#start + this.#count < capacity) return;
    this.#reallocate(this.#count * 2 <= capacity ? capacity : capacity * 2);
  }

  #maybeShrink(): void {
    const capacity = this.#terms.length;
    if (capacity > INITIAL_CAPACITY && this.#count * 4 < capacity) {
      this.#reallocate(Math.max(INITIAL_CAPACITY, this.#count * 2));
    }
  }

  /** Moves the used slots to the front of arrays of `capacity` slots (new arrays when the capacity changes). */
  #reallocate(capacity: number): void {
    const from = this.#start;
    const to = from + this.#count;
    if (capacity === this.#terms.length) {
      this.#terms.copyWithin(0, from, to);
      this.#seqs.copyWithin(0, from, to);
      this.#positions.copyWithin(0, from, to);
      this.#sizes.copyWithin(0, from, to);
      this.#types.copyWithin(0, from, to);
    } else {
      this.#terms = moved(new Float64Array(capacity), this.#terms, from, to);
      this.#seqs = moved(new Uint32Array(capacity), this.#seqs, from, to);
      this.#positions = moved(new Uint32Array(capacity), this.#positions, from, to);
      this.#sizes = moved(new Uint32Array(capacity), this.#sizes, from, to);
      this.#types = moved(new Uint8Array(capacity), this.#types, from, to);
    }
    this.#start = 0;
  }
}

function moved<T extends Float64Array | Uint32Array | Uint8Array>(
  target: T,
  source: T,
  from: number,
  to: number,
): T {
  target.set(source.subarray(from, to));
  return target;
}
