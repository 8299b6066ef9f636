// The hand-written decoder against protobuf-es + codec.ts, the reference: for any input, canonical or not,
// well-formed or not, the same outcome (messages, per-message refusals, batch errors), and the fast path taken
// for what encoders write. Randomised from seeds (see wire-samples.test-support.ts).
import type { RaftMessage } from '@regent/proto/raft';
import { type AppendEntriesMessage, EntryType } from '@regent/raft';
import { describe, expect, it } from 'vitest';
import { messageFromWire, messageToWire, WireDecodeError } from './codec.js';
import {
  type Field,
  joinFields,
  len,
  padVarint,
  parseFields,
  uint,
  VARINT,
} from './proto-fields.test-support.js';
import { decodeStreamBatch } from './wire-decode.js';
import { encodeRaftMessage, encodeStreamBatch, type OutboundMessage } from './wire-encode.js';
import {
  mutateOnce,
  rewrite,
  rewriteOne,
  shuffleKeepingEntries,
  UNKNOWN,
} from './wire-mutations.test-support.js';
import {
  CASES,
  compareBytesAsBytes,
  fastPath,
  forSeeds,
  GROUPS,
  ours,
  randomMessages,
  reference,
  referenceBatch,
  SAMPLES,
  snapshotChunk,
  toCore,
} from './wire-samples.test-support.js';

compareBytesAsBytes();

