// Protobuf wire-format primitives for the hand-written codecs on the hot path (wire-encode.ts, wire-decode.ts,
// the kv machine's Put). Writers emit what protobuf-es emits for proto3 (fields in number order, zero values
// omitted). Readers accept a strict subset and throw FAST_PATH_MISS for anything outside it; the caller then
// decodes the same bytes with protobuf-es, which stays the authority on every input the fast path does not take.
// Numbers are JS numbers: a uint64 is read as one only when it is a safe integer (below 2^53), so no value ever
// loses precision; anything larger leaves the fast path (protobuf-es reads it as a bigint and the range check
// refuses it), or is read by uint64() as a bigint where the caller keeps bigints.

export const WIRE_VARINT = 0;
export const WIRE_LEN = 2;

/** Not an error: the input (valid protobuf or not) is one the fast path does not handle; protobuf-es decides. */
export class FastPathMiss {
  readonly name = 'FastPathMiss';
}

/** Thrown (one shared instance, no stack capture) when a reader leaves the fast path. */
export const FAST_PATH_MISS = new FastPathMiss();

const TWO_POW_49 = 2 ** 49;

/** Bytes of `n` as a varint. Asserts `n` is a non-negative safe integer (the core's numbers always are). */
export function varintSize(n: number): number {
  if (n < 128 && n >= 0 && Number.isInteger(n)) return 1;
  if (!Number.isSafeInteger(n) || n < 0)
    throw new Error(`cannot encode ${n} as uint64: not a safe integer >= 0`);
  if (n < 2 ** 14) return 2;
  if (n < 2 ** 21) return 3;
  if (n < 2 ** 28) return 4;
  if (n < 2 ** 35) return 5;
  if (n < 2 ** 42) return 6;
  return n < TWO_POW_49 ? 7 : 8;
}

/** Bytes of a tag (field numbers below 2048). */
export function tagSize(field: number): number {
  return field < 16 ? 1 : 2;
}

/** Bytes of a uint64 field (0 is omitted). */
export function uintFieldSize(field: number, n: number): number {
  return n === 0 ? 0 : tagSize(field) + varintSize(n);
}

/** Bytes of a bool field (false is omitted). */
export function boolFieldSize(field: number, b: boolean): number {
  return b ? tagSize(field) + 1 : 0;
}

/** Bytes of a length-delimited field holding `length` bytes (always written, even when empty). */
export function lenFieldSize(field: number, length: number): number {
  return tagSize(field) + varintSize(length) + length;
}

/** Bytes of a bytes or string field (empty is omitted). */
export function bytesFieldSize(field: number, length: number): number {
  return length === 0 ? 0 : lenFieldSize(field, length);
}

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder('utf-8', { fatal: true });
const ASCII_FAST_CHARS_MAX = 64;

/** The UTF-8 bytes protobuf-es writes for `s` (TextEncoder: a lone surrogate becomes U+FFFD). */
export function utf8Encode(s: string): Uint8Array {
  if (s.length <= ASCII_FAST_CHARS_MAX) {
    const out = new Uint8Array(s.length);
    let i = 0;
    for (; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) break;
      out[i] = c;
    }
    if (i === s.length) return out;
  }
  return encoder.encode(s);
}

/** Writes into a buffer sized beforehand with the *Size functions; a size mismatch is a bug (see finish). */
export class Writer {
  pos = 0;
  constructor(readonly buf: Uint8Array) {}

  varint(n: number): void {
    const buf = this.buf;
    let pos = this.pos;
    for (; n > 0x7fffffff; n = Math.floor(n / 0x80)) buf[pos++] = (n % 0x80) | 0x80;
    for (; n > 0x7f; n >>>= 7) buf[pos++] = (n & 0x7f) | 0x80;
    buf[pos++] = n;
    this.pos = pos;
  }

  tag(field: number, wireType: number): void {
    this.varint((field << 3) | wireType);
  }

  uintField(field: number, n: number): void {
    if (n === 0) return;
    this.tag(field, WIRE_VARINT);
    this.varint(n);
  }

  boolField(field: number, b: boolean): void {
    if (!b) return;
    this.tag(field, WIRE_VARINT);
    this.buf[this.pos++] = 1;
  }

