// The test/benchmark key-value state machine: Put commands with client sessions (a retried command applies once).

import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Entry } from '@regent/raft';
import type { StateMachine } from '@regent/raft-runtime';
import { decodePutCommand, encodePutCommand } from './kv-codec.js';

export const KEY_BYTES_MAX = 256;
export const VALUE_BYTES_MAX = 64 * 1024;
const SESSIONS_MAX = 100_000;
/**
 * Keys encoded per turn of the event loop by a background snapshot. At 100,000 keys of 256 bytes a snapshot encoded
 * in one go held every node's loop for 120-180 ms at once (longer than an election timeout under load).
 */
const SNAPSHOT_KEYS_PER_TURN = 4096;

export interface KvMachine extends StateMachine {
  get(key: string): Uint8Array | undefined;
  size(): number;
}

/** Encodes a Put for the log (a `regent.consensus.v1.PutRequest`). */
export function encodePut(key: string, value: Uint8Array, clientId: string, sequence: bigint): Uint8Array {
  return encodePutCommand({ key, value, clientId, sequence });
}

/** A kept value may pin at most this much more than itself (and its own size again) in a larger buffer. */
const VIEW_SLACK_BYTES = 256;

/**
 * A value kept in the map must not pin a larger buffer for good. It is a view into its entry's data, which is a
 * view into one buffer per received AppendEntries on a follower (wire-decode.ts): copied then. A value that is most
 * of its buffer (a Put encoded on this node, an append of one entry) is kept as it is, saving an allocation.
 */
function ownValue(value: Uint8Array): Uint8Array {
  if (value.buffer.byteLength <= 2 * value.byteLength + VIEW_SLACK_BYTES) return value;
  return new Uint8Array(value); // a copy into its own buffer (never Buffer#slice, which is a view)
}

export function createKvMachine(): KvMachine {
  let data = new Map<string, Uint8Array>();
  let sessions = new Map<string, bigint>();
  // While a background snapshot reads `data`, writes go to `overlay` (copy on write: copying 100,000 keys per
  // snapshot cost more than encoding them); merged back when the snapshot is done. Keys are never deleted.
  let overlay: Map<string, Uint8Array> | undefined;
  let overlayNewKeys = 0;
  const merged = (): Map<string, Uint8Array> => {
    if (overlay === undefined) return data;
    const all = new Map(data);
    for (const [key, value] of overlay) all.set(key, value);
    return all;
  };
  return {
    apply: (entry: Entry) => {
      const put = decodePutCommand(entry.data);
      if (put.clientId !== '') {
        const last = sessions.get(put.clientId);
        if (last !== undefined && put.sequence <= last) return { index: entry.index, duplicate: true };
        sessions.delete(put.clientId);
        sessions.set(put.clientId, put.sequence);
        if (sessions.size > SESSIONS_MAX) sessions.delete(sessions.keys().next().value!);
      }
      const value = ownValue(put.value);
      if (overlay === undefined) data.set(put.key, value);
      else {
        if (!overlay.has(put.key) && !data.has(put.key)) overlayNewKeys++;
        overlay.set(put.key, value);
      }
      return { index: entry.index, duplicate: false };
    },
    snapshot: () => encodeSnapshot(merged(), sessions),
    // The state now: `data` frozen behind an overlay (values are never mutated, only replaced) and a copy of the
    // sessions, encoded over many turns.
    snapshotInBackground: () => {
      const base = merged();
      if (base !== data) {
        // A snapshot is still being encoded (the runtime takes one at a time; this is only a fallback).
        return encodeSnapshotInTurns(base, new Map(sessions), SNAPSHOT_KEYS_PER_TURN);
      }
      overlay = new Map();
      overlayNewKeys = 0;
      const done = (): void => {
        if (data !== base || overlay === undefined) return; // restored meanwhile: the overlay is gone already
        for (const [key, value] of overlay) data.set(key, value);
        overlay = undefined;
      };
      const encoding = encodeSnapshotInTurns(base, new Map(sessions), SNAPSHOT_KEYS_PER_TURN);
      encoding.then(done, done);
      return encoding;
    },
    restore: (bytes) => {
      ({ data, sessions } = decodeSnapshot(bytes));
      overlay = undefined;
    },
    get: (key) => overlay?.get(key) ?? data.get(key),
    size: () => data.size + (overlay === undefined ? 0 : overlayNewKeys),
  };
}

