// Non-canonical StreamRequest bytes for the wire codec's tests: a batch rewritten field list by field list (the
// batch, each message, each body, each log entry) with changes a conforming encoder may make or a broken peer
// may send. What the result means is for protobuf-es to say; the tests compare against it.
import type { SeededRandom } from '@regent/raft/testing';
import {
  type Field,
  joinFields,
  LEN,
  len,
  padVarint,
  parseFields,
  uint,
  VARINT,
  varint,
} from './proto-fields.test-support.js';

export type Level = 'batch' | 'message' | 'body' | 'entry';

/** Rewrites one field list of a batch, at a level picked first (a batch has many more entries than bodies). */
export function rewriteOne(
  rng: SeededRandom,
  payload: Uint8Array,
  edit: (level: Level, fields: Field[]) => Field[],
): Uint8Array {
  const counts = new Map<Level, number>();
  rewrite(payload, (level, fields) => {
    counts.set(level, (counts.get(level) ?? 0) + 1);
    return fields;
  });
  const level = rng.pick([...counts.keys()]);
  const target = rng.nextInt(counts.get(level)!);
  let seen = 0;
  return rewrite(payload, (l, fields) => (l === level && seen++ === target ? edit(l, fields) : fields));
}

/** Rewrites a batch bottom-up: `edit` gets each embedded message's field list, children before parents. */
export function rewrite(payload: Uint8Array, edit: (level: Level, fields: Field[]) => Field[]): Uint8Array {
  const nested = (level: Level, content: Uint8Array): Uint8Array => {
    const fields = parseFields(content).map((f): Field => {
      if (f.wt !== LEN) return f;
      if (level === 'batch' && f.no === 2) return len(2, nested('message', f.value));
      if (level === 'message' && f.no >= 10 && f.no !== 14) return len(f.no, nested('body', f.value));
      // Only AppendEntries has a length-delimited field 3 (its entries).
      if (level === 'body' && f.no === 3) return len(3, nested('entry', f.value));
      return f;
    });
    return joinFields(edit(level, fields));
  };
  return nested('batch', payload);
}

export function shuffle<T>(rng: SeededRandom, items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.nextInt(i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** Fields in a random order, except AppendEntries' entries (field 3), which keep their order among themselves. */
export function shuffleKeepingEntries(rng: SeededRandom, fields: readonly Field[]): Field[] {
  const entries = fields.filter((f) => f.no === 3 && f.wt === LEN);
  let next = 0;
  return shuffle(rng, fields).map((f) => (f.no === 3 && f.wt === LEN ? entries[next++]! : f));
}

/** Unknown fields, one of each wire type (a group holding fields too), and the largest field number. */
export const UNKNOWN: readonly Field[] = [
  uint(99, 7),
  { no: 1000, wt: 1, value: new Uint8Array(8).fill(9) },
  len(20, Uint8Array.of(1, 2, 3)),
  { no: 21, wt: 5, value: Uint8Array.of(1, 2, 3, 4) },
  { no: 22, wt: 3, value: joinFields([uint(1, 5), len(2, Uint8Array.of(7))]) },
  { no: 536_870_911, wt: 0, value: Uint8Array.of(0) },
];

/** Bodies to add as a second oneof case (or a second one of the same case). */
const BODIES: readonly Field[] = [
  len(10, joinFields([uint(2, 9)])),
  len(11, new Uint8Array()),
  len(12, joinFields([uint(1, 4), len(3, joinFields([uint(1, 1), uint(2, 5), uint(3, 1)]))])),
  len(13, joinFields([uint(2, 5)])),
  len(16, new Uint8Array()),
  len(18, joinFields([uint(1, 3), uint(3, 1)])),
];

/** One change, chosen at random, to a field list. */
export function mutateOnce(rng: SeededRandom, level: Level, fields: readonly Field[]): Field[] {
  const out = [...fields];
  const at = (): number => rng.nextInt(out.length + 1);
  const index = out.length === 0 ? -1 : rng.nextInt(out.length);
  const f = out[index];
  switch (rng.nextInt(11)) {
    case 0:
      return shuffle(rng, out);
    case 1:
      out.splice(at(), 0, rng.pick(UNKNOWN));
      return out;
    case 2:
      // A field repeated: scalars last-one-wins, embedded messages merge, repeated ones append.
      if (f === undefined) break;
      if (f.wt === VARINT) out.splice(at(), 0, uint(f.no, rng.pick([0, 1, 5, 1000])));
      else out.splice(at(), 0, level === 'batch' && f.no === 1 ? len(1, Uint8Array.of(0x68, 0x69)) : f);
      return out;
    case 3: {
      // An embedded message split into two occurrences (protobuf merges them).
      const parts = f?.wt === LEN ? safeParse(f.value) : undefined;
      if (f === undefined || parts === undefined) break;
      const k = rng.nextInt(parts.length + 1);
      out.splice(index, 1, len(f.no, joinFields(parts.slice(0, k))), len(f.no, joinFields(parts.slice(k))));
      return out;
    }
    case 4:
      // A known field under the wrong wire type.
      if (f === undefined) break;
      out[index] = f.wt === VARINT ? len(f.no, f.value) : uint(f.no, f.value.byteLength);
      return out;
    case 5:
      out.splice(at(), 0, rng.pick(BODIES));
      return out;
    case 6:
      // A small field written with a value out of its range (an entry type of 0 or 4) or zero written out.
      out.splice(at(), 0, uint(1 + rng.nextInt(5), rng.pick([0, 4, 2 ** 32 + 1])));
      return out;
    case 7:
      // A uint64 beyond 2^53.
      if (f?.wt !== VARINT) break;
      out[index] = { ...f, value: varint(rng.pick([2n ** 53n, 2n ** 64n - 1n])) };
      return out;
    case 8:
      // A field's value replaced by an odd one (an entry type of 0 or 4) or a field left out.
      if (f === undefined) break;
      if (f.wt === VARINT && rng.chance(0.7)) out[index] = uint(f.no, rng.pick([0, 1, 4, 2 ** 32 + 1]));
      else out.splice(index, 1);
      return out;
    case 9:
      out.reverse();
      return out;
    default:
      // A varint padded to 9 or 10 bytes (legal, never written by an encoder).
      if (f?.wt !== VARINT) break;
      out[index] = { ...f, value: padVarint(f.value, 10 - f.value.byteLength - rng.nextInt(2)) };
      return out;
  }
  out.splice(at(), 0, rng.pick(UNKNOWN));
  return out;
}

function safeParse(content: Uint8Array): Field[] | undefined {
  try {
    return parseFields(content);
  } catch {
    return undefined;
  }
}
