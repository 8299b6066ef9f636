// The broker-sim process against a fake gateway (the in-memory BrokerService served by service-kit's server):
// health and metrics, the control API, kill (connection closed at once), pause (silent, connection open), restart,
// failover to the slave, and --single mode.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeBrokerService } from '@regent/broker-agent/testing';
import { BrokerService } from '@regent/proto/broker';
import { createLogger, createMetricsRegistry, type RunningServer, startServer } from '@regent/service-kit';
import { freePort, type ManagedProcess, spawnTs, waitFor, waitForHttpOk } from '@regent/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

interface BrokerView {
  group: string;
  replicaIndex: number;
  brokerId: string | null;
  state: string;
  role: string;
  fenced: boolean;
  masterEpoch: number;
  syncStateSet: string[];
  maxOffset: string;
  epochs: string[];
}

let fake: FakeBrokerService;
let gateway: RunningServer;
let dataDir: string;
const processes: ManagedProcess[] = [];

beforeAll(async () => {
  fake = new FakeBrokerService();
  gateway = await startServer({
    host: '127.0.0.1',
    port: 0,
    logger: createLogger('fake-gateway', 'silent'),
    metrics: createMetricsRegistry('fake-gateway'),
    routes: (router) => router.service(BrokerService, fake.impl),
  });
  dataDir = await mkdtemp(join(tmpdir(), 'regent-broker-sim-'));
});
afterAll(async () => {
  for (const p of processes) {
    if (p.child.exitCode === null && p.child.signalCode === null) await p.stop();
  }
  await gateway.close();
  await rm(dataDir, { recursive: true, force: true });
});

async function startSim(extra: string[]): Promise<{ url: string; proc: ManagedProcess }> {
  const port = await freePort();
  const proc = spawnTs('broker-sim', 'apps/broker-sim/src/main.ts', [
    '--gateway',
    gateway.url,
    '--cluster',
    'c1',
    '--data-dir',
    dataDir,
    '--port',
    String(port),
    '--heartbeat-interval-ms',
    '50',
    '--heartbeat-timeout-ms',
    '400',
    '--sync-broker-metadata-period-ms',
    '200',
    '--check-sync-state-set-period-ms',
    '100',
    '--write-rate-bytes-per-sec',
    '100000',
    ...extra,
  ]);
  processes.push(proc);
  const url = `http://127.0.0.1:${port}`;
  await waitForHttpOk(`${url}/healthz`);
  return { url, proc };
}

async function brokers(url: string): Promise<BrokerView[]> {
  const res = await fetch(`${url}/brokers`);
  return ((await res.json()) as { brokers: BrokerView[] }).brokers;
}

async function act(url: string, group: string, id: string, action: string): Promise<Response> {
  return fetch(`${url}/brokers/${group}/${id}/${action}`, { method: 'POST' });
}

const inGroup = (all: BrokerView[], group: string) => all.filter((b) => b.group === group);

