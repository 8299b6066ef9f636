import { create, toBinary } from '@bufbuild/protobuf';
import { PolicyConfigSchema } from '@regent/proto/election';
import { ControllerSnapshotSchema } from '@regent/proto/state';
import fc from 'fast-check';
import { applyCommand } from './apply.js';
import { createHistoryChecker } from './invariants.js';
import { decodeSnapshot, encodeSnapshot, SnapshotError, snapshotOf, snapshotParts } from './snapshot.js';
import { cloneState, createControllerState } from './state.js';
import { commands, Harness } from './testing.js';

const groupNames = ['a', 'b', 'c'] as const;
const policy = create(PolicyConfigSchema, { policy: { case: 'zoneAware', value: { zoneOrder: ['z1'] } } });

/** One step of a random scenario: a command (some with a session, some retried) or a liveness change. */
type Op =
  | { kind: 'add'; group: number }
  | { kind: 'apply'; group: number; id: number; code: number }
  | { kind: 'register'; group: number; id: number; host: number }
  | { kind: 'heartbeat'; group: number; id: number; epoch: number; offset: bigint }
  | { kind: 'advance'; ms: number }
  | { kind: 'elect'; group: number; id: number }
  | { kind: 'adminElect'; group: number; id: number | undefined }
  | { kind: 'controllerElect'; group: number }
  | { kind: 'alter'; group: number; ids: number[] }
  | { kind: 'clean'; group: number; ids: number[]; living: boolean }
  | { kind: 'config'; unclean: boolean }
  | { kind: 'policy'; group: number | undefined; set: boolean }
  | { kind: 'session'; client: number; retry: boolean; group: number; id: number };

const group = fc.integer({ min: 0, max: groupNames.length - 1 });
const id = fc.integer({ min: 1, max: 5 });
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('add' as const), group }) },
  fc.record({ kind: fc.constant('apply' as const), group, id, code: fc.integer({ min: 0, max: 2 }) }),
  fc.record({ kind: fc.constant('register' as const), group, id, host: fc.integer({ min: 0, max: 2 }) }),
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('heartbeat' as const),
      group,
      id,
      epoch: fc.integer({ min: -1, max: 4 }),
      offset: fc.bigInt({ min: -1n, max: 2n ** 62n }),
    }),
  },
  fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 15_000 }) }),
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('elect' as const), group, id }) },
  fc.record({ kind: fc.constant('adminElect' as const), group, id: fc.option(id, { nil: undefined }) }),
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('controllerElect' as const), group }) },
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant('alter' as const), group, ids: fc.array(id, { maxLength: 4 }) }),
  },
  fc.record({
    kind: fc.constant('clean' as const),
    group,
    ids: fc.array(id, { maxLength: 2 }),
    living: fc.boolean(),
  }),
  fc.record({ kind: fc.constant('config' as const), unclean: fc.boolean() }),
  fc.record({
    kind: fc.constant('policy' as const),
    group: fc.option(group, { nil: undefined }),
    set: fc.boolean(),
  }),
  fc.record({
    kind: fc.constant('session' as const),
    client: fc.integer({ min: 0, max: 2 }),
    retry: fc.boolean(),
    group,
    id,
  }),
);

/** Runs a scenario on a harness; every step goes through the handlers, the log and apply. */
function run(h: Harness, ops: readonly Op[], afterEach: () => void = () => {}): void {
  const sequences = [0n, 0n, 0n];
  for (const o of ops) {
    step(h, o, sequences);
    afterEach();
  }
}

