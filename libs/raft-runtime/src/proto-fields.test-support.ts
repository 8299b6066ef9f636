// Protobuf bytes as a list of fields, for tests that build non-canonical inputs by hand (reordered, repeated,
// unknown, split, padded). Parses only well-formed input; serialises any list, including wire types the schema
// does not expect.

export const VARINT = 0;
export const I64 = 1;
export const LEN = 2;
export const SGROUP = 3;
export const I32 = 5;

/** One field. `value`: the varint's bytes (VARINT), the content (LEN, SGROUP: the fields inside), or 8/4 bytes. */
export interface Field {
  readonly no: number;
  readonly wt: number;
  readonly value: Uint8Array;
}

export function varint(n: bigint | number): Uint8Array {
  let v = BigInt(n);
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return Uint8Array.from(out);
}

/** The same value with `extra` redundant continuation bytes (still at most 10 bytes in all). */
export function padVarint(bytes: Uint8Array, extra: number): Uint8Array {
  const n = Math.min(extra, 10 - bytes.byteLength);
  if (n <= 0) return bytes;
  const out = new Uint8Array(bytes.byteLength + n);
  out.set(bytes);
  for (let i = bytes.byteLength - 1; i < out.byteLength - 1; i++) out[i]! |= 0x80;
  return out;
}

export const uint = (no: number, n: bigint | number): Field => ({ no, wt: VARINT, value: varint(n) });
export const len = (no: number, content: Uint8Array): Field => ({ no, wt: LEN, value: content });

function readVarint(bytes: Uint8Array, pos: number): [bigint, number] {
  let n = 0n;
  for (let shift = 0n; ; shift += 7n) {
    const b = bytes[pos++];
    if (b === undefined) throw new Error('truncated varint');
    n |= BigInt(b & 0x7f) << shift;
    if (b < 0x80) return [n, pos];
  }
}

export function parseFields(bytes: Uint8Array): Field[] {
  const fields: Field[] = [];
  let pos = 0;
  while (pos < bytes.byteLength) {
    const [tag, at] = readVarint(bytes, pos);
    const no = Number(tag >> 3n);
    const wt = Number(tag & 7n);
    pos = at;
    if (wt === VARINT) {
      const start = pos;
      pos = readVarint(bytes, pos)[1];
      fields.push({ no, wt, value: bytes.slice(start, pos) });
    } else if (wt === LEN) {
      const [length, start] = readVarint(bytes, pos);
      pos = start + Number(length);
      fields.push({ no, wt, value: bytes.slice(start, pos) });
    } else if (wt === I64 || wt === I32) {
      const size = wt === I64 ? 8 : 4;
      fields.push({ no, wt, value: bytes.slice(pos, pos + size) });
      pos += size;
    } else {
      throw new Error(`parseFields: wire type ${wt} not supported`);
    }
  }
  if (pos !== bytes.byteLength) throw new Error('parseFields: overrun');
  return fields;
}

export function joinFields(fields: readonly Field[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const f of fields) {
    parts.push(varint((BigInt(f.no) << 3n) | BigInt(f.wt)));
    if (f.wt === LEN) parts.push(varint(f.value.byteLength));
    parts.push(f.value);
    if (f.wt === SGROUP) parts.push(varint((BigInt(f.no) << 3n) | 4n));
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.byteLength;
  }
  return out;
}
