// Encodes the Raft peer wire format on the hot path without protobuf-es reflection: core messages straight to
// `RaftMessage` bytes, joined into a `StreamRequest` per batch; the bytes are protobuf-es's (wire-encode.spec.ts).
// InstallSnapshot chunks are wire messages (snapshot-chunks.ts) encoded by protobuf-es.

import { toBinary } from '@bufbuild/protobuf';
import { type RaftMessage, RaftMessageSchema } from '@regent/proto/raft';
import type { Entry, Message } from '@regent/raft';
import {
  boolFieldSize,
  bytesFieldSize,
  lenFieldSize,
  uintFieldSize,
  utf8Encode,
  Writer,
} from './proto-wire.js';

/** Every message the transport encodes itself (InstallSnapshot travels as chunks, see snapshot-chunks.ts). */
export type OutboundMessage = Exclude<Message, { type: 'InstallSnapshot' }>;

interface BodyCodec<M extends OutboundMessage> {
  /** The field number of the body in `RaftMessage.body`. */
  readonly field: number;
  size(m: M): number;
  write(w: Writer, m: M): void;
}

type BodyCodecs = {
  readonly [T in OutboundMessage['type']]: BodyCodec<Extract<OutboundMessage, { type: T }>>;
};

const bodies: BodyCodecs = {
  VoteRequest: {
    field: 10,
    size: (m) =>
      boolFieldSize(1, m.preVote) +
      uintFieldSize(2, m.lastLogIndex) +
      uintFieldSize(3, m.lastLogTerm) +
      boolFieldSize(4, m.transfer),
    write: (w, m) => {
      w.boolField(1, m.preVote);
      w.uintField(2, m.lastLogIndex);
      w.uintField(3, m.lastLogTerm);
      w.boolField(4, m.transfer);
    },
  },
  VoteResponse: {
    field: 11,
    size: (m) => boolFieldSize(1, m.preVote) + boolFieldSize(2, m.granted),
    write: (w, m) => {
      w.boolField(1, m.preVote);
      w.boolField(2, m.granted);
    },
  },
  AppendEntries: {
    field: 12,
    size: (m) => {
      let size = uintFieldSize(1, m.prevLogIndex) + uintFieldSize(2, m.prevLogTerm);
      for (const e of m.entries) size += lenFieldSize(3, entrySize(e));
      return size + uintFieldSize(4, m.leaderCommit) + uintFieldSize(5, m.readContext);
    },
    write: (w, m) => {
      w.uintField(1, m.prevLogIndex);
      w.uintField(2, m.prevLogTerm);
      for (const e of m.entries) {
        w.lenHeader(3, entrySize(e));
        w.uintField(1, e.term);
        w.uintField(2, e.index);
        w.uintField(3, e.type);
        w.bytesField(4, e.data);
      }
      w.uintField(4, m.leaderCommit);
      w.uintField(5, m.readContext);
    },
  },
  AppendEntriesResponse: {
    field: 13,
    size: (m) =>
      boolFieldSize(1, m.reject) +
      uintFieldSize(2, m.index) +
      uintFieldSize(3, m.rejectHint) +
      uintFieldSize(4, m.rejectHintTerm) +
      uintFieldSize(5, m.readContext),
    write: (w, m) => {
      w.boolField(1, m.reject);
      w.uintField(2, m.index);
      w.uintField(3, m.rejectHint);
      w.uintField(4, m.rejectHintTerm);
      w.uintField(5, m.readContext);
    },
  },
  // As codec.ts: `installed` is the negation of `reject`; `next_offset` stays 0.
  InstallSnapshotResponse: {
    field: 15,
    size: (m) => uintFieldSize(1, m.snapshotIndex) + boolFieldSize(3, m.reject) + boolFieldSize(4, !m.reject),
    write: (w, m) => {
      w.uintField(1, m.snapshotIndex);
      w.boolField(3, m.reject);
      w.boolField(4, !m.reject);
    },
  },
  TimeoutNow: { field: 16, size: () => 0, write: () => {} },
  ReadIndexRequest: {
    field: 17,
    size: (m) => uintFieldSize(1, m.readContext),
    write: (w, m) => w.uintField(1, m.readContext),
  },
  ReadIndexResponse: {
    field: 18,
    size: (m) => uintFieldSize(1, m.readContext) + uintFieldSize(2, m.readIndex) + boolFieldSize(3, m.reject),
    write: (w, m) => {
      w.uintField(1, m.readContext);
      w.uintField(2, m.readIndex);
      w.boolField(3, m.reject);
    },
  },
};

function entrySize(e: Entry): number {
  if (e.type < 1 || e.type > 3) throw new Error(`entry ${e.index} has no wire type for ${e.type}`);
  return (
    uintFieldSize(1, e.term) +
    uintFieldSize(2, e.index) +
    uintFieldSize(3, e.type) +
    bytesFieldSize(4, e.data.length)
  );
}

/**
 * The output buffers live only until their batch is written to the stream, so they come from Node's allocator:
 * pooled below 4 KiB (a fresh ArrayBuffer costs some 2 µs, more than encoding a small message) and not zeroed
 * (every byte is written: Writer.finish asserts the buffer was filled exactly).
 */
function transientBuffer(size: number): Uint8Array {
  return Buffer.allocUnsafe(size);
}

/** The `RaftMessage` bytes of a core message (what `toBinary(RaftMessageSchema, messageToWire(m))` gives). */
export function encodeRaftMessage(m: OutboundMessage): Uint8Array {
  const body = bodies[m.type] as BodyCodec<OutboundMessage>;
  const bodyBytes = body.size(m);
  const w = new Writer(
    transientBuffer(
      uintFieldSize(1, m.from) +
        uintFieldSize(2, m.to) +
        uintFieldSize(3, m.term) +
        lenFieldSize(body.field, bodyBytes),
    ),
  );
  w.uintField(1, m.from);
  w.uintField(2, m.to);
  w.uintField(3, m.term);
  w.lenHeader(body.field, bodyBytes);
  body.write(w, m);
  return w.finish();
}

/** One message of a batch: `RaftMessage` bytes from encodeRaftMessage, or a wire message (a snapshot chunk). */
export type BatchItem = Uint8Array | RaftMessage;

/** The `StreamRequest` bytes of a batch (what protobuf-es gives for the same group and messages). */
export function encodeStreamBatch(group: string, items: readonly BatchItem[]): Uint8Array {
  const groupBytes = utf8Encode(group);
  const encoded = items.map((item) =>
    item instanceof Uint8Array ? item : toBinary(RaftMessageSchema, item),
  );
  let size = bytesFieldSize(1, groupBytes.byteLength);
  for (const e of encoded) size += lenFieldSize(2, e.byteLength);
  const w = new Writer(transientBuffer(size));
  w.bytesField(1, groupBytes);
  for (const e of encoded) {
    w.lenHeader(2, e.byteLength);
    w.raw(e);
  }
  return w.finish();
}
