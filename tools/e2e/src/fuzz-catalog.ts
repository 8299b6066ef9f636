// The fuzzer's catalogue of every public RPC of BrokerService and AdminService: a well-formed request, the ways
// to break each validated field (with the field path the gateway must name), random valid reads, and a base for
// byte-level corruption that stays harmless even when the corruption happens to leave it well-formed.
//
// Mutating RPCs are only ever sent broken: a broken field, a cluster no broker token of the system may act on, or an
// unknown group. So no fuzz case can legitimately change the controller state, and a state change is a bug.
import type { DescMessage, DescMethod } from '@bufbuild/protobuf';
import { AdminService, MembershipChange } from '@regent/proto/admin';
import { BrokerService } from '@regent/proto/broker';
import type { Rng } from './random.js';

export type Init = Record<string, unknown>;

/** One way to break a request; `field` is the path the gateway's INVALID_ARGUMENT must name (a prefix for lists). */
export interface Mutation {
  readonly field: string;
  readonly apply: (request: Init, rng: Rng) => Init;
}

export interface RpcSpec {
  readonly service: typeof BrokerService | typeof AdminService;
  /** The method's local name (the client's property), e.g. "registerBroker". */
  readonly method: string;
  readonly kind: 'read' | 'mutating';
  /** A well-formed request; never sent unmodified for a mutating RPC. */
  readonly base: (rng: Rng) => Init;
  readonly mutations: readonly Mutation[];
  /**
   * Invalid requests the gateway passes on and the consensus leader refuses (INVALID_ARGUMENT with a field, or a
   * controller condition) without a log entry.
   */
  readonly refusedByConsensus?: readonly { readonly request: Init; readonly field?: string }[];
  /** A random valid request (reads only). */
  readonly random?: (rng: Rng) => Init;
  /** The base for byte corruption; absent excludes the RPC from it. */
  readonly corruptBase?: (rng: Rng) => Init;
}

/** The cluster and group the fuzz system holds state for. */
export const FUZZ_CLUSTER = 'e2e';
export const FUZZ_GROUP = 'fuzz-a';
/** A cluster the system's broker token may not act on. */
export const FOREIGN_CLUSTER = 'zz-foreign';
/** A group that does not exist. */
export const MISSING_GROUP = 'zz-missing';

// ---- values that break one field ----

function junkString(rng: Rng): string {
  const pool = [
    'a',
    'Z',
    '9',
    '_',
    '-',
    '.',
    '*',
    '>',
    ' ',
    '\t',
    'é',
    '\u0000',
    '/',
    '\\',
    '"',
    '🙂',
    '\u202e',
  ];
  const length = rng.int(1, 40);
  let out = '';
  for (let i = 0; i < length; i++) out += rng.pick(pool);
  // At least one character outside the name alphabet.
  return `${out}${rng.pick(['.', ' ', '*', '>', 'é', '\u0000'])}`;
}

/** A non-empty invalid cluster or group name. */
export function badName(rng: Rng): string {
  return rng.pick([
    () => ' ',
    () => 'a.b',
    () => 'a*',
    () => 'x>y',
    () => 'é',
    () => 'a b',
    () => 'tab\t',
    () => 'nul\u0000',
    () => '🙂',
    () => 'a'.repeat(128),
    () => 'b'.repeat(rng.int(4096, 200_000)),
    () => junkString(rng),
  ])();
}

/** An invalid required name: empty or malformed. */
export function badRequiredName(rng: Rng): string {
  return rng.bool(0.15) ? '' : badName(rng);
}

export function badAddress(rng: Rng): string {
  return rng.pick([
    '',
    'host',
    ':80',
    'h:0',
    'h:65536',
    'h:99999',
    'h:-1',
    'h:08',
    'h:1a',
    '1.2.3.256:1',
    '1.2.3:1',
    '[::1:1',
    '::1:80',
    '[fe80::1%eth0]:1',
    'a_b:1',
    '-a:1',
    'a-:1',
    'a..b:1',
    `${'a'.repeat(64)}:1`,
    `${'a.'.repeat(130)}a:1`,
    'x'.repeat(70_000),
    ' h:1',
    'h :1',
    'h:1 ',
  ]);
}

export function badBrokerId(rng: Rng): bigint {
  return rng.pick([0n, -1n, -(2n ** 63n), 2n ** 53n + 1n, 2n ** 63n - 1n]);
}

function badEpoch(rng: Rng): number {
  return rng.pick([-2, -1000, -(2 ** 31)]);
}

