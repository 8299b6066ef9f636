// The pusher's behaviour through its ports, with in-memory fakes (the watch source serves a scripted log the
// way the consensus does; the bus can be down or lose confirmations).
import { RoleChangeReason } from '@regent/proto/notify';
import { waitFor } from '@regent/testing';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import type { Cursor } from './cursor.js';
import {
  alterSyncStateSet,
  clean,
  configChange,
  elect,
  FakeControllerLog,
  register,
  seedGroup,
} from './fake-log.test-support.js';
import { logWatchSource, MemoryBus, MemoryStateStore } from './fakes.test-support.js';
import type { StateStore } from './ports.js';
import { createNotificationPusher, type NotificationPusher } from './pusher.js';

interface Setup {
  readonly log: FakeControllerLog;
  readonly bus: MemoryBus;
  readonly store: MemoryStateStore;
  readonly registry: Registry;
  readonly pusher: NotificationPusher;
  readonly lines: string[];
}

const running: NotificationPusher[] = [];
const fatal: unknown[] = [];

afterEach(async () => {
  for (const p of running.splice(0)) await p.stop();
  expect(fatal.splice(0)).toEqual([]);
});

function setup(
  options: { saved?: Cursor; pendingMax?: number; saveIntervalMs?: number; store?: StateStore } = {},
): Setup {
  const log = new FakeControllerLog();
  const bus = new MemoryBus();
  const store = new MemoryStateStore(options.saved);
  const registry = new Registry();
  const lines: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) });
  const pusher = createNotificationPusher({
    watchSource: logWatchSource(log),
    publisher: bus,
    stateStore: options.store ?? store,
    logger,
    metrics: registry,
    pendingMax: options.pendingMax,
    publishBatchMax: 3,
    stateSaveIntervalMs: options.saveIntervalMs ?? 0,
    watchBackoff: { initialMs: 5, maxMs: 20 },
    publishBackoff: { initialMs: 5, maxMs: 20 },
    onFatal: (error) => fatal.push(error),
  });
  running.push(pusher);
  return { log, bus, store, registry, pusher, lines };
}

async function metric(
  registry: Registry,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const values = (await registry.getSingleMetric(name)?.get())?.values ?? [];
  const found = values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
  return found?.value ?? 0;
}

