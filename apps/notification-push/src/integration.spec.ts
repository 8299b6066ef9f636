// The pusher with its real adapters: a fake consensus cluster served over Connect (Status + Watch), a real
// nats-server (private, loopback), a real state file. Subscribers are real NATS clients.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RoleChangeReason } from '@regent/proto/notify';
import { type NatsServer, startNatsServer, waitFor } from '@regent/testing';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createConsensusWatchSource } from './adapters/consensus-watch.js';
import { createNatsPublisher } from './adapters/nats-publisher.js';
import { createStateFile } from './adapters/state-file.js';
import { FakeConsensus } from './fake-consensus.test-support.js';
import { alterSyncStateSet, clean, configChange, elect, seedGroup } from './fake-log.test-support.js';
import { subscribeNotifications, type TestSubscriber } from './nats-subscriber.test-support.js';
import { createNotificationPusher, type NotificationPusher } from './pusher.js';
import { startTcpGate, type TcpGate } from './tcp-gate.test-support.js';

interface RunningPusher {
  readonly pusher: NotificationPusher;
  readonly registry: Registry;
  readonly lines: string[];
  stop(): Promise<void>;
}

let dataDir: string;
let consensus: FakeConsensus;
const cleanups: (() => Promise<void>)[] = [];
const fatal: unknown[] = [];

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'regent-push-it-'));
  consensus = await FakeConsensus.start(3);
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await consensus.close();
  await rm(dataDir, { recursive: true, force: true });
  expect(fatal.splice(0)).toEqual([]);
});

async function startNats(options: Parameters<typeof startNatsServer>[0] = {}): Promise<NatsServer> {
  const server = await startNatsServer(options);
  cleanups.push(() => server.stop());
  return server;
}

async function subscribe(url: string, auth: { user?: string; pass?: string } = {}): Promise<TestSubscriber> {
  const subscriber = await subscribeNotifications(url, 'regent.>', auth);
  cleanups.push(() => subscriber.close());
  return subscriber;
}

async function startPusher(
  natsUrl: string,
  options: { pendingMax?: number; user?: string; pass?: string; token?: string } = {},
): Promise<RunningPusher> {
  const lines: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) });
  const registry = new Registry();
  const backoff = { initialMs: 20, maxMs: 200 };
  const publisher = createNatsPublisher({
    servers: [natsUrl],
    user: options.user,
    pass: options.pass,
    token: options.token,
    logger,
    reconnectBackoff: backoff,
    publishTimeoutMs: 1_000,
  });
  const watchSource = createConsensusWatchSource({
    nodes: consensus.addresses(),
    logger,
    statusTimeoutMs: 500,
  });
  const pusher = createNotificationPusher({
    watchSource,
    publisher,
    stateStore: createStateFile(dataDir),
    logger,
    metrics: registry,
    pendingMax: options.pendingMax,
    stateSaveIntervalMs: 50,
    watchBackoff: backoff,
    publishBackoff: backoff,
    onFatal: (error) => fatal.push(error),
  });
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await pusher.stop();
    watchSource.close();
    await publisher.close();
  };
  cleanups.push(stop);
  await pusher.start();
  return { pusher, registry, lines, stop };
}

/** Starts a pusher and waits until it has taken in the current state (its first Resync, or its saved position). */
async function startPusherWatching(
  natsUrl: string,
  options: { pendingMax?: number } = {},
): Promise<RunningPusher> {
  const running = await startPusher(natsUrl, options);
  await waitFor(() => running.pusher.status().confirmed !== undefined && running.pusher.status().ready, {
    what: 'pusher watching with a position',
  });
  return running;
}

async function metric(registry: Registry, name: string): Promise<number> {
  return (await registry.getSingleMetric(name)?.get())?.values[0]?.value ?? 0;
}

function elections(count: number, brokerName = 'g'): bigint[] {
  const out: bigint[] = [];
  for (let i = 0; i < count; i++) out.push(consensus.log.entry(elect(brokerName, i % 2 === 0 ? 2n : 1n)));
  return out;
}

function seed(brokerName = 'g'): bigint {
  return seedGroup(
    consensus.log,
    'DefaultCluster',
    brokerName,
    [
      [1n, `${brokerName}-1:10911`],
      [2n, `${brokerName}-2:10911`],
    ],
    1n,
  );
}

