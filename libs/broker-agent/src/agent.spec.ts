// The agent against an in-memory BrokerService: fencing until the role is known, the election request, epoch
// gating of polled news, heartbeat contents and stream fallback, and the master's SyncStateSet reporting.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Code, ConnectError } from '@connectrpc/connect';
import { ControllerCondition } from '@regent/proto/common';
import { waitFor } from '@regent/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createBrokerAgent } from './agent.js';
import type { BrokerAgent } from './agent-api.js';
import type { BrokerAgentConfig } from './config.js';
import type { RoleEvent } from './role-events.js';
import { FakeBrokerService, SettableStore } from './testing.js';

let dir: string;
let fake: FakeBrokerService;
const agents: BrokerAgent[] = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'regent-agent-'));
  fake = new FakeBrokerService();
});
afterEach(async () => {
  fake.before = undefined;
  for (const a of agents.splice(0)) await a.stop();
  await rm(dir, { recursive: true, force: true });
});

function startAgent(
  over: Partial<BrokerAgentConfig> = {},
  store = new SettableStore(),
): { agent: BrokerAgent; events: RoleEvent[] } {
  const agent = createBrokerAgent(
    {
      clusterName: 'c1',
      brokerName: 'broker-a',
      brokerAddress: '127.0.0.1:10911',
      dataDir: join(dir, over.brokerAddress ?? 'a'),
      heartbeatIntervalMs: 20,
      heartbeatTimeoutMs: 400,
      syncBrokerMetadataPeriodMs: 50,
      registerRetryMinMs: 5,
      registerRetryMaxMs: 20,
      ...over,
    },
    { brokerService: fake.client(), store },
  );
  agents.push(agent);
  const events: RoleEvent[] = [];
  void (async () => {
    for await (const e of agent.roleEvents()) events.push(e);
  })();
  void agent.start();
  return { agent, events };
}

/** A gate a `before` hook can hold a call on. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { wait, open };
}

/** Registers broker ids 1 (this test's "other" broker, alive) so the agent under test gets id 2. */
async function groupWithLiveMaster(): Promise<void> {
  await fake.impl.applyBrokerId(
    {
      clusterName: 'c1',
      brokerName: 'broker-a',
      appliedBrokerId: 1n,
      registerCheckCode: 'other:1;1',
    } as never,
    undefined as never,
  );
  fake.markAlive('broker-a', 1n, 1000n, 1);
  fake.setMaster('broker-a', 1n);
}

describe('fencing and role', () => {
  it('stays fenced until the role is known, then becomes master by its own election', async () => {
    const hold = gate();
    fake.before = (method) => (method === 'electMaster' ? hold.wait : undefined);
    const { agent, events } = startAgent();
    await waitFor(() => fake.calls.includes('electMaster'), { what: 'an election request' });
    expect(agent.isFenced()).toBe(true);
    expect(agent.status()).toMatchObject({ brokerId: 1n, role: 'unknown', fenceReason: 'starting' });
    expect(fake.isAlive('broker-a', 1n)).toBe(true); // heartbeats flow while fenced
    hold.open();
    await waitFor(() => !agent.isFenced(), { what: 'unfenced' });
    expect(agent.status()).toMatchObject({ role: 'master', masterEpoch: 1, syncStateSet: [1n] });
    expect(events).toEqual([
      { type: 'fenced', reason: 'starting' },
      { type: 'became-master', masterEpoch: 1, syncStateSet: [1n], syncStateSetEpoch: 1 },
    ]);
  });

  it('follows a live master named by RegisterBroker without asking for an election', async () => {
    await groupWithLiveMaster();
    const { agent, events } = startAgent({ brokerAddress: '127.0.0.1:10912' });
    await waitFor(() => agent.status().role === 'slave', { what: 'slave' });
    expect(agent.status()).toMatchObject({ brokerId: 2n, masterBrokerId: 1n, masterAddress: 'other:1' });
    expect(events.at(-1)).toEqual({
      type: 'became-slave',
      masterBrokerId: 1n,
      masterAddress: 'other:1',
      masterEpoch: 1,
    });
    expect(fake.calls).not.toContain('electMaster');
  });

  it('asks for an election when a poll says the group lost its master, fenced meanwhile', async () => {
    await groupWithLiveMaster();
    const { agent, events } = startAgent({ brokerAddress: '127.0.0.1:10912' });
    await waitFor(() => agent.status().role === 'slave', { what: 'slave' });
    const group = fake.groups.get('broker-a')!;
    const hold = gate();
    fake.before = (method) => (method === 'electMaster' ? hold.wait : undefined);
    // The master died and the controller cleared it; the agent is still in the SyncStateSet.
    group.masterBrokerId = undefined;
    group.masterEpoch++;
    group.syncStateSet = [1n, 2n];
    fake.liveness.delete('broker-a/1');
    await waitFor(() => agent.status().fenceReason === 'no-master', { what: 'fenced: no master' });
    hold.open();
    await waitFor(() => agent.status().role === 'master', { what: 'master' });
    expect(agent.status().masterEpoch).toBe(3);
    expect(events.map((e) => e.type)).toEqual(['fenced', 'became-slave', 'fenced', 'became-master']);
  });

  it('ignores a polled answer with a lower masterEpoch and counts it', async () => {
    const { agent } = startAgent();
    await waitFor(() => agent.status().role === 'master', { what: 'master' });
    fake.setMaster('broker-a', 1n);
    await waitFor(() => agent.status().masterEpoch === 2, { what: 'epoch 2' });
    fake.groups.get('broker-a')!.masterEpoch = 1; // a lagging controller answer
    fake.groups.get('broker-a')!.masterBrokerId = 7n;
    await waitFor(() => agent.status().counters.staleIgnored >= 1, { what: 'a stale poll' });
    expect(agent.status()).toMatchObject({ role: 'master', masterEpoch: 2, fenced: false });
  });
});

