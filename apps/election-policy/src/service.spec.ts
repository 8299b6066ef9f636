import {
  Code,
  ConnectError,
  type ConnectRouter,
  createClient,
  createRouterTransport,
} from '@connectrpc/connect';
import { AssertionError, candidatesMax, type ElectionPolicy } from '@regent/election';
import { electRequest, policies, verdictsOf } from '@regent/election/testing';
import { readControllerError } from '@regent/proto';
import { ControllerCondition } from '@regent/proto/common';
import { ElectionPolicyService, LagFallback } from '@regent/proto/election';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { createElectionPolicyRoutes } from './service.js';

interface Harness {
  readonly client: ReturnType<typeof createClient<typeof ElectionPolicyService>>;
  readonly registry: Registry;
  readonly logLines: () => Record<string, unknown>[];
}

function harness(policy?: ElectionPolicy): Harness {
  const registry = new Registry();
  const lines: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) });
  const routes: (router: ConnectRouter) => void = createElectionPolicyRoutes({
    logger,
    metrics: registry,
    policy,
  });
  const client = createClient(ElectionPolicyService, createRouterTransport(routes));
  return { client, registry, logLines: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

/** The value of one labelled series of a counter, 0 when the series does not exist yet. */
async function counterValue(
  registry: Registry,
  name: string,
  labels: Record<string, string>,
): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (metric === undefined) throw new Error(`no metric ${name}`);
  const { values } = await metric.get();
  const series = values.find((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want));
  return series?.value ?? 0;
}

async function connectErrorOfCall(call: Promise<unknown>): Promise<ConnectError> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (error === undefined) throw new Error('the call succeeded; expected an error');
  return ConnectError.from(error);
}

