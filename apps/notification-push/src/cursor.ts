// The position in the committed event stream: which events are behind us, where to resume, and how the
// position is written to the state file.

/**
 * Every committed event at or before this point was published (or needed no notification). Events are ordered
 * by (index, position); a log entry may carry several events.
 */
export interface Cursor {
  readonly index: bigint;
  /**
   * Position of the last handled event within entry `index`; undefined when the whole entry is handled (after a
   * Resync, which reflects the state at `index`).
   */
  readonly position?: number;
}

/** The `from_index` to resume from: 0 (a Resync) without a cursor, the same entry when it may hold more events. */
export function resumeIndex(cursor: Cursor | undefined): bigint {
  if (cursor === undefined) return 0n;
  return cursor.position === undefined ? cursor.index + 1n : cursor.index;
}

/** Orders two cursors; a whole entry sorts after every position within it. */
export function compareCursors(a: Cursor, b: Cursor): number {
  if (a.index !== b.index) return a.index < b.index ? -1 : 1;
  const pa = a.position ?? Number.POSITIVE_INFINITY;
  const pb = b.position ?? Number.POSITIVE_INFINITY;
  return pa === pb ? 0 : pa < pb ? -1 : 1;
}

/** True when the event at (`index`, `position`) is not yet behind `cursor`. */
export function isAhead(index: bigint, position: number, cursor: Cursor | undefined): boolean {
  return cursor === undefined || compareCursors({ index, position }, cursor) > 0;
}

export function maxCursor(a: Cursor | undefined, b: Cursor): Cursor {
  return a === undefined || compareCursors(a, b) < 0 ? b : a;
}

/** The state file could not be understood. */
export class StateFormatError extends Error {
  override readonly name = 'StateFormatError';
}

const STATE_VERSION = 1;

/** The state file's content: JSON, index as a decimal string (uint64). */
export function encodeCursor(cursor: Cursor): string {
  const body: Record<string, unknown> = { version: STATE_VERSION, index: cursor.index.toString() };
  if (cursor.position !== undefined) body.position = cursor.position;
  return `${JSON.stringify(body)}\n`;
}

export function decodeCursor(text: string): Cursor {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new StateFormatError(`state is not JSON: ${(error as Error).message}`, { cause: error });
  }
  if (typeof parsed !== 'object' || parsed === null) throw new StateFormatError('state is not a JSON object');
  const { version, index, position } = parsed as Record<string, unknown>;
  if (version !== STATE_VERSION)
    throw new StateFormatError(`unknown state version ${JSON.stringify(version)}`);
  if (typeof index !== 'string' || !/^\d{1,20}$/.test(index)) {
    throw new StateFormatError(`state index ${JSON.stringify(index)} is not a decimal uint64`);
  }
  const value = BigInt(index);
  if (value >= 2n ** 64n) throw new StateFormatError(`state index ${index} exceeds uint64`);
  if (position === undefined) return { index: value };
  if (typeof position !== 'number' || !Number.isInteger(position) || position < 0 || position > 0xffffffff) {
    throw new StateFormatError(`state position ${JSON.stringify(position)} is not a uint32`);
  }
  return { index: value, position };
}
