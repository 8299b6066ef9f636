// Table tests of the request shape checks: each row is a request (or a field value) and the field its first
// violation must name, or undefined when it is valid.
import { create } from '@bufbuild/protobuf';
import { Code } from '@connectrpc/connect';
import { readControllerError } from '@regent/proto';
import {
  ElectMasterRequestSchema as AdminElectMasterRequestSchema,
  GetSyncStateDataRequestSchema as AdminGetSyncStateDataRequestSchema,
  ChangeMembershipRequestSchema,
  CleanBrokerDataRequestSchema,
  GetBrokerLivenessRequestSchema,
  GetElectionAuditRequestSchema,
  GetElectionPolicyRequestSchema,
  MembershipChange,
  SetElectionPolicyRequestSchema,
  UpdateControllerConfigRequestSchema,
} from '@regent/proto/admin';
import {
  AlterSyncStateSetRequestSchema,
  ApplyBrokerIdRequestSchema,
  ElectMasterRequestSchema,
  GetNextBrokerIdRequestSchema,
  GetReplicaInfoRequestSchema,
  GetSyncStateDataRequestSchema,
  RegisterBrokerRequestSchema,
} from '@regent/proto/broker';
import { BrokerHeartbeatSchema, ControllerCondition } from '@regent/proto/common';
import {
  checkAddress,
  checkBrokerId,
  checkEpoch,
  checkHeartbeatTimeout,
  checkName,
  checkOffset,
  checkRegisterCheckCode,
  validateAdminElectMaster,
  validateAdminGetSyncStateData,
  validateAlterSyncStateSet,
  validateApplyBrokerId,
  validateChangeMembership,
  validateCleanBrokerData,
  validateElectMaster,
  validateGetBrokerLiveness,
  validateGetElectionAudit,
  validateGetElectionPolicy,
  validateGetNextBrokerId,
  validateGetReplicaInfo,
  validateGetSyncStateData,
  validateHeartbeat,
  validateRegisterBroker,
  validateSetElectionPolicy,
  validateUpdateControllerConfig,
  violationError,
} from './validation.js';

describe('names (RocketMQ characters, NATS-subject safe)', () => {
  test.each([
    ['broker-a', true],
    ['DefaultCluster', true],
    ['a_b%c|d-1', true],
    ['x'.repeat(127), true],
    ['x'.repeat(128), false],
    ['', false],
    ['broker.a', false], // a NATS subject token separator
    ['broker*', false],
    ['broker>', false],
    ['broker a', false],
    ['broker/a', false],
    ['brökér', false],
  ])('%j valid: %s', (name, valid) => {
    expect(checkName('broker_name', name) === undefined).toBe(valid);
  });
});

describe('addresses host:port', () => {
  test.each([
    ['10.0.0.1:10911', true],
    ['127.0.0.1:1', true],
    ['255.255.255.255:65535', true],
    ['[::1]:9876', true],
    ['[2001:db8::17]:10911', true],
    ['broker-a.example.com:10911', true],
    ['localhost:80', true],
    ['broker-0.broker.ns.svc.cluster.local:10911', true],
    ['10.0.0.1', false], // no port
    ['10.0.0.1:0', false],
    ['10.0.0.1:65536', false],
    ['10.0.0.1:080', false], // leading zero
    ['10.0.0.1:port', false],
    ['256.0.0.1:10911', false],
    ['1.2.3:10911', false],
    ['::1:9876', false], // IPv6 must be bracketed
    ['[::1:9876', false],
    ['[not-ipv6]:9876', false],
    ['[fe80::1%eth0]:9876', false], // no zone ids
    ['-broker:10911', false],
    ['broker-:10911', false],
    ['bro_ker:10911', false],
    ['broker..a:10911', false],
    [':10911', false],
    ['', false],
    [`${'a'.repeat(64)}.com:1`, false], // a label over 63 characters
  ])('%j valid: %s', (address, valid) => {
    expect(checkAddress('broker_address', address) === undefined).toBe(valid);
  });
});

