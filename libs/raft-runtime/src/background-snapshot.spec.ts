// A state machine with snapshotInBackground: the runtime captures the state at the snapshot's index, keeps applying
// entries while the encoding is in progress, and saves the snapshot as of that index once it is done.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bootstrapSnapshot, type Entry } from '@regent/raft';
import { openFileStorage } from '@regent/raft-storage';
import { waitFor } from '@regent/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { RaftRuntime, type StateMachine } from './runtime.js';
import { createConnectPeerTransport } from './transport.js';

const root = mkdtempSync(join(tmpdir(), 'raft-background-snapshot-'));
let runtime: RaftRuntime | undefined;
afterEach(async () => {
  await runtime?.stop();
  runtime = undefined;
  rmSync(root, { recursive: true, force: true });
});

const text = new TextEncoder();
const encode = (list: readonly string[]): Uint8Array => text.encode(JSON.stringify(list));

/** A list machine whose background snapshots wait for the test to release them. */
function gatedMachine() {
  const applied: string[] = [];
  const pending: { list: Uint8Array; release: () => void }[] = [];
  let syncSnapshots = 0;
  const machine: StateMachine = {
    apply: (entry: Entry) => applied.push(new TextDecoder().decode(entry.data)),
    snapshot: () => {
      syncSnapshots += 1;
      return encode(applied);
    },
    snapshotInBackground: () => {
      const list = encode(applied); // captured at the call
      return new Promise((resolve) => pending.push({ list, release: () => resolve(list) }));
    },
    restore: () => {},
  };
  return { machine, applied, pending, syncSnapshots: () => syncSnapshots };
}

describe('RaftRuntime with a background snapshot', () => {
  it('keeps applying while the snapshot encodes, and saves it as of the index it was taken at', async () => {
    const gated = gatedMachine();
    const storage = openFileStorage({
      dir: join(root, 'n1'),
      bootstrap: bootstrapSnapshot({
        voters: [1],
        addresses: new Map([[1, '127.0.0.1:1']]),
        data: encode([]),
      }),
    });
    runtime = new RaftRuntime({
      raft: { id: 1, random: { nextInt: () => 0 }, electionTimeoutTicks: 3 },
      storage,
      stateMachine: gated.machine,
      tickMs: 5,
      snapshotEveryEntries: 5,
      snapshotKeepEntries: 0,
      createTransport: (events) =>
        createConnectPeerTransport({ group: 't', selfId: 1, peers: new Map(), events }),
    });
    runtime.start();
    const node = runtime;
    await waitFor(() => node.isLeader && node.node.basicStatus().leaderBarrierCommitted, {
      what: 'leadership',
    });
    for (let i = 0; i < 5; i++) await node.propose(text.encode(`a${i}`)).applied;
    await waitFor(() => gated.pending.length === 1, { what: 'a background snapshot to start' });
    const taken = gated.pending[0]!;
    const takenAt = JSON.parse(new TextDecoder().decode(taken.list)) as string[];
    // Five entries since the bootstrap snapshot: the election's no-op and a0..a3.
    expect(takenAt).toEqual(['a0', 'a1', 'a2', 'a3']);
    // The encoding is still in progress: entries keep being applied.
    for (let i = 0; i < 3; i++) await node.propose(text.encode(`b${i}`)).applied;
    expect(gated.applied.slice(-3)).toEqual(['b0', 'b1', 'b2']);
    expect(runtime.snapshotIndex).toBe(1);
    taken.release();
    await waitFor(() => node.snapshotIndex > 1, { what: 'the snapshot to be saved' });
    const saved = storage.snapshot();
    expect(JSON.parse(new TextDecoder().decode(saved.data))).toEqual(takenAt);
    // The index is the one the state was captured at: bootstrap (1), no-op (2), a0..a3 (3..6).
    expect(saved.metadata.index).toBe(6);
    expect(storage.lastIndex()).toBe(10); // a4 and b0..b2 came after it
    expect(gated.syncSnapshots()).toBe(0);

    // Enough entries applied while a snapshot encodes, then no more writes: the next one starts when it is done.
    await waitFor(() => gated.pending.length === 1 && node.snapshotIndex === 6, { what: 'quiet' });
    for (let i = 0; i < 5; i++) await node.propose(text.encode(`c${i}`)).applied;
    await waitFor(() => gated.pending.length === 2, { what: 'a second background snapshot' });
    for (let i = 0; i < 5; i++) await node.propose(text.encode(`d${i}`)).applied;
    expect(gated.pending).toHaveLength(2);
    gated.pending[1]!.release();
    await waitFor(() => gated.pending.length === 3, {
      what: 'a third snapshot, with no write after the second',
    });
    gated.pending[2]!.release();
    await waitFor(() => node.snapshotIndex === storage.lastIndex(), {
      what: 'the third snapshot to be saved',
    });
  });
});
