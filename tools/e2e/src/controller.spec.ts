// Issue: the controller with real processes — 3 consensus nodes, 2 gateways and the election-policy service;
// three brokers register through the full protocol; first election; AlterSyncStateSet with good and fenced
// epochs; the master's heartbeats stop → a new master from the SyncStateSet; the Raft leader is killed → broker
// requests through the gateways keep succeeding; the policy service is killed → the in-process fallback decides.
import { readControllerError } from '@regent/proto';
import { ControllerCondition } from '@regent/proto/common';
import { ElectionTrigger } from '@regent/proto/state';
import { waitFor } from '@regent/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestBroker } from './broker.js';
import { CLUSTER, System } from './system.js';

let system: System;
const GROUP = 'broker-a';
let brokers: TestBroker[];

beforeAll(async () => {
  system = await System.start({ consensusNodes: 3, gateways: 2, policy: true });
  brokers = [0, 1, 2].map(
    (i) => new TestBroker(system.brokerClient(i % 2), CLUSTER, GROUP, `127.0.0.1:${10911 + i}`),
  );
});

afterAll(async () => {
  for (const b of brokers ?? []) b.stopHeartbeats();
  await system?.stop();
});

async function waitAllAlive(): Promise<void> {
  await waitFor(
    async () => {
      const live = await system
        .adminClient(0)
        .getBrokerLiveness({ clusterName: CLUSTER, brokerNames: [GROUP] });
      return live.brokers.length === 3 && live.brokers.every((b) => b.alive);
    },
    { timeoutMs: 10_000, what: 'every broker alive' },
  );
}

async function expectCondition(call: Promise<unknown>, condition: ControllerCondition): Promise<void> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, 'expected the call to fail').toBeDefined();
  expect(ControllerCondition[readControllerError(error)?.condition ?? 0]).toBe(
    ControllerCondition[condition],
  );
}