describe('wire codec: decoding', () => {
  it('decodes what protobuf-es writes to the same messages, on the fast path', () => {
    forSeeds((rng) => {
      const messages = randomMessages(rng);
      const group = rng.pick(GROUPS);
      const batch = decodeStreamBatch(referenceBatch(group, messages.map(messageToWire)));
      expect(batch).toEqual({ group, fast: true, messages });
    });
  });

  it("copies entry data out of the received buffer, into one buffer holding only that message's data", () => {
    const entry = { term: 1, index: 1, type: EntryType.Normal, data: Uint8Array.of(1, 2, 3) };
    const entries = [
      entry,
      { ...entry, index: 2, data: new Uint8Array() },
      { ...entry, index: 3, data: Uint8Array.of(4) },
    ];
    const m = {
      type: 'AppendEntries',
      from: 1,
      to: 2,
      term: 1,
      prevLogIndex: 0,
      prevLogTerm: 0,
      entries,
    } as const;
    const heartbeat = { ...m, entries: [], leaderCommit: 0, readContext: 0 };
    const payload = encodeStreamBatch(
      'g',
      [heartbeat, { ...m, leaderCommit: 0, readContext: 0 }].map(encodeRaftMessage),
    );
    const batch = decodeStreamBatch(payload);
    payload.fill(0);
    const decoded = (batch.messages[1] as AppendEntriesMessage).entries;
    expect(decoded).toEqual(entries);
    expect(decoded[0]!.data.buffer.byteLength).toBe(4);
    expect(decoded[2]!.data.buffer).toBe(decoded[0]!.data.buffer);
  });

  it('stays on the fast path for reordered fields, padded varints and zeros written out', () => {
    forSeeds((rng) => {
      const messages = randomMessages(rng);
      const group = rng.pick(GROUPS);
      const canonical = (fields: Field[]): Field[] => {
        const out = rng.chance(0.5) ? shuffleKeepingEntries(rng, fields) : fields;
        // Padded up to 8 bytes: longer varints (legal, never written by an encoder) leave the fast path.
        const pad = (f: Field): Field => ({ ...f, value: padVarint(f.value, 8 - f.value.byteLength) });
        return out.map((f) => (f.wt === VARINT && rng.chance(0.3) ? pad(f) : f));
      };
      const payload = rewrite(referenceBatch(group, messages.map(messageToWire)), (level, fields) => {
        if (level === 'message' && !fields.some((f) => f.no === 1)) fields.push(uint(1, 0));
        return level === 'batch' ? fields : canonical(fields);
      });
      const batch = decodeStreamBatch(payload);
      expect(batch).toEqual({ group, fast: true, messages });
    });
  });

  it('decodes one non-canonical change anywhere in a batch exactly as protobuf-es and codec.ts do', () => {
    fastPath.count = 0;
    forSeeds((rng) => {
      const wire = randomMessages(rng).map(messageToWire);
      if (rng.chance(0.05)) wire.push(snapshotChunk(rng));
      const canonical = referenceBatch(rng.pick(GROUPS), wire);
      const payload = rewriteOne(rng, canonical, (level, fields) => mutateOnce(rng, level, fields));
      expect(ours(payload)).toEqual(reference(payload));
    });
    // Some changes keep the fast path (a shuffle, a repeated scalar): both paths are compared.
    expect(fastPath.count).toBeGreaterThan(CASES / 10);
  });

  it('decodes batches with many non-canonical changes exactly as protobuf-es and codec.ts do', () => {
    forSeeds((rng) => {
      const wire = randomMessages(rng).map(messageToWire);
      const payload = rewrite(referenceBatch(rng.pick(GROUPS), wire), (level, fields) =>
        rng.chance(0.3) ? mutateOnce(rng, level, mutateOnce(rng, level, fields)) : fields,
      );
      expect(ours(payload)).toEqual(reference(payload));
    });
  });

  it('skips unknown fields of every wire type at every level, merges split messages, takes the last oneof', () => {
    const entry = { term: 2, index: 5, type: EntryType.Normal, data: Uint8Array.of(1, 2) };
    const m: OutboundMessage = {
      ...{ type: 'AppendEntries', from: 1, to: 2, term: 2, prevLogIndex: 4, prevLogTerm: 1 },
      ...{ entries: [entry, { ...entry, index: 6 }], leaderCommit: 3, readContext: 0 },
    };
    // One message per batch: a batch leaves the fast path as a whole, so each body decoder is checked alone.
    for (const sample of [m, ...SAMPLES]) {
      for (const unknown of UNKNOWN) {
        for (const where of ['batch', 'message', 'body', 'entry'] as const) {
          const payload = rewrite(encodeStreamBatch('g', [encodeRaftMessage(sample)]), (level, fields) =>
            level === where ? [unknown, ...fields] : fields,
          );
          expect(decodeStreamBatch(payload).messages.map(toCore)).toEqual([sample]);
        }
      }
    }
    const canonical = encodeStreamBatch('g', [encodeRaftMessage(m)]);
    const split = rewrite(canonical, (level, fields) => {
      if (level !== 'message') return fields;
      const body = parseFields(fields.find((f) => f.no === 12)!.value);
      return [
        ...fields.filter((f) => f.no !== 12),
        len(12, joinFields(body.slice(0, 3))),
        len(12, joinFields(body.slice(3))),
      ];
    });
    expect(decodeStreamBatch(split).messages.map(toCore)).toEqual([m]);
    const twoBodies = rewrite(canonical, (level, fields) =>
      level === 'message' ? [...fields, len(16, new Uint8Array())] : fields,
    );
    expect(decodeStreamBatch(twoBodies).messages.map(toCore)).toEqual([
      { type: 'TimeoutNow', from: 1, to: 2, term: 2 },
    ]);
    const twoGroups = rewrite(canonical, (level, fields) =>
      level === 'batch' ? [...fields, len(1, Uint8Array.of(0x68))] : fields,
    );
    expect(decodeStreamBatch(twoGroups).group).toBe('h');
  });

  it('refuses numbers beyond 2^53 as codec.ts does (WireDecodeError), 2^53 - 1 still fine', () => {
    const header = [uint(2, 2), uint(3, 1), len(16, new Uint8Array())];
    const batch = (from: bigint): Uint8Array => joinFields([len(2, joinFields([uint(1, from), ...header]))]);
    for (const from of [2n ** 53n, 2n ** 56n, 2n ** 63n, 2n ** 64n - 1n]) {
      const decoded = decodeStreamBatch(batch(from));
      expect(decoded.fast).toBe(false);
      expect(() => messageFromWire(decoded.messages[0] as RaftMessage)).toThrow(WireDecodeError);
      expect(() => messageFromWire(decoded.messages[0] as RaftMessage)).toThrow(`from ${from} out of range`);
    }
    expect(decodeStreamBatch(batch(2n ** 53n - 1n)).messages[0]).toMatchObject({
      from: Number.MAX_SAFE_INTEGER,
    });
    const entry = joinFields([uint(1, 1), uint(2, 2n ** 64n - 1n), uint(3, 1)]);
    const append = joinFields([uint(1, 1), uint(2, 2), len(12, joinFields([len(3, entry)]))]);
    const decoded = decodeStreamBatch(joinFields([len(2, append)]));
    expect(() => messageFromWire(decoded.messages[0] as RaftMessage)).toThrow(WireDecodeError);
  });

  it('refuses entry types out of range as codec.ts does (protobuf-es reads an enum as an int32)', () => {
    const batch = (type: bigint | undefined): Uint8Array => {
      const entry = joinFields([uint(1, 1), uint(2, 1), ...(type === undefined ? [] : [uint(3, type)])]);
      return joinFields([len(2, joinFields([uint(1, 1), uint(2, 2), len(12, joinFields([len(3, entry)]))]))]);
    };
    for (const type of [undefined, 0n, 4n, 2n ** 64n - 1n]) {
      const decoded = decodeStreamBatch(batch(type));
      expect(decoded.fast).toBe(false);
      expect(() => messageFromWire(decoded.messages[0] as RaftMessage)).toThrow(/bad entry type/);
    }
    // 2^32 + 1 is 1 as an int32: NORMAL, for protobuf-es and so for us.
    expect(ours(batch(2n ** 32n + 1n))).toEqual(reference(batch(2n ** 32n + 1n)));
    expect(toCore(decodeStreamBatch(batch(2n ** 32n + 1n)).messages[0]!)).toMatchObject({
      entries: [{ type: EntryType.Normal }],
    });
  });

  it('refuses truncated and corrupted batches as protobuf-es does, never decoding a different message', () => {
    forSeeds((rng) => {
      const payload = encodeStreamBatch(rng.pick(GROUPS), randomMessages(rng).map(encodeRaftMessage));
      const cut = payload.subarray(0, rng.nextInt(payload.byteLength + 1));
      expect(ours(cut)).toEqual(reference(cut));
      const flipped = payload.slice();
      for (let i = rng.nextInt(4); i >= 0 && flipped.byteLength > 0; i--)
        flipped[rng.nextInt(flipped.byteLength)] = rng.nextInt(256);
      expect(ours(flipped)).toEqual(reference(flipped));
    });
  });
});
