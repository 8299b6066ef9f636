// The real process: started from source against a fake consensus (Connect) and a private nats-server.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, type NatsServer, spawnTs, startNatsServer, waitFor, waitForHttpOk } from '@regent/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStateFile } from './adapters/state-file.js';
import { FakeConsensus } from './fake-consensus.test-support.js';
import { seedGroup } from './fake-log.test-support.js';
import { subscribeNotifications, type TestSubscriber } from './nats-subscriber.test-support.js';

const ENTRY = 'apps/notification-push/src/main.ts';

let consensus: FakeConsensus;
let nats: NatsServer;
let subscriber: TestSubscriber;
let dataDir: string;

beforeAll(async () => {
  consensus = await FakeConsensus.start(3);
  nats = await startNatsServer();
  subscriber = await subscribeNotifications(nats.url);
  dataDir = await mkdtemp(join(tmpdir(), 'regent-push-main-'));
});

afterAll(async () => {
  await subscriber?.close();
  await nats?.stop();
  await consensus?.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe('notification-push process', () => {
  it('serves /healthz, /readyz and /metrics, publishes, and exits cleanly on SIGTERM', async () => {
    const port = await freePort();
    const app = spawnTs('notification-push', ENTRY, [
      '--port',
      String(port),
      '--consensus',
      consensus.addresses().join(','),
      '--nats',
      nats.url,
      '--data-dir',
      dataDir,
      '--state-save-interval-ms',
      '10000',
    ]);
    try {
      const base = `http://127.0.0.1:${port}`;
      await waitForHttpOk(`${base}/healthz`);
      await waitForHttpOk(`${base}/readyz`);
      const ready = (await (await fetch(`${base}/readyz`)).json()) as Record<string, unknown>;
      expect(ready).toMatchObject({ ready: true, watching: true, natsConnected: true });

      const index = seedGroup(consensus.log, 'DefaultCluster', 'broker-a', [[1n, '127.0.0.1:10911']], 1n);
      await waitFor(() => subscriber.received.length === 1, { what: 'notification from the process' });
      expect(subscriber.received[0]).toMatchObject({
        subject: 'regent.DefaultCluster.broker-a.role',
        notification: { raftIndex: index, masterBrokerId: 1n },
      });

      const metrics = await waitFor(
        async () => {
          const text = await (await fetch(`${base}/metrics`)).text();
          return (
            text.includes(`regent_notify_last_published_index{app="notification-push"} ${index}`) && text
          );
        },
        { what: 'metrics at the published index' },
      );
      for (const name of [
        'regent_notify_published_total{reason="master_elected",app="notification-push"} 1',
        'regent_notify_publish_failures_total',
        'regent_notify_watch_reconnects_total',
        'regent_notify_pending{app="notification-push"} 0',
        'regent_notify_commit_to_publish_seconds_bucket',
      ]) {
        expect(metrics).toContain(name);
      }

      expect(await app.stop()).toBe(0);
      // The position is written on shutdown even though the save interval had not elapsed again.
      expect(await createStateFile(dataDir).load()).toEqual({ index, position: 0 });
    } finally {
      await app.kill();
    }
  });

  it('refuses an invalid configuration with exit code 2', async () => {
    const app = spawnTs('notification-push', ENTRY, ['--consensus', '127.0.0.1:1', '--nats-pass', 'x']);
    expect(await app.exited).toBe(2);
    expect(app.output()).toContain('--nats-pass needs --nats-user');
  });
});