describe('broker-sim', () => {
  it('runs groups × replicas, and kill / pause / resume / restart act like crash and hang', async () => {
    const { url, proc } = await startSim(['--groups', '2', '--replicas', '2', '--replication-lag-ms', '0']);
    // One unfenced master and one slave per group, and the slave replicates.
    const settled = await waitFor(
      async () => {
        const all = await brokers(url);
        const ok = ['broker-0', 'broker-1'].every((g) => {
          const roles = inGroup(all, g).map((b) => `${b.role}/${b.fenced}`);
          return roles.sort().join(',') === 'master/false,slave/false';
        });
        return ok && all.every((b) => BigInt(b.maxOffset) > 0n) ? all : undefined;
      },
      { timeoutMs: 20_000, what: 'masters and replicating slaves' },
    );
    expect(settled).toHaveLength(4);
    // The master reports the caught-up slave into the SyncStateSet.
    await waitFor(() => fake.groups.get('broker-0')?.syncStateSet.length === 2, {
      what: 'SyncStateSet expanded',
    });

    const health = (await (await fetch(`${url}/healthz`)).json()) as Record<string, unknown>;
    expect(health).toMatchObject({ status: 'ok', brokers: 4, running: 4, masters: 2 });
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toContain('regent_broker_sim_role{');
    expect(metrics).toContain('regent_broker_sim_max_offset_bytes{');

    // kill the master of broker-0: its connection closes at once (the stream breaks), nothing more is sent.
    const g0 = inGroup(await brokers(url), 'broker-0');
    const master = g0.find((b) => b.role === 'master')!;
    const slave = g0.find((b) => b.role === 'slave')!;
    const masterKey = `broker-0/${master.brokerId}`;
    expect((await act(url, 'broker-0', master.brokerId!, 'kill')).status).toBe(200);
    await waitFor(() => fake.streamBreaks.some((s) => s.key === masterKey && s.how === 'broken'), {
      what: 'the killed broker stream to break',
    });
    expect(fake.openStreams.get(masterKey)).toBe(0);
    await waitFor(() => !fake.isAlive('broker-0', BigInt(master.brokerId!)), {
      what: 'killed broker to expire',
    });

    // The controller elects the slave (the fake has no scans: the test plays the controller); it takes over.
    fake.setMaster('broker-0', BigInt(slave.brokerId!));
    await waitFor(
      async () =>
        inGroup(await brokers(url), 'broker-0').find((b) => b.brokerId === slave.brokerId)?.role === 'master',
      { what: 'the slave to become master' },
    );

    // restart the old master: it comes back as a slave of the new one, truncated to the common epoch point.
    expect((await act(url, 'broker-0', 'r' + master.replicaIndex, 'restart')).status).toBe(200);
    const back = await waitFor(
      async () => {
        const b = inGroup(await brokers(url), 'broker-0').find((x) => x.brokerId === master.brokerId);
        return b?.role === 'slave' && b.state === 'running' && !b.fenced && b.epochs.length === 2
          ? b
          : undefined;
      },
      { what: 'the old master to follow the new one' },
    );
    expect(back.masterEpoch).toBe(2);

    // pause (hang) the master of broker-1: silent, but its stream stays open.
    const g1master = inGroup(await brokers(url), 'broker-1').find((b) => b.role === 'master')!;
    const key1 = `broker-1/${g1master.brokerId}`;
    expect((await act(url, 'broker-1', g1master.brokerId!, 'pause')).status).toBe(200);
    await waitFor(() => !fake.isAlive('broker-1', BigInt(g1master.brokerId!)), {
      what: 'paused broker to expire',
    });
    expect(fake.openStreams.get(key1)).toBe(1);
    expect((await act(url, 'broker-1', g1master.brokerId!, 'resume')).status).toBe(200);
    await waitFor(() => fake.isAlive('broker-1', BigInt(g1master.brokerId!)), {
      what: 'resumed broker alive',
    });

    expect((await act(url, 'broker-1', '99', 'kill')).status).toBe(404);
    expect((await act(url, 'broker-1', 'r0', 'explode')).status).toBe(404);
    expect((await fetch(`${url}/brokers`, { method: 'POST' })).status).toBe(405);

    expect(await proc.stop()).toBe(0);
  });

  it('--single runs one broker in its own process', async () => {
    const { url, proc } = await startSim(['--single', '--group', 'solo', '--replica-index', '2']);
    const [only] = await waitFor(
      async () => {
        const all = await brokers(url);
        return all.length === 1 && all[0]!.role === 'master' ? all : undefined;
      },
      { what: 'the single broker to be master' },
    );
    expect(only).toMatchObject({ group: 'solo', replicaIndex: 2, fenced: false, brokerId: '1' });
    // A real kill -9 of the process breaks its heartbeat stream at the gateway.
    expect(await proc.kill()).toBe('SIGKILL');
    await waitFor(() => fake.streamBreaks.some((s) => s.key === 'solo/1' && s.how === 'broken'), {
      what: 'the stream of the killed process to break',
    });
  });
});