function badOffset(rng: Rng): bigint {
  return rng.pick([-2n, -(2n ** 63n)]);
}

function badCheckCode(rng: Rng): string {
  return rng.pick([
    '',
    'nosemicolon',
    '10.0.0.1:1;',
    '10.0.0.1:1;abc',
    `10.0.0.1:1;${'1'.repeat(21)}`,
    'bad host:1;123',
    'x'.repeat(257),
    ';123',
    '10.0.0.1:0;1',
  ]);
}

function validName(rng: Rng): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_%|-';
  const length = rng.int(1, rng.bool(0.1) ? 127 : 12);
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[rng.int(0, alphabet.length - 1)];
  return out;
}

function validNames(rng: Rng, min: number, max: number): string[] {
  const count = rng.bool(0.1) ? max : rng.int(min, Math.min(max, 20));
  const names = Array.from({ length: count }, () => validName(rng));
  if (count > 0 && rng.bool()) names[0] = FUZZ_GROUP;
  return names;
}

/** A list of `count` valid names with one bad entry at a random index; the field is `<field>[i]`. */
function listWithBadEntry(rng: Rng, field: string, minCount: number): { names: string[]; field: string } {
  const names = validNames(rng, Math.max(1, minCount), 30);
  const index = rng.int(0, names.length - 1);
  names[index] = badRequiredName(rng);
  return { names, field: `${field}[${index}]` };
}

function set(request: Init, key: string, value: unknown): Init {
  return { ...request, [key]: value };
}

const nameMutations = (required: { cluster: boolean; broker: boolean }): Mutation[] => [
  {
    field: 'cluster_name',
    apply: (r, rng) => set(r, 'clusterName', required.cluster ? badRequiredName(rng) : badName(rng)),
  },
  {
    field: 'broker_name',
    apply: (r, rng) => set(r, 'brokerName', required.broker ? badRequiredName(rng) : badName(rng)),
  },
];

// ---- heartbeats ----

function heartbeatOf(clusterName: string): Init {
  return {
    clusterName,
    brokerName: FUZZ_GROUP,
    brokerAddress: '127.0.0.1:30911',
    brokerId: 1n,
    epoch: 1,
    maxOffset: 100n,
    confirmOffset: 90n,
    heartbeatTimeoutMs: 600_000n,
  };
}

function heartbeatField(name: string, value: (rng: Rng) => unknown): Mutation {
  const snake = name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
  return {
    field: `heartbeat.${snake}`,
    apply: (r, rng) => ({ ...r, heartbeat: { ...(r.heartbeat as Init), [name]: value(rng) } }),
  };
}

function badLabels(rng: Rng): Record<string, string> {
  return rng.pick([
    () => Object.fromEntries(Array.from({ length: 17 + rng.int(0, 100) }, (_, i) => [`k${i}`, 'v'])),
    () => ({ '': 'v' }),
    () => ({ ['k'.repeat(129)]: 'v' }),
    () => ({ k: 'v'.repeat(257) }),
  ])();
}

const heartbeatMutations: readonly Mutation[] = [
  { field: 'heartbeat', apply: (r) => set(r, 'heartbeat', undefined) },
  {
    field: 'heartbeat.broker_id',
    apply: (r) => {
      const { brokerId: _omitted, ...rest } = r.heartbeat as Init;
      return { ...r, heartbeat: rest };
    },
  },
  heartbeatField('clusterName', badRequiredName),
  heartbeatField('brokerName', badRequiredName),
  heartbeatField('brokerAddress', badAddress),
  heartbeatField('brokerId', badBrokerId),
  heartbeatField('epoch', badEpoch),
  heartbeatField('maxOffset', badOffset),
  heartbeatField('confirmOffset', badOffset),
  heartbeatField('heartbeatTimeoutMs', (rng) => rng.pick([1n, 99n, 600_001n, -1n, 2n ** 63n - 1n])),
  heartbeatField('zone', (rng) => 'z'.repeat(rng.int(129, 5000))),
  heartbeatField('labels', badLabels),
];

// ---- BrokerService ----

const group = (clusterName: string): Init => ({ clusterName, brokerName: FUZZ_GROUP });

