import { create } from '@bufbuild/protobuf';
import { ControllerCondition } from '@regent/proto/common';
import { PolicyConfigSchema } from '@regent/proto/election';
import { type ControllerEvent, ElectionAuditRecordSchema, LogCommandSchema } from '@regent/proto/state';
import { applyCommand } from './apply.js';
import {
  alterSyncStateSetEvent,
  applyBrokerIdEvent,
  cleanBrokerDataEvent,
  configChangeEvent,
  electMasterEvent,
  policyConfigEvent,
  updateBrokerAddressEvent,
} from './events.js';
import { errorReply, propose } from './result.js';
import { checkSession, decodeReply, encodeReply } from './session.js';
import { type ControllerState, createControllerState } from './state.js';
import { commands, errorOf, Harness, replyValue } from './testing.js';

const audit = () => create(ElectionAuditRecordSchema, { policyName: 'p' });
const claim = (brokerName: string, id: bigint, clusterName = 'c') =>
  applyBrokerIdEvent({
    clusterName,
    brokerName,
    brokerAddress: `h${id}:1`,
    newBrokerId: id,
    registerCheckCode: `h${id}:1;0`,
  });

let index = 0;
function apply(state: ControllerState, ...events: ControllerEvent[]) {
  index += 1;
  return applyCommand(state, create(LogCommandSchema, { events }), index, 3);
}