describe('Elect', () => {
  test('rocketmq-default: the highest epoch wins; the decision is counted, timed and logged at debug', async () => {
    const { client, registry, logLines } = harness();
    const response = await client.elect(
      electRequest({
        candidates: [
          { id: 1, alive: false, epoch: 9 },
          { id: 2, epoch: 3 },
          { id: 3, epoch: 4 },
        ],
        oldMaster: 1,
      }),
    );
    expect(response.policyName).toBe('rocketmq-default');
    expect(response.chosenBrokerId).toBe(3n);
    expect(verdictsOf(response)).toEqual({ '1': 'NOT_ALIVE', '2': 'OUTRANKED', '3': 'CHOSEN' });

    const labels = { policy: 'rocketmq-default', result: 'chosen' };
    expect(await counterValue(registry, 'regent_policy_decisions_total', labels)).toBe(1);
    const histogram = await registry.getSingleMetricAsString('regent_policy_decision_seconds');
    expect(histogram).toMatch(/regent_policy_decision_seconds_count\{policy="rocketmq-default"\} 1/);
    const logged = logLines().find((l) => l.msg === 'election decided');
    expect(logged).toMatchObject({
      level: 20,
      policy: 'rocketmq-default',
      result: 'chosen',
      chosenBrokerId: '3',
    });
  });

  test('zone-aware: the dead master zone is preferred over a higher epoch elsewhere', async () => {
    const { client, registry } = harness();
    const response = await client.elect(
      electRequest({
        candidates: [
          { id: 1, alive: false, zone: 'a' },
          { id: 2, epoch: 9, zone: 'b' },
          { id: 3, epoch: 2, zone: 'a' },
        ],
        oldMaster: 1,
        policy: policies.zoneAware(),
      }),
    );
    expect(response.policyName).toBe('zone-aware');
    expect(response.chosenBrokerId).toBe(3n);
    expect(verdictsOf(response)).toEqual({ '1': 'NOT_ALIVE', '2': 'ZONE_NOT_PREFERRED', '3': 'CHOSEN' });
    expect(await counterValue(registry, 'regent_policy_decisions_total', { policy: 'zone-aware' })).toBe(1);
  });

  test('max-lag with REFUSE: nobody within the bound elects nobody, counted as result "none"', async () => {
    const { client, registry } = harness();
    const response = await client.elect(
      electRequest({
        candidates: [
          { id: 1, alive: false, offset: 100_000 },
          { id: 2, offset: 10 },
        ],
        oldMaster: 1,
        policy: policies.maxLag(1000, LagFallback.REFUSE),
      }),
    );
    expect(response.policyName).toBe('max-lag');
    expect(response.chosenBrokerId).toBeUndefined();
    expect(verdictsOf(response)).toEqual({ '1': 'NOT_ALIVE', '2': 'LAG_TOO_LARGE' });
    const labels = { policy: 'max-lag', result: 'none' };
    expect(await counterValue(registry, 'regent_policy_decisions_total', labels)).toBe(1);
  });

  test('rules: a CEL filter and rank choose; a live old master is kept and counted as "master_kept"', async () => {
    const { client, registry } = harness();
    const policy = policies.rules({ filter: "c.labels.disk == 'ssd'", rank: '-c.max_offset' });
    const candidates = [
      { id: 1, offset: 10, labels: { disk: 'ssd' } },
      { id: 2, offset: 5, labels: { disk: 'ssd' } },
      { id: 3, offset: 1, labels: { disk: 'hdd' } },
    ];
    const elected = await client.elect(electRequest({ candidates, policy }));
    expect(elected.policyName).toBe('rules');
    expect(elected.chosenBrokerId).toBe(2n);
    expect(verdictsOf(elected)).toEqual({ '1': 'OUTRANKED', '2': 'CHOSEN', '3': 'RULE_REJECTED' });

    const kept = await client.elect(electRequest({ candidates, policy, oldMaster: 1 }));
    expect(kept.chosenBrokerId).toBe(1n);
    expect(kept.masterKept).toBe(true);
    expect(
      await counterValue(registry, 'regent_policy_decisions_total', { policy: 'rules', result: 'chosen' }),
    ).toBe(1);
    const keptLabels = { policy: 'rules', result: 'master_kept' };
    expect(await counterValue(registry, 'regent_policy_decisions_total', keptLabels)).toBe(1);
  });

  test('a bad CEL expression is INVALID_ARGUMENT with condition INVALID_POLICY naming rules.filter', async () => {
    const { client, registry } = harness();
    const error = await connectErrorOfCall(
      client.elect(
        electRequest({
          candidates: [{ id: 1 }],
          policy: policies.rules({ filter: 'c.epoch >', rank: 'c.no_such_field' }),
        }),
      ),
    );
    expect(error.code).toBe(Code.InvalidArgument);
    const detail = readControllerError(error);
    expect(detail?.condition).toBe(ControllerCondition.INVALID_POLICY);
    expect(detail?.field).toBe('rules.filter');
    // Every problem is in the message, the first one first.
    expect(detail?.message).toMatch(/^rules\.filter: .+; rules\.rank: .*no_such_field/);
    expect(await counterValue(registry, 'regent_policy_errors_total', { reason: 'invalid_policy' })).toBe(1);
    expect(await counterValue(registry, 'regent_policy_decisions_total', {})).toBe(0);
  });

  test('too many candidates is INVALID_ARGUMENT with condition INVALID_ARGUMENT naming candidates', async () => {
    const { client, registry } = harness();
    const candidates = Array.from({ length: candidatesMax + 1 }, (_, i) => ({ id: i + 1 }));
    const error = await connectErrorOfCall(client.elect(electRequest({ candidates })));
    expect(error.code).toBe(Code.InvalidArgument);
    const detail = readControllerError(error);
    expect(detail?.condition).toBe(ControllerCondition.INVALID_ARGUMENT);
    expect(detail?.field).toBe('candidates');
    expect(detail?.message).toContain(`${candidatesMax + 1} candidates, at most ${candidatesMax}`);
    expect(await counterValue(registry, 'regent_policy_errors_total', { reason: 'invalid_argument' })).toBe(
      1,
    );
  });

  test('a broken invariant in the engine is INTERNAL, counted and logged at error', async () => {
    const broken: ElectionPolicy = {
      decide: () => {
        throw new AssertionError('chosen broker 7 is not alive');
      },
      validatePolicy: () => [],
    };
    const { client, registry, logLines } = harness(broken);
    const error = await connectErrorOfCall(client.elect(electRequest({ candidates: [{ id: 1 }] })));
    expect(error.code).toBe(Code.Internal);
    expect(readControllerError(error)).toBeUndefined();
    expect(await counterValue(registry, 'regent_policy_errors_total', { reason: 'internal' })).toBe(1);
    expect(logLines().find((l) => l.msg === 'policy engine failed')).toMatchObject({
      level: 50,
      rpc: 'Elect',
    });
  });
});

describe('ValidatePolicy', () => {
  test('each valid policy has no problems', async () => {
    const { client } = harness();
    for (const policy of [
      policies.rocketmqDefault(),
      policies.zoneAware(['a', 'b']),
      policies.maxLag(1000, LagFallback.DEFAULT_RANKING),
      policies.rules({ filter: 'c.in_sync', rank: 'c.max_offset' }),
    ]) {
      const response = await client.validatePolicy({ policy });
      expect(response.problems, policy.policy.case).toEqual([]);
    }
  });

  test('an invalid policy answers with its problems, not an error', async () => {
    const { client, registry } = harness();
    const response = await client.validatePolicy({ policy: policies.rules({ filter: 'c.max_offset' }) });
    expect(response.problems.map((p) => p.field)).toEqual(['rules.filter']);
    expect(response.problems[0]?.message).toMatch(/bool/);
    const zones = await client.validatePolicy({ policy: policies.zoneAware(['a', 'a', '']) });
    expect(zones.problems.map((p) => p.field)).toEqual([
      'zone_aware.zone_order[1]',
      'zone_aware.zone_order[2]',
    ]);
    expect(await counterValue(registry, 'regent_policy_errors_total', {})).toBe(0);
  });
});