  /** The tag and length of a length-delimited field; its `length` bytes must follow. */
  lenHeader(field: number, length: number): void {
    this.tag(field, WIRE_LEN);
    this.varint(length);
  }

  bytesField(field: number, bytes: Uint8Array): void {
    if (bytes.byteLength === 0) return;
    this.lenHeader(field, bytes.byteLength);
    this.raw(bytes);
  }

  raw(bytes: Uint8Array): void {
    this.buf.set(bytes, this.pos);
    this.pos += bytes.byteLength;
  }

  /** Asserts the buffer was filled exactly (the size functions and the writes agree). */
  finish(): Uint8Array {
    if (this.pos !== this.buf.byteLength) {
      throw new Error(`encoded ${this.pos} bytes into a buffer of ${this.buf.byteLength}`);
    }
    return this.buf;
  }
}

/**
 * Reads fields of one message between `pos` and an `end` the caller passes (a field crossing the end of its
 * message is a miss, never a read of the next field). Reads nothing beyond `buf`.
 */
export class Reader {
  pos = 0;
  constructor(readonly buf: Uint8Array) {}

  /** A varint that fits a safe integer (below 2^53); longer values, and truncation at `end`, miss. */
  uint53(end: number): number {
    const buf = this.buf;
    let pos = this.pos;
    if (pos >= end) throw FAST_PATH_MISS;
    let b = buf[pos++]!;
    if (b < 0x80) {
      this.pos = pos;
      return b;
    }
    let n = b & 0x7f;
    let scale = 0x80;
    for (let i = 1; i < 8; i++) {
      if (pos >= end) throw FAST_PATH_MISS;
      b = buf[pos++]!;
      // The 8th byte carries bits 49..55: below 16 (and so without a continuation bit) keeps n below 2^53.
      if (i === 7 && b >= 16) throw FAST_PATH_MISS;
      n += (b & 0x7f) * scale;
      if (b < 0x80) {
        this.pos = pos;
        return n;
      }
      scale *= 0x80;
    }
    throw FAST_PATH_MISS;
  }

  /** A full uint64 as a bigint (for fields kept as bigints). A 10th byte above 1 (beyond 2^64) misses. */
  uint64(end: number): bigint {
    const buf = this.buf;
    const start = this.pos;
    let length = 0;
    for (;;) {
      if (start + length >= end || length >= 10) throw FAST_PATH_MISS;
      if (buf[start + length++]! < 0x80) break;
    }
    if (length <= 7) return BigInt(this.uint53(end));
    if (length === 10 && buf[start + 9]! > 1) throw FAST_PATH_MISS;
    let n = 0n;
    for (let i = 0; i < length; i++) n |= BigInt(buf[start + i]! & 0x7f) << BigInt(7 * i);
    this.pos = start + length;
    return n;
  }

  bool(end: number): boolean {
    return this.uint53(end) !== 0;
  }

  /** Reads a length prefix; returns where the field's bytes end (the reader is at their start). */
  lenEnd(end: number): number {
    const length = this.uint53(end);
    const fieldEnd = this.pos + length;
    if (fieldEnd > end) throw FAST_PATH_MISS;
    return fieldEnd;
  }

  /** A bytes field as a view into `buf` (the caller documents why pinning `buf` is fine). */
  bytesView(end: number): Uint8Array {
    const fieldEnd = this.lenEnd(end);
    const out = this.buf.subarray(this.pos, fieldEnd);
    this.pos = fieldEnd;
    return out;
  }

  /** A string field; invalid UTF-8 misses (protobuf-es refuses it for proto3 strings). */
  string(end: number): string {
    const fieldEnd = this.lenEnd(end);
    const start = this.pos;
    this.pos = fieldEnd;
    if (fieldEnd - start <= ASCII_FAST_CHARS_MAX) {
      let s = '';
      for (let i = start; i < fieldEnd; i++) {
        const c = this.buf[i]!;
        if (c >= 0x80) return decodeStrict(this.buf.subarray(start, fieldEnd));
        s += String.fromCharCode(c);
      }
      return s;
    }
    return decodeStrict(this.buf.subarray(start, fieldEnd));
  }
}

function decodeStrict(bytes: Uint8Array): string {
  try {
    return strictDecoder.decode(bytes);
  } catch {
    throw FAST_PATH_MISS;
  }
}
