// Decodes the Raft peer wire format on the hot path without protobuf-es reflection: a `StreamRequest` straight
// to core messages. protobuf-es (and codec.ts) stays the authority: every batch the fast path does not take is
// decoded by it, as before this module existed (wire-decode.spec.ts compares the two on any input).

import { fromBinary } from '@bufbuild/protobuf';
import { type RaftMessage, StreamRequestSchema } from '@regent/proto/raft';
import type {
  AppendEntriesMessage,
  AppendEntriesResponseMessage,
  Entry,
  EntryType,
  InstallSnapshotResponseMessage,
  Message,
  ReadIndexRequestMessage,
  ReadIndexResponseMessage,
  VoteRequestMessage,
  VoteResponseMessage,
} from '@regent/raft';
import { FAST_PATH_MISS, Reader } from './proto-wire.js';

/**
 * A decoded batch: core messages (`fast`), or, when the fast decoder did not take the batch, protobuf-es wire
 * messages for RaftRuntime.receive, exactly as before this codec existed (checks and errors of codec.ts).
 */
export type DecodedBatch =
  | { readonly group: string; readonly fast: true; readonly messages: readonly Message[] }
  | { readonly group: string; readonly fast: false; readonly messages: readonly RaftMessage[] };

/**
 * Decodes a `StreamRequest`. The fast path takes what protobuf-es and encodeStreamBatch write (fields in any
 * order); anything else in the batch (unknown fields, a field or oneof body repeated, a number beyond 2^53, an
 * entry type out of range, an InstallSnapshot chunk, malformed bytes) sends the whole batch to protobuf-es, which
 * decides as before: a malformed batch throws, a bad message is refused by RaftRuntime.receive.
 */
export function decodeStreamBatch(payload: Uint8Array): DecodedBatch {
  try {
    return decodeBatchFast(payload);
  } catch (error) {
    if (error !== FAST_PATH_MISS) throw error;
  }
  const request = fromBinary(StreamRequestSchema, payload);
  return { group: request.group, fast: false, messages: request.messages };
}

const TAG_GROUP = (1 << 3) | 2;
const TAG_MESSAGES = (2 << 3) | 2;

function decodeBatchFast(payload: Uint8Array): DecodedBatch {
  const r = new Reader(payload);
  const end = payload.byteLength;
  let group = '';
  const messages: Message[] = [];
  while (r.pos < end) {
    const tag = r.uint53(end);
    if (tag === TAG_MESSAGES) {
      const messageEnd = r.lenEnd(end);
      messages.push(decodeMessage(r, messageEnd));
    } else if (tag === TAG_GROUP) {
      group = r.string(end); // written twice, the last one wins (protobuf)
    } else {
      throw FAST_PATH_MISS;
    }
  }
  return { group, fast: true, messages };
}

/** Marks `tag`'s field as seen; a field seen twice, or a tag beyond the small fields used here, misses. */
function mark(seen: number, tag: number): number {
  if (tag >= 256) throw FAST_PATH_MISS;
  const bit = 1 << (tag >>> 3);
  if ((seen & bit) !== 0) throw FAST_PATH_MISS;
  return seen | bit;
}

type BodyDecoder = (r: Reader, end: number, from: number, to: number, term: number) => Message;

function decodeMessage(r: Reader, end: number): Message {
  let from = 0;
  let to = 0;
  let term = 0;
  let seen = 0;
  let decodeBody: BodyDecoder | undefined;
  let bodyStart = 0;
  let bodyEnd = 0;
  while (r.pos < end) {
    const tag = r.uint53(end);
    seen = mark(seen, tag);
    if (tag === 8) from = r.uint53(end);
    else if (tag === 16) to = r.uint53(end);
    else if (tag === 24) term = r.uint53(end);
    else {
      // A body: only one of them (a second one replaces or merges with the first in protobuf).
      decodeBody = bodyDecoders.get(tag);
      if (decodeBody === undefined || bodyEnd !== 0) throw FAST_PATH_MISS;
      bodyEnd = r.lenEnd(end);
      bodyStart = r.pos;
      r.pos = bodyEnd;
    }
  }
  if (decodeBody === undefined) throw FAST_PATH_MISS;
  r.pos = bodyStart;
  const message = decodeBody(r, bodyEnd, from, to, term);
  r.pos = end;
  return message;
}

