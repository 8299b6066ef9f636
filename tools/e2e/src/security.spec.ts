// Security with real processes (3 consensus nodes, 1 gateway, notification-push on a NATS server that requires a
// user and password): every BrokerService and AdminService RPC refuses a missing, unknown or malformed credential
// (UNAUTHENTICATED) and an under-privileged one (PERMISSION_DENIED: a broker token on AdminService, or on another
// cluster), over Connect, gRPC and Connect JSON, and changes nothing (controller state and every node's commit index
// compared). The admin token works for every admin RPC. notification-push uses the NATS credentials it is given:
// with the right ones it becomes ready and publishes; with wrong ones it stays unready.
import { join } from 'node:path';
import { type CallOptions, ConnectError, createClient, type Interceptor } from '@connectrpc/connect';
import { createConnectTransport, createGrpcTransport } from '@connectrpc/connect-node';
import { AdminService, MembershipChange } from '@regent/proto/admin';
import { BrokerService } from '@regent/proto/broker';
import { RoleChangeReason } from '@regent/proto/notify';
import {
  freePort,
  type ManagedProcess,
  type NatsServer,
  spawnTs,
  startNatsServer,
  waitFor,
  waitForHttpOk,
} from '@regent/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestBroker } from './broker.js';
import { observeNotifications, roleSubjectOf } from './notifications.js';
import {
  controllerEventsBetween,
  healthProblems,
  type ObservedState,
  observeState,
  stateDifferences,
  termsChanged,
} from './observe.js';
import { ADMIN_TOKEN, BROKER_TOKEN, CLUSTER, System } from './system.js';
import { codeString } from './wire.js';

const OTHER_CLUSTER = 'sec-other';
const OTHER_TOKEN = 'sec-other-broker-token';
const GROUP = 'sec-a';
const NATS_USER = 'regent-push';
const NATS_PASS = 'push-pass-0123456789';
const NATS_TOKEN = 'nats-token-0123456789';

type Protocol = 'connect' | 'grpc' | 'json';
const protocols: readonly Protocol[] = ['connect', 'grpc', 'json'];
type Service = typeof BrokerService | typeof AdminService;

interface Sample {
  readonly method: string;
  readonly request: Record<string, unknown>;
  /** Names a cluster: a broker token of another cluster is refused. */
  readonly scoped?: boolean;
}

const heartbeat = (clusterName: string) => ({
  heartbeat: {
    clusterName,
    brokerName: GROUP,
    brokerAddress: '127.0.0.1:31911',
    brokerId: 1n,
    epoch: 1,
    maxOffset: 10n,
    confirmOffset: 10n,
    heartbeatTimeoutMs: 600_000n,
  },
});

/** Well-formed requests, so a refusal can only come from the credential. */
function brokerSamples(clusterName: string): Sample[] {
  const group = { clusterName, brokerName: GROUP };
  return [
    { method: 'getNextBrokerId', request: group, scoped: true },
    {
      method: 'applyBrokerId',
      request: { ...group, appliedBrokerId: 2n, registerCheckCode: '127.0.0.1:31912;1700000000000' },
      scoped: true,
    },
    {
      method: 'registerBroker',
      request: { ...group, brokerId: 2n, brokerAddress: '127.0.0.1:31912' },
      scoped: true,
    },
    { method: 'heartbeat', request: heartbeat(clusterName), scoped: true },
    { method: 'heartbeatStream', request: heartbeat(clusterName), scoped: true },
    { method: 'electMaster', request: { ...group, brokerId: 1n }, scoped: true },
    {
      method: 'alterSyncStateSet',
      request: {
        ...group,
        masterBrokerId: 1n,
        masterEpoch: 1,
        newSyncStateSet: { brokerIds: [1n], epoch: 1 },
      },
      scoped: true,
    },
    { method: 'getReplicaInfo', request: group, scoped: true },
    { method: 'getSyncStateData', request: { clusterName, brokerNames: [GROUP] }, scoped: true },
    { method: 'getControllerMetadata', request: {} },
  ];
}

