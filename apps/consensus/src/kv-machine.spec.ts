// The kv state machine: sessions apply a retried put once; a background snapshot is the state at the moment it was
// taken, whatever is applied while it is encoded, and restores to exactly that state.
import { EntryType } from '@regent/raft';
import { describe, expect, it } from 'vitest';
import { createKvMachine, encodePut } from './kv-machine.js';

let index = 0;
const put = (key: string, value: string, clientId = '', sequence = 0n) => ({
  index: ++index,
  term: 1,
  type: EntryType.Normal,
  data: encodePut(key, new TextEncoder().encode(value), clientId, sequence),
});

const text = (bytes: Uint8Array | undefined) =>
  bytes === undefined ? undefined : new TextDecoder().decode(bytes);

describe('kv machine', () => {
  it('applies a retried session put once', () => {
    const m = createKvMachine();
    expect(m.apply(put('a', '1', 'c', 1n))).toMatchObject({ duplicate: false });
    expect(m.apply(put('a', '2', 'c', 1n))).toMatchObject({ duplicate: true });
    expect(text(m.get('a'))).toBe('1');
  });

  it('keeps a value received in a larger buffer as a copy, and one in its own buffer as it is', () => {
    const m = createKvMachine();
    const own = put('a', 'x'.repeat(256));
    m.apply(own);
    expect(m.get('a')!.buffer).toBe(own.data.buffer);
    // As a follower decodes them: the entries of one AppendEntries share one buffer (wire-decode.ts).
    const entries = Array.from({ length: 64 }, (_, i) => put(`k${i}`, 'y'.repeat(256)));
    const shared = new Uint8Array(entries.reduce((n, e) => n + e.data.byteLength, 0));
    let offset = 0;
    for (const e of entries) {
      shared.set(e.data, offset);
      m.apply({ ...e, data: shared.subarray(offset, offset + e.data.byteLength) });
      offset += e.data.byteLength;
    }
    expect(text(m.get('k5'))).toBe('y'.repeat(256));
    expect(m.get('k5')!.buffer.byteLength).toBe(256);
  });

  it('a background snapshot is the state when it was taken, across many parts, and restores to it', async () => {
    const m = createKvMachine();
    for (let i = 0; i < 10_000; i++) m.apply(put(`k${i}`, `v${i}`, `s${i % 7}`, BigInt(i + 1)));
    const pending = m.snapshotInBackground!();
    // Applied while the snapshot is being encoded: must not leak into it.
    m.apply(put('k0', 'changed'));
    m.apply(put('new', 'x'));
    m.apply(put('k1', 'retry', 's1', 2n));
    const bytes = await pending;
    const restored = createKvMachine();
    restored.restore(bytes, index);
    expect(restored.size()).toBe(10_000);
    expect(text(restored.get('k0'))).toBe('v0');
    expect(text(restored.get('k9999'))).toBe('v9999');
    expect(restored.get('new')).toBeUndefined();
    // Sessions came along: a put of session s6 with an old sequence is a duplicate.
    expect(restored.apply(put('z', 'late', 's6', 5n))).toMatchObject({ duplicate: true });
  });
  it('a background snapshot carries multi-byte keys and session ids, and restores to the synchronous one', async () => {
    const m = createKvMachine();
    const keys = ['ключ', '键-🔑', 'plain', 'é'.repeat(100)];
    for (const [i, k] of keys.entries()) m.apply(put(k, `value-${k}`, `сессия-${i}`, BigInt(i + 1)));
    const restored = createKvMachine();
    restored.restore(await m.snapshotInBackground!(), index);
    for (const k of keys) expect(text(restored.get(k))).toBe(`value-${k}`);
    expect(restored.apply(put('x', 'y', 'сессия-2', 3n))).toMatchObject({ duplicate: true });
    // The same state: the synchronous snapshot (keys sorted) of both is byte for byte the same.
    expect(Buffer.from(restored.snapshot()).equals(Buffer.from(m.snapshot()))).toBe(true);
  });
  it('serves reads and sizes from the overlay while a background snapshot is encoded, then merges it', async () => {
    const m = createKvMachine();
    for (let i = 0; i < 9_000; i++) m.apply(put(`k${i}`, `v${i}`));
    const pending = m.snapshotInBackground!();
    m.apply(put('k1', 'changed'));
    m.apply(put('fresh', 'x'));
    m.apply(put('fresh', 'y'));
    expect(text(m.get('k1'))).toBe('changed');
    expect(text(m.get('fresh'))).toBe('y');
    expect(text(m.get('k2'))).toBe('v2');
    expect(m.size()).toBe(9_001);
    // A synchronous snapshot meanwhile sees everything applied.
    const now = createKvMachine();
    now.restore(m.snapshot(), index);
    expect(text(now.get('fresh'))).toBe('y');
    const restored = createKvMachine();
    restored.restore(await pending, index);
    expect(text(restored.get('k1'))).toBe('v1');
    expect(restored.get('fresh')).toBeUndefined();
    // Merged: the next snapshot has the later writes.
    m.apply(put('after', 'z'));
    const next = createKvMachine();
    next.restore(await m.snapshotInBackground!(), index);
    expect([text(next.get('k1')), text(next.get('fresh')), text(next.get('after'))]).toEqual([
      'changed',
      'y',
      'z',
    ]);
    expect(next.size()).toBe(9_002);
  });

  it('a restore while a background snapshot is encoded wins over the writes before it', async () => {
    const m = createKvMachine();
    for (let i = 0; i < 9_000; i++) m.apply(put(`k${i}`, `v${i}`));
    const other = createKvMachine();
    other.apply(put('only', 'this'));
    const pending = m.snapshotInBackground!();
    m.apply(put('lost', 'x'));
    m.restore(other.snapshot(), index);
    await pending;
    expect(m.get('lost')).toBeUndefined();
    expect(m.get('k1')).toBeUndefined();
    expect(text(m.get('only'))).toBe('this');
    expect(m.size()).toBe(1);
  });
});
