// The Put codec against protobuf-es, the reference: the same bytes, and for any input (reordered, repeated,
// unknown or padded fields, numbers beyond 2^53, truncated or invalid bytes) the same Put or the same error.
// Randomised from seeds; KV_SEED=<n> replays one case.
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { PutRequestSchema } from '@regent/proto/consensus';
import { createSeededRandom, type SeededRandom } from '@regent/raft/testing';
import { describe, expect, it } from 'vitest';
import { decodePutCommand, encodePutCommand, type PutCommand } from './kv-codec.js';

const CASES = 500;

// Byte arrays compared as bytes (the default element-by-element walk is slow for 64 KiB values).
expect.addEqualityTesters([
  (a, b) => (a instanceof Uint8Array && b instanceof Uint8Array ? Buffer.compare(a, b) === 0 : undefined),
]);

function forSeeds(check: (rng: SeededRandom) => void): void {
  const seeds = process.env.KV_SEED
    ? [Number(process.env.KV_SEED)]
    : Array.from({ length: CASES }, (_, i) => i + 1);
  for (const seed of seeds) {
    try {
      check(createSeededRandom(seed));
    } catch (error) {
      console.error(`kv-codec: failed with KV_SEED=${seed}`);
      throw error;
    }
  }
}

const SEQUENCES = [
  0n,
  1n,
  127n,
  128n,
  2n ** 31n,
  2n ** 32n,
  2n ** 53n - 1n,
  2n ** 53n,
  2n ** 63n,
  2n ** 64n - 1n,
];
const STRINGS = [
  '',
  'k',
  'key-000123',
  'grüße',
  '日本語',
  'x🙂y',
  'a'.repeat(64),
  'é'.repeat(100),
  'c'.repeat(256),
];

function randomPut(rng: SeededRandom): PutCommand {
  const valueBytes = rng.pick([0, 1, 64, 65, 256, 256, 1000, 65_536]);
  const start = rng.nextInt(256);
  return {
    key: rng.pick(STRINGS),
    value: new Uint8Array(valueBytes).map((_, i) => (start + i * 31) & 0xff),
    clientId: rng.pick(STRINGS),
    sequence: rng.chance(0.5) ? rng.pick(SEQUENCES) : BigInt(rng.nextInt(1_000_000)),
  };
}

const reference = (put: PutCommand): Uint8Array => toBinary(PutRequestSchema, create(PutRequestSchema, put));

