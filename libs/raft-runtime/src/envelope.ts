// Connect streaming envelopes (https://connectrpc.com/docs/protocol#streaming-request): one flags byte, a
// big-endian uint32 length, then the message. The peer transport writes them and the lean stream handler reads
// them straight off HTTP/2, so RaftService.Stream stays a plain Connect client stream on the wire.

/** Envelope flag: the payload is compressed (we never compress; such a stream is refused). */
export const FLAG_COMPRESSED = 0x01;
/** Envelope flag: the end-of-stream message (JSON) of a Connect response. */
export const FLAG_END_STREAM = 0x02;

export class EnvelopeError extends Error {
  override readonly name = 'EnvelopeError';
}

/** One envelope: the 5-byte header and the payload in one buffer. */
export function encodeEnvelope(flags: number, payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(5 + payload.byteLength);
  out[0] = flags;
  out.writeUInt32BE(payload.byteLength, 1);
  out.set(payload, 5);
  return out;
}

/** Splits a byte stream into envelopes; a payload longer than `maxBytes` is an error (nothing is buffered). */
export class EnvelopeReader {
  #pending: Buffer = Buffer.alloc(0);

  constructor(private readonly maxBytes: number) {}

  /** Feeds a chunk; returns the envelopes it completed, in order. */
  push(chunk: Buffer): { flags: number; payload: Buffer }[] {
    let buffer = this.#pending.byteLength === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    const out: { flags: number; payload: Buffer }[] = [];
    while (buffer.byteLength >= 5) {
      const length = buffer.readUInt32BE(1);
      if (length > this.maxBytes) {
        throw new EnvelopeError(`message of ${length} bytes is over the limit of ${this.maxBytes}`);
      }
      if (buffer.byteLength < 5 + length) break;
      out.push({ flags: buffer[0]!, payload: buffer.subarray(5, 5 + length) });
      buffer = buffer.subarray(5 + length);
    }
    this.#pending = buffer;
    return out;
  }

  /** Bytes of an incomplete envelope still waiting for the rest. */
  get bufferedBytes(): number {
    return this.#pending.byteLength;
  }
}
