// The real process against an in-process fake consensus cluster: health, readiness, metrics, a call over gRPC and
// one over JSON on HTTP/1.1, request ids in the logs, a heartbeat reaching every node, flags, and a clean SIGTERM.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createClient } from '@connectrpc/connect';
import { createConnectTransport, createGrpcTransport } from '@connectrpc/connect-node';
import { BrokerService } from '@regent/proto/broker';
import { REQUEST_ID_HEADER } from '@regent/service-kit';
import {
  freePort,
  type ManagedProcess,
  spawnTs,
  WORKSPACE_ROOT,
  waitFor,
  waitForHttpOk,
} from '@regent/testing';
import { type FakeCluster, startFakeCluster } from './testing/fake-consensus.js';
import { tokens } from './testing/harness.js';
import { clusterA, heartbeatOf } from './testing/rpc-samples.js';

const entry = 'apps/broker-gateway/src/main.ts';

async function runToExit(args: readonly string[], env: Record<string, string> = {}) {
  const argv = [
    '--conditions=@regent/source',
    '--import',
    'tsx',
    '--no-warnings',
    join(WORKSPACE_ROOT, entry),
  ];
  return promisify(execFile)(process.execPath, [...argv, ...args], {
    cwd: WORKSPACE_ROOT,
    timeout: 20_000,
    env: { ...process.env, ...env },
  }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => error,
  );
}