describe('notification pusher over Connect and NATS', () => {
  it('publishes committed role changes in log order on each group subject, protobuf-encoded', async () => {
    const nats = await startNats();
    const subscriber = await subscribe(nats.url);
    const { pusher, registry } = await startPusherWatching(nats.url);
    const a = seed('broker-a');
    const b = seed('broker-b');
    const alter = consensus.log.entry(alterSyncStateSet('broker-a', [1n, 2n]));
    consensus.log.entry(configChange('notifyBrokerRoleChanged', 'true'));
    const reelect = consensus.log.entry(
      elect('broker-b', 2n, { explanation: 'broker 2 leads the ranking', decidedAtUnixMs: Date.now() }),
    );
    const cleared = consensus.log.entry(elect('broker-a', undefined, { explanation: 'no live candidate' }));
    const cleaned = consensus.log.entry(clean('broker-b', [1n]));
    consensus.log.entry(clean('broker-a', []));

    await waitFor(() => subscriber.received.length === 6, { what: '6 notifications' });
    expect(subscriber.indexes()).toEqual([a, b, alter, reelect, cleared, cleaned]);
    expect(subscriber.received.map((r) => [r.subject, r.notification.reason])).toEqual([
      ['regent.DefaultCluster.broker-a.role', RoleChangeReason.MASTER_ELECTED],
      ['regent.DefaultCluster.broker-b.role', RoleChangeReason.MASTER_ELECTED],
      ['regent.DefaultCluster.broker-a.role', RoleChangeReason.SYNC_STATE_SET_CHANGED],
      ['regent.DefaultCluster.broker-b.role', RoleChangeReason.MASTER_ELECTED],
      ['regent.DefaultCluster.broker-a.role', RoleChangeReason.MASTER_CLEARED],
      ['regent.DefaultCluster.broker-b.role', RoleChangeReason.BROKER_DATA_CLEANED],
    ]);
    const re = subscriber.received[3]!;
    expect(re.headers).toEqual({ 'Content-Type': 'application/x-protobuf', 'Regent-Master-Epoch': '2' });
    expect(re.notification).toMatchObject({
      clusterName: 'DefaultCluster',
      brokerName: 'broker-b',
      masterBrokerId: 2n,
      masterAddress: 'broker-b-2:10911',
      masterEpoch: 2,
      syncStateSet: { brokerIds: [2n], epoch: 2 },
      explanation: 'broker 2 leads the ranking',
      brokerAddresses: { '1': 'broker-b-1:10911', '2': 'broker-b-2:10911' },
    });
    expect(re.notification.publishedAtUnixMs).toBeGreaterThan(0n);
    expect(subscriber.received[4]!.notification.masterBrokerId).toBeUndefined();
    await waitFor(() => pusher.status().confirmed?.index === consensus.log.lastIndex, {
      what: 'position at end',
    });
    expect(await metric(registry, 'regent_notify_last_published_index')).toBe(
      Number(consensus.log.lastIndex),
    );
    const latency = await registry.getSingleMetricAsString('regent_notify_commit_to_publish_seconds');
    expect(latency).toMatch(/regent_notify_commit_to_publish_seconds_count 6$/m);
  });

  it('follows a leader change mid-stream: resumes from its last index with no loss and no reordering', async () => {
    const nats = await startNats();
    const subscriber = await subscribe(nats.url);
    const { pusher, registry } = await startPusherWatching(nats.url);
    expect(pusher.status().endpoint).toBe(consensus.node(1n).address);

    const before = [seed(), ...elections(5)];
    consensus.switchLeader(2n);
    const during = elections(5); // committed while the pusher looks for the new leader
    await consensus.stopNode(1n);
    await waitFor(() => subscriber.received.length === 11, { what: 'first 11' });
    const after = elections(3);

    const expected = [...before, ...during, ...after];
    await waitFor(() => subscriber.received.length === expected.length, { what: 'all notifications' });
    expect(subscriber.indexes()).toEqual(expected);
    expect(subscriber.received.map((r) => r.notification.masterEpoch)).toEqual(expected.map((_, i) => i + 1));
    expect(pusher.status().endpoint).toBe(consensus.node(2n).address);
    const onNew = consensus.watchCalls.filter((c) => c.nodeId === 2n);
    expect(onNew[0]?.fromIndex).toBeLessThanOrEqual(before.at(-1)! + 1n);
    expect(onNew[0]?.fromIndex).toBeGreaterThan(0n);
    expect(await metric(registry, 'regent_notify_watch_reconnects_total')).toBeGreaterThanOrEqual(1);
  });

  it('after a restart continues from the persisted index', async () => {
    const nats = await startNats();
    const subscriber = await subscribe(nats.url);
    const first = await startPusherWatching(nats.url);
    const early = [seed(), ...elections(2)];
    await waitFor(() => subscriber.received.length === 3, { what: 'first three' });
    await waitFor(() => first.pusher.status().confirmed?.index === early.at(-1), { what: 'confirmed' });
    await first.stop();
    expect(await createStateFile(dataDir).load()).toEqual({ index: early.at(-1), position: 0 });

    const late = elections(3); // committed while no pusher runs
    const callsBefore = consensus.watchCalls.length;
    const second = await startPusher(nats.url);
    await waitFor(() => subscriber.received.length === 6, { what: 'all six' });
    expect(subscriber.indexes()).toEqual([...early, ...late]);
    expect(consensus.watchCalls[callsBefore]?.fromIndex).toBe(early.at(-1));
    await waitFor(() => second.pusher.status().confirmed?.index === late.at(-1), { what: 'confirmed again' });
  });

  it('NATS stopped: holds up to pending-max without advancing; NATS back: delivers every pending one in order', async () => {
    let nats = await startNats();
    const gate: TcpGate = await startTcpGate(nats.port);
    cleanups.push(() => gate.close());
    const subscriber = await subscribe(nats.url);
    const { pusher, registry } = await startPusherWatching(gate.url, { pendingMax: 4 });
    const early = [seed(), ...elections(1)];
    await waitFor(() => subscriber.received.length === 2, { what: 'first two' });
    await waitFor(async () => (await createStateFile(dataDir).load())?.index === early.at(-1), {
      what: 'saved',
    });
    const saved = await createStateFile(dataDir).load();

    // The pusher loses NATS (and cannot come back until the gate opens); the server itself stops too.
    gate.shut();
    await nats.stop();
    await waitFor(() => !pusher.status().busConnected, { what: 'bus down' });
    const held = elections(8);
    await waitFor(() => pusher.status().paused, { what: 'watch paused on a full buffer' });
    expect(pusher.status()).toMatchObject({ pending: 4, ready: false, confirmed: { index: early.at(-1) } });
    expect(await metric(registry, 'regent_notify_pending')).toBe(4);
    expect(await metric(registry, 'regent_notify_last_published_index')).toBe(Number(early.at(-1)));
    expect(await createStateFile(dataDir).load()).toEqual(saved);

    nats = await startNatsServer({ port: nats.port });
    cleanups.push(() => nats.stop());
    await subscriber.resubscribed();
    gate.open();
    await waitFor(() => subscriber.received.length === 10, { what: 'all ten', timeoutMs: 20_000 });
    expect(subscriber.indexes()).toEqual([...early, ...held]);
    await waitFor(() => pusher.status().confirmed?.index === held.at(-1), { what: 'confirmed all' });
    await waitFor(() => pusher.status().ready, { what: 'ready again' });
    expect(pusher.status().pending).toBe(0);
    expect(await metric(registry, 'regent_notify_publish_failures_total')).toBeGreaterThanOrEqual(1);
  });

  it('on a Resync (position compacted away) publishes the groups whose epochs are newer', async () => {
    const nats = await startNats();
    const subscriber = await subscribe(nats.url);
    seed('a');
    seed('b');
    await createStateFile(dataDir).save({ index: 1n, position: 0 });
    consensus.log.compact(consensus.log.lastIndex);
    const resyncAt = consensus.log.lastIndex;
    const { pusher } = await startPusher(nats.url);
    await waitFor(() => subscriber.received.length === 2, { what: 'resync of two groups' });
    expect(subscriber.received.map((r) => [r.notification.brokerName, r.notification.raftIndex])).toEqual([
      ['a', resyncAt],
      ['b', resyncAt],
    ]);
    expect(consensus.watchCalls[0]?.fromIndex).toBe(1n);

    // Disconnected while a changes master and the log is compacted again: only a is newer.
    consensus.log.killStreams();
    consensus.log.entry(elect('a', 2n));
    consensus.log.compact(consensus.log.lastIndex);
    await waitFor(() => subscriber.received.length === 3, { what: 'second resync' });
    expect(subscriber.received[2]!.notification).toMatchObject({
      brokerName: 'a',
      masterEpoch: 2,
      masterBrokerId: 2n,
    });
    const live = consensus.log.entry(elect('b', 2n));
    await waitFor(() => subscriber.received.length === 4, { what: 'live event after resync' });
    expect(subscriber.indexes().at(-1)).toBe(live);
    await waitFor(() => pusher.status().confirmed?.index === live, { what: 'confirmed' });
  });

  describe('credentials', () => {
    it('connects with the configured user and password, and with a token', async () => {
      const nats = await startNats({ user: 'pusher', pass: 's3cret' });
      const subscriber = await subscribe(nats.url, { user: 'pusher', pass: 's3cret' });
      const { pusher } = await startPusher(nats.url, { user: 'pusher', pass: 's3cret' });
      await waitFor(() => pusher.status().ready && pusher.status().confirmed !== undefined, {
        what: 'ready',
      });
      const index = seed();
      await waitFor(() => subscriber.received.length === 1, { what: 'delivered' });
      expect(subscriber.indexes()).toEqual([index]);

      const tokenNats = await startNats({ token: 't0ken' });
      const withToken = await startPusher(tokenNats.url, { token: 't0ken' });
      await waitFor(() => withToken.pusher.status().ready, { what: 'ready with token' });
    });

    it('with wrong credentials is not ready and logs an error', async () => {
      const nats = await startNats({ user: 'pusher', pass: 's3cret' });
      const { pusher, lines } = await startPusher(nats.url, { user: 'pusher', pass: 'wrong' });
      await waitFor(
        () => lines.some((l) => l.includes('"level":50') && l.includes('cannot connect to NATS')),
        {
          what: 'error logged',
        },
      );
      expect(lines.join('\n')).toMatch(/[Aa]uthorization/);
      // Watching, and the first Resync (of an empty state) needed no notification, so it is confirmed.
      await waitFor(() => pusher.status().watching && pusher.status().confirmed !== undefined, {
        what: 'watching',
      });
      expect(pusher.status()).toMatchObject({ ready: false, busConnected: false });
      const election = seed();
      await waitFor(() => pusher.status().pending === 1, { what: 'held' });
      // The registrations before it needed no notification; the election is held, unconfirmed.
      expect(pusher.status().confirmed?.index).toBe(election - 1n);
    });
  });
});
