// Decoder fuzz of controller snapshots: random and mutated bytes through `decodeSnapshot`.
//
// What is verified for every input:
// - decodeSnapshot either throws SnapshotError (no other error type: no RangeError, TypeError or AssertionError
//   escapes), or returns a state;
// - a returned state satisfies the invariants (encodeSnapshot asserts them) and is a fixed point of
//   encode∘decode (re-decoding its encoding gives the same bytes again);
// - a returned state is faithful to the bytes: the snapshot message protobuf itself reads from the input equals,
//   field by field, the message the state re-encodes to. So decoding drops nothing protobuf read and invents
//   nothing; the only differences allowed between input and re-encoding are those protobuf's own reading erases:
//   unknown fields, non-minimal varints, field order, repeated occurrences of a singular field (last one wins) and
//   map entry order; plus the decoder's own reading of an absent sync_state_set as the empty set at epoch 0.
//   Those inputs are counted as "normalized".
// An input that decodes to a different but valid state and re-encodes to exactly itself is a well-formed snapshot
// of another state: nothing in a protobuf message can tell it from the original. Those are counted as
// "another valid state"; the snapshot file's CRC-32C (libs/raft-storage, see its snapshot fuzz) is what rejects
// such damage on disk, and a snapshot received from the leader is carried in CRC-checked chunks.
import { create, equals, fromBinary, toJson } from '@bufbuild/protobuf';
import { SyncStateSetSchema } from '@regent/proto/common';
import { PolicyConfigSchema } from '@regent/proto/election';
import { ControllerSnapshotSchema } from '@regent/proto/state';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeSnapshot, encodeSnapshot, SnapshotError } from './snapshot.js';
import { cluster, commands, Harness } from './testing.js';

/** A state with every kind of content: groups with masters and audit, sessions, config and both policy maps. */
function richSnapshotBytes(): Uint8Array {
  const h = new Harness();
  h.registerGroup('a', 3);
  h.registerGroup('b', 2);
  h.registerGroup('c', 1, 'OtherCluster');
  h.submit(commands.electMaster('a', 1n));
  h.submit(commands.electMaster('b', 2n));
  h.submit(
    commands.alterSyncStateSet('a', {
      masterBrokerId: 1n,
      masterEpoch: 1,
      brokerIds: [1n, 2n, 3n],
      epoch: 1,
    }),
  );
  h.submit(
    commands.updateControllerConfig({ enableElectUncleanMaster: 'true', electMasterMaxRetryCount: '5' }),
  );
  h.submit(
    commands.setElectionPolicy(
      cluster,
      '',
      create(PolicyConfigSchema, { policy: { case: 'zoneAware', value: { zoneOrder: ['z1', 'z2'] } } }),
    ),
  );
  h.submit(
    commands.setElectionPolicy(
      cluster,
      'a',
      create(PolicyConfigSchema, { policy: { case: 'maxLag', value: { maxLagBytes: 4096n } } }),
    ),
  );
  h.submit(commands.applyBrokerId('d', 1n, 'd-1:10911;1'), { clientId: 'gw-1', sequence: 1n });
  h.submit(commands.applyBrokerId('e', 1n, 'e-1:10911;1'), { clientId: 'gw-2', sequence: 4n });
  const bytes = encodeSnapshot(h.state);
  const snapshot = fromBinary(ControllerSnapshotSchema, bytes);
  // The fixture must exercise every part of the decoder.
  expect(snapshot.groups.length).toBeGreaterThanOrEqual(4);
  expect(snapshot.groups.some((g) => g.audit.length > 0 && g.masterBrokerId !== undefined)).toBe(true);
  expect(snapshot.sessions.length).toBe(2);
  expect(Object.keys(snapshot.config).length).toBe(2);
  expect(Object.keys(snapshot.clusterPolicies).length).toBe(1);
  expect(Object.keys(snapshot.groupPolicies).length).toBe(1);
  return bytes;
}

const original = richSnapshotBytes();

type Verdict = 'refused' | 'unchanged' | 'another valid state' | 'normalized';

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && a.every((v, i) => v === b[i]);
}