describe('broker-gateway process', () => {
  let cluster: FakeCluster;
  let gateway: ManagedProcess;
  let baseUrl: string;

  beforeAll(async () => {
    cluster = await startFakeCluster(3, 1);
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    // Flags for most options, the environment for the secrets.
    gateway = spawnTs(
      'broker-gateway',
      entry,
      ['--port', String(port), '--consensus', cluster.addresses().join(','), '--gateway-id', 'gw-process'],
      {
        env: {
          REGENT_LOG_LEVEL: 'debug',
          REGENT_GATEWAY_ADMIN_TOKENS: tokens.admin,
          REGENT_GATEWAY_BROKER_TOKENS: `cluster-a=${tokens.brokerA}`,
        },
      },
    );
    await waitForHttpOk(`${baseUrl}/healthz`);
  });

  afterAll(async () => {
    await gateway?.kill();
    await cluster?.stop();
  });

  test('/healthz answers; /readyz turns ready once the leader is known', async () => {
    expect(await (await fetch(`${baseUrl}/healthz`)).json()).toMatchObject({
      status: 'ok',
      gatewayId: 'gw-process',
    });
    await waitForHttpOk(`${baseUrl}/readyz`);
    expect(await (await fetch(`${baseUrl}/readyz`)).json()).toMatchObject({
      ready: true,
      leader: cluster.nodes[1]!.address,
    });
  });

  test('GetControllerMetadata over gRPC', async () => {
    const client = createClient(
      BrokerService,
      createGrpcTransport({
        baseUrl,
        interceptors: [
          (next) => (req) => {
            req.header.set('authorization', `Bearer ${tokens.brokerA}`);
            return next(req);
          },
        ],
      }),
    );
    const { metadata } = await client.getControllerMetadata({});
    expect(metadata).toMatchObject({ leaderId: 2n, leaderAddress: cluster.nodes[1]!.address });
  });

  test('GetNextBrokerId over JSON on HTTP/1.1, with the request id forwarded and logged', async () => {
    const response = await fetch(`${baseUrl}/regent.broker.v1.BrokerService/GetNextBrokerId`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${tokens.brokerA}`,
        [REQUEST_ID_HEADER]: 'req-json-1',
      },
      body: JSON.stringify({ clusterName: clusterA, brokerName: 'broker-a' }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get(REQUEST_ID_HEADER)).toBe('req-json-1');
    expect(await response.json()).toEqual({
      clusterName: clusterA,
      brokerName: 'broker-a',
      nextBrokerId: '1',
    });
    const submit = cluster.nodes[1]!.submits.at(-1)!;
    expect(submit.request.requestId).toBe('req-json-1');
    expect(submit.request.command?.command.case).toBe('getNextBrokerId');
    await waitFor(() => gateway.output().includes('"requestId":"req-json-1"'), {
      what: 'a log line with the request id',
    });
  });

  test('JSON without a token is 401 unauthenticated', async () => {
    const response = await fetch(`${baseUrl}/regent.broker.v1.BrokerService/GetReplicaInfo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ clusterName: clusterA, brokerName: 'broker-a' }),
    });
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ code: 'unauthenticated' });
  });

  test('a heartbeat over Connect (HTTP/2) reaches every consensus node', async () => {
    const client = createClient(
      BrokerService,
      createConnectTransport({
        baseUrl,
        httpVersion: '2',
        interceptors: [
          (next) => (req) => {
            req.header.set('authorization', `Bearer ${tokens.brokerA}`);
            return next(req);
          },
        ],
      }),
    );
    await client.heartbeat({ heartbeat: heartbeatOf(clusterA, 3n) });
    await waitFor(() => cluster.nodes.every((node) => node.heartbeatsReceived() === 1), {
      what: 'the heartbeat everywhere',
    });
    expect(cluster.nodes[0]!.reports[0]!.request.gatewayId).toBe('gw-process');
  });

  test('/metrics has the gateway metrics', async () => {
    // The batch counter moves when a node's answer to the heartbeat batch is back.
    const text = await waitFor(
      async () => {
        const body = await (await fetch(`${baseUrl}/metrics`)).text();
        return body.includes('regent_gateway_heartbeat_batches_total{node=') ? body : undefined;
      },
      { what: 'heartbeat batch metrics' },
    );
    expect(text).toMatch(
      /^regent_gateway_requests_total\{rpc="BrokerService\/GetNextBrokerId",code="ok",app="broker-gateway"\} 1$/m,
    );
    expect(text).toMatch(
      /^regent_gateway_requests_total\{rpc="BrokerService\/GetReplicaInfo",code="unauthenticated",/m,
    );
    expect(text).toContain('regent_gateway_request_seconds_bucket');
    expect(text).toMatch(/^regent_gateway_heartbeats_total\{app="broker-gateway"\} 1$/m);
    expect(text).toContain('regent_gateway_active_streams');
    expect(text).toContain('regent_gateway_leader_changes_total');
  });

  test('SIGTERM stops it cleanly with exit code 0', async () => {
    expect(await gateway.stop()).toBe(0);
    expect(gateway.output()).toContain('"msg":"stopped"');
  });
});

describe('broker-gateway flags', () => {
  test('--help lists the flags with their environment variables and exits 0', async () => {
    const { code, stdout } = await runToExit(['--help']);
    expect(code).toBe(0);
    for (const flag of [
      '--consensus <value>',
      '--gateway-id <value>',
      '--admin-tokens <value>',
      '--broker-tokens <value>',
      '--auth-disabled',
      '--request-timeout-ms <value>',
      '--heartbeat-batch-max <value>',
      '--heartbeat-batch-interval-ms <value>',
      '--max-in-flight <value>',
      '--read-max-bytes <value>',
      'env REGENT_GATEWAY_CONSENSUS',
    ]) {
      expect(stdout).toContain(flag);
    }
  });

  test.each([
    [['--admin-tokens', 'x'], 'missing required option --consensus'],
    [['--consensus', '127.0.0.1:1'], 'no --admin-tokens or --broker-tokens'],
    [['--consensus', '127.0.0.1:1', '--broker-tokens', 'oops'], 'expected cluster=token'],
  ])('%j exits 2 naming the problem', async (args, message) => {
    const { code, stderr } = await runToExit(args);
    expect([code, stderr]).toEqual([2, expect.stringContaining(message)]);
    expect(stderr).toContain(message);
  });
});