describe('apply: event semantics (RocketMQ §2.2)', () => {
  it('ApplyBrokerId creates a group with an empty SyncStateSet, then adds ids; a present id is ignored', () => {
    const state = createControllerState();
    apply(state, claim('a', 1n));
    expect(state.groups.get('a')).toMatchObject({
      clusterName: 'c',
      nextAssignBrokerId: 2n,
      masterEpoch: 0,
      syncStateSet: [],
      syncStateSetEpoch: 0,
    });
    apply(state, claim('a', 2n));
    const result = apply(
      state,
      applyBrokerIdEvent({
        clusterName: 'c',
        brokerName: 'a',
        brokerAddress: 'x',
        newBrokerId: 2n,
        registerCheckCode: 'x',
      }),
    );
    expect(result.applied[0]?.ignored).toMatch(/already registered/);
    expect(state.groups.get('a')?.replicas.get(2n)?.address).toBe('h2:1');
    expect(state.groups.get('a')?.nextAssignBrokerId).toBe(3n);
  });

  it('ElectMaster(elected) sets master and SyncStateSet {id}, bumping both epochs', () => {
    const state = createControllerState();
    apply(state, claim('a', 1n), claim('a', 2n));
    apply(state, electMasterEvent('a', 2n, audit()));
    expect(state.groups.get('a')).toMatchObject({
      masterBrokerId: 2n,
      masterEpoch: 1,
      syncStateSet: [2n],
      syncStateSetEpoch: 1,
    });
  });

  it('ElectMaster(not elected) clears the master and bumps masterEpoch only, keeping the SyncStateSet', () => {
    const state = createControllerState();
    apply(
      state,
      claim('a', 1n),
      claim('a', 2n),
      electMasterEvent('a', 1n, audit()),
      alterSyncStateSetEvent('a', [1n, 2n]),
    );
    apply(state, electMasterEvent('a', undefined, audit()));
    expect(state.groups.get('a')).toMatchObject({
      masterBrokerId: undefined,
      masterEpoch: 2,
      syncStateSet: [1n, 2n],
      syncStateSetEpoch: 2,
    });
  });

  it('ElectMaster fills the audit record with the entry term and index and the new masterEpoch', () => {
    const state = createControllerState();
    apply(state, claim('a', 1n));
    const result = apply(state, electMasterEvent('a', 1n, audit()));
    const stored = state.groups.get('a')?.audit[0];
    expect(stored).toMatchObject({ raftIndex: BigInt(index), raftTerm: 3n, masterEpoch: 1 });
    expect(result.applied[0]?.event).toMatchObject({
      event: { case: 'electMaster', value: { audit: { raftIndex: BigInt(index) } } },
    });
  });

  it('AlterSyncStateSet replaces the set and bumps its epoch', () => {
    const state = createControllerState();
    apply(state, claim('a', 1n), claim('a', 2n), electMasterEvent('a', 1n, audit()));
    apply(state, alterSyncStateSetEvent('a', [2n, 1n]));
    expect(state.groups.get('a')).toMatchObject({ syncStateSet: [1n, 2n], syncStateSetEpoch: 2 });
  });

  it('CleanBrokerData without ids removes the group; with ids removes them and the group once empty', () => {
    const state = createControllerState();
    apply(state, claim('a', 1n), claim('a', 2n), claim('b', 1n));
    const whole = apply(state, cleanBrokerDataEvent('b', []));
    expect(whole.removedGroups).toEqual(['b']);
    apply(state, cleanBrokerDataEvent('a', [1n]));
    expect([...(state.groups.get('a')?.replicas.keys() ?? [])]).toEqual([2n]);
    const last = apply(state, cleanBrokerDataEvent('a', [2n]));
    expect(last.removedGroups).toEqual(['a']);
    expect(state.groups.size).toBe(0);
  });

  it('UpdateBrokerAddress replaces the address and keeps the check code', () => {
    const state = createControllerState();
    apply(state, claim('a', 1n));
    apply(
      state,
      updateBrokerAddressEvent({ clusterName: 'c', brokerName: 'a', brokerAddress: 'new:1', brokerId: 1n }),
    );
    expect(state.groups.get('a')?.replicas.get(1n)).toEqual({
      address: 'new:1',
      registerCheckCode: 'h1:1;0',
    });
  });

  it('ConfigChange and PolicyConfig set and clear replicated settings', () => {
    const state = createControllerState();
    const policy = create(PolicyConfigSchema, { policy: { case: 'zoneAware', value: {} } });
    const result = apply(
      state,
      configChangeEvent({ enableElectUncleanMaster: 'true' }),
      policyConfigEvent('c', '', policy),
      policyConfigEvent('c', 'a', policy),
    );
    expect(result).toMatchObject({ configChanged: true, policiesChanged: true, touchedGroups: ['a'] });
    expect(state.config.get('enableElectUncleanMaster')).toBe('true');
    expect(state.clusterPolicies.get('c')?.policy.case).toBe('zoneAware');
    expect(state.groupPolicies.get('c/a')?.policy.case).toBe('zoneAware');
    apply(state, policyConfigEvent('c', '', undefined));
    expect(state.clusterPolicies.size).toBe(0);
  });

  it('ignores, identically everywhere, events that do not fit the state', () => {
    const state = createControllerState();
    apply(state, claim('a', 1n), electMasterEvent('a', 1n, audit()));
    const result = apply(
      state,
      electMasterEvent('nope', 1n, audit()),
      electMasterEvent('a', 9n, audit()),
      alterSyncStateSetEvent('a', [1n, 9n]),
      alterSyncStateSetEvent('a', []),
      updateBrokerAddressEvent({ clusterName: 'c', brokerName: 'a', brokerAddress: 'x', brokerId: 9n }),
      cleanBrokerDataEvent('nope', [1n]),
      configChangeEvent({ bogus: '1' }),
    );
    expect(result.applied.map((a) => a.ignored !== undefined)).toEqual([
      true,
      true,
      true,
      true,
      true,
      true,
      true,
    ]);
    expect(result.touchedGroups).toEqual([]);
    expect(result.configChanged).toBe(false);
    expect(state.groups.get('a')).toMatchObject({
      masterBrokerId: 1n,
      masterEpoch: 1,
      syncStateSet: [1n],
      syncStateSetEpoch: 1,
    });
  });

  it('reports the group after each event when asked', () => {
    const state = createControllerState();
    const result = applyCommand(
      state,
      create(LogCommandSchema, { events: [claim('a', 1n), electMasterEvent('a', 1n, audit())] }),
      1,
      1,
      {
        groupAfter: true,
      },
    );
    expect(result.applied.map((a) => a.groupAfter?.masterEpoch)).toEqual([0, 1]);
    expect(result.applied[1]?.groupAfter?.audit).toEqual([]);
  });
});