describe('createNotificationPusher', () => {
  it('publishes role changes in log order and moves its position over events that need none', async () => {
    const { log, bus, store, registry, pusher } = setup();
    await pusher.start();
    await waitFor(() => pusher.status().ready, { what: 'ready' });
    expect(log.watchRequests).toEqual([0n]); // first start: a Resync of the (empty) state

    const a = seedGroup(
      log,
      'c1',
      'broker-a',
      [
        [1n, 'a1:1'],
        [2n, 'a2:1'],
      ],
      1n,
    );
    const b = seedGroup(log, 'c1', 'broker-b', [[1n, 'b1:1']], 1n);
    const alter = log.entry(alterSyncStateSet('broker-a', [1n, 2n]));
    const cleared = log.entry(elect('broker-b', undefined));
    const cleaned = log.entry(clean('broker-a', [2n]));
    const last = log.entry(configChange('k', 'v'));

    await waitFor(() => pusher.status().confirmed?.index === last, { what: 'position at the last entry' });
    expect(bus.indexes()).toEqual([a, b, alter, cleared, cleaned]);
    expect(bus.delivered.map((d) => [d.subject, d.notification.reason])).toEqual([
      ['regent.c1.broker-a.role', RoleChangeReason.MASTER_ELECTED],
      ['regent.c1.broker-b.role', RoleChangeReason.MASTER_ELECTED],
      ['regent.c1.broker-a.role', RoleChangeReason.SYNC_STATE_SET_CHANGED],
      ['regent.c1.broker-b.role', RoleChangeReason.MASTER_CLEARED],
      ['regent.c1.broker-a.role', RoleChangeReason.BROKER_DATA_CLEANED],
    ]);
    expect(bus.delivered[0]!.headers).toEqual({
      'Content-Type': 'application/x-protobuf',
      'Regent-Master-Epoch': '1',
    });
    expect(await metric(registry, 'regent_notify_published_total', { reason: 'master_elected' })).toBe(2);
    expect(await metric(registry, 'regent_notify_last_published_index')).toBe(Number(last));
    await waitFor(() => store.saved?.index === last, { what: 'position saved' });
  });

  it('resumes inside a partly published entry without repeating its published events', async () => {
    const { log, bus, store, pusher } = setup();
    log.entry(register('c', 'g', 1n, 'g1:1'));
    log.entry(register('c', 'g', 2n, 'g2:1'));
    const both = log.entry(elect('g', 1n), alterSyncStateSet('g', [1n, 2n]));
    // The saved position says position 0 of `both` was published before a crash.
    store.saved = { index: both, position: 0 };
    await pusher.start();
    await waitFor(() => pusher.status().confirmed?.position === 1, { what: 'position 1 confirmed' });
    expect(log.watchRequests[0]).toBe(both);
    expect(bus.delivered.map((d) => d.notification.reason)).toEqual([
      RoleChangeReason.SYNC_STATE_SET_CHANGED,
    ]);
  });

  it('holds notifications while the bus is down, pauses the watch when full, and later delivers all in order', async () => {
    const { log, bus, store, registry, pusher } = setup({ saved: { index: 0n }, pendingMax: 4 });
    const seeded = seedGroup(
      log,
      'c',
      'g',
      [
        [1n, 'g1:1'],
        [2n, 'g2:1'],
      ],
      1n,
    );
    await pusher.start();
    await waitFor(() => pusher.status().confirmed?.index === seeded, { what: 'seed published' });
    const savesBefore = store.saves.length;

    bus.up = false;
    const elections: bigint[] = [];
    for (let i = 0; i < 10; i++) elections.push(log.entry(elect('g', BigInt(1 + (i % 2)))));
    await waitFor(() => pusher.status().paused && log.activeStreams === 0, { what: 'watch paused' });
    expect(pusher.status()).toMatchObject({ pending: 4, ready: false, confirmed: { index: seeded } });
    expect(await metric(registry, 'regent_notify_pending')).toBe(4);
    expect(store.saves.length).toBe(savesBefore);
    expect(bus.delivered.length).toBe(1);

    bus.up = true;
    await waitFor(() => pusher.status().confirmed?.index === elections.at(-1), { what: 'all published' });
    expect(bus.indexes()).toEqual([seeded, ...elections]);
    expect(bus.delivered.map((d) => d.notification.masterEpoch)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(await metric(registry, 'regent_notify_watch_pauses_total')).toBeGreaterThanOrEqual(1);
    expect(await metric(registry, 'regent_notify_pending')).toBe(0);
  });

  it('retries a batch the bus did not confirm, repeating it whole rather than reordering', async () => {
    const { log, bus, registry, pusher } = setup({ saved: { index: 0n } });
    log.entry(register('c', 'g', 1n, 'g1:1'));
    const e1 = log.entry(elect('g', 1n));
    const e2 = log.entry(elect('g', undefined));
    const e3 = log.entry(elect('g', 1n));
    bus.failAfterSendCount = 1;
    await pusher.start();
    await waitFor(() => pusher.status().confirmed?.index === e3, { what: 'all confirmed' });
    // The failed batch (whatever it held) went out once more, from its first item: e1.., then e1, e2, e3.
    const delivered = bus.indexes();
    const retry = delivered.indexOf(e1, 1);
    expect(retry).toBeGreaterThan(0);
    expect(delivered.slice(retry)).toEqual([e1, e2, e3]);
    expect(delivered.slice(0, retry)).toEqual([e1, e2, e3].slice(0, retry));
    expect(await metric(registry, 'regent_notify_publish_failures_total')).toBe(1);
  });

  it('re-requests a broken stream from where it read, with no loss and no duplicate', async () => {
    const { log, bus, registry, pusher } = setup({ saved: { index: 0n } });
    await pusher.start();
    const first = seedGroup(log, 'c', 'g', [[1n, 'g1:1']], 1n);
    await waitFor(() => bus.delivered.length === 1, { what: 'first' });
    log.killStreams();
    const more = [log.entry(elect('g', undefined)), log.entry(elect('g', 1n))];
    await waitFor(() => bus.delivered.length === 3, { what: 'after reconnect' });
    expect(bus.indexes()).toEqual([first, ...more]);
    expect(log.watchRequests).toEqual([1n, first]);
    expect(await metric(registry, 'regent_notify_watch_reconnects_total')).toBe(1);
  });

  it('on a Resync publishes only groups whose epochs moved on, and forgets removed groups', async () => {
    const { log, bus, pusher } = setup();
    seedGroup(
      log,
      'c',
      'a',
      [
        [1n, 'a1:1'],
        [2n, 'a2:1'],
      ],
      1n,
    );
    seedGroup(
      log,
      'c',
      'b',
      [
        [1n, 'b1:1'],
        [2n, 'b2:1'],
      ],
      1n,
    );
    seedGroup(log, 'c', 'x', [[1n, 'x1:1']], 1n);
    await pusher.start();
    await waitFor(() => bus.delivered.length === 3, { what: 'first resync' });
    expect(bus.delivered.map((d) => [d.notification.brokerName, d.notification.raftIndex])).toEqual([
      ['a', log.lastIndex],
      ['b', log.lastIndex],
      ['x', log.lastIndex],
    ]);
    expect(pusher.status().confirmed).toEqual({ index: log.lastIndex });

    // While disconnected: a re-election of a, a SyncStateSet change of b, x removed; the log is compacted.
    log.killStreams();
    log.entry(elect('a', 2n, { explanation: 'a2 ranked first' }));
    log.entry(alterSyncStateSet('b', [1n, 2n]));
    log.entry(clean('x', []));
    log.compact(log.lastIndex);
    await waitFor(() => bus.delivered.length === 5, { what: 'second resync' });
    expect(bus.delivered.slice(3).map((d) => [d.notification.brokerName, d.notification.reason])).toEqual([
      ['a', RoleChangeReason.MASTER_ELECTED],
      ['b', RoleChangeReason.SYNC_STATE_SET_CHANGED],
    ]);
    expect(bus.delivered[3]!.notification.explanation).toBe('a2 ranked first');

    // x comes back with epoch 1 again: forgotten at the last Resync, so it is announced.
    log.killStreams();
    seedGroup(log, 'c', 'x', [[1n, 'x1:1']], 1n);
    log.compact(log.lastIndex);
    await waitFor(() => bus.delivered.length === 6, { what: 'third resync' });
    expect(bus.delivered[5]!.notification).toMatchObject({ brokerName: 'x', masterEpoch: 1 });
    await waitFor(() => pusher.status().confirmed?.index === log.lastIndex, { what: 'position at resync' });
    expect(log.watchRequests.slice(-1)[0]).toBeLessThanOrEqual(log.compactedThrough);
  });

  it('holds a Resync larger than the buffer and publishes it whole before moving the position', async () => {
    const { log, bus, pusher } = setup({ pendingMax: 2 });
    for (const name of ['g1', 'g2', 'g3', 'g4', 'g5']) seedGroup(log, 'c', name, [[1n, `${name}:1`]], 1n);
    bus.up = false;
    await pusher.start();
    await waitFor(() => pusher.status().pending === 2, { what: 'buffer full' });
    expect(pusher.status()).toMatchObject({ paused: false, confirmed: undefined });
    expect(log.activeStreams).toBe(1);
    bus.up = true;
    await waitFor(() => pusher.status().confirmed?.index === log.lastIndex, { what: 'resync confirmed' });
    expect(bus.delivered.map((d) => d.notification.brokerName)).toEqual(['g1', 'g2', 'g3', 'g4', 'g5']);
  });

  it('saves its position at most once per interval, and on stop', async () => {
    const { log, store, pusher } = setup({ saved: { index: 0n }, saveIntervalMs: 60_000 });
    await pusher.start();
    let last = 0n;
    for (let i = 0; i < 5; i++) {
      last = log.entry(register('c', 'g', BigInt(i + 1), `g${i}:1`));
      await waitFor(() => pusher.status().confirmed?.index === last, { what: `entry ${i}` });
    }
    await waitFor(() => store.saves.length === 1, { what: 'first save' });
    expect(store.saves.length).toBe(1);
    await pusher.stop();
    expect(store.saves.length).toBe(2);
    expect(store.saved).toEqual({ index: last, position: 0 });
  });

  it('skips an event it cannot describe, counts it, and carries on', async () => {
    const { log, bus, registry, pusher, lines } = setup({ saved: { index: 0n } });
    seedGroup(log, 'bad cluster', 'g', [[1n, 'g1:1']], 1n);
    const good = seedGroup(log, 'c', 'h', [[1n, 'h1:1']], 1n);
    await pusher.start();
    await waitFor(() => pusher.status().confirmed?.index === good, { what: 'good published' });
    expect(bus.indexes()).toEqual([good]);
    expect(await metric(registry, 'regent_notify_skipped_total', { cause: 'invalid_subject' })).toBe(1);
    expect(lines.some((l) => l.includes('"level":50') && l.includes('cannot notify'))).toBe(true);
  });

  it('starts over from a Resync when the saved position cannot be read', async () => {
    const broken: StateStore = {
      load: async () => {
        throw new Error('disk on fire');
      },
      save: async () => {},
    };
    const { log, bus, pusher, lines } = setup({ store: broken });
    seedGroup(log, 'c', 'g', [[1n, 'g1:1']], 1n);
    await pusher.start();
    await waitFor(() => bus.delivered.length === 1, { what: 'resync published' });
    expect(log.watchRequests[0]).toBe(0n);
    expect(lines.some((l) => l.includes('cannot read the saved position'))).toBe(true);
  });

  it('is ready only while watching and connected to the bus', async () => {
    const { bus, pusher } = setup({ saved: { index: 0n } });
    expect(pusher.status().ready).toBe(false);
    await pusher.start();
    await waitFor(() => pusher.status().ready, { what: 'ready' });
    bus.up = false;
    expect(pusher.status()).toMatchObject({ ready: false, watching: true, busConnected: false });
    bus.up = true;
    await pusher.stop();
    expect(pusher.status().ready).toBe(false);
  });
});
