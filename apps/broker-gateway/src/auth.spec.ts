// Every BrokerService and AdminService RPC refuses a missing, unknown or malformed token (UNAUTHENTICATED) and an
// under-privileged one (PERMISSION_DENIED: a broker token on AdminService, a broker token of cluster A acting on
// cluster B); nothing of a refused call reaches the consensus nodes.
import { Code, ConnectError } from '@connectrpc/connect';
import { waitFor } from '@regent/testing';
import { type Harness, startHarness, tokens } from './testing/harness.js';
import { adminSamples, brokerSamples, callSample, clusterA, clusterB } from './testing/rpc-samples.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
  await waitFor(() => h.gateway.ready().ready, { what: 'a known leader' });
});
afterAll(() => h.close());

/** Everything the fake nodes received apart from Status (which the gateway's leader probe sends by itself). */
function forwardedCount(): number {
  return h.cluster.nodes.reduce(
    (n, node) =>
      n +
      node.submits.length +
      node.reports.length +
      node.watches.length +
      node.membershipChanges.length +
      node.snapshots.length,
    0,
  );
}

async function codeOf(call: Promise<unknown>): Promise<Code | 'ok'> {
  return call.then(
    () => 'ok' as const,
    (error: unknown) => ConnectError.from(error).code,
  );
}

const unauthenticated: readonly [
  string,
  (client: 'broker' | 'admin') => ReturnType<Harness['broker'] | Harness['admin']>,
][] = [
  ['no token', (kind) => h[kind]()],
  ['an unknown token', (kind) => h[kind](tokens.unknown)],
  ['a malformed header', (kind) => h[kind](undefined, { authorization: `Basic ${tokens.admin}` })],
  ['an empty bearer', (kind) => h[kind](undefined, { authorization: 'Bearer ' })],
];

describe('BrokerService', () => {
  describe.each(brokerSamples.map((s) => [s.method, s] as const))('%s', (_method, sample) => {
    test.each(unauthenticated)(
      'refuses %s with UNAUTHENTICATED, forwarding nothing',
      async (_what, client) => {
        expect(await codeOf(callSample(client('broker'), sample, clusterA))).toBe(Code.Unauthenticated);
        expect(forwardedCount()).toBe(0);
      },
    );

    if (sample.scoped) {
      test('refuses a broker token of cluster A on cluster B with PERMISSION_DENIED, forwarding nothing', async () => {
        expect(await codeOf(callSample(h.broker(tokens.brokerA), sample, clusterB))).toBe(
          Code.PermissionDenied,
        );
        expect(forwardedCount()).toBe(0);
      });
    }
  });
});

describe('AdminService', () => {
  describe.each(adminSamples.map((s) => [s.method, s] as const))('%s', (_method, sample) => {
    test.each(unauthenticated)(
      'refuses %s with UNAUTHENTICATED, forwarding nothing',
      async (_what, client) => {
        expect(await codeOf(callSample(client('admin'), sample, clusterA))).toBe(Code.Unauthenticated);
        expect(forwardedCount()).toBe(0);
      },
    );

    test.each([
      ['a broker token of the cluster', tokens.brokerA],
      ['a broker token of every cluster', tokens.brokerAll],
    ])('refuses %s with PERMISSION_DENIED, forwarding nothing', async (_what, token) => {
      expect(await codeOf(callSample(h.admin(token), sample, clusterA))).toBe(Code.PermissionDenied);
      expect(forwardedCount()).toBe(0);
    });
  });
});

// Runs last in this file: the tokens that may act do reach the consensus (so the refusals above are not vacuous).
describe('tokens that may act', () => {
  test.each([
    ['broker token of cluster A on cluster A', tokens.brokerA, clusterA],
    ['broker token of every cluster on cluster B', tokens.brokerAll, clusterB],
    ['admin token on cluster B', tokens.admin, clusterB],
  ])('%s: RegisterBroker is forwarded', async (_what, token, cluster) => {
    const before = h.cluster.nodes[0]!.submits.length;
    const register = brokerSamples.find((s) => s.method === 'registerBroker')!;
    expect(await codeOf(callSample(h.broker(token), register, cluster))).toBe('ok');
    expect(h.cluster.nodes[0]!.submits.length).toBe(before + 1);
  });

  test('a bearer scheme is case-insensitive', async () => {
    const client = h.broker(undefined, { authorization: `bearer ${tokens.brokerA}` });
    expect(await codeOf(client.getReplicaInfo({ clusterName: clusterA, brokerName: 'broker-a' }))).toBe('ok');
  });

  test('the admin token works on every AdminService RPC', async () => {
    for (const sample of adminSamples) {
      expect([sample.method, await codeOf(callSample(h.admin(tokens.admin), sample, clusterA))]).toEqual([
        sample.method,
        'ok',
      ]);
    }
  });
});
