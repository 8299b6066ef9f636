// InstallSnapshot on the wire: the core hands the transport a whole snapshot; it travels as ordered chunks of at
// most `chunkBytes` and is reassembled on the receiver before the core sees it. One transfer per sender at a time;
// a chunk out of order discards the partial transfer (the leader's core retries the snapshot later).
import { create } from '@bufbuild/protobuf';
import {
  type RaftMessage,
  RaftMessageSchema,
  type SnapshotMetadata as WireMetadata,
} from '@regent/proto/raft';
import type { InstallSnapshotMessage, Snapshot, SnapshotMetadata } from '@regent/raft';
import { toBig, toNum, WireDecodeError } from './codec.js';

export const SNAPSHOT_CHUNK_BYTES = 1024 * 1024;

export function metadataToWire(m: SnapshotMetadata): WireMetadata {
  const addresses: Record<string, string> = {};
  for (const [id, addr] of m.addresses) addresses[String(id)] = addr;
  return {
    $typeName: 'regent.raft.v1.SnapshotMetadata',
    index: toBig(m.index),
    term: toBig(m.term),
    confState: {
      $typeName: 'regent.raft.v1.ConfState',
      voters: m.confState.voters.map(toBig),
      learners: m.confState.learners.map(toBig),
    },
    addresses: addresses as never,
  };
}

export function metadataFromWire(w: WireMetadata | undefined): SnapshotMetadata {
  if (w === undefined) throw new WireDecodeError('snapshot chunk without metadata');
  const addresses = new Map<number, string>();
  for (const [id, addr] of Object.entries(w.addresses as Record<string, string>)) {
    addresses.set(toNum(BigInt(id), 'address node id'), addr);
  }
  return {
    index: toNum(w.index, 'snapshot index'),
    term: toNum(w.term, 'snapshot term'),
    confState: {
      voters: (w.confState?.voters ?? []).map((v) => toNum(v, 'voter')),
      learners: (w.confState?.learners ?? []).map((v) => toNum(v, 'learner')),
    },
    addresses,
  };
}

/** Splits an InstallSnapshot message into wire chunks (at least one, even for an empty snapshot). */
export function chunkSnapshot(m: InstallSnapshotMessage, chunkBytes = SNAPSHOT_CHUNK_BYTES): RaftMessage[] {
  const data = m.snapshot.data;
  const metadata = metadataToWire(m.snapshot.metadata);
  const out: RaftMessage[] = [];
  for (let offset = 0; offset === 0 || offset < data.byteLength; offset += chunkBytes) {
    const end = Math.min(data.byteLength, offset + chunkBytes);
    out.push(
      create(RaftMessageSchema, {
        from: toBig(m.from),
        to: toBig(m.to),
        term: toBig(m.term),
        body: {
          case: 'installSnapshot',
          value: {
            metadata,
            offset: BigInt(offset),
            data: data.subarray(offset, end),
            done: end >= data.byteLength,
            totalBytes: BigInt(data.byteLength),
          },
        },
      }),
    );
    if (end >= data.byteLength) break;
  }
  return out;
}

interface Partial {
  readonly index: number;
  readonly total: number;
  readonly buffer: Uint8Array;
  received: number;
}

/** Reassembles chunks per sender. Bounded: a transfer larger than `snapshotBytesMax` is refused. */
export class SnapshotAssembler {
  readonly #partials = new Map<number, Partial>();

  constructor(private readonly snapshotBytesMax: number) {}

  /** Returns the complete InstallSnapshot message once its last chunk arrived; undefined otherwise. */
  accept(w: RaftMessage): InstallSnapshotMessage | undefined {
    if (w.body.case !== 'installSnapshot') throw new WireDecodeError('not a snapshot chunk');
    const chunk = w.body.value;
    const from = toNum(w.from, 'from');
    const metadata = metadataFromWire(chunk.metadata);
    const total = toNum(chunk.totalBytes, 'snapshot totalBytes');
    const offset = toNum(chunk.offset, 'snapshot offset');
    if (total > this.snapshotBytesMax)
      throw new WireDecodeError(`snapshot of ${total} bytes exceeds the limit`);
    let partial = this.#partials.get(from);
    if (offset === 0) {
      partial = { index: metadata.index, total, buffer: new Uint8Array(total), received: 0 };
      this.#partials.set(from, partial);
    }
    if (partial === undefined || partial.index !== metadata.index || partial.received !== offset) {
      this.#partials.delete(from);
      return undefined;
    }
    if (offset + chunk.data.byteLength > total) throw new WireDecodeError('snapshot chunk beyond its total');
    partial.buffer.set(chunk.data, offset);
    partial.received += chunk.data.byteLength;
    if (!chunk.done) return undefined;
    this.#partials.delete(from);
    if (partial.received !== total) return undefined;
    const snapshot: Snapshot = { metadata, data: partial.buffer };
    return {
      type: 'InstallSnapshot',
      from,
      to: toNum(w.to, 'to'),
      term: toNum(w.term, 'term'),
      snapshot,
    };
  }
}
