// Issue: closing the loop — the moment an election commits, every broker of the group learns its new role over NATS,
// and a broker that misses the message converges by polling. Real processes: 3 consensus nodes, a gateway, the
// election-policy service, notification-push, a private nats-server, and 3 groups × 3 brokers in broker-sim
// processes (the broker agent with its defaults, but for the timeouts below).
//
// - `crash-0`: one broker-sim process per broker (`--single`), so kill -9 takes down exactly one broker, and no
//   periodic poll (`--sync-broker-metadata-period-ms` 10 min): its brokers learn a role change from NATS only (the
//   agent also polls once right after a NATS reconnect).
// - `multi-0`, `multi-1`: three broker-sim processes, each running one replica of both groups, with the default 1 s
//   poll; `multi-0` fails over while notification-push is down, `multi-1` is a bystander that must stay untouched.
import { RoleChangeReason } from '@regent/proto/notify';
import { type NatsServer, startNatsServer, waitFor } from '@regent/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BrokerSim, type SimBrokerView, waitForBrokers } from './broker-sim.js';
import { briefOf, counterOf, type SettledGroup, simOf, waitForConverged, waitForSettled } from './groups.js';
import { type NotificationObserver, observeNotifications, roleSubjectOf } from './notifications.js';
import { CLUSTER, System } from './system.js';

/**
 * A crash breaks the broker's heartbeat stream, which should make failover independent of the liveness timeout (today
 * the controller drops that suspicion as stale once a unary heartbeat followed the stream's opening, so the timeout
 * decides and each failover here takes about 3 s). A 3 s timeout (default 500 ms)
 * keeps a live broker starved of CPU on a loaded machine from being declared dead in the middle of a scenario, and a
 * 3 s RPC timeout (default 1 s) keeps a slow first ElectMaster from failing: without periodic polls nothing would
 * retry it.
 */
const BROKER_ARGS = ['--heartbeat-timeout-ms', '3000', '--rpc-timeout-ms', '3000'];
/** Without periodic GetReplicaInfo polls a role change can only arrive over NATS (or at a NATS reconnect). */
const NO_POLL = [...BROKER_ARGS, '--sync-broker-metadata-period-ms', '600000'];
/** Bounds chosen for a loaded 2-core machine; a healthy run needs a fraction of each. */
const SETTLE_MS = 60_000;
const FAILOVER_MS = 30_000;

const CRASH = 'crash-0';
const POLL = 'multi-0';
const BYSTANDER = 'multi-1';

let nats: NatsServer;
let system: System;
let observer: NotificationObserver;
/** crash-0: one process per replica index. */
const crashSims: BrokerSim[] = [];
/** multi-0 and multi-1: replica r of both groups in process r. */
const multiSims: BrokerSim[] = [];
let bystanderBefore: SettledGroup;

beforeAll(async () => {
  nats = await startNatsServer();
  system = await System.start({ consensusNodes: 3, gateways: 1, policy: true, natsUrl: nats.url });
  observer = await observeNotifications(nats.url, roleSubjectOf(CLUSTER, '*'));
  // Sequential starts keep the CPU burst of many tsx processes bounded on a small machine.
  for (const replicaIndex of [0, 1, 2]) {
    crashSims.push(await system.startBrokerSim({ single: { group: CRASH, replicaIndex }, args: NO_POLL }));
  }
  for (const replica of [0, 1, 2]) {
    multiSims.push(
      await system.startBrokerSim({
        groupPrefix: 'multi-',
        groups: 2,
        replicas: 1,
        name: `sim-multi-r${replica}`,
        args: BROKER_ARGS,
      }),
    );
  }
  bystanderBefore = await settled(multiSims, BYSTANDER, false);
}, 300_000);

afterAll(async () => {
  await observer?.close();
  await system?.stop();
  await nats?.stop();
});

const settled = (sims: readonly BrokerSim[], group: string, fullSyncStateSet = true): Promise<SettledGroup> =>
  waitForSettled(system, sims, group, { fullSyncStateSet, timeoutMs: SETTLE_MS });

const converged = (
  sims: readonly BrokerSim[],
  group: string,
  ids: readonly string[],
  masterId: string,
  masterEpoch: number,
  what: string,
): Promise<SimBrokerView[]> =>
  waitForConverged(sims, group, { ids, masterId, masterEpoch }, { timeoutMs: FAILOVER_MS, what });