describe('recovery', () => {
  it('re-registers from scratch when the controller forgot the group, forgetting the old epochs', async () => {
    const { agent, events } = startAgent();
    await waitFor(() => agent.status().role === 'master', { what: 'master' });
    fake.setMaster('broker-a', 1n);
    await waitFor(() => agent.status().masterEpoch === 2, { what: 'epoch 2' });
    fake.groups.delete('broker-a'); // CleanBrokerData of the whole group
    await waitFor(() => agent.status().counters.registrationAttempts >= 3, { what: 'registration again' });
    await waitFor(() => agent.status().role === 'master' && agent.status().masterEpoch === 1, {
      what: 'master of the re-created group at epoch 1',
    });
    expect(fake.claims.map((c) => c.brokerId)).toEqual([1n, 1n]);
    expect(events.map((e) => e.type)).toEqual([
      'fenced',
      'became-master',
      'became-master',
      'fenced',
      'became-master',
    ]);
  });

  it('fences itself when no heartbeat is acknowledged for selfFenceAfterMs, and unfences after', async () => {
    const { agent, events } = startAgent({ selfFenceAfterMs: 150 });
    await waitFor(() => agent.status().role === 'master', { what: 'master' });
    let down = true;
    fake.before = (method) => {
      if (down && method !== 'electMaster') throw new ConnectError('gateway down', Code.Unavailable);
    };
    await waitFor(() => agent.status().fenceReason === 'controller-unreachable', { what: 'self-fenced' });
    expect(agent.isFenced()).toBe(true);
    down = false;
    await waitFor(() => !agent.isFenced(), { what: 'unfenced' });
    expect(events.slice(-2)).toEqual([
      { type: 'fenced', reason: 'controller-unreachable' },
      { type: 'became-master', masterEpoch: 1, syncStateSet: [1n], syncStateSetEpoch: 1 },
    ]);
  });
});

describe('heartbeats', () => {
  it('carry id, epoch, offsets, priority, timeout, zone and labels over the stream', async () => {
    const store = new SettableStore();
    store.max = 4096n;
    store.confirm = 4000n;
    store.epoch = 7;
    const { agent } = startAgent({ electionPriority: 3, zone: 'z1', labels: { rack: 'r1' } }, store);
    await waitFor(() => agent.status().heartbeat.streamState === 'up', { what: 'stream up' });
    await waitFor(() => fake.liveness.get('broker-a/1')?.via === 'stream', { what: 'a stream heartbeat' });
    expect(fake.liveness.get('broker-a/1')?.heartbeat).toMatchObject({
      clusterName: 'c1',
      brokerName: 'broker-a',
      brokerAddress: '127.0.0.1:10911',
      brokerId: 1n,
      epoch: 7,
      maxOffset: 4096n,
      confirmOffset: 4000n,
      heartbeatTimeoutMs: 400n,
      electionPriority: 3,
      zone: 'z1',
      labels: { rack: 'r1' },
    });
  });

  it('reopens a broken stream and keeps heartbeating by unary calls meanwhile', async () => {
    const { agent } = startAgent();
    await waitFor(() => agent.status().heartbeat.streamState === 'up', { what: 'stream up' });
    let breaks = 3;
    fake.before = (method) => {
      if (method === 'heartbeatStream' && breaks-- > 0) throw new ConnectError('reset', Code.Unavailable);
    };
    await waitFor(() => agent.status().heartbeat.streamOpenCount >= 4, { what: 'three reopens' });
    await waitFor(() => agent.status().heartbeat.streamState === 'up', { what: 'stream up again' });
    const hb = agent.status().heartbeat;
    expect(hb.streamBreakCount).toBeGreaterThanOrEqual(3);
    expect(hb.unarySentCount).toBeGreaterThan(1);
  });

  it('falls back to unary heartbeats when the gateway has no HeartbeatStream', async () => {
    fake.before = (method) => {
      if (method === 'heartbeatStream') throw new ConnectError('no streams here', Code.Unimplemented);
    };
    const { agent } = startAgent();
    await waitFor(() => agent.status().heartbeat.streamState === 'disabled', { what: 'stream disabled' });
    const sent = agent.status().heartbeat.unarySentCount;
    await waitFor(() => agent.status().heartbeat.unarySentCount >= sent + 3, { what: 'unary heartbeats' });
    expect(fake.liveness.get('broker-a/1')?.via).toBe('unary');
  });

  it('pause stops every send without closing the stream; resume continues', async () => {
    const { agent } = startAgent();
    await waitFor(() => agent.status().heartbeat.streamState === 'up', { what: 'stream up' });
    agent.pause();
    const sent = agent.status().heartbeat.sentCount;
    const polls = agent.status().counters.polls;
    await waitFor(() => !fake.isAlive('broker-a', 1n), { timeoutMs: 5000, what: 'the broker to look dead' });
    expect(agent.status().heartbeat.sentCount).toBe(sent);
    expect(agent.status().counters.polls).toBe(polls);
    expect(fake.openStreams.get('broker-a/1')).toBe(1);
    agent.resume();
    await waitFor(() => fake.isAlive('broker-a', 1n), { what: 'alive again' });
  });
});

