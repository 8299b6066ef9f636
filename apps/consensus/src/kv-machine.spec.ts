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
});