describe('numeric fields', () => {
  test.each([
    [0n, false],
    [-1n, false],
    [1n, true],
    [2n ** 53n, true],
    [2n ** 53n + 1n, false],
  ])('broker id %s valid: %s', (id, valid) => {
    expect(checkBrokerId('broker_id', id) === undefined).toBe(valid);
  });

  test.each([
    [-2, false],
    [-1, true],
    [0, true],
    [2_147_483_647, true],
  ])('epoch %s valid: %s', (epoch, valid) => {
    expect(checkEpoch('epoch', epoch) === undefined).toBe(valid);
  });

  test.each([
    [-2n, false],
    [-1n, true],
    [0n, true],
    [2n ** 62n, true],
  ])('offset %s valid: %s', (offset, valid) => {
    expect(checkOffset('max_offset', offset) === undefined).toBe(valid);
  });

  test.each([
    [0n, true],
    [1n, false],
    [99n, false],
    [100n, true],
    [10_000n, true],
    [600_000n, true],
    [600_001n, false],
    [-1n, false],
  ])('heartbeat timeout %s ms valid: %s', (timeoutMs, valid) => {
    expect(checkHeartbeatTimeout('heartbeat_timeout_ms', timeoutMs) === undefined).toBe(valid);
  });
});

describe('register check code "<address>;<digits>"', () => {
  test.each([
    ['10.0.0.1:10911;1700000000000', true],
    ['[::1]:10911;1', true],
    ['10.0.0.1:10911', false],
    ['10.0.0.1:10911;', false],
    ['10.0.0.1:10911;12a', false],
    ['bad host:1;1700000000000', false],
    [`${'a'.repeat(240)}.com:1;1`, false], // over 256 characters
    ['', false],
  ])('%j valid: %s', (code, valid) => {
    expect(checkRegisterCheckCode('register_check_code', code) === undefined).toBe(valid);
  });
});

const group = { clusterName: 'cluster-a', brokerName: 'broker-a' };
const heartbeat = {
  ...group,
  brokerAddress: '10.0.0.1:10911',
  brokerId: 1n,
  epoch: 3,
  maxOffset: 1000n,
  confirmOffset: 900n,
  heartbeatTimeoutMs: 10_000n,
};
const labels16 = Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`k${i}`, 'v']));

function rows<T>(
  validate: (request: T) => { field: string } | undefined,
  table: readonly (readonly [string, T, string | undefined])[],
) {
  return table.map(
    ([description, request, field]) => [description, () => validate(request)?.field, field] as const,
  );
}

describe.each<
  readonly [string, readonly (readonly [string, () => string | undefined, string | undefined])[]]
