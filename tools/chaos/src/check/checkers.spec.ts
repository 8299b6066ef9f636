// The controller checkers on hand-made histories, including histories that must fail: two masters in one epoch,
// a stale read, a fenced epoch accepted, a lost acknowledged change, epochs going back, a broker that never
// converges.
import { describe, expect, it } from 'vitest';
import { checkConvergence } from './convergence.js';
import { checkDurability } from './durability.js';
import { checkMonotonicEpochs } from './epochs.js';
import { checkGroup } from './groups.js';
import { checkSingleMaster } from './masters.js';
import type {
  AuditRecord,
  FinalGroupState,
  GroupView,
  ObservedNotification,
  Operation,
  OpInput,
  OpOutput,
} from './types.js';

const G = 'broker-a';

class History {
  readonly ops: Operation[] = [];
  #t = 0;
  #id = 0;

  /** A sequential operation (invoked after everything before it returned). */
  add(client: string, input: OpInput, output: OpOutput): Operation {
    const invokeMs = (this.#t += 10);
    const returnMs = (this.#t += 5);
    return this.push({ client, input, output, invokeMs, returnMs });
  }

  /** An operation over an explicit interval. */
  at(client: string, invokeMs: number, returnMs: number, input: OpInput, output: OpOutput): Operation {
    this.#t = Math.max(this.#t, returnMs);
    return this.push({ client, input, output, invokeMs, returnMs });
  }

  push(o: Omit<Operation, 'id' | 'group'>): Operation {
    const op: Operation = { ...o, id: this.#id++, group: G };
    this.ops.push(op);
    return op;
  }

  /** Three registered brokers (ids 1..3). */
  registered(): this {
    for (const id of [1, 2, 3])
      this.add(`b${id}`, { kind: 'applyBrokerId', brokerId: id, checkCode: `c${id}` }, ok());
    return this;
  }
}

const ok = (extra: Partial<Extract<OpOutput, { type: 'ok' }>> = {}): OpOutput => ({ type: 'ok', ...extra });
const fail = (condition: string): OpOutput => ({ type: 'fail', condition });
const unknown: OpOutput = { type: 'unknown', error: 'timeout' };
const view = (master: number | undefined, masterEpoch: number, ss: number[], ssEpoch: number): GroupView => ({
  masterBrokerId: master,
  masterEpoch,
  syncStateSet: ss,
  syncStateSetEpoch: ssEpoch,
});
const read = (v: GroupView): [OpInput, OpOutput] => [{ kind: 'getReplicaInfo' }, ok({ view: v })];

function lin(h: History, audit: AuditRecord[] = []) {
  return checkGroup(G, h.ops, audit).result.kind;
}

describe('linearizability of a broker group', () => {
  it('accepts registration, the first election and an AlterSyncStateSet', () => {
    const h = new History().registered();
    h.add('b2', { kind: 'electMaster', brokerId: 2 }, ok({ view: view(2, 1, [2], 1) }));
    h.add('b1', ...read(view(2, 1, [2], 1)));
    h.add(
      'b2',
      {
        kind: 'alterSyncStateSet',
        masterBrokerId: 2,
        masterEpoch: 1,
        syncStateSet: [1, 2],
        syncStateSetEpoch: 1,
      },
      ok({ view: view(2, 1, [1, 2], 2) }),
    );
    h.add('b3', { kind: 'electMaster', brokerId: 3 }, ok({ view: view(2, 1, [1, 2], 2), masterKept: true }));
    h.add('b3', { kind: 'getNextBrokerId' }, ok({ nextBrokerId: 4 }));
    h.add(
      'b3',
      { kind: 'registerBroker', brokerId: 3 },
      ok({ view: view(undefined, 1, [1, 2], 2), masterOmittedWhenDead: true }),
    );
    expect(lin(h)).toBe('linearizable');
  });

  it('MUST FAIL: two brokers elected in turn, both at masterEpoch 1', () => {
    const h = new History().registered();
    h.add('b1', { kind: 'electMaster', brokerId: 1 }, ok({ view: view(1, 1, [1], 1) }));
    h.add('b2', { kind: 'electMaster', brokerId: 2 }, ok({ view: view(2, 1, [2], 1) }));
    expect(lin(h)).toBe('violation');
    expect(checkSingleMaster(h.ops, [], []).violations).toHaveLength(1);
  });

  it('MUST FAIL: a read that misses an acknowledged AlterSyncStateSet', () => {
    const h = new History().registered();
    h.add('b1', { kind: 'electMaster', brokerId: 1 }, ok({ view: view(1, 1, [1], 1) }));
    h.add(
      'b1',
      {
        kind: 'alterSyncStateSet',
        masterBrokerId: 1,
        masterEpoch: 1,
        syncStateSet: [1, 3],
        syncStateSetEpoch: 1,
      },
      ok({ view: view(1, 1, [1, 3], 2) }),
    );
    h.add('b2', ...read(view(1, 1, [1], 1)));
    expect(lin(h)).toBe('violation');
    expect(checkMonotonicEpochs(h.ops, []).violations.length).toBeGreaterThan(0);
  });

  it('MUST FAIL: an AlterSyncStateSet accepted with a fenced masterEpoch', () => {
    const h = new History().registered();
    h.add('b1', { kind: 'electMaster', brokerId: 1 }, ok({ view: view(1, 1, [1], 1) }));
    h.add(
      'b1',
      {
        kind: 'alterSyncStateSet',
        masterBrokerId: 1,
        masterEpoch: 0,
        syncStateSet: [1, 2],
        syncStateSetEpoch: 1,
      },
      ok({ view: view(1, 0, [1, 2], 2) }),
    );
    expect(lin(h)).toBe('violation');
  });

  it('MUST FAIL: a refusal the state does not explain', () => {
    const h = new History().registered();
    h.add('b1', { kind: 'electMaster', brokerId: 1 }, ok({ view: view(1, 1, [1], 1) }));
    h.add(
      'b1',
      {
        kind: 'alterSyncStateSet',
        masterBrokerId: 1,
        masterEpoch: 1,
        syncStateSet: [1, 2],
        syncStateSetEpoch: 1,
      },
      fail('FENCED_MASTER_EPOCH'),
    );
    expect(lin(h)).toBe('violation');
  });

  it('accepts the refusals liveness may cause', () => {
    const h = new History().registered();
    h.add('b1', { kind: 'electMaster', brokerId: 1 }, ok({ view: view(1, 1, [1], 1) }));
    h.add(
      'b1',
      {
        kind: 'alterSyncStateSet',
        masterBrokerId: 1,
        masterEpoch: 1,
        syncStateSet: [1, 2],
        syncStateSetEpoch: 1,
      },
      fail('BROKER_NOT_ALIVE'),
    );
    h.add('b2', { kind: 'electMaster', brokerId: 2 }, fail('ELECT_MASTER_FAILED'));
    h.add('b2', { kind: 'electMaster', brokerId: 2 }, fail('BROKER_NEED_TO_BE_REGISTERED'));
    expect(lin(h)).toBe('violation');
    h.ops.pop();
    expect(lin(h)).toBe('linearizable');
  });

  it('MUST FAIL: MASTER_STILL_EXIST with a stale view', () => {
    const h = new History().registered();
    h.add('b1', { kind: 'electMaster', brokerId: 1 }, ok({ view: view(1, 1, [1], 1) }));
    h.add(
      'b1',
      {
        kind: 'alterSyncStateSet',
        masterBrokerId: 1,
        masterEpoch: 1,
        syncStateSet: [1, 2],
        syncStateSetEpoch: 1,
      },
      ok({ view: view(1, 1, [1, 2], 2) }),
    );
    h.add('b2', { kind: 'electMaster', brokerId: 2 }, ok({ view: view(1, 1, [1], 1), masterKept: true }));
    expect(lin(h)).toBe('violation');
  });

  it('lets an election with an unknown outcome explain a later master', () => {
    const h = new History().registered();
    h.add('b1', { kind: 'electMaster', brokerId: 1 }, ok({ view: view(1, 1, [1], 1) }));
    h.add(
      'b1',
      {
        kind: 'alterSyncStateSet',
        masterBrokerId: 1,
        masterEpoch: 1,
        syncStateSet: [1, 2],
        syncStateSetEpoch: 1,
      },
      ok({ view: view(1, 1, [1, 2], 2) }),
    );
    h.add('admin', { kind: 'adminElectMaster', designatedBrokerId: 2 }, unknown);
    h.add('b3', ...read(view(2, 2, [2], 3)));
    expect(lin(h)).toBe('linearizable');
    // …but not a master outside the SyncStateSet.
    const bad = new History().registered();
    for (const o of h.ops.slice(3, 5)) bad.add(o.client, o.input, o.output);
    bad.add('admin', { kind: 'adminElectMaster', designatedBrokerId: 3 }, unknown);
    bad.add('b3', ...read(view(3, 2, [3], 3)));
    expect(lin(bad)).toBe('violation');
  });

  it('explains a controller-triggered election only with its audit record', () => {
    const h = new History().registered();
    h.add('b1', { kind: 'electMaster', brokerId: 1 }, ok({ view: view(1, 1, [1], 1) }));
    h.add(
      'b1',
      {
        kind: 'alterSyncStateSet',
        masterBrokerId: 1,
        masterEpoch: 1,
        syncStateSet: [1, 2],
        syncStateSetEpoch: 1,
      },
      ok({ view: view(1, 1, [1, 2], 2) }),
    );
    h.add('b2', ...read(view(2, 2, [2], 3)));
    expect(lin(h)).toBe('violation');
    const audit: AuditRecord[] = [
      { group: G, masterEpoch: 1, masterBrokerId: 1, trigger: 'broker', decidedAtMs: 0, raftIndex: 5 },
      { group: G, masterEpoch: 2, masterBrokerId: 2, trigger: 'controller', decidedAtMs: 0, raftIndex: 9 },
    ];
    expect(lin(h, audit)).toBe('linearizable');
    const wrongTrigger = audit.map((r) => (r.masterEpoch === 1 ? { ...r, trigger: 'admin' as const } : r));
    expect(lin(h, wrongTrigger)).toBe('violation');
  });

  it('MUST FAIL: chaos seed 1 — MASTER_STILL_EXIST naming a master at a masterEpoch that never committed', () => {
    // Excerpt of a real run before the executor fix: the controller cleared the dead master (epoch 2); an
    // election of broker 1 at epoch 3 was proposed but lost with its leader, yet ElectMaster answered from it.
    const h = new History().registered();
    h.at('b1', 43_000, 43_500, { kind: 'electMaster', brokerId: 1 }, ok({ view: view(1, 1, [1], 1) }));
    h.at(
      'b2',
      46_668,
      47_922,
      {
        kind: 'alterSyncStateSet',
        masterBrokerId: 1,
        masterEpoch: 1,
        syncStateSet: [1, 3],
        syncStateSetEpoch: 1,
      },
      ok({ view: view(1, 1, [1, 3], 2) }),
    );
    h.at('b1', 49_643, 53_707, { kind: 'electMaster', brokerId: 3 }, unknown);
    h.at(
      'b3',
      53_958,
      57_527,
      { kind: 'electMaster', brokerId: 2 },
      ok({ view: view(1, 3, [1], 3), masterKept: true }),
    );
    h.at('b1', 89_704, 93_401, ...read(view(undefined, 2, [1, 3], 2)));
    h.at('b3', 95_398, 97_771, { kind: 'electMaster', brokerId: 2 }, ok({ view: view(3, 3, [3], 3) }));
    const audit: AuditRecord[] = [
      { group: G, masterEpoch: 1, masterBrokerId: 1, trigger: 'broker', decidedAtMs: 43_100, raftIndex: 10 },
      {
        group: G,
        masterEpoch: 2,
        masterBrokerId: undefined,
        trigger: 'controller',
        decidedAtMs: 54_232,
        raftIndex: 12,
      },
      { group: G, masterEpoch: 3, masterBrokerId: 3, trigger: 'broker', decidedAtMs: 96_314, raftIndex: 15 },
    ];
    expect(lin(h, audit)).toBe('violation');
    expect(checkSingleMaster(h.ops, [], audit).violations).toHaveLength(1);
  });

  it('accepts the controller electing a master for a group whose master it just cleared', () => {
    const h = new History().registered();
    h.add('b2', { kind: 'electMaster', brokerId: 2 }, ok({ view: view(2, 1, [2], 1) }));
    h.add('b1', ...read(view(2, 3, [2], 2)));
    const audit: AuditRecord[] = [
      { group: G, masterEpoch: 1, masterBrokerId: 2, trigger: 'broker', decidedAtMs: 0, raftIndex: 10 },
      {
        group: G,
        masterEpoch: 2,
        masterBrokerId: undefined,
        trigger: 'controller',
        decidedAtMs: 0,
        raftIndex: 13,
      },
      { group: G, masterEpoch: 3, masterBrokerId: 2, trigger: 'controller', decidedAtMs: 0, raftIndex: 14 },
    ];
    expect(lin(h, audit)).toBe('linearizable');
    // Clearing a group that has no master changes nothing and is never logged.
    const twice = audit.map((r) => (r.masterEpoch === 3 ? { ...r, masterBrokerId: undefined } : r));
    expect(lin(h, twice)).toBe('violation');
  });

  it('MUST FAIL: a broker id handed out twice', () => {
    const h = new History();
    h.add('b1', { kind: 'applyBrokerId', brokerId: 1, checkCode: 'x' }, ok());
    h.add('b2', { kind: 'applyBrokerId', brokerId: 1, checkCode: 'y' }, ok());
    expect(lin(h)).toBe('violation');
    const retry = new History();
    retry.add('b1', { kind: 'applyBrokerId', brokerId: 1, checkCode: 'x' }, ok());
    retry.add('b1', { kind: 'applyBrokerId', brokerId: 1, checkCode: 'x' }, ok());
    retry.add('b2', { kind: 'applyBrokerId', brokerId: 1, checkCode: 'y' }, fail('BROKER_ID_INVALID'));
    expect(lin(retry)).toBe('linearizable');
  });

  it('orders concurrent operations when they overlap', () => {
    const h = new History().registered();
    h.at('b1', 100, 200, { kind: 'electMaster', brokerId: 1 }, ok({ view: view(1, 1, [1], 1) }));
    h.at(
      'b2',
      110,
      190,
      { kind: 'electMaster', brokerId: 2 },
      ok({ view: view(1, 1, [1], 1), masterKept: true }),
    );
    h.at('b3', 120, 130, { kind: 'getReplicaInfo' }, fail('BROKER_METADATA_NOT_EXIST'));
    expect(lin(h)).toBe('violation');
    h.ops.pop();
    h.at('b3', 120, 130, ...read(view(1, 1, [1], 1)));
    expect(lin(h)).toBe('linearizable');
  });
});

describe('single master per epoch', () => {
  it('MUST FAIL: a notification and an answer disagree on one epoch', () => {
    const h = new History().registered();
    h.add('b1', ...read(view(1, 4, [1], 7)));
    const n: ObservedNotification = {
      observer: 'b2',
      group: G,
      atMs: 1,
      raftIndex: 40,
      view: view(2, 4, [2], 7),
    };
    expect(checkSingleMaster(h.ops, [n], []).violations).toHaveLength(1);
    expect(checkSingleMaster(h.ops, [{ ...n, view: view(1, 4, [1], 7) }], []).violations).toHaveLength(0);
  });

  it('ignores RegisterBroker leaving a dead master out', () => {
    const h = new History().registered();
    h.add('b1', ...read(view(1, 4, [1], 7)));
    h.add(
      'b2',
      { kind: 'registerBroker', brokerId: 2 },
      ok({ view: view(undefined, 4, [1], 7), masterOmittedWhenDead: true }),
    );
    expect(checkSingleMaster(h.ops, [], []).violations).toHaveLength(0);
  });
});

describe('epochs never go back', () => {
  it('MUST FAIL: one observer sees the masterEpoch drop', () => {
    const h = new History();
    h.add('b1', ...read(view(1, 3, [1], 5)));
    h.add('b1', ...read(view(1, 2, [1], 9)));
    const violations = checkMonotonicEpochs(h.ops, []).violations;
    expect(violations.map((v) => v.checker)).toContain('monotonic-epochs');
  });

  it('accepts overlapping answers in either order', () => {
    const h = new History();
    h.at('b1', 0, 100, ...read(view(1, 3, [1], 5)));
    h.at('b2', 50, 60, ...read(view(1, 2, [1], 4)));
    expect(checkMonotonicEpochs(h.ops, []).violations).toHaveLength(0);
  });

  it('MUST FAIL: notifications whose epochs fall as the raft index grows', () => {
    const n = (raftIndex: number, v: GroupView, atMs: number): ObservedNotification => ({
      observer: 'b1',
      group: G,
      atMs,
      raftIndex,
      view: v,
    });
    const duplicates = [
      n(10, view(1, 1, [1], 1), 1),
      n(12, view(1, 1, [1, 2], 2), 2),
      n(10, view(1, 1, [1], 1), 3),
    ];
    expect(checkMonotonicEpochs([], duplicates).violations).toHaveLength(0);
    const back = [n(10, view(1, 2, [1], 3), 1), n(12, view(1, 1, [1], 4), 2)];
    expect(checkMonotonicEpochs([], back).violations).toHaveLength(1);
    const conflicting = [n(10, view(1, 1, [1], 1), 1), n(10, view(2, 1, [2], 1), 2)];
    expect(checkMonotonicEpochs([], conflicting).violations).toHaveLength(1);
  });
});

describe('no acknowledged change lost', () => {
  const final = (v: GroupView, replicaIds = [1, 2, 3]): FinalGroupState => ({
    group: G,
    view: v,
    replicaIds,
    nextBrokerId: 4,
  });

  it('accepts a final state that supersedes every acknowledged change', () => {
    const h = new History().registered();
    h.add('b1', { kind: 'electMaster', brokerId: 1 }, ok({ view: view(1, 1, [1], 1) }));
    h.add(
      'b1',
      {
        kind: 'alterSyncStateSet',
        masterBrokerId: 1,
        masterEpoch: 1,
        syncStateSet: [1, 2],
        syncStateSetEpoch: 1,
      },
      ok({ view: view(1, 1, [1, 2], 2) }),
    );
    const result = checkDurability(h.ops, [final(view(2, 2, [2], 3))]);
    expect(result.violations).toHaveLength(0);
    expect(result.acknowledgedMutations).toBe(5);
  });

  it('MUST FAIL: the final state is older than an acknowledged change', () => {
    const h = new History().registered();
    h.add(
      'b1',
      {
        kind: 'alterSyncStateSet',
        masterBrokerId: 1,
        masterEpoch: 1,
        syncStateSet: [1, 2],
        syncStateSetEpoch: 1,
      },
      ok({ view: view(1, 1, [1, 2], 2) }),
    );
    expect(checkDurability(h.ops, [final(view(1, 1, [1], 1))]).violations).toHaveLength(1);
  });

  it('MUST FAIL: another master at the acknowledged epoch, or a lost broker id', () => {
    const h = new History().registered();
    h.add('b1', { kind: 'electMaster', brokerId: 1 }, ok({ view: view(1, 1, [1], 1) }));
    expect(checkDurability(h.ops, [final(view(2, 1, [2], 4))]).violations).toHaveLength(1);
    expect(checkDurability(h.ops, [final(view(1, 1, [1], 1), [1, 2])]).violations).toHaveLength(1);
  });
});

describe('convergence', () => {
  const finals: FinalGroupState[] = [
    { group: G, view: view(2, 5, [2], 8), replicaIds: [1, 2, 3], nextBrokerId: 4 },
  ];
  const live = new Map([
    ['b1', G],
    ['b2', G],
  ]);

  it('accepts brokers that adopt the final master in time', () => {
    const result = checkConvergence({
      finals,
      beliefs: [
        { broker: 'b1', group: G, atMs: 900, masterEpoch: 5, masterBrokerId: 2 },
        { broker: 'b2', group: G, atMs: 1500, masterEpoch: 5, masterBrokerId: 2 },
      ],
      liveBrokers: live,
      healedAtMs: 1000,
      boundMs: 1000,
    });
    expect(result.violations).toHaveLength(0);
    expect(result.convergenceMsMax).toBe(500);
  });

  it('MUST FAIL: a broker stuck on an old master, and one that converged too late', () => {
    const result = checkConvergence({
      finals,
      beliefs: [
        { broker: 'b1', group: G, atMs: 900, masterEpoch: 4, masterBrokerId: 1 },
        { broker: 'b2', group: G, atMs: 5000, masterEpoch: 5, masterBrokerId: 2 },
      ],
      liveBrokers: live,
      healedAtMs: 1000,
      boundMs: 1000,
    });
    expect(result.violations).toHaveLength(2);
  });
});