/** The verdict on one input; throws (failing the property) on anything the file comment rules out. */
function judge(bytes: Uint8Array): Verdict {
  let state: ReturnType<typeof decodeSnapshot>;
  try {
    state = decodeSnapshot(bytes);
  } catch (error) {
    if (error instanceof SnapshotError) return 'refused';
    throw new Error(
      `decodeSnapshot threw ${(error as Error).name}, not SnapshotError: ${(error as Error).message}`,
    );
  }
  const encoded = encodeSnapshot(state);
  expect(encodeSnapshot(decodeSnapshot(encoded)), 're-encoding is not a fixed point').toEqual(encoded);
  const read = fromBinary(ControllerSnapshotSchema, bytes);
  // The decoder's one normalization of its own: a group without sync_state_set has the empty set at epoch 0.
  for (const group of read.groups) group.syncStateSet ??= create(SyncStateSetSchema);
  const kept = fromBinary(ControllerSnapshotSchema, encoded);
  if (!equals(ControllerSnapshotSchema, read, kept)) {
    const a = JSON.stringify(toJson(ControllerSnapshotSchema, read));
    const b = JSON.stringify(toJson(ControllerSnapshotSchema, kept));
    let i = 0;
    while (i < a.length && a[i] === b[i]) i++;
    throw new Error(
      `the decoded state differs from what the bytes say at …${a.slice(Math.max(0, i - 150), i + 100)}\n vs …${b.slice(Math.max(0, i - 150), i + 100)}`,
    );
  }
  if (!sameBytes(encoded, bytes)) return 'normalized';
  return sameBytes(bytes, original) ? 'unchanged' : 'another valid state';
}

const byteArb = fc.integer({ min: 0, max: 255 });
const mutation = fc.oneof(
  fc.record({
    kind: fc.constant('flip' as const),
    flips: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 8 }),
  }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    bytes: fc.array(byteArb, { minLength: 1, maxLength: 16 }),
  }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 32 }) }),
  fc.record({
    kind: fc.constant('duplicate' as const),
    at: fc.nat(),
    length: fc.integer({ min: 1, max: 64 }),
  }),
  fc.record({ kind: fc.constant('append-copy' as const) }),
  fc.record({ kind: fc.constant('random' as const), bytes: fc.array(byteArb, { maxLength: 400 }) }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function mutate(bytes: Uint8Array, m: Mutation): Uint8Array {
  const n = bytes.byteLength;
  switch (m.kind) {
    case 'flip': {
      const out = bytes.slice();
      for (const [position, mask] of m.flips) out[position % n]! ^= mask;
      return out;
    }
    case 'truncate':
      return bytes.slice(0, m.at % n);
    case 'insert': {
      const at = m.at % (n + 1);
      return Uint8Array.from([...bytes.subarray(0, at), ...m.bytes, ...bytes.subarray(at)]);
    }
    case 'delete': {
      const at = m.at % n;
      return Uint8Array.from([...bytes.subarray(0, at), ...bytes.subarray(at + m.length)]);
    }
    case 'duplicate': {
      const at = m.at % n;
      const piece = bytes.subarray(at, at + m.length);
      return Uint8Array.from([...bytes.subarray(0, at), ...piece, ...bytes.subarray(at)]);
    }
    case 'append-copy':
      // Protobuf merges concatenated messages: every group and session appears twice.
      return Uint8Array.from([...bytes, ...bytes]);
    case 'random':
      return Uint8Array.from(m.bytes);
  }
}

describe('controller snapshot decoder fuzz', () => {
  it('mutated snapshots are refused with SnapshotError or decode faithfully (property)', () => {
    const verdicts = new Map<Verdict, number>();
    fc.assert(
      fc.property(mutation, (m) => {
        const verdict = judge(mutate(original, m));
        verdicts.set(verdict, (verdicts.get(verdict) ?? 0) + 1);
      }),
      { numRuns: 3000 },
    );
    // Both outcomes must actually occur, or the property says little.
    expect(verdicts.get('refused') ?? 0).toBeGreaterThan(100);
    expect((verdicts.get('normalized') ?? 0) + (verdicts.get('another valid state') ?? 0)).toBeGreaterThan(
      10,
    );
  });

  it('every single damaged byte is refused or decodes faithfully', () => {
    const verdicts = new Map<Verdict, number>();
    for (let offset = 0; offset < original.byteLength; offset++) {
      for (const mask of [0x01, 0x80, 0xff]) {
        const damaged = original.slice();
        damaged[offset]! ^= mask;
        const verdict = judge(damaged);
        verdicts.set(verdict, (verdicts.get(verdict) ?? 0) + 1);
      }
    }
    expect(verdicts.get('refused') ?? 0).toBeGreaterThan(0);
  });

  it('every truncation is refused or decodes faithfully', () => {
    for (let cut = 0; cut < original.byteLength; cut++) judge(original.slice(0, cut));
  });
});
