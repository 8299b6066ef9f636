// Envelope framing: any chunking of the byte stream gives the same envelopes; lengths over the limit are refused.
import { describe, expect, it } from 'vitest';
import { EnvelopeError, EnvelopeReader, encodeEnvelope } from './envelope.js';

describe('EnvelopeReader', () => {
  it('reassembles envelopes split across and packed into chunks', () => {
    const a = encodeEnvelope(0, Buffer.from('hello'));
    const b = encodeEnvelope(2, Buffer.from('{}'));
    const all = Buffer.concat([a, b]);
    const reader = new EnvelopeReader(100);
    const out = [
      ...reader.push(all.subarray(0, 3)),
      ...reader.push(all.subarray(3, 9)),
      ...reader.push(all.subarray(9)),
    ];
    expect(out.map((e) => [e.flags, e.payload.toString()])).toEqual([
      [0, 'hello'],
      [2, '{}'],
    ]);
    expect(reader.bufferedBytes).toBe(0);
  });

  it('refuses a length over the limit before buffering it', () => {
    const reader = new EnvelopeReader(4);
    expect(() => reader.push(encodeEnvelope(0, Buffer.from('hello')))).toThrow(EnvelopeError);
  });
});

describe('EnvelopeReader, byte by byte', () => {
  it('gives the same envelopes whatever the chunking, including one byte at a time', () => {
    const envelopes = [Buffer.alloc(0), Buffer.from('a'), Buffer.alloc(70_000, 3), Buffer.from('xyz')].map(
      (p, i) => encodeEnvelope(i % 3, p),
    );
    const all = Buffer.concat(envelopes);
    for (const size of [1, 2, 4, 5, 7, 16_384, all.byteLength]) {
      const reader = new EnvelopeReader(1 << 20);
      const out: { flags: number; payload: Buffer }[] = [];
      for (let o = 0; o < all.byteLength; o += size) out.push(...reader.push(all.subarray(o, o + size)));
      expect(out.map((e) => [e.flags, e.payload.byteLength])).toEqual([
        [0, 0],
        [1, 1],
        [2, 70_000],
        [0, 3],
      ]);
      expect(out[2]!.payload.every((b) => b === 3)).toBe(true);
      expect(reader.bufferedBytes).toBe(0);
    }
  });
});