/** Decoded by protobuf-es, or its error: the outcome our decoder must match. */
function referenceOutcome(bytes: Uint8Array): unknown {
  try {
    const p = fromBinary(PutRequestSchema, bytes);
    return { key: p.key, value: p.value, clientId: p.clientId, sequence: p.sequence };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

function ourOutcome(bytes: Uint8Array): unknown {
  try {
    return decodePutCommand(bytes);
  } catch (error) {
    return { error: (error as Error).message };
  }
}

// Hand-built fields: [field number, wire type, value bytes] (for LEN: the content).
type Field = readonly [number, number, Uint8Array];

function varint(n: bigint): number[] {
  const out: number[] = [];
  for (; n >= 0x80n; n >>= 7n) out.push(Number(n & 0x7fn) | 0x80);
  out.push(Number(n));
  return out;
}

function join(fields: readonly Field[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const [no, wt, value] of fields) {
    parts.push(Uint8Array.from(varint(BigInt((no << 3) | wt))));
    if (wt === 2) parts.push(Uint8Array.from(varint(BigInt(value.byteLength))));
    parts.push(value);
    if (wt === 3) parts.push(Uint8Array.from(varint(BigInt((no << 3) | 4))));
  }
  return new Uint8Array(Buffer.concat(parts));
}

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const padded = (n: bigint, extra: number): Uint8Array => {
  const bytes = varint(n);
  for (let i = 0; i < extra && bytes.length < 10; i++) {
    bytes[bytes.length - 1]! |= 0x80;
    bytes.push(0);
  }
  return Uint8Array.from(bytes);
};

function fieldsOf(put: PutCommand): Field[] {
  return [
    [1, 2, utf8(put.key)],
    [2, 2, put.value],
    [3, 2, utf8(put.clientId)],
    [4, 0, Uint8Array.from(varint(put.sequence))],
  ];
}

function shuffle<T>(rng: SeededRandom, items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.nextInt(i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

const UNKNOWN: Field[] = [
  [9, 0, Uint8Array.of(5)],
  [10, 1, new Uint8Array(8)],
  [11, 2, Uint8Array.of(1, 2)],
  [12, 5, new Uint8Array(4)],
  [13, 3, join([[1, 0, Uint8Array.of(1)]])],
];

describe('kv Put codec', () => {
  it('writes the bytes protobuf-es writes and reads them back', () => {
    forSeeds((rng) => {
      const put = randomPut(rng);
      const bytes = encodePutCommand(put);
      expect(Buffer.from(bytes).equals(reference(put))).toBe(true);
      expect(decodePutCommand(bytes)).toEqual(put);
      expect(decodePutCommand(reference(put))).toEqual(put);
    });
  });

  it('writes a lone surrogate as protobuf-es does (U+FFFD)', () => {
    const put = { key: 'a\ud800', value: new Uint8Array(), clientId: '\udfff', sequence: 1n };
    expect(encodePutCommand(put)).toEqual(new Uint8Array(reference(put)));
  });

  it('decodes non-canonical encodings as protobuf-es does', () => {
    forSeeds((rng) => {
      const fields = fieldsOf(randomPut(rng));
      const other = fieldsOf(randomPut(rng));
      let changed = rng.chance(0.5) ? shuffle(rng, fields) : fields;
      switch (rng.nextInt(5)) {
        case 0: // an unknown field of some wire type
          changed = [...changed, rng.pick(UNKNOWN)];
          break;
        case 1: // a field repeated with another value: the last one wins
          changed = [...changed, rng.pick(other)];
          break;
        case 2: // a padded varint, zeros written out
          changed = changed.map(
            ([no, wt, v]): Field => (wt === 0 ? [no, wt, padded(BigInt(v[0]!), 2)] : [no, wt, v]),
          );
          break;
        case 3: // a field left out
          changed = changed.filter((_, i) => i !== rng.nextInt(4));
          break;
        default: // a field under the wrong wire type
          changed = changed.map(([no, wt, v]): Field => (no === 4 ? [no, 2, v] : [no, wt, v]));
      }
      const bytes = join(changed);
      expect(ourOutcome(bytes)).toEqual(referenceOutcome(bytes));
    });
  });

  it('refuses truncated, corrupted and invalid UTF-8 input as protobuf-es does', () => {
    forSeeds((rng) => {
      const bytes = encodePutCommand(randomPut(rng));
      const cut = bytes.subarray(0, rng.nextInt(bytes.byteLength + 1));
      expect(ourOutcome(cut)).toEqual(referenceOutcome(cut));
      const flipped = bytes.slice();
      if (flipped.byteLength > 0) flipped[rng.nextInt(Math.min(flipped.byteLength, 40))] = rng.nextInt(256);
      expect(ourOutcome(flipped)).toEqual(referenceOutcome(flipped));
    });
    // A 10-byte varint carrying bits beyond 2^64 (protobuf-es drops them) and an 11-byte one (refused).
    const over = join([[4, 0, Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f)]]);
    expect(ourOutcome(over)).toEqual(referenceOutcome(over));
    const long = join([[4, 0, Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0)]]);
    expect(ourOutcome(long)).toEqual(referenceOutcome(long));
    const invalid = join([[1, 2, Uint8Array.of(0x61, 0xff)]]);
    expect(() => decodePutCommand(invalid)).toThrow();
    expect(ourOutcome(invalid)).toEqual(referenceOutcome(invalid));
  });
});