/** Harmless even if they ran: each is refused by the controller or changes nothing that is compared. */
const adminSamples: Sample[] = [
  { method: 'getControllerMetadata', request: {} },
  { method: 'getClusterStatus', request: {} },
  { method: 'getSyncStateData', request: { clusterName: CLUSTER, brokerNames: [] } },
  { method: 'getBrokerLiveness', request: { clusterName: CLUSTER, brokerNames: [] } },
  { method: 'electMaster', request: { clusterName: CLUSTER, brokerName: 'sec-missing' } },
  { method: 'cleanBrokerData', request: { clusterName: CLUSTER, brokerName: 'sec-missing', brokerIds: [] } },
  { method: 'getControllerConfig', request: {} },
  { method: 'updateControllerConfig', request: { entries: { notifyBrokerRoleChanged: 'true' } } },
  { method: 'getElectionPolicy', request: { clusterName: CLUSTER, brokerName: '' } },
  {
    method: 'setElectionPolicy',
    request: {
      clusterName: 'sec-policy',
      brokerName: '',
      policy: { policy: { case: 'zoneAware', value: { zoneOrder: ['z1'] } } },
    },
  },
  { method: 'changeMembership', request: { change: MembershipChange.REMOVE_NODE, nodeId: 99n } },
  { method: 'transferLeadership', request: { targetNodeId: 99n } },
  { method: 'triggerSnapshot', request: { nodeId: 0n } },
  { method: 'watchEvents', request: { fromIndex: 0n } },
  { method: 'getElectionAudit', request: { clusterName: CLUSTER, brokerName: '' } },
];

/** Authorization header values that name no principal. */
const badAuthorizations: readonly { label: string; value: string | undefined }[] = [
  { label: 'no header', value: undefined },
  { label: 'unknown token', value: 'Bearer not-a-token' },
  { label: 'admin token with a typo', value: `Bearer ${ADMIN_TOKEN}x` },
  { label: 'token without scheme', value: ADMIN_TOKEN },
  { label: 'basic auth', value: `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString('base64')}` },
  { label: 'empty bearer', value: 'Bearer ' },
  { label: 'two spaces', value: `Bearer  ${ADMIN_TOKEN}` },
  { label: 'two tokens', value: `Bearer ${ADMIN_TOKEN} ${ADMIN_TOKEN}` },
];

let system: System;
let nats: NatsServer;
let before: ObservedState;
const extraPush: ManagedProcess[] = [];

function client(service: Service, protocol: Protocol, authorization: string | undefined, streaming: boolean) {
  const auth: Interceptor = (next) => (req) => {
    if (authorization !== undefined) req.header.set('authorization', authorization);
    return next(req);
  };
  const baseUrl = system.gatewayUrl(0);
  const transport =
    protocol === 'grpc'
      ? createGrpcTransport({ baseUrl, interceptors: [auth] })
      : createConnectTransport({
          baseUrl,
          // Plain JSON over HTTP/1.1 where the RPC allows it; a bidi stream needs HTTP/2.
          httpVersion: protocol === 'json' && !streaming ? '1.1' : '2',
          useBinaryFormat: protocol !== 'json',
          interceptors: [auth],
        });
  return createClient(service, transport) as unknown as Record<
    string,
    (request: unknown, options?: CallOptions) => unknown
  >;
}

async function* single<T>(message: T): AsyncIterable<T> {
  yield message;
}

/** "ok" or the error's code string (with the controller condition, if any). */
async function call(
  service: Service,
  sample: Sample,
  protocol: Protocol,
  authorization: string | undefined,
): Promise<string> {
  const method = service.method[sample.method as keyof typeof service.method] as
    | { methodKind: string }
    | undefined;
  if (method === undefined) throw new Error(`no method ${sample.method}`);
  const streaming = method.methodKind !== 'unary';
  const rpc = client(service, protocol, authorization, streaming)[sample.method]!;
  try {
    if (method.methodKind === 'unary') await rpc(sample.request, { timeoutMs: 10_000 });
    else {
      const input = method.methodKind === 'bidi_streaming' ? single(sample.request) : sample.request;
      for await (const _ of rpc(input, { timeoutMs: 10_000 }) as AsyncIterable<unknown>) break;
    }
    return 'ok';
  } catch (error) {
    return codeString(ConnectError.from(error).code);
  }
}

/** Runs every (sample, protocol, credential) and returns the cases whose outcome was not `expected(sample)`. */
async function sweep(
  service: Service,
  samples: readonly Sample[],
  credentials: readonly { label: string; value: string | undefined }[],
  expected: (sample: Sample) => string,
): Promise<{ failures: string[]; calls: number }> {
  const failures: string[] = [];
  let calls = 0;
  for (const sample of samples) {
    for (const protocol of protocols) {
      for (const credential of credentials) {
        const outcome = await call(service, sample, protocol, credential.value);
        calls++;
        const want = expected(sample);
        if (outcome !== want) {
          failures.push(
            `${service.typeName}/${sample.method} over ${protocol} with ${credential.label}: ${outcome}, expected ${want}`,
          );
        }
      }
    }
  }
  return { failures, calls };
}

