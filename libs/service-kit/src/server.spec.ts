import { execFile } from 'node:child_process';
import * as http2 from 'node:http2';
import * as net from 'node:net';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger, createMetricsRegistry } from './observability.js';
import { type RunningServer, startServer } from './server.js';

let server: RunningServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('startServer', () => {
  it('serves health, readiness and metrics over HTTP/1.1 and h2c on one port', async () => {
    let ready = false;
    server = await startServer({
      host: '127.0.0.1',
      port: 0,
      logger: createLogger('test', 'silent'),
      metrics: createMetricsRegistry('test'),
      ready: () => ({ ready }),
    });
    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok' });
    expect((await fetch(`${server.url}/readyz`)).status).toBe(503);
    ready = true;
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toContain('nodejs_eventloop_lag_seconds');

    const session = http2.connect(server.url);
    const body = await new Promise<string>((resolve, reject) => {
      const req = session.request({ ':path': '/healthz' }, { endStream: true });
      let data = '';
      req.on('data', (chunk: Buffer) => (data += chunk.toString()));
      req.on('end', () => resolve(data));
      req.on('error', reject);
    });
    session.close();
    expect(JSON.parse(body)).toMatchObject({ status: 'ok' });
  });

  it('survives connections reset before their first byte (found by the chaos proxy)', async () => {
    server = await startServer({
      host: '127.0.0.1',
      port: 0,
      logger: createLogger('test', 'silent'),
      metrics: createMetricsRegistry('test'),
    });
    const port = Number(new URL(server.url).port);
    for (let i = 0; i < 20; i++) {
      const socket = net.connect(port, '127.0.0.1');
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      socket.resetAndDestroy();
    }
    for (let i = 0; i < 5; i++) expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });

  it('answers curl over --http1.1 and --http2-prior-knowledge', async () => {
    server = await startServer({
      host: '127.0.0.1',
      port: 0,
      logger: createLogger('test', 'silent'),
      metrics: createMetricsRegistry('test'),
    });
    for (const flag of ['--http1.1', '--http2-prior-knowledge']) {
      const { stdout: out } = await promisify(execFile)('curl', ['-sS', flag, `${server.url}/healthz`]);
      expect(JSON.parse(out)).toMatchObject({ status: 'ok' });
    }
  });
});
