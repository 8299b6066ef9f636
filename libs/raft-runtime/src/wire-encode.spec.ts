// The hand-written encoder against protobuf-es, the reference: the same bytes for every message type, edge
// values and group strings. Randomised from seeds (see wire-samples.test-support.ts).
import { fromBinary, toBinary } from '@bufbuild/protobuf';
import { type RaftMessage, RaftMessageSchema } from '@regent/proto/raft';
import { describe, expect, it } from 'vitest';
import { messageFromWire, messageToWire } from './codec.js';
import { encodeRaftMessage, encodeStreamBatch, type OutboundMessage } from './wire-encode.js';
import {
  compareBytesAsBytes,
  forSeeds,
  GROUPS,
  randomMessage,
  randomMessages,
  referenceBatch,
  snapshotChunk,
} from './wire-samples.test-support.js';

compareBytesAsBytes();

describe('wire codec: encoding', () => {
  it('writes the bytes protobuf-es writes, for every message type and edge values', () => {
    forSeeds((rng) => {
      const m = randomMessage(rng);
      const encoded = encodeRaftMessage(m);
      expect(encoded).toEqual(toBinary(RaftMessageSchema, messageToWire(m)));
      expect(messageFromWire(fromBinary(RaftMessageSchema, encoded))).toEqual(m);
    });
  });

  it('writes batches as protobuf-es does, snapshot chunks included, any group string', () => {
    forSeeds((rng) => {
      const messages = randomMessages(rng);
      const wire: RaftMessage[] = messages.map(messageToWire);
      const items: (Uint8Array | RaftMessage)[] = messages.map(encodeRaftMessage);
      if (rng.chance(0.2)) {
        const chunk = snapshotChunk(rng);
        wire.push(chunk);
        items.push(chunk);
      }
      const group = rng.chance(0.1) ? 'lone \ud800 surrogate' : rng.pick(GROUPS);
      expect(encodeStreamBatch(group, items)).toEqual(referenceBatch(group, wire));
    });
  });

  it('refuses numbers the wire cannot carry, before anything is sent', () => {
    const m: OutboundMessage = { type: 'TimeoutNow', from: 1, to: 2, term: 2 ** 53 };
    expect(() => encodeRaftMessage(m)).toThrow(/not a safe integer/);
    expect(() => encodeRaftMessage({ ...m, term: -1 })).toThrow(/not a safe integer/);
  });
});
