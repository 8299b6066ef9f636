import { create } from '@bufbuild/protobuf';
import { RaftMessageSchema } from '@regent/proto/raft';
import { EntryType, type Message } from '@regent/raft';
import { describe, expect, it } from 'vitest';
import { messageFromWire, messageToWire, WireDecodeError } from './codec.js';
import { chunkSnapshot, SnapshotAssembler } from './snapshot-chunks.js';

const header = { from: 1, to: 2, term: 7 };
const samples: Exclude<Message, { type: 'InstallSnapshot' }>[] = [
  { ...header, type: 'VoteRequest', preVote: true, lastLogIndex: 10, lastLogTerm: 6, transfer: false },
  { ...header, type: 'VoteResponse', preVote: false, granted: true },
  {
    ...header,
    type: 'AppendEntries',
    prevLogIndex: 4,
    prevLogTerm: 6,
    entries: [
      { term: 7, index: 5, type: EntryType.Normal, data: new Uint8Array([1, 2]) },
      { term: 7, index: 6, type: EntryType.Noop, data: new Uint8Array() },
    ],
    leaderCommit: 4,
    readContext: 3,
  },
  {
    ...header,
    type: 'AppendEntriesResponse',
    reject: true,
    index: 4,
    rejectHint: 2,
    rejectHintTerm: 5,
    readContext: 0,
  },
  { ...header, type: 'InstallSnapshotResponse', snapshotIndex: 100, reject: false },
  { ...header, type: 'TimeoutNow' },
  { ...header, type: 'ReadIndexRequest', readContext: 9 },
  { ...header, type: 'ReadIndexResponse', readContext: 9, readIndex: 44, reject: false },
];

describe('wire codec', () => {
  it.each(samples.map((m) => [m.type, m] as const))('round-trips %s', (_, message) => {
    expect(messageFromWire(messageToWire(message))).toEqual(message);
  });

  it('refuses numbers beyond 2^53 and bodiless messages', () => {
    const wire = messageToWire(samples[0]!);
    wire.term = 2n ** 60n;
    expect(() => messageFromWire(wire)).toThrow(WireDecodeError);
    expect(() => messageFromWire(create(RaftMessageSchema, { from: 1n, to: 2n, term: 1n }))).toThrow(
      WireDecodeError,
    );
  });
});

describe('snapshot chunks', () => {
  const snapshot = {
    metadata: {
      index: 50,
      term: 3,
      confState: { voters: [1, 2, 3], learners: [4] },
      addresses: new Map([[1, 'a:1']]),
    },
    data: Uint8Array.from({ length: 2500 }, (_, i) => i % 251),
  };
  const message = { type: 'InstallSnapshot' as const, from: 1, to: 2, term: 3, snapshot };

  it('splits into ordered chunks and reassembles exactly', () => {
    const chunks = chunkSnapshot(message, 1000);
    expect(chunks).toHaveLength(3);
    const assembler = new SnapshotAssembler(1 << 20);
    expect(assembler.accept(chunks[0]!)).toBeUndefined();
    expect(assembler.accept(chunks[1]!)).toBeUndefined();
    const done = assembler.accept(chunks[2]!);
    expect(done?.snapshot.data).toEqual(snapshot.data);
    expect(done?.snapshot.metadata).toEqual(snapshot.metadata);
  });

  it('sends an empty snapshot as one chunk', () => {
    const chunks = chunkSnapshot({ ...message, snapshot: { ...snapshot, data: new Uint8Array() } }, 1000);
    expect(chunks).toHaveLength(1);
    expect(new SnapshotAssembler(10).accept(chunks[0]!)?.snapshot.data.byteLength).toBe(0);
  });

  it('drops a transfer whose chunks arrive out of order, and refuses oversize snapshots', () => {
    const chunks = chunkSnapshot(message, 1000);
    const assembler = new SnapshotAssembler(1 << 20);
    assembler.accept(chunks[0]!);
    expect(assembler.accept(chunks[2]!)).toBeUndefined();
    expect(assembler.accept(chunks[1]!)).toBeUndefined();
    expect(() => new SnapshotAssembler(100).accept(chunks[0]!)).toThrow(/exceeds the limit/);
  });
});
