// Random Raft messages and batches for the wire codec's tests, and the reference they are held to: protobuf-es
// and codec.ts. All randomness from seeds: WIRE_SEED=<n> replays one case, WIRE_CASES=<n> runs more.
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { type RaftMessage, RaftMessageSchema, StreamRequestSchema } from '@regent/proto/raft';
import { EntryType, type Message } from '@regent/raft';
import { createSeededRandom, type SeededRandom } from '@regent/raft/testing';
import { expect } from 'vitest';
import { messageFromWire } from './codec.js';
import { chunkSnapshot } from './snapshot-chunks.js';
import { decodeStreamBatch } from './wire-decode.js';
import type { OutboundMessage } from './wire-encode.js';

export const CASES = Number(process.env.WIRE_CASES ?? 500);

/** Makes toEqual compare byte arrays as bytes (its element-by-element walk dominated the run time). */
export function compareBytesAsBytes(): void {
  expect.addEqualityTesters([
    (a, b) => (a instanceof Uint8Array && b instanceof Uint8Array ? Buffer.compare(a, b) === 0 : undefined),
  ]);
}

/** Runs `check` for seeds 1..CASES (or WIRE_SEED alone); a failure names its seed. */
export function forSeeds(check: (rng: SeededRandom) => void): void {
  const seeds = process.env.WIRE_SEED
    ? [Number(process.env.WIRE_SEED)]
    : Array.from({ length: CASES }, (_, i) => i + 1);
  for (const seed of seeds) {
    try {
      check(createSeededRandom(seed));
    } catch (error) {
      console.error(`wire codec: failed with WIRE_SEED=${seed}`);
      throw error;
    }
  }
}

export const EDGES = [0, 1, 127, 128, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 49, Number.MAX_SAFE_INTEGER];
export const num = (rng: SeededRandom): number =>
  rng.chance(0.4)
    ? rng.pick(EDGES)
    : rng.chance(0.5)
      ? rng.nextInt(1000)
      : Math.floor(rng.nextFloat() * 2 ** 53);
export const bool = (rng: SeededRandom): boolean => rng.chance(0.5);
/** Random bytes; beyond 1 KiB a pattern from one random byte (cheap, and its length is what matters). */
export function bytes(rng: SeededRandom, n: number): Uint8Array {
  if (n <= 1024) return Uint8Array.from({ length: n }, () => rng.nextInt(256));
  const start = rng.nextInt(256);
  return new Uint8Array(n).map((_, i) => (start + i * 31) & 0xff);
}
export const DATA_LENGTHS = [0, 1, 64, 65, 256, 256, 256, 300, 70_000];
export const data = (rng: SeededRandom): Uint8Array =>
  bytes(rng, DATA_LENGTHS[rng.nextInt(DATA_LENGTHS.length - (rng.chance(0.05) ? 0 : 1))]!);
export const GROUPS = [
  'g',
  '',
  'regent',
  'grüße',
  '日本語',
  'x🙂y',
  'a'.repeat(64),
  'é'.repeat(65),
  'b'.repeat(300),
];

export function randomMessage(rng: SeededRandom): OutboundMessage {
  const h = { from: num(rng), to: num(rng), term: num(rng) };
  switch (rng.nextInt(8)) {
    case 0:
      return {
        ...h,
        type: 'VoteRequest',
        preVote: bool(rng),
        lastLogIndex: num(rng),
        lastLogTerm: num(rng),
        transfer: bool(rng),
      };
    case 1:
      return { ...h, type: 'VoteResponse', preVote: bool(rng), granted: bool(rng) };
    case 2: {
      const entries = Array.from({ length: rng.pick([0, 1, 3, 64]) }, () => ({
        term: num(rng),
        index: num(rng),
        type: rng.pick([EntryType.Normal, EntryType.ConfChange, EntryType.Noop]),
        data: data(rng),
      }));
      return {
        ...h,
        type: 'AppendEntries',
        prevLogIndex: num(rng),
        prevLogTerm: num(rng),
        entries,
        leaderCommit: num(rng),
        readContext: num(rng),
      };
    }
    case 3:
      return {
        ...h,
        type: 'AppendEntriesResponse',
        reject: bool(rng),
        index: num(rng),
        rejectHint: num(rng),
        rejectHintTerm: num(rng),
        readContext: num(rng),
      };
    case 4:
      return { ...h, type: 'InstallSnapshotResponse', snapshotIndex: num(rng), reject: bool(rng) };
    case 5:
      return { ...h, type: 'TimeoutNow' };
    case 6:
      return { ...h, type: 'ReadIndexRequest', readContext: num(rng) };
    default:
      return {
        ...h,
        type: 'ReadIndexResponse',
        readContext: num(rng),
        readIndex: num(rng),
        reject: bool(rng),
      };
  }
}