const brokerSpecs: RpcSpec[] = [
  {
    service: BrokerService,
    method: 'getNextBrokerId',
    kind: 'read',
    base: () => group(FUZZ_CLUSTER),
    mutations: nameMutations({ cluster: true, broker: true }),
    random: (rng) => ({ clusterName: FUZZ_CLUSTER, brokerName: rng.bool() ? FUZZ_GROUP : validName(rng) }),
    corruptBase: () => group(FUZZ_CLUSTER),
  },
  {
    service: BrokerService,
    method: 'applyBrokerId',
    kind: 'mutating',
    base: () => ({
      ...group(FUZZ_CLUSTER),
      appliedBrokerId: 2n,
      registerCheckCode: '127.0.0.1:30912;1700000000000',
    }),
    mutations: [
      ...nameMutations({ cluster: true, broker: true }),
      { field: 'applied_broker_id', apply: (r, rng) => set(r, 'appliedBrokerId', badBrokerId(rng)) },
      { field: 'register_check_code', apply: (r, rng) => set(r, 'registerCheckCode', badCheckCode(rng)) },
    ],
    corruptBase: () => ({
      ...group(FOREIGN_CLUSTER),
      appliedBrokerId: 2n,
      registerCheckCode: '127.0.0.1:30912;1700000000000',
    }),
  },
  {
    service: BrokerService,
    method: 'registerBroker',
    kind: 'mutating',
    base: () => ({ ...group(FUZZ_CLUSTER), brokerId: 1n, brokerAddress: '127.0.0.1:30911' }),
    mutations: [
      ...nameMutations({ cluster: true, broker: true }),
      { field: 'broker_id', apply: (r, rng) => set(r, 'brokerId', badBrokerId(rng)) },
      { field: 'broker_address', apply: (r, rng) => set(r, 'brokerAddress', badAddress(rng)) },
    ],
    corruptBase: () => ({ ...group(FOREIGN_CLUSTER), brokerId: 1n, brokerAddress: '127.0.0.1:30911' }),
  },
  {
    service: BrokerService,
    method: 'heartbeat',
    kind: 'mutating',
    base: () => ({ heartbeat: heartbeatOf(FUZZ_CLUSTER) }),
    mutations: heartbeatMutations,
    corruptBase: () => ({ heartbeat: heartbeatOf(FOREIGN_CLUSTER) }),
  },
  {
    service: BrokerService,
    method: 'heartbeatStream',
    kind: 'mutating',
    base: () => ({ heartbeat: heartbeatOf(FUZZ_CLUSTER) }),
    mutations: heartbeatMutations,
    corruptBase: () => ({ heartbeat: heartbeatOf(FOREIGN_CLUSTER) }),
  },
  {
    service: BrokerService,
    method: 'electMaster',
    kind: 'mutating',
    base: () => ({ ...group(FUZZ_CLUSTER), brokerId: 1n }),
    mutations: [
      ...nameMutations({ cluster: true, broker: true }),
      { field: 'broker_id', apply: (r, rng) => set(r, 'brokerId', badBrokerId(rng)) },
    ],
    corruptBase: () => ({ ...group(FOREIGN_CLUSTER), brokerId: 1n }),
  },
  {
    service: BrokerService,
    method: 'alterSyncStateSet',
    kind: 'mutating',
    base: () => ({
      ...group(FUZZ_CLUSTER),
      masterBrokerId: 1n,
      masterEpoch: 1,
      newSyncStateSet: { brokerIds: [1n], epoch: 1 },
    }),
    mutations: [
      ...nameMutations({ cluster: true, broker: true }),
      { field: 'master_broker_id', apply: (r, rng) => set(r, 'masterBrokerId', badBrokerId(rng)) },
      { field: 'master_epoch', apply: (r, rng) => set(r, 'masterEpoch', badEpoch(rng)) },
      { field: 'new_sync_state_set', apply: (r) => set(r, 'newSyncStateSet', undefined) },
      {
        field: 'new_sync_state_set.broker_ids',
        apply: (r, rng) =>
          set(r, 'newSyncStateSet', {
            epoch: 1,
            brokerIds: rng.pick([
              () => Array.from({ length: 65 + rng.int(0, 2000) }, (_, i) => BigInt(i + 1)),
              () => [1n, badBrokerId(rng)],
              () => [1n, 2n, 1n],
            ])(),
          }),
      },
      {
        field: 'new_sync_state_set.epoch',
        apply: (r, rng) => set(r, 'newSyncStateSet', { brokerIds: [1n], epoch: badEpoch(rng) }),
      },
    ],
    corruptBase: () => ({
      ...group(FOREIGN_CLUSTER),
      masterBrokerId: 1n,
      masterEpoch: 1,
      newSyncStateSet: { brokerIds: [1n, 2n], epoch: 1 },
    }),
  },
  {
    service: BrokerService,
    method: 'getReplicaInfo',
    kind: 'read',
    base: () => group(FUZZ_CLUSTER),
    mutations: nameMutations({ cluster: true, broker: true }),
    random: (rng) => ({ clusterName: FUZZ_CLUSTER, brokerName: rng.bool() ? FUZZ_GROUP : validName(rng) }),
    corruptBase: () => group(FUZZ_CLUSTER),
  },
  {
    service: BrokerService,
    method: 'getSyncStateData',
    kind: 'read',
    base: () => ({ clusterName: FUZZ_CLUSTER, brokerNames: [FUZZ_GROUP] }),
    mutations: [
      { field: 'cluster_name', apply: (r, rng) => set(r, 'clusterName', badRequiredName(rng)) },
      { field: 'broker_names', apply: (r) => set(r, 'brokerNames', []) },
      {
        field: 'broker_names',
        apply: (r, rng) =>
          set(
            r,
            'brokerNames',
            Array.from({ length: 1025 + rng.int(0, 3000) }, (_, i) => `g${i}`),
          ),
      },
      {
        field: 'broker_names[',
        apply: (r, rng) => set(r, 'brokerNames', listWithBadEntry(rng, 'broker_names', 1).names),
      },
    ],
    random: (rng) => ({ clusterName: FUZZ_CLUSTER, brokerNames: validNames(rng, 1, 1024) }),
    corruptBase: () => ({ clusterName: FUZZ_CLUSTER, brokerNames: [FUZZ_GROUP, 'other'] }),
  },
  {
    service: BrokerService,
    method: 'getControllerMetadata',
    kind: 'read',
    base: () => ({}),
    mutations: [],
    random: () => ({}),
    corruptBase: () => ({}),
  },
];

