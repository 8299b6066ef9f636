// The real process: flags, the one port serving every protocol, health, metrics, and a clean SIGTERM exit.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Code, ConnectError, createClient } from '@connectrpc/connect';
import { createConnectTransport, createGrpcTransport } from '@connectrpc/connect-node';
import { electRequest, policies } from '@regent/election/testing';
import { readControllerError } from '@regent/proto';
import { ControllerCondition } from '@regent/proto/common';
import { ElectionPolicyService } from '@regent/proto/election';
import { freePort, type ManagedProcess, spawnTs, WORKSPACE_ROOT, waitForHttpOk } from '@regent/testing';

const entry = 'apps/election-policy/src/main.ts';
const readMaxBytes = 4096;

const request = electRequest({
  candidates: [
    { id: 1, alive: false, epoch: 9 },
    { id: 2, epoch: 3 },
    { id: 3, epoch: 4 },
  ],
  oldMaster: 1,
});

/** Runs the entry point to completion (for --help and bad flags). */
async function runToExit(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
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
  }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => error,
  );
}

describe('election-policy process', () => {
  let app: ManagedProcess;
  let baseUrl: string;

  beforeAll(async () => {
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    // The port comes from the environment (prefix REGENT_POLICY), the size limit from a flag.
    app = spawnTs('election-policy', entry, ['--read-max-bytes', String(readMaxBytes)], {
      env: { REGENT_LOG_LEVEL: 'info', REGENT_POLICY_PORT: String(port) },
    });
    await waitForHttpOk(`${baseUrl}/healthz`);
  });

  afterAll(async () => {
    await app?.kill();
  });

  test('answers /healthz and /readyz', async () => {
    const health = await fetch(`${baseUrl}/healthz`);
    expect(await health.json()).toMatchObject({ status: 'ok' });
    const ready = await fetch(`${baseUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ ready: true });
  });

  test('Elect over Connect binary on HTTP/2, gRPC and JSON on HTTP/1.1, each counted in /metrics', async () => {
    const connect = createClient(
      ElectionPolicyService,
      createConnectTransport({ baseUrl, httpVersion: '2' }),
    );
    expect((await connect.elect(request)).chosenBrokerId).toBe(3n);

    const grpc = createClient(ElectionPolicyService, createGrpcTransport({ baseUrl }));
    expect((await grpc.elect(request)).chosenBrokerId).toBe(3n);

    // fetch speaks HTTP/1.1; int64 fields are decimal strings in JSON.
    const json = await fetch(`${baseUrl}/regent.election.v1.ElectionPolicyService/Elect`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        clusterName: 'c1',
        brokerName: 'broker-a',
        candidates: [
          { brokerId: '1', alive: false, epoch: 9 },
          { brokerId: '2', alive: true, epoch: 3 },
          { brokerId: '3', alive: true, epoch: 4 },
        ],
        syncStateSet: ['1', '2', '3'],
        oldMasterBrokerId: '1',
      }),
    });
    expect(json.status).toBe(200);
    expect(await json.json()).toMatchObject({ chosenBrokerId: '3', policyName: 'rocketmq-default' });

    const metrics = await (await fetch(`${baseUrl}/metrics`)).text();
    expect(metrics).toMatch(
      /^regent_policy_decisions_total\{policy="rocketmq-default",result="chosen",app="election-policy"\} 3$/m,
    );
    expect(metrics).toContain('regent_policy_decision_seconds_bucket');
    expect(metrics).toContain('nodejs_eventloop_lag_seconds');
  });

  test('an invalid policy reaches a gRPC client as INVALID_ARGUMENT with its condition and field', async () => {
    const grpc = createClient(ElectionPolicyService, createGrpcTransport({ baseUrl }));
    const call = grpc.elect(
      electRequest({ candidates: [{ id: 1 }], policy: policies.rules({ filter: '1 +' }) }),
    );
    const error = ConnectError.from(
      await call.then(
        () => undefined,
        (e: unknown) => e,
      ),
    );
    expect(error.code).toBe(Code.InvalidArgument);
    expect(readControllerError(error)).toMatchObject({
      condition: ControllerCondition.INVALID_POLICY,
      field: 'rules.filter',
    });
  });

  test('--read-max-bytes bounds the request size', async () => {
    const labels = Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`key-${i}`, 'v'.repeat(256)]));
    const big = electRequest({ candidates: [{ id: 1, labels }, { id: 2 }] });
    const connect = createClient(
      ElectionPolicyService,
      createConnectTransport({ baseUrl, httpVersion: '2' }),
    );
    const error = ConnectError.from(
      await connect.elect(big).then(
        () => undefined,
        (e: unknown) => e,
      ),
    );
    expect(error.code).toBe(Code.ResourceExhausted);
  });

  test('SIGTERM stops it cleanly with exit code 0', async () => {
    expect(await app.stop()).toBe(0);
    expect(app.output()).toContain('"msg":"stopped"');
  });
});

describe('election-policy flags', () => {
  test('--help lists the flags with their environment variables and exits 0', async () => {
    const { code, stdout } = await runToExit(['--help']);
    expect(code).toBe(0);
    for (const text of [
      '--host <value>',
      '--port <value>',
      '--read-max-bytes <value>',
      'env REGENT_POLICY_PORT',
    ]) {
      expect(stdout).toContain(text);
    }
  });

  test('an unknown flag exits 2 naming it', async () => {
    const { code, stderr } = await runToExit(['--no-such-flag', '1']);
    expect(code).toBe(2);
    expect(stderr).toContain('unknown option --no-such-flag');
  });

  test('an out-of-range port exits 2', async () => {
    const { code, stderr } = await runToExit(['--port', '70000']);
    expect(code).toBe(2);
    expect(stderr).toContain('maximum 65535');
  });
});