beforeAll(async () => {
  nats = await startNatsServer({ user: NATS_USER, pass: NATS_PASS });
  system = await System.start({
    consensusNodes: 3,
    gateways: 1,
    brokerTokens: `${CLUSTER}=${BROKER_TOKEN},${OTHER_CLUSTER}=${OTHER_TOKEN}`,
    natsUrl: nats.url,
    pushArgs: ['--nats-user', NATS_USER, '--nats-pass', NATS_PASS],
  });
  const broker = new TestBroker(system.brokerClient(0), CLUSTER, GROUP, '127.0.0.1:31911', 600_000);
  await broker.register();
  await broker.heartbeatOnce();
  await waitFor(
    async () =>
      (await system.adminClient().getBrokerLiveness({ clusterName: CLUSTER, brokerNames: [GROUP] }))
        .brokers[0]?.alive,
    { timeoutMs: 10_000, what: 'the broker alive' },
  );
  await broker.client.electMaster({ clusterName: CLUSTER, brokerName: GROUP, brokerId: broker.brokerId });
  before = await observeState(system);
}, 180_000);

afterAll(async () => {
  await Promise.all(extraPush.map((p) => p.stop(3000)));
  await system?.stop();
  await nats?.stop();
});

describe('credentials at the gateway, real processes', () => {
  it('refuses every BrokerService RPC without a valid token: UNAUTHENTICATED over Connect, gRPC and JSON', async () => {
    const { failures, calls } = await sweep(
      BrokerService,
      brokerSamples(CLUSTER),
      badAuthorizations,
      () => 'unauthenticated',
    );
    expect(calls).toBe(10 * 3 * badAuthorizations.length);
    expect(failures).toEqual([]);
  });

  it('refuses every AdminService RPC without a valid token (UNAUTHENTICATED) and with broker tokens (PERMISSION_DENIED)', async () => {
    const unauthenticated = await sweep(
      AdminService,
      adminSamples,
      badAuthorizations,
      () => 'unauthenticated',
    );
    const brokers = [
      { label: `broker token of ${CLUSTER}`, value: `Bearer ${BROKER_TOKEN}` },
      { label: `broker token of ${OTHER_CLUSTER}`, value: `Bearer ${OTHER_TOKEN}` },
    ];
    const denied = await sweep(AdminService, adminSamples, brokers, () => 'permission_denied');
    expect(unauthenticated.calls + denied.calls).toBe(15 * 3 * (badAuthorizations.length + 2));
    expect([...unauthenticated.failures, ...denied.failures]).toEqual([]);
  });

  it('refuses a broker token on another cluster (PERMISSION_DENIED), for every cluster-scoped RPC', async () => {
    const other = [{ label: `broker token of ${OTHER_CLUSTER}`, value: `Bearer ${OTHER_TOKEN}` }];
    const mine = [{ label: `broker token of ${CLUSTER}`, value: `Bearer ${BROKER_TOKEN}` }];
    const expected = (sample: Sample) => (sample.scoped === true ? 'permission_denied' : 'ok');
    const a = await sweep(BrokerService, brokerSamples(CLUSTER), other, expected);
    const b = await sweep(BrokerService, brokerSamples(OTHER_CLUSTER), mine, expected);
    expect([...a.failures, ...b.failures]).toEqual([]);
  });

  it('changed nothing: same controller state, no new log entry, every process up', async () => {
    expect(await healthProblems(system)).toEqual([]);
    const after = await observeState(system);
    expect(stateDifferences(before, after)).toEqual([]);
    if (termsChanged(before, after)) expect(await controllerEventsBetween(system, before, after)).toEqual([]);
  });

  it('accepts the admin token for every admin RPC over Connect, gRPC and JSON', async () => {
    // Each answer shows the call got past authentication: a result, or a controller's refusal of the request.
    const expected: Record<string, readonly string[]> = {
      electMaster: ['failed_precondition'],
      cleanBrokerData: ['failed_precondition'],
      changeMembership: ['invalid_argument', 'failed_precondition'],
      transferLeadership: ['invalid_argument', 'failed_precondition'],
    };
    const failures: string[] = [];
    for (const sample of adminSamples) {
      for (const protocol of protocols) {
        const outcome = await call(AdminService, sample, protocol, `Bearer ${ADMIN_TOKEN}`);
        const allowed = expected[sample.method] ?? ['ok'];
        if (!allowed.includes(outcome))
          failures.push(`${sample.method} over ${protocol}: ${outcome}, expected ${allowed.join('|')}`);
      }
    }
    expect(failures).toEqual([]);
    // The admin may also act as any broker.
    const info = await system
      .brokerClient(0, ADMIN_TOKEN)
      .getReplicaInfo({ clusterName: CLUSTER, brokerName: GROUP });
    expect(info.masterBrokerId).toBe(1n);
  });
});

