// Maps the core's messages to the wire (`regent.raft.v1.RaftMessage`) and back. Numbers on the core side are safe
// integers; on the wire they are uint64 bigints. Every decode checks the range (a peer cannot crash us with 2^64).
// InstallSnapshot is not mapped here: the transport chunks snapshots (see snapshot-chunks.ts).
import { create } from '@bufbuild/protobuf';
import {
  type LogEntry,
  LogEntrySchema,
  type RaftMessage,
  RaftMessageSchema,
  EntryType as WireEntryType,
} from '@regent/proto/raft';
import {
  type AppendEntriesMessage,
  type Entry,
  type EntryType,
  InvalidMessageError,
  type Message,
  type MessageType,
} from '@regent/raft';

export class WireDecodeError extends Error {
  override readonly name = 'WireDecodeError';
}

export function toBig(n: number): bigint {
  return BigInt(n);
}

export function toNum(b: bigint, what: string): number {
  if (b < 0n || b > BigInt(Number.MAX_SAFE_INTEGER)) throw new WireDecodeError(`${what} ${b} out of range`);
  return Number(b);
}

const entryTypeToWire: Record<number, WireEntryType> = {
  1: WireEntryType.NORMAL,
  2: WireEntryType.CONF_CHANGE,
  3: WireEntryType.NOOP,
};

export function entryToWire(e: Entry): LogEntry {
  return create(LogEntrySchema, {
    term: toBig(e.term),
    index: toBig(e.index),
    type: entryTypeToWire[e.type]!,
    data: e.data,
  });
}

export function entryFromWire(e: LogEntry): Entry {
  const type = e.type as number;
  if (type < 1 || type > 3) throw new WireDecodeError(`bad entry type ${e.type}`);
  return {
    term: toNum(e.term, 'entry term'),
    index: toNum(e.index, 'entry index'),
    type: type as EntryType,
    data: e.data,
  };
}

/** Encodes every message type except InstallSnapshot (chunked by the transport). */
export function messageToWire(m: Exclude<Message, { type: 'InstallSnapshot' }>): RaftMessage {
  const header = { from: toBig(m.from), to: toBig(m.to), term: toBig(m.term) };
  switch (m.type) {
    case 'VoteRequest':
      return create(RaftMessageSchema, {
        ...header,
        body: {
          case: 'voteRequest',
          value: {
            preVote: m.preVote,
            lastLogIndex: toBig(m.lastLogIndex),
            lastLogTerm: toBig(m.lastLogTerm),
            transfer: m.transfer,
          },
        },
      });
    case 'VoteResponse':
      return create(RaftMessageSchema, {
        ...header,
        body: { case: 'voteResponse', value: { preVote: m.preVote, granted: m.granted } },
      });
    case 'AppendEntries':
      return create(RaftMessageSchema, {
        ...header,
        body: {
          case: 'appendEntries',
          value: {
            prevLogIndex: toBig(m.prevLogIndex),
            prevLogTerm: toBig(m.prevLogTerm),
            entries: m.entries.map(entryToWire),
            leaderCommit: toBig(m.leaderCommit),
            readContext: toBig(m.readContext),
          },
        },
      });
    case 'AppendEntriesResponse':
      return create(RaftMessageSchema, {
        ...header,
        body: {
          case: 'appendEntriesResponse',
          value: {
            reject: m.reject,
            index: toBig(m.index),
            rejectHint: toBig(m.rejectHint),
            rejectHintTerm: toBig(m.rejectHintTerm),
            readContext: toBig(m.readContext),
          },
        },
      });
    case 'InstallSnapshotResponse':
      return create(RaftMessageSchema, {
        ...header,
        body: {
          case: 'installSnapshotResponse',
          value: { snapshotIndex: toBig(m.snapshotIndex), reject: m.reject, installed: !m.reject },
        },
      });
    case 'TimeoutNow':
      return create(RaftMessageSchema, { ...header, body: { case: 'timeoutNow', value: {} } });
    case 'ReadIndexRequest':
      return create(RaftMessageSchema, {
        ...header,
        body: { case: 'readIndexRequest', value: { readContext: toBig(m.readContext) } },
      });
    case 'ReadIndexResponse':
      return create(RaftMessageSchema, {
        ...header,
        body: {
          case: 'readIndexResponse',
          value: { readContext: toBig(m.readContext), readIndex: toBig(m.readIndex), reject: m.reject },
        },
      });
  }
}

/** Decodes a wire message other than an InstallSnapshot chunk. Throws WireDecodeError on bad input. */
export function messageFromWire(w: RaftMessage): Message {
  const h = { from: toNum(w.from, 'from'), to: toNum(w.to, 'to'), term: toNum(w.term, 'term') };
  const b = w.body;
  switch (b.case) {
    case 'voteRequest':
      return {
        ...h,
        type: 'VoteRequest',
        preVote: b.value.preVote,
        lastLogIndex: toNum(b.value.lastLogIndex, 'lastLogIndex'),
        lastLogTerm: toNum(b.value.lastLogTerm, 'lastLogTerm'),
        transfer: b.value.transfer,
      };
    case 'voteResponse':
      return { ...h, type: 'VoteResponse', preVote: b.value.preVote, granted: b.value.granted };
    case 'appendEntries': {
      const m: AppendEntriesMessage = {
        ...h,
        type: 'AppendEntries',
        prevLogIndex: toNum(b.value.prevLogIndex, 'prevLogIndex'),
        prevLogTerm: toNum(b.value.prevLogTerm, 'prevLogTerm'),
        entries: b.value.entries.map(entryFromWire),
        leaderCommit: toNum(b.value.leaderCommit, 'leaderCommit'),
        readContext: toNum(b.value.readContext, 'readContext'),
      };
      return m;
    }
    case 'appendEntriesResponse':
      return {
        ...h,
        type: 'AppendEntriesResponse',
        reject: b.value.reject,
        index: toNum(b.value.index, 'index'),
        rejectHint: toNum(b.value.rejectHint, 'rejectHint'),
        rejectHintTerm: toNum(b.value.rejectHintTerm, 'rejectHintTerm'),
        readContext: toNum(b.value.readContext, 'readContext'),
      };
    case 'installSnapshotResponse':
      return {
        ...h,
        type: 'InstallSnapshotResponse',
        snapshotIndex: toNum(b.value.snapshotIndex, 'snapshotIndex'),
        reject: b.value.reject,
      };
    case 'timeoutNow':
      return { ...h, type: 'TimeoutNow' };
    case 'readIndexRequest':
      return { ...h, type: 'ReadIndexRequest', readContext: toNum(b.value.readContext, 'readContext') };
    case 'readIndexResponse':
      return {
        ...h,
        type: 'ReadIndexResponse',
        readContext: toNum(b.value.readContext, 'readContext'),
        readIndex: toNum(b.value.readIndex, 'readIndex'),
        reject: b.value.reject,
      };
    case 'installSnapshot':
      throw new WireDecodeError('InstallSnapshot chunks are reassembled by the transport');
    default:
      throw new WireDecodeError('message without a body');
  }
}

export type { MessageType };
export { InvalidMessageError };