describe('controller through gateways, real processes', () => {
  it('registers three brokers concurrently with distinct persistent ids', async () => {
    const ids = await Promise.all(brokers.map((b) => b.register()));
    expect([...ids].sort()).toEqual([1n, 2n, 3n]);
    for (const b of brokers) b.startHeartbeats();
    const client = system.brokerClient(0);
    const next = await client.getNextBrokerId({ clusterName: CLUSTER, brokerName: GROUP });
    expect(next.nextBrokerId).toBe(4n);
  });

  it('elects the first asking broker, then keeps it (MASTER_STILL_EXIST)', async () => {
    await waitAllAlive();
    const first = brokers[0]!;
    const elected = await first.client.electMaster({
      clusterName: CLUSTER,
      brokerName: GROUP,
      brokerId: first.brokerId,
    });
    expect(elected.masterBrokerId).toBe(first.brokerId);
    expect(elected.masterEpoch).toBe(1);
    const again = await brokers[1]!.client.electMaster({
      clusterName: CLUSTER,
      brokerName: GROUP,
      brokerId: brokers[1]!.brokerId,
    });
    expect(again.condition).toBe(ControllerCondition.MASTER_STILL_EXIST);
    expect(again.masterBrokerId).toBe(first.brokerId);
  });

  it('accepts AlterSyncStateSet with current epochs and refuses fenced ones', async () => {
    const master = brokers[0]!;
    const info = await master.client.getReplicaInfo({ clusterName: CLUSTER, brokerName: GROUP });
    const base = { clusterName: CLUSTER, brokerName: GROUP, masterBrokerId: master.brokerId };
    await expectCondition(
      master.client.alterSyncStateSet({
        ...base,
        masterEpoch: info.masterEpoch - 1,
        newSyncStateSet: { brokerIds: [1n, 2n, 3n], epoch: info.syncStateSet!.epoch },
      }),
      ControllerCondition.FENCED_MASTER_EPOCH,
    );
    await expectCondition(
      master.client.alterSyncStateSet({
        ...base,
        masterEpoch: info.masterEpoch,
        newSyncStateSet: { brokerIds: [1n, 2n, 3n], epoch: info.syncStateSet!.epoch + 5 },
      }),
      ControllerCondition.FENCED_SYNC_STATE_SET_EPOCH,
    );
    const ok = await master.client.alterSyncStateSet({
      ...base,
      masterEpoch: info.masterEpoch,
      newSyncStateSet: { brokerIds: [1n, 2n, 3n], epoch: info.syncStateSet!.epoch },
    });
    expect(ok.syncStateSet?.brokerIds).toEqual([1n, 2n, 3n]);
    expect(ok.syncStateSet?.epoch).toBe(info.syncStateSet!.epoch + 1);
  });

  it('replaces a silent master with a member of the SyncStateSet', async () => {
    const client = system.brokerClient(1);
    const before = await client.getReplicaInfo({ clusterName: CLUSTER, brokerName: GROUP });
    brokers[0]!.stopHeartbeats();
    const after = await waitFor(
      async () => {
        const info = await client.getReplicaInfo({ clusterName: CLUSTER, brokerName: GROUP });
        return info.masterBrokerId !== undefined && info.masterBrokerId !== before.masterBrokerId
          ? info
          : undefined;
      },
      { timeoutMs: 10_000, what: 'a new master' },
    );
    expect(before.syncStateSet?.brokerIds).toContain(after.masterBrokerId);
    expect(after.masterBrokerId).not.toBe(brokers[0]!.brokerId);
    expect(after.masterEpoch).toBe(before.masterEpoch + 1);
    expect(after.syncStateSet?.brokerIds).toEqual([after.masterBrokerId]);
    const audit = await system.adminClient(0).getElectionAudit({ clusterName: CLUSTER, brokerName: GROUP });
    const last = audit.records.at(-1)!;
    expect(last.trigger).toBe(ElectionTrigger.CONTROLLER);
    expect(last.chosenBrokerId).toBe(after.masterBrokerId);
    expect(last.fallback).toBe(false);
    expect(last.reasons.find((r) => r.brokerId === brokers[0]!.brokerId)?.detail).toMatch(/alive|heartbeat/i);
  });

  it('keeps serving broker requests through the gateways when the Raft leader is killed', async () => {
    const leader = await system.waitForLeader();
    await system.killNode(leader);
    const client = system.brokerClient(0);
    // Requests succeed (the gateway follows NOT_LEADER hints and retries within the deadline).
    for (let i = 0; i < 20; i++) {
      const info = await client.getReplicaInfo(
        { clusterName: CLUSTER, brokerName: GROUP },
        { timeoutMs: 5000 },
      );
      expect(info.masterBrokerId).toBeDefined();
    }
    const newLeader = await system.waitForLeader(20_000, leader);
    expect(newLeader).not.toBe(leader);
    const next = await client.getNextBrokerId({ clusterName: CLUSTER, brokerName: GROUP });
    expect(next.nextBrokerId).toBe(4n);
    await system.restartNode(leader);
  });

  it('falls back to the in-process default policy when the policy service is down', async () => {
    await system.policy!.proc.kill();
    const client = system.brokerClient(0);
    const before = await client.getReplicaInfo({ clusterName: CLUSTER, brokerName: GROUP });
    // Bring broker 1 back so there is a live member to elect, then silence the current master.
    brokers[0]!.startHeartbeats();
    const master = brokers.find((b) => b.brokerId === before.masterBrokerId)!;
    await waitAllAlive();
    const info = await master.client.getReplicaInfo({ clusterName: CLUSTER, brokerName: GROUP });
    const others = brokers.filter((b) => b !== master).map((b) => b.brokerId);
    await master.client.alterSyncStateSet({
      clusterName: CLUSTER,
      brokerName: GROUP,
      masterBrokerId: master.brokerId,
      masterEpoch: info.masterEpoch,
      newSyncStateSet: { brokerIds: [master.brokerId, ...others].sort(), epoch: info.syncStateSet!.epoch },
    });
    master.stopHeartbeats();
    const after = await waitFor(
      async () => {
        const i = await client.getReplicaInfo({ clusterName: CLUSTER, brokerName: GROUP });
        return i.masterBrokerId !== undefined && i.masterBrokerId !== before.masterBrokerId ? i : undefined;
      },
      { timeoutMs: 10_000, what: 'a new master without the policy service' },
    );
    const audit = await system.adminClient(1).getElectionAudit({ clusterName: CLUSTER, brokerName: GROUP });
    const last = audit.records.at(-1)!;
    expect(last.chosenBrokerId).toBe(after.masterBrokerId);
    expect(last.fallback).toBe(true);
    expect(last.policyName).toBe('rocketmq-default');
  });
});
