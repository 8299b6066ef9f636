// Connect and gRPC streaming envelopes (https://connectrpc.com/docs/protocol#streaming-request): one flags byte, a
// big-endian uint32 length, then the message. The lean stream paths (the Raft peer stream, the gateway's heartbeat
// stream) write and read them straight off HTTP/2.

import type { ConnectError } from '@connectrpc/connect';
import { codeToString } from '@connectrpc/connect/protocol-connect';

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

/**
 * Splits a byte stream into envelopes; a payload longer than `maxBytes` is an error (nothing is buffered). Chunks
 * of an incomplete envelope are kept as a list and joined once, when the envelope is complete (joining at every
 * chunk would copy a 1 MiB snapshot chunk arriving in 16 KiB pieces some 64 times).
 */
export class EnvelopeReader {
  #chunks: Buffer[] = [];
  #buffered = 0;
  /** The length of the envelope being gathered (header included), once its header is in. */
  #needed = 0;

  constructor(private readonly maxBytes: number) {}

  /** Feeds a chunk; returns the envelopes it completed, in order. */
  push(chunk: Buffer): { flags: number; payload: Buffer }[] {
    this.#chunks.push(chunk);
    this.#buffered += chunk.byteLength;
    const out: { flags: number; payload: Buffer }[] = [];
    for (;;) {
      if (this.#needed === 0) {
        if (this.#buffered < 5) break;
        const head = this.#peekHead();
        const length = head.readUInt32BE(1);
        if (length > this.maxBytes) {
          throw new EnvelopeError(`message of ${length} bytes is over the limit of ${this.maxBytes}`);
        }
        this.#needed = 5 + length;
      }
      if (this.#buffered < this.#needed) break;
      const buffer =
        this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks, this.#buffered);
      out.push({ flags: buffer[0]!, payload: buffer.subarray(5, this.#needed) });
      const rest = buffer.subarray(this.#needed);
      this.#chunks = rest.byteLength > 0 ? [rest] : [];
      this.#buffered = rest.byteLength;
      this.#needed = 0;
    }
    return out;
  }

  /** A buffer starting with the 5 header bytes (rarely split: then everything buffered is joined once). */
  #peekHead(): Buffer {
    const first = this.#chunks[0]!;
    if (first.byteLength >= 5) return first;
    const joined = Buffer.concat(this.#chunks, this.#buffered);
    this.#chunks = [joined];
    return joined;
  }

  /** Bytes of an incomplete envelope still waiting for the rest. */
  get bufferedBytes(): number {
    return this.#buffered;
  }
}

/** The JSON of a Connect end-of-stream message: `{}`, or `{"error": {code, message}}` for a failed stream. */
export function endStreamJson(error: ConnectError | undefined): Uint8Array {
  if (error === undefined) return new TextEncoder().encode('{}');
  return new TextEncoder().encode(
    JSON.stringify({ error: { code: codeToString(error.code), message: error.rawMessage } }),
  );
}