// Snapshot format: u32 count, then per key: u32 keyLen, key, u32 valueLen, value; then u32 sessions, per
// session: u32 idLen, id, u64 sequence. Little-endian.
function encodeSnapshot(data: Map<string, Uint8Array>, sessions: Map<string, bigint>): Uint8Array {
  const enc = new TextEncoder();
  let size = 8;
  const keys = [...data.keys()].sort();
  const encoded = keys.map((k) => enc.encode(k));
  for (const [i, k] of encoded.entries()) size += 8 + k.byteLength + data.get(keys[i]!)!.byteLength;
  const ids = [...sessions.keys()].map((id) => enc.encode(id));
  for (const id of ids) size += 12 + id.byteLength;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let o = 0;
  const u32 = (n: number): void => {
    view.setUint32(o, n, true);
    o += 4;
  };
  const bytes = (b: Uint8Array): void => {
    u32(b.byteLength);
    out.set(b, o);
    o += b.byteLength;
  };
  u32(keys.length);
  encoded.forEach((k, i) => {
    bytes(k);
    bytes(data.get(keys[i]!)!);
  });
  u32(ids.length);
  [...sessions.values()].forEach((seq, i) => {
    bytes(ids[i]!);
    view.setBigUint64(o, seq, true);
    o += 8;
  });
  return out;
}

/**
 * The snapshot format written over many turns of the event loop, `keysPerTurn` keys per turn, in the maps' order (not
 * sorted: any order restores the same state). The size is summed first and every key and value written straight
 * into one buffer: parts joined at the end cost a second copy of the whole state, and a TextEncoder allocation per
 * key (together a fifth of a leader's CPU at 100,000 keys of 256 bytes with a snapshot every 10,000 writes). The maps
 * must not change meanwhile, so callers pass copies.
 */
async function encodeSnapshotInTurns(
  data: ReadonlyMap<string, Uint8Array>,
  sessions: ReadonlyMap<string, bigint>,
  keysPerTurn: number,
): Promise<Uint8Array> {
  let size = 8;
  for (const [key, value] of data) size += 8 + Buffer.byteLength(key) + value.byteLength;
  for (const id of sessions.keys()) size += 12 + Buffer.byteLength(id);
  const out = Buffer.allocUnsafe(size);
  let o = out.writeUInt32LE(data.size, 0);
  let inTurn = 0;
  for (const [key, value] of data) {
    const keyBytes = out.write(key, o + 4);
    o = out.writeUInt32LE(keyBytes, o) + keyBytes;
    o = out.writeUInt32LE(value.byteLength, o);
    out.set(value, o);
    o += value.byteLength;
    if (++inTurn === keysPerTurn) {
      inTurn = 0;
      await nextTurn();
    }
  }
  o = out.writeUInt32LE(sessions.size, o);
  for (const [id, sequence] of sessions) {
    const idBytes = out.write(id, o + 4);
    o = out.writeUInt32LE(idBytes, o) + idBytes;
    o = out.writeBigUInt64LE(sequence, o);
  }
  if (o !== size) throw new Error(`kv snapshot sized ${size} bytes but wrote ${o}`);
  return out;
}

function decodeSnapshot(bytes: Uint8Array): { data: Map<string, Uint8Array>; sessions: Map<string, bigint> } {
  const dec = new TextDecoder();
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let o = 0;
  const u32 = (): number => {
    const n = view.getUint32(o, true);
    o += 4;
    return n;
  };
  const take = (): Uint8Array => {
    const n = u32();
    if (o + n > bytes.byteLength) throw new Error(`kv snapshot truncated at ${o}`);
    const b = bytes.slice(o, o + n);
    o += n;
    return b;
  };
  const data = new Map<string, Uint8Array>();
  const sessions = new Map<string, bigint>();
  if (bytes.byteLength === 0) return { data, sessions };
  for (let i = u32(); i > 0; i--) data.set(dec.decode(take()), take());
  for (let i = u32(); i > 0; i--) {
    const id = dec.decode(take());
    sessions.set(id, view.getBigUint64(o, true));
    o += 8;
  }
  return { data, sessions };
}