function step(h: Harness, o: Op, sequences: bigint[]): void {
  const name = 'group' in o && o.group !== undefined ? (groupNames[o.group] ?? 'a') : 'a';
  const current = h.state.groups.get(name);
  switch (o.kind) {
    case 'add': {
      const next = h.submit(commands.getNextBrokerId(name));
      if (next.reply.case !== 'getNextBrokerId') return;
      const brokerId = next.reply.value.nextBrokerId;
      h.submit(commands.applyBrokerId(name, brokerId, `${name}-${brokerId}:1;0`));
      h.submit(commands.registerBroker(name, brokerId, `${name}-${brokerId}:1`));
      h.heartbeat(name, brokerId);
      return;
    }
    case 'apply':
      h.submit(commands.applyBrokerId(name, BigInt(o.id), `h${o.code}:1;${o.code}`));
      return;
    case 'register':
      h.submit(commands.registerBroker(name, BigInt(o.id), `h${o.host}:1`));
      return;
    case 'heartbeat':
      h.heartbeat(name, BigInt(o.id), { epoch: o.epoch, maxOffset: o.offset });
      return;
    case 'advance':
      h.advance(o.ms);
      return;
    case 'elect':
      h.submit(commands.electMaster(name, BigInt(o.id)));
      return;
    case 'adminElect':
      h.submit(commands.adminElectMaster(name, o.id === undefined ? undefined : BigInt(o.id)));
      return;
    case 'controllerElect':
      if (current !== undefined) h.electByController(name);
      return;
    case 'alter': {
      const master = current?.masterBrokerId ?? 1n;
      const ids = [master, ...o.ids.map(BigInt)];
      h.submit(
        commands.alterSyncStateSet(name, {
          masterBrokerId: master,
          masterEpoch: current?.masterEpoch ?? 0,
          brokerIds: ids,
          epoch: current?.syncStateSetEpoch ?? 0,
        }),
      );
      return;
    }
    case 'clean':
      h.submit(commands.cleanBrokerData(name, o.ids.map(BigInt), o.living));
      return;
    case 'config':
      h.submit(commands.updateControllerConfig({ enableElectUncleanMaster: String(o.unclean) }));
      return;
    case 'policy':
      h.submit(
        commands.setElectionPolicy(
          'DefaultCluster',
          o.group === undefined ? '' : name,
          o.set ? policy : undefined,
        ),
      );
      return;
    case 'session': {
      const clientId = `client-${o.client}`;
      if (!o.retry || sequences[o.client] === 0n) sequences[o.client] = (sequences[o.client] ?? 0n) + 1n;
      const sequence = sequences[o.client] ?? 1n;
      h.submit(commands.applyBrokerId(name, BigInt(o.id), `s${o.client}:1;${sequence}`), {
        clientId,
        sequence,
      });
      return;
    }
  }
}

const limits = {
  groupsMax: 3,
  replicasPerGroupMax: 4,
  auditRecordsPerGroupMax: 3,
  sessionsMax: 2,
  clusterPoliciesMax: 2,
  groupPoliciesMax: 2,
};
const scenario = fc.array(op, { minLength: 1, maxLength: 80, size: 'max' });

/** What the random scenarios reached, so the properties are known not to hold vacuously. */
const reached = { policyElections: 0, masterCleared: 0, removedGroups: 0, sessions: 0, runs: 0 };

afterAll(() => {
  // Each property runs at least 150 scenarios; each kind of history must show up in a good share of them.
  expect(reached.runs).toBeGreaterThanOrEqual(150);
  expect(reached.policyElections).toBeGreaterThan(reached.runs / 20);
  expect(reached.masterCleared).toBeGreaterThan(reached.runs / 40);
  expect(reached.removedGroups).toBeGreaterThan(reached.runs / 20);
  expect(reached.sessions).toBeGreaterThan(reached.runs / 10);
});

function tally(h: Harness): void {
  reached.runs += 1;
  const audits = [...h.state.groups.values()].flatMap((g) => g.audit);
  if (audits.some((a) => a.policyName === 'test-reference' && a.chosenBrokerId !== undefined))
    reached.policyElections += 1;
  if (
    h.log.some((e) =>
      e.events.some((ev) => ev.event.case === 'electMaster' && !ev.event.value.newMasterElected),
    )
  )
    reached.masterCleared += 1;
  if (h.log.some((e) => e.events.some((ev) => ev.event.case === 'cleanBrokerData')))
    reached.removedGroups += 1;
  if (h.state.sessions.size > 0) reached.sessions += 1;
}