/** Starts an extra notification-push with its own data dir and NATS flags; resolves once it is healthy. */
async function startPush(
  name: string,
  natsUrl: string,
  natsArgs: readonly string[],
): Promise<{ port: number }> {
  const port = await freePort();
  const proc = spawnTs(name, 'apps/notification-push/src/main.ts', [
    '--port',
    String(port),
    '--consensus',
    system.consensusAddresses.join(','),
    '--nats',
    natsUrl,
    '--data-dir',
    join(system.root, name),
    ...natsArgs,
  ]);
  extraPush.push(proc);
  await waitForHttpOk(`http://127.0.0.1:${port}/healthz`, 60_000);
  return { port };
}

async function readiness(port: number): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`http://127.0.0.1:${port}/readyz`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

function authFailures(server: NatsServer): number {
  return server.process
    .output()
    .split('\n')
    .filter((line) => line.includes('authentication error')).length;
}

/**
 * A pusher with wrong credentials follows the consensus leader but never connects: its NATS server refuses it
 * again and again (counted in the server's log), and /readyz answers 503 throughout.
 */
async function expectStaysUnready(server: NatsServer, port: number): Promise<void> {
  const failuresBefore = authFailures(server);
  await waitFor(
    async () => {
      const { status, body } = await readiness(port);
      expect(status).toBe(503);
      expect(body.natsConnected).toBe(false);
      return body.watching === true && authFailures(server) >= failuresBefore + 3;
    },
    { timeoutMs: 30_000, what: 'three refused NATS connections while watching the leader' },
  );
  const { status, body } = await readiness(port);
  expect(status).toBe(503);
  expect(body.natsConnected).toBe(false);
}

describe('NATS credentials of notification-push, real processes', () => {
  it('with the right user and password becomes ready and publishes role changes', async () => {
    await system.waitPushReady();
    await expect(observeNotifications(nats.url)).rejects.toThrow(/Authorization Violation/);
    const observer = await observeNotifications(nats.url, 'regent.>', { user: NATS_USER, pass: NATS_PASS });
    try {
      const broker = new TestBroker(system.brokerClient(0), CLUSTER, 'sec-n', '127.0.0.1:31921', 600_000);
      await broker.register();
      await broker.heartbeatOnce();
      await waitFor(
        async () =>
          (await system.adminClient().getBrokerLiveness({ clusterName: CLUSTER, brokerNames: ['sec-n'] }))
            .brokers[0]?.alive,
        { timeoutMs: 10_000, what: 'the new broker alive' },
      );
      await broker.client.electMaster({
        clusterName: CLUSTER,
        brokerName: 'sec-n',
        brokerId: broker.brokerId,
      });
      const received = await observer.next(
        0,
        (n) => n.brokerName === 'sec-n' && n.masterBrokerId === broker.brokerId,
        {
          what: 'the role change of sec-n',
        },
      );
      expect(received.subject).toBe(roleSubjectOf(CLUSTER, 'sec-n'));
      expect(received.notification.reason).toBe(RoleChangeReason.MASTER_ELECTED);
      expect(received.notification.masterAddress).toBe('127.0.0.1:31921');
    } finally {
      await observer.close();
    }
  });

  it('with a wrong password stays unready', async () => {
    const { port } = await startPush('push-wrong-pass', nats.url, [
      '--nats-user',
      NATS_USER,
      '--nats-pass',
      'wrong',
    ]);
    await expectStaysUnready(nats, port);
  });

  it('with a token: the right one makes it ready, a wrong one keeps it unready', async () => {
    const tokenNats = await startNatsServer({ token: NATS_TOKEN });
    try {
      const good = await startPush('push-token', tokenNats.url, ['--nats-token', NATS_TOKEN]);
      await waitForHttpOk(`http://127.0.0.1:${good.port}/readyz`, 30_000);
      const bad = await startPush('push-wrong-token', tokenNats.url, ['--nats-token', 'wrong-token']);
      await expectStaysUnready(tokenNats, bad.port);
    } finally {
      await Promise.all(extraPush.splice(0).map((p) => p.stop(3000)));
      await tokenNats.stop();
    }
  });
});