describe('role-change notifications end to end (real processes, real NATS)', () => {
  it('(a) kill -9 of a master: a new master from the SyncStateSet, every live broker told over NATS', async () => {
    const before = await settled(crashSims, CRASH);
    const masterSim = await simOf(crashSims, CRASH, before.masterId);
    const survivors = before.views.filter((v) => v.brokerId !== before.masterId).map((v) => v.brokerId!);
    const from = observer.received.length;

    await masterSim.kill();

    const got = await observer.next(
      from,
      (n) => n.brokerName === CRASH && n.masterEpoch > before.masterEpoch && n.masterBrokerId !== undefined,
      { timeoutMs: FAILOVER_MS, what: `the ${CRASH} election notification` },
    );
    const n = got.notification;
    const newMaster = String(n.masterBrokerId);
    expect(got.subject).toBe(roleSubjectOf(CLUSTER, CRASH));
    expect(n.reason).toBe(RoleChangeReason.MASTER_ELECTED);
    expect(n.clusterName).toBe(CLUSTER);
    expect(n.masterEpoch).toBe(before.masterEpoch + 1);
    expect(before.syncStateSet).toContain(newMaster);
    expect(survivors).toContain(newMaster);
    expect(n.syncStateSet?.brokerIds.map(String)).toEqual([newMaster]);
    expect(n.masterAddress).toBe(n.brokerAddresses[Number(newMaster)]);
    expect(n.explanation).not.toBe('');

    // Both survivors take their new roles; with no periodic poll, only the notification can have told them.
    const after = await converged(
      crashSims,
      CRASH,
      survivors,
      newMaster,
      n.masterEpoch,
      'survivors in new roles',
    );
    for (const id of survivors) {
      const now = after.find((v) => v.brokerId === id);
      const then = before.views.find((v) => v.brokerId === id);
      expect(counterOf(now, 'notificationsReceived')).toBeGreaterThan(
        counterOf(then, 'notificationsReceived'),
      );
      expect(counterOf(now, 'polls')).toBe(counterOf(then, 'polls'));
    }
    const info = await system.brokerClient(0).getReplicaInfo({ clusterName: CLUSTER, brokerName: CRASH });
    expect(String(info.masterBrokerId)).toBe(newMaster);
    expect(info.masterEpoch).toBe(n.masterEpoch);

    // The crashed broker's process starts again: it keeps its identity and follows the new master.
    await masterSim.restart();
    const back = await settled(crashSims, CRASH, false);
    expect(back.views.find((v) => v.brokerId === before.masterId)?.role).toBe('slave');
  });

  it('(d) a stale (lower-epoch) notification is ignored by every broker and counted', async () => {
    const before = await settled(crashSims, CRASH, false);
    const slaveId = before.views.find((v) => v.brokerId !== before.masterId)!.brokerId!;
    await observer.publish(roleSubjectOf(CLUSTER, CRASH), {
      clusterName: CLUSTER,
      brokerName: CRASH,
      masterBrokerId: BigInt(slaveId),
      masterAddress: '127.0.0.1:1',
      masterEpoch: before.masterEpoch - 1,
      syncStateSet: { brokerIds: [BigInt(slaveId)], epoch: 1 },
      reason: RoleChangeReason.MASTER_ELECTED,
      publishedAtUnixMs: BigInt(Date.now()),
    });
    // Every broker saw it (the positive signal that it was delivered) and counted it as stale …
    const after = await waitForBrokers(
      crashSims,
      CRASH,
      (views) =>
        views.length === 3 &&
        views.every((v) => {
          const then = before.views.find((b) => b.brokerId === v.brokerId);
          return counterOf(v, 'staleIgnored') > counterOf(then, 'staleIgnored');
        }),
      { timeoutMs: FAILOVER_MS, what: 'every broker to count the stale notification' },
    );
    // … and nothing changed: same role, same master, same epoch.
    for (const v of after) {
      const then = before.views.find((b) => b.brokerId === v.brokerId)!;
      expect(briefOf(v)).toBe(briefOf(then));
      expect(counterOf(v, 'roleChanges')).toBe(counterOf(then, 'roleChanges'));
    }
    const metrics = await (await fetch(`${crashSims[0]!.url}/metrics`)).text();
    expect(metrics).toMatch(/regent_broker_sim_stale_news_ignored\{[^}]*\} [1-9]/);
  });

  it('(b) with notification-push stopped, brokers still converge by polling after a failover', async () => {
    const before = await settled(multiSims, POLL);
    const masterSim = await simOf(multiSims, POLL, before.masterId);
    await system.stopPush();
    const from = observer.received.length;
    const isNews = (n: { brokerName: string; masterEpoch: number }) =>
      n.brokerName === POLL && n.masterEpoch > before.masterEpoch;
    const survivors = before.views.filter((v) => v.brokerId !== before.masterId).map((v) => v.brokerId!);

    await masterSim.act(POLL, before.masterId, 'kill');

    const client = system.brokerClient(0);
    const info = await waitFor(
      async () => {
        const i = await client.getReplicaInfo(
          { clusterName: CLUSTER, brokerName: POLL },
          { timeoutMs: 3000 },
        );
        return i.masterEpoch > before.masterEpoch && i.masterBrokerId !== undefined ? i : undefined;
      },
      { timeoutMs: FAILOVER_MS, what: `a new ${POLL} master` },
    );
    const newMaster = String(info.masterBrokerId);
    expect(survivors).toContain(newMaster);
    const after = await converged(
      multiSims,
      POLL,
      survivors,
      newMaster,
      info.masterEpoch,
      'convergence by polling',
    );
    // Nobody published the change: the poll told them.
    expect(observer.received.slice(from).filter((r) => isNews(r.notification))).toEqual([]);
    for (const id of survivors) {
      const now = after.find((v) => v.brokerId === id);
      const then = before.views.find((v) => v.brokerId === id);
      expect(counterOf(now, 'polls')).toBeGreaterThan(counterOf(then, 'polls'));
    }

    // notification-push resumes from its saved position and publishes the change it missed; brokers already hold it.
    await system.startPush();
    await system.waitPushReady();
    await observer.next(
      from,
      (n) =>
        n.brokerName === POLL && n.masterEpoch === info.masterEpoch && String(n.masterBrokerId) === newMaster,
      { timeoutMs: FAILOVER_MS, what: 'the missed notification after notification-push restarted' },
    );
    await waitForBrokers(
      multiSims,
      POLL,
      (views) =>
        survivors.every((id) => {
          const v = views.find((b) => b.brokerId === id);
          const then = after.find((b) => b.brokerId === id);
          return (
            counterOf(v, 'notificationsReceived') > counterOf(then, 'notificationsReceived') &&
            v?.masterEpoch === info.masterEpoch &&
            v.role === then?.role &&
            counterOf(v, 'roleChanges') === counterOf(then, 'roleChanges')
          );
        }),
      { timeoutMs: FAILOVER_MS, what: 'the late notification received and changing nothing' },
    );
    await masterSim.act(POLL, before.masterId, 'restart');
  });

  it('(c) after nats-server restarts on the same port, a later failover is delivered over NATS', async () => {
    const before = await settled(crashSims, CRASH);
    const reconnects = observer.reconnects;

    nats = await nats.restart();

    await observer.resubscribed(reconnects, FAILOVER_MS);
    await system.waitPushReady(FAILOVER_MS);
    // Every broker is back on NATS, and the poll the agent makes right after a reconnect has started.
    const reconnected = await waitForBrokers(
      crashSims,
      CRASH,
      (views) =>
        views.length === 3 &&
        views.every((v) => {
          const then = before.views.find((b) => b.brokerId === v.brokerId);
          return (
            v.natsConnected &&
            counterOf(v, 'natsReconnects') > counterOf(then, 'natsReconnects') &&
            counterOf(v, 'polls') > counterOf(then, 'polls')
          );
        }),
      { timeoutMs: FAILOVER_MS, what: 'every broker reconnected to NATS' },
    );
    const masterSim = await simOf(crashSims, CRASH, before.masterId);
    const survivors = reconnected.filter((v) => v.brokerId !== before.masterId).map((v) => v.brokerId!);
    const from = observer.received.length;

    await masterSim.kill();

    const got = await observer.next(
      from,
      (n) => n.brokerName === CRASH && n.masterEpoch > before.masterEpoch && n.masterBrokerId !== undefined,
      { timeoutMs: FAILOVER_MS, what: `the ${CRASH} election notification after the NATS restart` },
    );
    const newMaster = String(got.notification.masterBrokerId);
    expect(survivors).toContain(newMaster);
    expect(before.syncStateSet).toContain(newMaster);
    expect(got.notification.masterEpoch).toBe(before.masterEpoch + 1);
    const after = await converged(
      crashSims,
      CRASH,
      survivors,
      newMaster,
      got.notification.masterEpoch,
      'survivors told over the restarted NATS',
    );
    for (const id of survivors) {
      const now = after.find((v) => v.brokerId === id);
      const then = reconnected.find((v) => v.brokerId === id);
      expect(counterOf(now, 'notificationsReceived')).toBeGreaterThan(
        counterOf(then, 'notificationsReceived'),
      );
      expect(counterOf(now, 'polls')).toBe(counterOf(then, 'polls'));
    }
  });

  it('leaves a group without failures alone: multi-1 keeps its master and epoch and saw no foreign news', async () => {
    const now = await settled(multiSims, BYSTANDER, false);
    expect(now.masterId).toBe(bystanderBefore.masterId);
    expect(now.masterEpoch).toBe(bystanderBefore.masterEpoch);
    for (const v of now.views) expect(counterOf(v, 'notificationsInvalid')).toBe(0);
  });
});
