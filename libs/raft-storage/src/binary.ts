// Little-endian fixed-width encoding helpers. 64-bit fields hold safe integers (< 2^53), written as two u32 halves.

const TWO_32 = 0x1_0000_0000;

/** Raised by `ByteReader` when the bytes do not decode; callers turn it into a corruption error with file/offset. */
export class DecodeError extends Error {
  override readonly name = 'DecodeError';
}

/** Writes into a caller-sized buffer; `offset` ends exactly at the buffer's end when the size was computed right. */
export class ByteWriter {
  readonly view: DataView;
  offset: number;

  constructor(
    readonly bytes: Uint8Array,
    offset = 0,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.offset = offset;
  }

  u8(value: number): void {
    this.view.setUint8(this.offset, value);
    this.offset += 1;
  }

  u16(value: number): void {
    this.view.setUint16(this.offset, value, true);
    this.offset += 2;
  }

  u32(value: number): void {
    this.view.setUint32(this.offset, value, true);
    this.offset += 4;
  }

  /** A non-negative safe integer as u64. */
  u64(value: number): void {
    if (!Number.isSafeInteger(value) || value < 0)
      throw new RangeError(`not a non-negative safe integer: ${value}`);
    this.view.setUint32(this.offset, value % TWO_32, true);
    this.view.setUint32(this.offset + 4, Math.floor(value / TWO_32), true);
    this.offset += 8;
  }

  raw(value: Uint8Array): void {
    this.bytes.set(value, this.offset);
    this.offset += value.byteLength;
  }
}

/** Reads `bytes[offset, end)`; every read is bounds-checked and throws `DecodeError` past `end`. */
export class ByteReader {
  readonly view: DataView;
  offset: number;

  constructor(
    readonly bytes: Uint8Array,
    offset: number,
    readonly end: number,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.offset = offset;
  }

  get remaining(): number {
    return this.end - this.offset;
  }

  private need(count: number): void {
    if (this.offset + count > this.end) {
      throw new DecodeError(`need ${count} bytes at ${this.offset}, only ${this.end - this.offset} left`);
    }
  }

  u8(): number {
    this.need(1);
    return this.view.getUint8(this.offset++);
  }

  u16(): number {
    this.need(2);
    const value = this.view.getUint16(this.offset, true);
    this.offset += 2;
    return value;
  }

  u32(): number {
    this.need(4);
    const value = this.view.getUint32(this.offset, true);
    this.offset += 4;
    return value;
  }

  u64(): number {
    this.need(8);
    const low = this.view.getUint32(this.offset, true);
    const high = this.view.getUint32(this.offset + 4, true);
    this.offset += 8;
    const value = high * TWO_32 + low;
    if (!Number.isSafeInteger(value)) throw new DecodeError(`u64 ${high}:${low} is not a safe integer`);
    return value;
  }

  /** A copy of the next `count` bytes (never a view: the source buffer is reused by readers). */
  copy(count: number): Uint8Array {
    this.need(count);
    const value = new Uint8Array(count);
    value.set(this.bytes.subarray(this.offset, this.offset + count));
    this.offset += count;
    return value;
  }

  expectEnd(): void {
    if (this.offset !== this.end) throw new DecodeError(`${this.end - this.offset} trailing bytes`);
  }
}

/** A u32 count followed by that many items; `itemBytesMin` bounds the count by what is left before allocating. */
export function readCount(reader: ByteReader, itemBytesMin: number): number {
  const count = reader.u32();
  if (count * itemBytesMin > reader.remaining)
    throw new DecodeError(`count ${count} exceeds remaining bytes`);
  return count;
}