/** One of each type, every field set. */
export const SAMPLES: OutboundMessage[] = [
  {
    from: 1,
    to: 2,
    term: 3,
    type: 'VoteRequest',
    preVote: true,
    lastLogIndex: 4,
    lastLogTerm: 5,
    transfer: true,
  },
  { from: 1, to: 2, term: 3, type: 'VoteResponse', preVote: true, granted: true },
  {
    from: 1,
    to: 2,
    term: 3,
    type: 'AppendEntriesResponse',
    reject: true,
    index: 4,
    rejectHint: 5,
    rejectHintTerm: 6,
    readContext: 7,
  },
  { from: 1, to: 2, term: 3, type: 'InstallSnapshotResponse', snapshotIndex: 4, reject: true },
  { from: 1, to: 2, term: 3, type: 'TimeoutNow' },
  { from: 1, to: 2, term: 3, type: 'ReadIndexRequest', readContext: 4 },
  { from: 1, to: 2, term: 3, type: 'ReadIndexResponse', readContext: 4, readIndex: 5, reject: true },
];

export const randomMessages = (rng: SeededRandom): OutboundMessage[] =>
  Array.from({ length: rng.pick([0, 1, 2, 5, 20]) }, () => randomMessage(rng));

export function snapshotChunk(rng: SeededRandom): RaftMessage {
  const snapshot = {
    metadata: {
      index: num(rng),
      term: 3,
      confState: { voters: [1, 2, 3], learners: [] },
      addresses: new Map([[1, 'a:1']]),
    },
    data: bytes(rng, rng.nextInt(100)),
  };
  return chunkSnapshot({ type: 'InstallSnapshot', from: 1, to: 2, term: 3, snapshot }, 1000)[0]!;
}

export const referenceBatch = (group: string, messages: readonly RaftMessage[]): Uint8Array =>
  toBinary(StreamRequestSchema, create(StreamRequestSchema, { group, messages: [...messages] }));

/** What the lean handler ends up with: per message, the core message, a snapshot chunk, or the refusal. */
export type Outcome = { error: string } | { group: string; messages: unknown[] };

export function wireOutcome(w: RaftMessage): unknown {
  if (w.body.case === 'installSnapshot') return { chunk: toBinary(RaftMessageSchema, w) };
  try {
    return { message: messageFromWire(w) };
  } catch (error) {
    return { refused: `${(error as Error).name}: ${(error as Error).message}` };
  }
}

export function reference(payload: Uint8Array): Outcome {
  try {
    const request = fromBinary(StreamRequestSchema, payload);
    return { group: request.group, messages: request.messages.map(wireOutcome) };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

export const toCore = (m: Message | RaftMessage): Message => ('$typeName' in m ? messageFromWire(m) : m);

/** How many batches `ours` decoded on the fast path. */
export const fastPath = { count: 0 };

/** What our decoder ends up with, in the terms of `reference`. */
export function ours(payload: Uint8Array): Outcome {
  try {
    const batch = decodeStreamBatch(payload);
    if (batch.fast) fastPath.count++;
    const messages = batch.fast
      ? batch.messages.map((m) => ({ message: m }))
      : batch.messages.map(wireOutcome);
    return { group: batch.group, messages };
  } catch (error) {
    return { error: (error as Error).message };
  }
}
