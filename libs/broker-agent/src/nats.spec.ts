// The NATS role-change subscription against a real private nats-server, with an in-memory BrokerService. Polling
// is slowed to a minute so only notifications can move the role.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create, toBinary } from '@bufbuild/protobuf';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { RoleChangeNotificationSchema } from '@regent/proto/notify';
import { type NatsServer, startNatsServer, waitFor } from '@regent/testing';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createNatsConnector, roleSubject } from './adapters.js';
import { createBrokerAgent } from './agent.js';
import type { BrokerAgent } from './agent-api.js';
import type { RoleEvent } from './role-events.js';
import { FakeBrokerService, SettableStore } from './testing.js';

const SUBJECT = roleSubject('regent', 'c1', 'broker-a');
let nats: NatsServer;
let dir: string;
let fake: FakeBrokerService;
let agent: BrokerAgent | undefined;
let publisher: NatsConnection | undefined;

beforeAll(async () => {
  nats = await startNatsServer({ token: 's3cret' });
});
afterAll(async () => {
  await nats.stop();
});
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'regent-nats-'));
  fake = new FakeBrokerService();
  // Broker 1 is the live master at epoch 1; the agent under test registers as broker 2.
  await fake.impl.applyBrokerId(
    { clusterName: 'c1', brokerName: 'broker-a', appliedBrokerId: 1n, registerCheckCode: 'one:1;1' } as never,
    undefined as never,
  );
  fake.markAlive('broker-a', 1n);
  fake.setMaster('broker-a', 1n);
});
afterEach(async () => {
  await agent?.stop();
  agent = undefined;
  await publisher?.close();
  publisher = undefined;
  await rm(dir, { recursive: true, force: true });
});

async function startSlave(): Promise<RoleEvent[]> {
  agent = createBrokerAgent(
    {
      clusterName: 'c1',
      brokerName: 'broker-a',
      brokerAddress: '127.0.0.1:10912',
      dataDir: dir,
      heartbeatIntervalMs: 50,
      syncBrokerMetadataPeriodMs: 60_000,
    },
    {
      brokerService: fake.client(),
      store: new SettableStore(),
      connectNats: createNatsConnector({ servers: nats.url, token: 's3cret', reconnectTimeWaitMs: 100 }),
    },
  );
  const events: RoleEvent[] = [];
  const iterator = agent.roleEvents();
  void (async () => {
    for await (const e of iterator) events.push(e);
  })();
  await agent.start();
  await waitFor(() => agent?.status().role === 'slave' && agent.status().natsConnected, {
    what: 'slave on NATS',
  });
  publisher = await connect({ servers: nats.url, token: 's3cret' });
  return events;
}

/** Publishes the fake's current group state until the agent's status satisfies `until` (NATS is at-most-once). */
async function publishUntil(until: () => boolean, payload?: Uint8Array): Promise<void> {
  await waitFor(
    async () => {
      publisher!.publish(
        SUBJECT,
        payload ?? toBinary(RoleChangeNotificationSchema, fake.notification('broker-a')),
      );
      await publisher!.flush();
      return until();
    },
    { intervalMs: 50, what: 'the notification to take effect' },
  );
}

describe('NATS role-change subscription', () => {
  it('turns a notification into a role event', async () => {
    const events = await startSlave();
    fake.setMaster('broker-a', 2n);
    await publishUntil(() => agent!.status().role === 'master');
    expect(events.at(-1)).toEqual({
      type: 'became-master',
      masterEpoch: 2,
      syncStateSet: [2n],
      syncStateSetEpoch: 2,
    });
    expect(agent!.status().counters.polls).toBe(0);
  });

  it('ignores a stale lower-epoch notification and counts it', async () => {
    const events = await startSlave();
    fake.setMaster('broker-a', 1n); // epoch 2, still broker 1
    await publishUntil(() => agent!.status().masterEpoch === 2);
    const stale = create(RoleChangeNotificationSchema, {
      clusterName: 'c1',
      brokerName: 'broker-a',
      masterBrokerId: 2n,
      masterAddress: '127.0.0.1:10912',
      masterEpoch: 1,
      syncStateSet: { brokerIds: [2n], epoch: 9 },
    });
    publisher!.publish(SUBJECT, toBinary(RoleChangeNotificationSchema, stale));
    // Same publisher, same subject: the newer notification arrives after the stale one.
    fake.setMaster('broker-a', 1n); // epoch 3
    await publishUntil(() => agent!.status().masterEpoch === 3);
    expect(agent!.status().counters.staleIgnored).toBe(1);
    expect(agent!.status().role).toBe('slave');
    expect(events.filter((e) => e.type === 'became-master')).toEqual([]);
  });

  it('counts undecodable notifications and ones for another group', async () => {
    await startSlave();
    const foreign = create(RoleChangeNotificationSchema, {
      clusterName: 'c2',
      brokerName: 'broker-a',
      masterEpoch: 99,
    });
    publisher!.publish(SUBJECT, toBinary(RoleChangeNotificationSchema, foreign));
    publisher!.publish(SUBJECT, new Uint8Array([0xff, 0xff, 0xff]));
    await publisher!.flush();
    await waitFor(() => agent!.status().counters.notificationsInvalid === 2, {
      what: 'two invalid notifications',
    });
    expect(agent!.status().masterEpoch).toBe(1);
  });

  it('resubscribes after the nats-server restarts and polls at once', async () => {
    const events = await startSlave();
    nats = await nats.restart();
    await waitFor(() => (agent!.status().counters.natsReconnects ?? 0) >= 1, {
      timeoutMs: 15_000,
      what: 'the agent to reconnect',
    });
    await waitFor(() => agent!.status().counters.polls >= 1, { what: 'a poll after the reconnect' });
    await publisher!.close();
    publisher = await connect({ servers: nats.url, token: 's3cret' });
    fake.setMaster('broker-a', 2n);
    // The reconnect poll may already have brought epoch 2; then a further election must arrive by NATS.
    fake.setMaster('broker-a', 1n);
    await publishUntil(() => agent!.status().masterEpoch === 3);
    expect(events.at(-1)).toEqual({
      type: 'became-slave',
      masterBrokerId: 1n,
      masterAddress: 'one:1',
      masterEpoch: 3,
    });
  });
});