>([
  [
    'GetNextBrokerId',
    rows(validateGetNextBrokerId, [
      ['valid', create(GetNextBrokerIdRequestSchema, group), undefined],
      ['no cluster', create(GetNextBrokerIdRequestSchema, { brokerName: 'b' }), 'cluster_name'],
      [
        'bad broker name',
        create(GetNextBrokerIdRequestSchema, { ...group, brokerName: 'a.b' }),
        'broker_name',
      ],
    ]),
  ],
  [
    'ApplyBrokerId',
    rows(validateApplyBrokerId, [
      [
        'valid',
        create(ApplyBrokerIdRequestSchema, {
          ...group,
          appliedBrokerId: 1n,
          registerCheckCode: '10.0.0.1:1;5',
        }),
        undefined,
      ],
      [
        'id 0',
        create(ApplyBrokerIdRequestSchema, {
          ...group,
          appliedBrokerId: 0n,
          registerCheckCode: '10.0.0.1:1;5',
        }),
        'applied_broker_id',
      ],
      [
        'no check code',
        create(ApplyBrokerIdRequestSchema, { ...group, appliedBrokerId: 1n }),
        'register_check_code',
      ],
    ]),
  ],
  [
    'RegisterBroker',
    rows(validateRegisterBroker, [
      [
        'valid',
        create(RegisterBrokerRequestSchema, { ...group, brokerId: 2n, brokerAddress: '[::1]:10911' }),
        undefined,
      ],
      ['no id', create(RegisterBrokerRequestSchema, { ...group, brokerAddress: '10.0.0.1:1' }), 'broker_id'],
      [
        'bad address',
        create(RegisterBrokerRequestSchema, { ...group, brokerId: 2n, brokerAddress: 'x' }),
        'broker_address',
      ],
    ]),
  ],
  [
    'Heartbeat',
    rows(validateHeartbeat, [
      ['valid', create(BrokerHeartbeatSchema, heartbeat), undefined],
      [
        'unknown progress (-1)',
        create(BrokerHeartbeatSchema, { ...heartbeat, epoch: -1, maxOffset: -1n, confirmOffset: -1n }),
        undefined,
      ],
      ['16 labels', create(BrokerHeartbeatSchema, { ...heartbeat, labels: labels16 }), undefined],
      ['absent', undefined, 'heartbeat'],
      [
        'no broker id',
        create(BrokerHeartbeatSchema, { ...heartbeat, brokerId: undefined }),
        'heartbeat.broker_id',
      ],
      ['broker id 0', create(BrokerHeartbeatSchema, { ...heartbeat, brokerId: 0n }), 'heartbeat.broker_id'],
      [
        'no cluster',
        create(BrokerHeartbeatSchema, { ...heartbeat, clusterName: '' }),
        'heartbeat.cluster_name',
      ],
      [
        'bad address',
        create(BrokerHeartbeatSchema, { ...heartbeat, brokerAddress: 'h:0' }),
        'heartbeat.broker_address',
      ],
      ['epoch -2', create(BrokerHeartbeatSchema, { ...heartbeat, epoch: -2 }), 'heartbeat.epoch'],
      [
        'max offset -2',
        create(BrokerHeartbeatSchema, { ...heartbeat, maxOffset: -2n }),
        'heartbeat.max_offset',
      ],
      [
        'confirm offset -2',
        create(BrokerHeartbeatSchema, { ...heartbeat, confirmOffset: -2n }),
        'heartbeat.confirm_offset',
      ],
      [
        'timeout 50 ms',
        create(BrokerHeartbeatSchema, { ...heartbeat, heartbeatTimeoutMs: 50n }),
        'heartbeat.heartbeat_timeout_ms',
      ],
      [
        'zone too long',
        create(BrokerHeartbeatSchema, { ...heartbeat, zone: 'z'.repeat(129) }),
        'heartbeat.zone',
      ],
      [
        '17 labels',
        create(BrokerHeartbeatSchema, { ...heartbeat, labels: { ...labels16, k16: 'v' } }),
        'heartbeat.labels',
      ],
      [
        'label key too long',
        create(BrokerHeartbeatSchema, { ...heartbeat, labels: { ['k'.repeat(129)]: 'v' } }),
        'heartbeat.labels',
      ],
      [
        'label value too long',
        create(BrokerHeartbeatSchema, { ...heartbeat, labels: { k: 'v'.repeat(257) } }),
        'heartbeat.labels',
      ],
    ]),
  ],
  [
    'ElectMaster',
    rows(validateElectMaster, [
      ['valid', create(ElectMasterRequestSchema, { ...group, brokerId: 1n }), undefined],
      ['no broker id', create(ElectMasterRequestSchema, group), 'broker_id'],
    ]),
  ],
  [
    'AlterSyncStateSet',
    rows(validateAlterSyncStateSet, [
      [
        'valid',
        create(AlterSyncStateSetRequestSchema, {
          ...group,
          masterBrokerId: 1n,
          masterEpoch: 2,
          newSyncStateSet: { brokerIds: [1n, 2n], epoch: 3 },
        }),
        undefined,
      ],
      [
        'no set',
        create(AlterSyncStateSetRequestSchema, { ...group, masterBrokerId: 1n, masterEpoch: 2 }),
        'new_sync_state_set',
      ],
      [
        '65 ids',
        create(AlterSyncStateSetRequestSchema, {
          ...group,
          masterBrokerId: 1n,
          newSyncStateSet: { brokerIds: Array.from({ length: 65 }, (_, i) => BigInt(i + 1)) },
        }),
        'new_sync_state_set.broker_ids',
      ],
      [
        'duplicate id',
        create(AlterSyncStateSetRequestSchema, {
          ...group,
          masterBrokerId: 1n,
          newSyncStateSet: { brokerIds: [1n, 1n] },
        }),
        'new_sync_state_set.broker_ids[1]',
      ],
      [
        'master epoch -2',
        create(AlterSyncStateSetRequestSchema, {
          ...group,
          masterBrokerId: 1n,
          masterEpoch: -2,
          newSyncStateSet: {},
        }),
        'master_epoch',
      ],
      [
        'set epoch -2',
        create(AlterSyncStateSetRequestSchema, {
          ...group,
          masterBrokerId: 1n,
          newSyncStateSet: { epoch: -2 },
        }),
        'new_sync_state_set.epoch',
      ],
    ]),
  ],
  [
    'GetReplicaInfo',
    rows(validateGetReplicaInfo, [
      ['valid', create(GetReplicaInfoRequestSchema, group), undefined],
      ['no broker', create(GetReplicaInfoRequestSchema, { clusterName: 'c' }), 'broker_name'],
    ]),
  ],
  [
    'GetSyncStateData (broker)',
    rows(validateGetSyncStateData, [
      [
        'valid',
        create(GetSyncStateDataRequestSchema, { clusterName: 'c', brokerNames: ['a', 'b'] }),
        undefined,
      ],
      ['empty list', create(GetSyncStateDataRequestSchema, { clusterName: 'c' }), 'broker_names'],
      [
        '1025 names',
        create(GetSyncStateDataRequestSchema, {
          clusterName: 'c',
          brokerNames: Array.from({ length: 1025 }, (_, i) => `b${i}`),
        }),
        'broker_names',
      ],
      [
        'bad name',
        create(GetSyncStateDataRequestSchema, { clusterName: 'c', brokerNames: ['a', 'b c'] }),
        'broker_names[1]',
      ],
    ]),
  ],
  [
    'GetSyncStateData (admin)',
    rows(validateAdminGetSyncStateData, [
      ['everything', create(AdminGetSyncStateDataRequestSchema, {}), undefined],
      ['bad cluster', create(AdminGetSyncStateDataRequestSchema, { clusterName: 'a b' }), 'cluster_name'],
    ]),
  ],
  [
    'GetBrokerLiveness',
    rows(validateGetBrokerLiveness, [
      ['everything', create(GetBrokerLivenessRequestSchema, {}), undefined],
      ['bad name', create(GetBrokerLivenessRequestSchema, { brokerNames: [''] }), 'broker_names[0]'],
    ]),
  ],
  [
    'ElectMaster (admin)',
    rows(validateAdminElectMaster, [
      ['ordinary', create(AdminElectMasterRequestSchema, group), undefined],
      ['designated', create(AdminElectMasterRequestSchema, { ...group, designatedBrokerId: 2n }), undefined],
      [
        'designated 0',
        create(AdminElectMasterRequestSchema, { ...group, designatedBrokerId: 0n }),
        'designated_broker_id',
      ],
    ]),
  ],
  [
    'CleanBrokerData',
    rows(validateCleanBrokerData, [
      ['whole group, no cluster', create(CleanBrokerDataRequestSchema, { brokerName: 'b' }), undefined],
      [
        '65 ids',
        create(CleanBrokerDataRequestSchema, {
          brokerName: 'b',
          brokerIds: Array.from({ length: 65 }, (_, i) => BigInt(i + 1)),
        }),
        'broker_ids',
      ],
      ['id 0', create(CleanBrokerDataRequestSchema, { brokerName: 'b', brokerIds: [0n] }), 'broker_ids[0]'],
    ]),
  ],
  [
    'UpdateControllerConfig',
    rows(validateUpdateControllerConfig, [
      [
        'valid',
        create(UpdateControllerConfigRequestSchema, { entries: { enableElectUncleanMaster: 'true' } }),
        undefined,
      ],
      ['empty', create(UpdateControllerConfigRequestSchema, {}), 'entries'],
      [
        '65 entries',
        create(UpdateControllerConfigRequestSchema, {
          entries: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v'])),
        }),
        'entries',
      ],
      ['bad key', create(UpdateControllerConfigRequestSchema, { entries: { 'a b': 'v' } }), 'entries'],
      [
        'long value',
        create(UpdateControllerConfigRequestSchema, { entries: { k: 'v'.repeat(1025) } }),
        'entries[k]',
      ],
    ]),
  ],
  [
    'Get/SetElectionPolicy and audit',
    [
      ...rows(validateGetElectionPolicy, [
        ['cluster-wide', create(GetElectionPolicyRequestSchema, { clusterName: 'c' }), undefined],
        ['no cluster', create(GetElectionPolicyRequestSchema, { brokerName: 'b' }), 'cluster_name'],
      ]),
      ...rows(validateSetElectionPolicy, [
        ['clear', create(SetElectionPolicyRequestSchema, { clusterName: 'c' }), undefined],
        [
          'rules',
          create(SetElectionPolicyRequestSchema, {
            clusterName: 'c',
            policy: { policy: { case: 'rules', value: { filter: 'c.in_sync' } } },
          }),
          undefined,
        ],
        [
          'rule too long',
          create(SetElectionPolicyRequestSchema, {
            clusterName: 'c',
            policy: { policy: { case: 'rules', value: { rank: 'x'.repeat(2049) } } },
          }),
          'policy.rules.rank',
        ],
        [
          'negative lag',
          create(SetElectionPolicyRequestSchema, {
            clusterName: 'c',
            policy: { policy: { case: 'maxLag', value: { maxLagBytes: -1n } } },
          }),
          'policy.max_lag.max_lag_bytes',
        ],
        [
          'empty zone',
          create(SetElectionPolicyRequestSchema, {
            clusterName: 'c',
            policy: { policy: { case: 'zoneAware', value: { zoneOrder: ['z1', ''] } } },
          }),
          'policy.zone_aware.zone_order[1]',
        ],
      ]),
      ...rows(validateGetElectionAudit, [
        ['valid', create(GetElectionAuditRequestSchema, { clusterName: 'c', limit: 5 }), undefined],
        [
          'bad group',
          create(GetElectionAuditRequestSchema, { clusterName: 'c', brokerName: 'a*' }),
          'broker_name',
        ],
      ]),
    ],
  ],
  [
    'ChangeMembership',
    rows(validateChangeMembership, [
      [
        'add voter',
        create(ChangeMembershipRequestSchema, {
          change: MembershipChange.ADD_VOTER,
          nodeId: 4n,
          peerAddress: '10.0.0.4:7001',
          clientAddress: '10.0.0.4:7100',
        }),
        undefined,
      ],
      [
        'remove',
        create(ChangeMembershipRequestSchema, { change: MembershipChange.REMOVE_NODE, nodeId: 3n }),
        undefined,
      ],
      ['no change', create(ChangeMembershipRequestSchema, { nodeId: 3n }), 'change'],
      [
        'unknown change',
        create(ChangeMembershipRequestSchema, { change: 99 as MembershipChange, nodeId: 3n }),
        'change',
      ],
      ['no node', create(ChangeMembershipRequestSchema, { change: MembershipChange.REMOVE_NODE }), 'node_id'],
      [
        'add without address',
        create(ChangeMembershipRequestSchema, { change: MembershipChange.ADD_LEARNER, nodeId: 4n }),
        'peer_address',
      ],
    ]),
  ],
])('%s', (_rpc, table) => {
  test.each(table.map(([description, run, field]) => [description, run, field] as const))(
    '%s → %s',
    (_description, run, field) => {
      expect(run()).toBe(field);
    },
  );
});

describe('violationError', () => {
  test('is INVALID_ARGUMENT with condition INVALID_ARGUMENT and the field', () => {
    const violation = validateRegisterBroker(
      create(RegisterBrokerRequestSchema, { ...group, brokerAddress: '1.2.3.4:5' }),
    );
    const error = violationError(violation!);
    expect(error.code).toBe(Code.InvalidArgument);
    expect(readControllerError(error)).toMatchObject({
      condition: ControllerCondition.INVALID_ARGUMENT,
      field: 'broker_id',
    });
  });

  test("a heartbeat without broker_id is RocketMQ's INVALID_REQUEST (2005), still INVALID_ARGUMENT", () => {
    const violation = validateHeartbeat(create(BrokerHeartbeatSchema, { ...heartbeat, brokerId: undefined }));
    const error = violationError(violation!);
    expect(error.code).toBe(Code.InvalidArgument);
    expect(readControllerError(error)).toMatchObject({
      condition: ControllerCondition.INVALID_REQUEST,
      rocketmqCode: 2005,
      field: 'heartbeat.broker_id',
    });
  });
});