function decodeVoteRequest(
  r: Reader,
  end: number,
  from: number,
  to: number,
  term: number,
): VoteRequestMessage {
  let preVote = false;
  let lastLogIndex = 0;
  let lastLogTerm = 0;
  let transfer = false;
  for (let seen = 0; r.pos < end; ) {
    const tag = r.uint53(end);
    seen = mark(seen, tag);
    if (tag === 8) preVote = r.bool(end);
    else if (tag === 16) lastLogIndex = r.uint53(end);
    else if (tag === 24) lastLogTerm = r.uint53(end);
    else if (tag === 32) transfer = r.bool(end);
    else throw FAST_PATH_MISS;
  }
  return { from, to, term, type: 'VoteRequest', preVote, lastLogIndex, lastLogTerm, transfer };
}

function decodeVoteResponse(
  r: Reader,
  end: number,
  from: number,
  to: number,
  term: number,
): VoteResponseMessage {
  let preVote = false;
  let granted = false;
  for (let seen = 0; r.pos < end; ) {
    const tag = r.uint53(end);
    seen = mark(seen, tag);
    if (tag === 8) preVote = r.bool(end);
    else if (tag === 16) granted = r.bool(end);
    else throw FAST_PATH_MISS;
  }
  return { from, to, term, type: 'VoteResponse', preVote, granted };
}

const TAG_ENTRIES = (3 << 3) | 2;

function decodeAppendEntries(
  r: Reader,
  end: number,
  from: number,
  to: number,
  term: number,
): AppendEntriesMessage {
  let prevLogIndex = 0;
  let prevLogTerm = 0;
  let leaderCommit = 0;
  let readContext = 0;
  const entries: DecodedEntry[] = [];
  let dataBytes = 0;
  for (let seen = 0; r.pos < end; ) {
    const tag = r.uint53(end);
    if (tag === TAG_ENTRIES) {
      const entry = decodeEntry(r, r.lenEnd(end));
      dataBytes += entry.data.byteLength;
      entries.push(entry);
      continue;
    }
    seen = mark(seen, tag);
    if (tag === 8) prevLogIndex = r.uint53(end);
    else if (tag === 16) prevLogTerm = r.uint53(end);
    else if (tag === 32) leaderCommit = r.uint53(end);
    else if (tag === 40) readContext = r.uint53(end);
    else throw FAST_PATH_MISS;
  }
  if (dataBytes > 0) copyEntryData(entries, dataBytes);
  return {
    from,
    to,
    term,
    type: 'AppendEntries',
    prevLogIndex,
    prevLogTerm,
    entries,
    leaderCommit,
    readContext,
  };
}

/** An entry whose data is, until copyEntryData, a view into the received batch. */
interface DecodedEntry extends Entry {
  data: Uint8Array;
}

/**
 * Entry data leaves the received batch: the log keeps entries (and a state machine may keep views of their data)
 * long after the batch is gone, and a view into it would pin the whole received chunk, other messages included.
 * One buffer per AppendEntries holds its entries' data back to back (a fresh ArrayBuffer per entry costs some
 * 2 µs, ten times the rest of decoding it); each entry's data is a view into that buffer, which so stays alive
 * while any entry of the message does. A state machine keeping data for good copies it (kv-machine.ts does).
 */
function copyEntryData(entries: DecodedEntry[], dataBytes: number): void {
  const buffer = new Uint8Array(dataBytes);
  let offset = 0;
  for (const entry of entries) {
    const length = entry.data.byteLength;
    if (length === 0) continue;
    buffer.set(entry.data, offset);
    entry.data = buffer.subarray(offset, offset + length);
    offset += length;
  }
}

function decodeEntry(r: Reader, end: number): DecodedEntry {
  let term = 0;
  let index = 0;
  let type = 0;
  let data: Uint8Array | undefined;
  for (let seen = 0; r.pos < end; ) {
    const tag = r.uint53(end);
    seen = mark(seen, tag);
    if (tag === 8) term = r.uint53(end);
    else if (tag === 16) index = r.uint53(end);
    else if (tag === 24) type = r.uint53(end);
    else if (tag === 34) data = r.bytesView(end);
    else throw FAST_PATH_MISS;
  }
  if (type < 1 || type > 3) throw FAST_PATH_MISS;
  return { term, index, type: type as EntryType, data: data ?? new Uint8Array(0) };
}