describe('sessions: exactly-once', () => {
  const session = { clientId: 'gateway-1', sequence: 5n };

  it('answers a retry of the same (client, sequence) with the first reply and applies nothing twice', () => {
    const h = new Harness();
    h.registerGroup('a', 1);
    const first = replyValue(h.submit(commands.applyBrokerId('a', 2n, 'x:2;1'), session), 'applyBrokerId');
    const entries = h.log.length;
    h.submit(commands.cleanBrokerData('a', [2n], true));
    const retry = h.submit(commands.applyBrokerId('a', 2n, 'x:2;1'), session);
    expect(replyValue(retry, 'applyBrokerId')).toEqual(first);
    expect(h.log.length).toBe(entries + 1);
    expect(h.state.groups.get('a')?.replicas.has(2n)).toBe(false);
  });

  it('refuses an older sequence with STALE_SEQUENCE', () => {
    const h = new Harness();
    h.registerGroup('a', 1);
    h.submit(commands.applyBrokerId('a', 2n, 'x:2;1'), session);
    expect(
      errorOf(h.submit(commands.applyBrokerId('a', 3n, 'x:3;1'), { ...session, sequence: 4n })).condition,
    ).toBe(ControllerCondition.STALE_SEQUENCE);
  });

  it('refuses a bad session (sequence 0, overlong id) with INVALID_ARGUMENT', () => {
    const state = createControllerState();
    expect(checkSession(state, 'c', 0n)).toMatchObject({ kind: 'refused' });
    expect(checkSession(state, 'x'.repeat(129), 1n)).toMatchObject({ kind: 'refused' });
    expect(checkSession(state, '', 0n)).toEqual({ kind: 'new' });
  });

  it('applies a request that reached the log twice only once, answering both with the first reply', () => {
    const state = createControllerState();
    const reply = encodeReply(
      propose([], {
        case: 'applyBrokerId',
        value: { $typeName: 'regent.broker.v1.ApplyBrokerIdResponse', clusterName: 'c', brokerName: 'a' },
      }).reply,
    );
    const entry = create(LogCommandSchema, { clientId: 'g', sequence: 1n, events: [claim('a', 1n)], reply });
    expect(applyCommand(state, entry, 1, 1).outcome).toBe('applied');
    apply(state, cleanBrokerDataEvent('a', []));
    const again = applyCommand(state, entry, 3, 1);
    expect(again.outcome).toBe('duplicate');
    expect(again.reply).toEqual(reply);
    expect(state.groups.size).toBe(0);
    const older = applyCommand(
      state,
      create(LogCommandSchema, { clientId: 'g', sequence: 0n, events: [claim('a', 1n)] }),
      4,
      1,
    );
    expect(older.outcome).toBe('stale');
    expect(errorOf(decodeReply(older.reply)).condition).toBe(ControllerCondition.STALE_SEQUENCE);
    expect(state.groups.size).toBe(0);
  });

  it('evicts the least recently used session (lowest Raft index) when the table is full', () => {
    const state = createControllerState({ ...createControllerState().limits, sessionsMax: 2 });
    const entry = (clientId: string, sequence: bigint) =>
      create(LogCommandSchema, {
        clientId,
        sequence,
        events: [configChangeEvent({ electMasterMaxRetryCount: String(sequence) })],
        reply: encodeReply(errorReply(ControllerCondition.TIMEOUT, 'x')),
      });
    applyCommand(state, entry('a', 1n), 1, 1);
    applyCommand(state, entry('b', 1n), 2, 1);
    applyCommand(state, entry('a', 2n), 3, 1); // a is used again: b is now the least recently used
    applyCommand(state, entry('c', 1n), 4, 1);
    expect([...state.sessions.keys()]).toEqual(['a', 'c']);
    expect(checkSession(state, 'b', 1n)).toEqual({ kind: 'new' });
    expect(checkSession(state, 'a', 2n).kind).toBe('duplicate');
  });
});