// ---- AdminService ----

const policyZone = { policy: { case: 'zoneAware', value: { zoneOrder: ['z1'] } } };

function policyMutation(field: string, policy: (rng: Rng) => Init): Mutation {
  return { field, apply: (r, rng) => set(r, 'policy', policy(rng)) };
}

const adminSpecs: RpcSpec[] = [
  {
    service: AdminService,
    method: 'getControllerMetadata',
    kind: 'read',
    base: () => ({}),
    mutations: [],
    random: () => ({}),
    corruptBase: () => ({}),
  },
  {
    service: AdminService,
    method: 'getClusterStatus',
    kind: 'read',
    base: () => ({}),
    mutations: [],
    random: () => ({}),
    corruptBase: () => ({}),
  },
  ...(['getSyncStateData', 'getBrokerLiveness'] as const).map(
    (method): RpcSpec => ({
      service: AdminService,
      method,
      kind: 'read',
      base: () => ({ clusterName: FUZZ_CLUSTER, brokerNames: [] }),
      mutations: [
        { field: 'cluster_name', apply: (r, rng) => set(r, 'clusterName', badName(rng)) },
        {
          field: 'broker_names',
          apply: (r, rng) =>
            set(
              r,
              'brokerNames',
              Array.from({ length: 1025 + rng.int(0, 3000) }, (_, i) => `g${i}`),
            ),
        },
        {
          field: 'broker_names[',
          apply: (r, rng) => set(r, 'brokerNames', listWithBadEntry(rng, 'broker_names', 1).names),
        },
      ],
      random: (rng) => ({
        clusterName: rng.bool() ? FUZZ_CLUSTER : '',
        brokerNames: validNames(rng, 0, 1024),
      }),
      corruptBase: () => ({ clusterName: FUZZ_CLUSTER, brokerNames: [FUZZ_GROUP] }),
    }),
  ),
  {
    service: AdminService,
    method: 'electMaster',
    kind: 'mutating',
    base: () => ({ ...group(FUZZ_CLUSTER), designatedBrokerId: 1n }),
    mutations: [
      ...nameMutations({ cluster: true, broker: true }),
      { field: 'designated_broker_id', apply: (r, rng) => set(r, 'designatedBrokerId', badBrokerId(rng)) },
    ],
    corruptBase: () => ({ clusterName: FOREIGN_CLUSTER, brokerName: MISSING_GROUP }),
  },
  {
    service: AdminService,
    method: 'cleanBrokerData',
    kind: 'mutating',
    base: () => ({ ...group(FUZZ_CLUSTER), brokerIds: [1n] }),
    mutations: [
      { field: 'cluster_name', apply: (r, rng) => set(r, 'clusterName', badName(rng)) },
      { field: 'broker_name', apply: (r, rng) => set(r, 'brokerName', badRequiredName(rng)) },
      {
        field: 'broker_ids',
        apply: (r, rng) =>
          set(
            r,
            'brokerIds',
            rng.pick([
              () => Array.from({ length: 65 + rng.int(0, 1000) }, (_, i) => BigInt(i + 1)),
              () => [badBrokerId(rng)],
              () => [3n, 3n],
            ])(),
          ),
      },
    ],
    // An unknown group: refused by the controller even when the corruption leaves it well-formed.
    corruptBase: () => ({ clusterName: FOREIGN_CLUSTER, brokerName: MISSING_GROUP, brokerIds: [7n] }),
  },
  {
    service: AdminService,
    method: 'getControllerConfig',
    kind: 'read',
    base: () => ({}),
    mutations: [],
    random: () => ({}),
    corruptBase: () => ({}),
  },
  {
    service: AdminService,
    method: 'updateControllerConfig',
    kind: 'mutating',
    base: () => ({ entries: { electMasterMaxRetryCount: '3' } }),
    mutations: [
      { field: 'entries', apply: (r) => set(r, 'entries', {}) },
      {
        field: 'entries',
        apply: (r, rng) =>
          set(
            r,
            'entries',
            Object.fromEntries(Array.from({ length: 65 + rng.int(0, 500) }, (_, i) => [`k${i}`, '1'])),
          ),
      },
      {
        field: 'entries',
        apply: (r, rng) => set(r, 'entries', { [rng.pick(['a b', 'é', 'k*', '', 'x/y'])]: '1' }),
      },
      { field: 'entries', apply: (r) => set(r, 'entries', { ['k'.repeat(129)]: '1' }) },
      { field: 'entries[', apply: (r) => set(r, 'entries', { electMasterMaxRetryCount: '1'.repeat(1025) }) },
    ],
    refusedByConsensus: [
      { request: { entries: { zzUnknownKey: '1' } }, field: 'entries[zzUnknownKey]' },
      {
        request: { entries: { enableElectUncleanMaster: 'maybe' } },
        field: 'entries[enableElectUncleanMaster]',
      },
      {
        request: { entries: { electMasterMaxRetryCount: '11' } },
        field: 'entries[electMasterMaxRetryCount]',
      },
      { request: { entries: { configStorePath: '/tmp' } } },
    ],
  },
  {
    service: AdminService,
    method: 'getElectionPolicy',
    kind: 'read',
    base: () => ({ clusterName: FUZZ_CLUSTER, brokerName: '' }),
    mutations: nameMutations({ cluster: true, broker: false }),
    random: (rng) => ({ clusterName: FUZZ_CLUSTER, brokerName: rng.bool() ? '' : FUZZ_GROUP }),
    corruptBase: () => ({ clusterName: FUZZ_CLUSTER, brokerName: FUZZ_GROUP }),
  },
  {
    service: AdminService,
    method: 'setElectionPolicy',
    kind: 'mutating',
    base: () => ({ clusterName: FUZZ_CLUSTER, brokerName: '', policy: policyZone }),
    mutations: [
      ...nameMutations({ cluster: true, broker: false }),
      policyMutation('policy.zone_aware.zone_order', (rng) => ({
        policy: {
          case: 'zoneAware',
          value: { zoneOrder: Array.from({ length: 33 + rng.int(0, 100) }, (_, i) => `z${i}`) },
        },
      })),
      policyMutation('policy.zone_aware.zone_order[', (rng) => ({
        policy: { case: 'zoneAware', value: { zoneOrder: ['z1', rng.pick(['', 'z'.repeat(129)])] } },
      })),
      policyMutation('policy.max_lag.max_lag_bytes', (rng) => ({
        policy: { case: 'maxLag', value: { maxLagBytes: rng.pick([-1n, -(2n ** 63n)]) } },
      })),
      policyMutation('policy.rules.filter', () => ({
        policy: { case: 'rules', value: { filter: 'x'.repeat(2049), rank: '' } },
      })),
      policyMutation('policy.rules.rank', () => ({
        policy: { case: 'rules', value: { filter: '', rank: 'x'.repeat(2049) } },
      })),
    ],
    refusedByConsensus: [
      {
        request: {
          clusterName: FUZZ_CLUSTER,
          brokerName: '',
          policy: { policy: { case: 'rules', value: { filter: '((((', rank: '' } } },
        },
      },
      {
        request: {
          clusterName: FUZZ_CLUSTER,
          brokerName: '',
          policy: { policy: { case: 'zoneAware', value: { zoneOrder: ['z1', 'z1'] } } },
        },
      },
      {
        request: {
          clusterName: FUZZ_CLUSTER,
          brokerName: '',
          policy: { policy: { case: 'maxLag', value: { maxLagBytes: 10n, fallback: 99 } } },
        },
      },
    ],
  },
  {
    service: AdminService,
    method: 'getElectionAudit',
    kind: 'read',
    base: () => ({ clusterName: FUZZ_CLUSTER, brokerName: FUZZ_GROUP }),
    mutations: nameMutations({ cluster: true, broker: false }),
    random: (rng) => ({
      clusterName: FUZZ_CLUSTER,
      brokerName: rng.bool() ? FUZZ_GROUP : '',
      limit: rng.pick([0, 1, 2 ** 32 - 1, rng.int(0, 1000)]),
    }),
    corruptBase: () => ({ clusterName: FUZZ_CLUSTER, brokerName: FUZZ_GROUP, limit: 3 }),
  },
  {
    service: AdminService,
    method: 'changeMembership',
    kind: 'mutating',
    base: () => ({
      change: MembershipChange.ADD_LEARNER,
      nodeId: 9n,
      peerAddress: '127.0.0.1:1',
      clientAddress: '127.0.0.1:2',
    }),
    mutations: [
      { field: 'change', apply: (r, rng) => set(r, 'change', rng.pick([0, 99, -1])) },
      {
        field: 'node_id',
        apply: (r) => ({ change: MembershipChange.REMOVE_NODE, nodeId: 0n, peerAddress: r.peerAddress }),
      },
      { field: 'peer_address', apply: (r, rng) => set(r, 'peerAddress', badAddress(rng)) },
      { field: 'client_address', apply: (r, rng) => set(r, 'clientAddress', badAddress(rng)) },
      {
        field: 'peer_address',
        apply: (_r, rng) => ({
          change: MembershipChange.REMOVE_NODE,
          nodeId: 9n,
          peerAddress: badAddress(rng) || 'bad host:1',
        }),
      },
    ],
  },
  {
    service: AdminService,
    method: 'transferLeadership',
    kind: 'mutating',
    base: () => ({ targetNodeId: 99n }),
    mutations: [],
    // No gateway check: the leader refuses a target that is no voter.
    refusedByConsensus: [4n, 99n, 2n ** 53n, 2n ** 64n - 1n].map((targetNodeId) => ({
      request: { targetNodeId },
    })),
  },
  {
    service: AdminService,
    method: 'triggerSnapshot',
    kind: 'mutating',
    base: () => ({ nodeId: 99n }),
    mutations: [
      {
        field: 'node_id',
        apply: (r, rng) => set(r, 'nodeId', rng.pick([4n, 99n, 2n ** 53n, 2n ** 64n - 1n])),
      },
    ],
  },
  {
    service: AdminService,
    method: 'watchEvents',
    kind: 'read',
    base: () => ({ fromIndex: 0n }),
    mutations: [],
    random: (rng) => ({ fromIndex: rng.pick([0n, 1n, BigInt(rng.int(2, 100)), 2n ** 63n, 2n ** 64n - 1n]) }),
  },
];

export const rpcSpecs: readonly RpcSpec[] = [...brokerSpecs, ...adminSpecs];

export function methodOf(spec: RpcSpec): DescMethod {
  const method = spec.service.method[spec.method as keyof typeof spec.service.method] as
    | DescMethod
    | undefined;
  if (method === undefined) throw new Error(`no method ${spec.method} in ${spec.service.typeName}`);
  return method;
}

export function inputOf(spec: RpcSpec): DescMessage {
  return methodOf(spec).input;
}

/** The URL path of an RPC. */
export function pathOf(spec: RpcSpec): string {
  return `/${spec.service.typeName}/${methodOf(spec).name}`;
}

/** Every RPC of both services is in the catalogue (checked by the fuzz spec). */
export function uncoveredMethods(): string[] {
  const covered = new Set(rpcSpecs.map((s) => `${s.service.typeName}/${s.method}`));
  return [BrokerService, AdminService].flatMap((service) =>
    service.methods.map((m) => `${service.typeName}/${m.localName}`).filter((name) => !covered.has(name)),
  );
}