function decodeAppendEntriesResponse(
  r: Reader,
  end: number,
  from: number,
  to: number,
  term: number,
): AppendEntriesResponseMessage {
  let reject = false;
  let index = 0;
  let rejectHint = 0;
  let rejectHintTerm = 0;
  let readContext = 0;
  for (let seen = 0; r.pos < end; ) {
    const tag = r.uint53(end);
    seen = mark(seen, tag);
    if (tag === 8) reject = r.bool(end);
    else if (tag === 16) index = r.uint53(end);
    else if (tag === 24) rejectHint = r.uint53(end);
    else if (tag === 32) rejectHintTerm = r.uint53(end);
    else if (tag === 40) readContext = r.uint53(end);
    else throw FAST_PATH_MISS;
  }
  return {
    from,
    to,
    term,
    type: 'AppendEntriesResponse',
    reject,
    index,
    rejectHint,
    rejectHintTerm,
    readContext,
  };
}

/** As codec.ts, only `snapshot_index` and `reject` matter; `next_offset` and `installed` are read and ignored. */
function decodeInstallSnapshotResponse(
  r: Reader,
  end: number,
  from: number,
  to: number,
  term: number,
): InstallSnapshotResponseMessage {
  let snapshotIndex = 0;
  let reject = false;
  for (let seen = 0; r.pos < end; ) {
    const tag = r.uint53(end);
    seen = mark(seen, tag);
    if (tag === 8) snapshotIndex = r.uint53(end);
    else if (tag === 16) r.uint64(end);
    else if (tag === 24) reject = r.bool(end);
    else if (tag === 32) r.bool(end);
    else throw FAST_PATH_MISS;
  }
  return { from, to, term, type: 'InstallSnapshotResponse', snapshotIndex, reject };
}

function decodeTimeoutNow(r: Reader, end: number, from: number, to: number, term: number): Message {
  if (r.pos !== end) throw FAST_PATH_MISS;
  return { from, to, term, type: 'TimeoutNow' };
}

function decodeReadIndexRequest(
  r: Reader,
  end: number,
  from: number,
  to: number,
  term: number,
): ReadIndexRequestMessage {
  let readContext = 0;
  for (let seen = 0; r.pos < end; ) {
    const tag = r.uint53(end);
    seen = mark(seen, tag);
    if (tag === 8) readContext = r.uint53(end);
    else throw FAST_PATH_MISS;
  }
  return { from, to, term, type: 'ReadIndexRequest', readContext };
}

function decodeReadIndexResponse(
  r: Reader,
  end: number,
  from: number,
  to: number,
  term: number,
): ReadIndexResponseMessage {
  let readContext = 0;
  let readIndex = 0;
  let reject = false;
  for (let seen = 0; r.pos < end; ) {
    const tag = r.uint53(end);
    seen = mark(seen, tag);
    if (tag === 8) readContext = r.uint53(end);
    else if (tag === 16) readIndex = r.uint53(end);
    else if (tag === 24) reject = r.bool(end);
    else throw FAST_PATH_MISS;
  }
  return { from, to, term, type: 'ReadIndexResponse', readContext, readIndex, reject };
}

/** Body decoders by tag (field number, length-delimited). InstallSnapshot chunks (14) are not here: they miss. */
const bodyDecoders = new Map<number, BodyDecoder>([
  [(10 << 3) | 2, decodeVoteRequest],
  [(11 << 3) | 2, decodeVoteResponse],
  [(12 << 3) | 2, decodeAppendEntries],
  [(13 << 3) | 2, decodeAppendEntriesResponse],
  [(15 << 3) | 2, decodeInstallSnapshotResponse],
  [(16 << 3) | 2, decodeTimeoutNow],
  [(17 << 3) | 2, decodeReadIndexRequest],
  [(18 << 3) | 2, decodeReadIndexResponse],
]);