describe('snapshot', () => {
  it('round-trips exactly for random command sequences (property)', () => {
    fc.assert(
      fc.property(scenario, (ops) => {
        const h = new Harness({ limits });
        run(h, ops);
        tally(h);
        const bytes = encodeSnapshot(h.state);
        const restored = decodeSnapshot(bytes, limits);
        expect(encodeSnapshot(restored)).toEqual(bytes);
        expect(restored).toEqual(h.state);
      }),
      { numRuns: 200 },
    );
  });

  it('is deterministic: the same commands, or a replay of the log, give the same bytes (property)', () => {
    fc.assert(
      fc.property(scenario, fc.nat(), (ops, cut) => {
        const first = new Harness({ limits });
        const second = new Harness({ limits });
        run(first, ops);
        run(second, ops);
        const bytes = encodeSnapshot(first.state);
        expect(encodeSnapshot(second.state)).toEqual(bytes);
        // A follower replays the log; another restores a snapshot taken part-way and replays the rest.
        const follower = createControllerState(limits);
        const split = first.log.length === 0 ? 0 : cut % (first.log.length + 1);
        for (const [i, entry] of first.log.entries()) applyCommand(follower, entry, i + 1, 1);
        let restored = createControllerState(limits);
        for (const [i, entry] of first.log.slice(0, split).entries()) applyCommand(restored, entry, i + 1, 1);
        restored = decodeSnapshot(encodeSnapshot(restored), limits);
        for (const [i, entry] of first.log.slice(split).entries())
          applyCommand(restored, entry, split + i + 1, 1);
        expect(encodeSnapshot(follower)).toEqual(bytes);
        expect(encodeSnapshot(restored)).toEqual(bytes);
      }),
      { numRuns: 150 },
    );
  });

  it('keeps the safety invariants after every step of random command sequences (property)', () => {
    fc.assert(
      fc.property(scenario, (ops) => {
        const h = new Harness({ limits });
        const checker = createHistoryChecker();
        run(h, ops, () => expect(checker.observe(h.state)).toEqual([]));
      }),
      { numRuns: 200 },
    );
  });

  it('in parts: the concatenated parts are the snapshot as of the call, whatever happens after it (property)', () => {
    fc.assert(
      fc.property(scenario, scenario, fc.integer({ min: 1, max: 4 }), (before, after, groupsPerPart) => {
        const h = new Harness({ limits });
        run(h, before);
        const bytes = encodeSnapshot(h.state);
        const parts = snapshotParts(h.state, groupsPerPart);
        run(h, after); // the state moves on while the parts are still being encoded
        const encoded = [...parts];
        const groupCount = decodeSnapshot(bytes, limits).groups.size;
        expect(encoded).toHaveLength(Math.ceil(groupCount / groupsPerPart) + 1);
        expect(Buffer.concat(encoded)).toEqual(Buffer.from(bytes));
      }),
      { numRuns: 150 },
    );
  });

  it('orders groups, sessions and map keys, whatever the insertion order', () => {
    const h = new Harness();
    h.registerGroup('b', 1);
    h.registerGroup('a', 1);
    h.submit(commands.setElectionPolicy('z', '', policy));
    h.submit(commands.setElectionPolicy('y', '', policy));
    const snapshot = snapshotOf(h.state);
    expect(snapshot.groups.map((g) => g.brokerName)).toEqual(['a', 'b']);
    expect(Object.keys(snapshot.clusterPolicies)).toEqual(['y', 'z']);
    const clone = cloneState(h.state);
    expect(encodeSnapshot(clone)).toEqual(encodeSnapshot(h.state));
  });

  it('refuses malformed and inconsistent bytes with SnapshotError', () => {
    expect(() => decodeSnapshot(new Uint8Array([0xff, 0xff, 0xff]))).toThrow(SnapshotError);
    const h = new Harness();
    h.registerGroup('a', 2);
    h.submit(commands.electMaster('a', 1n));
    const snapshot = snapshotOf(h.state);
    const group = snapshot.groups[0];
    if (group?.syncStateSet === undefined) throw new Error('no group');
    group.syncStateSet.brokerIds = [2n];
    expect(() => decodeSnapshot(toBinary(ControllerSnapshotSchema, snapshot))).toThrow(
      /not in its SyncStateSet/,
    );
    const unsorted = snapshotOf(h.state);
    unsorted.groups.push(...snapshotOf(h.state).groups);
    expect(() => decodeSnapshot(toBinary(ControllerSnapshotSchema, unsorted))).toThrow(/not ascending/);
    const badConfig = snapshotOf(h.state);
    badConfig.config = { enableElectUncleanMaster: 'TRUE' };
    expect(() => decodeSnapshot(toBinary(ControllerSnapshotSchema, badConfig))).toThrow(SnapshotError);
  });
});