describe('SyncStateSet reporting (master)', () => {
  async function masterWithSlave(): Promise<BrokerAgent> {
    const { agent } = startAgent({ syncBrokerMetadataPeriodMs: 60_000 });
    await waitFor(() => agent.status().role === 'master', { what: 'master' });
    await fake.impl.applyBrokerId(
      { clusterName: 'c1', brokerName: 'broker-a', appliedBrokerId: 2n, registerCheckCode: 's:2;1' } as never,
      undefined as never,
    );
    fake.markAlive('broker-a', 2n);
    return agent;
  }

  it('counts acks against the union of old and proposed sets while a change is in flight', async () => {
    const agent = await masterWithSlave();
    const hold = gate();
    fake.before = (method) => (method === 'alterSyncStateSet' ? hold.wait : undefined);
    const expand = agent.proposeSyncStateSet([1n, 2n]);
    expect(agent.ackQuorumSet()).toEqual([1n, 2n]);
    expect(agent.status().syncStateSet).toEqual([1n]); // unchanged until the controller accepts
    expect(await agent.proposeSyncStateSet([1n])).toEqual({ kind: 'in-flight' });
    hold.open();
    expect(await expand).toEqual({ kind: 'accepted', syncStateSet: [1n, 2n], syncStateSetEpoch: 2 });
    expect(agent.status()).toMatchObject({ syncStateSet: [1n, 2n], syncStateSetEpoch: 2 });

    const hold2 = gate();
    fake.before = (method) => (method === 'alterSyncStateSet' ? hold2.wait : undefined);
    const shrink = agent.proposeSyncStateSet([1n]);
    expect(agent.ackQuorumSet()).toEqual([1n, 2n]); // the leaving member still counts
    hold2.open();
    expect(await shrink).toMatchObject({ kind: 'accepted', syncStateSet: [1n] });
    expect(agent.ackQuorumSet()).toEqual([1n]);
  });

  it('on a fenced epoch keeps its set and waits for the poll', async () => {
    const agent = await masterWithSlave();
    fake.setMaster('broker-a', 1n); // a newer masterEpoch the agent has not polled yet
    const outcome = await agent.proposeSyncStateSet([1n, 2n]);
    expect(outcome).toEqual({ kind: 'fenced', condition: ControllerCondition.FENCED_MASTER_EPOCH });
    expect(agent.status()).toMatchObject({
      syncStateSet: [1n],
      syncStateSetEpoch: 1,
      proposedSyncStateSet: undefined,
    });
    expect(agent.ackQuorumSet()).toEqual([1n]);
    expect(agent.status().counters.alterFenced).toBe(1);
  });

  it('refuses to propose as a slave, and reports controller refusals typed', async () => {
    await groupWithLiveMaster();
    const { agent: slave } = startAgent({ brokerAddress: '127.0.0.1:10912' });
    await waitFor(() => slave.status().role === 'slave', { what: 'slave' });
    expect(await slave.proposeSyncStateSet([2n])).toEqual({ kind: 'not-master' });

    const master = await masterWithSlaveInOtherGroup();
    fake.liveness.delete('broker-b/2');
    expect(await master.proposeSyncStateSet([1n, 2n])).toMatchObject({
      kind: 'rejected',
      condition: ControllerCondition.BROKER_NOT_ALIVE,
    });
    expect(await master.proposeSyncStateSet([1n])).toEqual({ kind: 'unchanged' });
  });

  async function masterWithSlaveInOtherGroup(): Promise<BrokerAgent> {
    const { agent } = startAgent({ brokerName: 'broker-b', brokerAddress: '127.0.0.1:10913' });
    await waitFor(() => agent.status().role === 'master', { what: 'master of broker-b' });
    await fake.impl.applyBrokerId(
      { clusterName: 'c1', brokerName: 'broker-b', appliedBrokerId: 2n, registerCheckCode: 's:2;1' } as never,
      undefined as never,
    );
    return agent;
  }
});
