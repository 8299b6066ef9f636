// An in-process AdminService for tests: canned answers for a three-node controller with two broker groups, a
// bearer-token check like the gateway's, and a record of every call. Tests override single methods.
import { create } from '@bufbuild/protobuf';
import {
  Code,
  ConnectError,
  type ConnectRouter,
  type Interceptor,
  type ServiceImpl,
} from '@connectrpc/connect';
import {
  AdminService,
  GetBrokerLivenessResponseSchema,
  GetClusterStatusResponseSchema,
  GetSyncStateDataResponseSchema,
} from '@regent/proto/admin';
import { ControllerMetadataSchema } from '@regent/proto/common';
import { Verdict } from '@regent/proto/election';
import { ElectionAuditRecordSchema, ElectionTrigger } from '@regent/proto/state';
import { createLogger, createMetricsRegistry, type RunningServer, startServer } from '@regent/service-kit';

export type AdminImpl = Partial<ServiceImpl<typeof AdminService>>;

export interface RecordedCall {
  readonly method: string;
  /** The request; for a streaming call, its first message once the handler has read it. */
  request: unknown;
  readonly authorization: string | null;
}

export interface FakeAdmin {
  /** "127.0.0.1:<port>", for --gateway. */
  readonly address: string;
  readonly calls: RecordedCall[];
  close(): Promise<void>;
}

export const FAKE_TOKEN = 'admin-secret';

export const fixtures = {
  metadata: create(ControllerMetadataSchema, {
    group: 'regent',
    leaderId: 2n,
    leaderAddress: '127.0.0.1:7102',
    isLeader: false,
    answeringNodeId: 1n,
    term: 7n,
    peers: [
      { nodeId: 1n, address: '127.0.0.1:7101' },
      { nodeId: 2n, address: '127.0.0.1:7102' },
      { nodeId: 3n, address: '127.0.0.1:7103', learner: true },
    ],
  }),
  status: create(GetClusterStatusResponseSchema, {
    nodes: [
      {
        nodeId: 2n,
        address: '127.0.0.1:7102',
        role: 'leader',
        term: 7n,
        leaderId: 2n,
        commitIndex: 120n,
        appliedIndex: 120n,
        lastIndex: 121n,
        firstIndex: 1n,
        snapshotIndex: 100n,
        uptimeSeconds: 75,
      },
      {
        nodeId: 1n,
        address: '127.0.0.1:7101',
        role: 'follower',
        term: 7n,
        leaderId: 2n,
        commitIndex: 118n,
        appliedIndex: 115n,
        lastIndex: 121n,
        firstIndex: 1n,
        snapshotIndex: 100n,
        uptimeSeconds: 80,
      },
      { nodeId: 3n, address: '127.0.0.1:7103', role: 'unreachable', error: 'connect ECONNREFUSED' },
    ],
  }),
  syncState: create(GetSyncStateDataResponseSchema, {
    replicas: {
      g1: {
        clusterName: 'c1',
        masterBrokerId: 1n,
        masterAddress: '127.0.0.1:10911',
        masterEpoch: 3,
        syncStateSetEpoch: 5,
        inSyncReplicas: [
          { brokerName: 'g1', brokerId: 1n, brokerAddress: '127.0.0.1:10911', alive: true },
          { brokerName: 'g1', brokerId: 2n, brokerAddress: '127.0.0.1:10912', alive: true },
        ],
        notInSyncReplicas: [
          { brokerName: 'g1', brokerId: 3n, brokerAddress: '127.0.0.1:10913', alive: false },
        ],
      },
      g2: { clusterName: 'c1', masterEpoch: 1, syncStateSetEpoch: 1 },
    },
  }),
  liveness: create(GetBrokerLivenessResponseSchema, {
    answeringNodeId: 2n,
    brokers: [
      {
        clusterName: 'c1',
        brokerName: 'g1',
        brokerId: 2n,
        brokerAddress: '127.0.0.1:10912',
        alive: true,
        lastHeartbeatAgeMs: 1500n,
        heartbeatTimeoutMs: 3000n,
        epoch: 3,
        maxOffset: 9_007_199_254_740_993n,
        confirmOffset: 4096n,
        zone: 'a',
      },
      {
        clusterName: 'c1',
        brokerName: 'g1',
        brokerId: 1n,
        brokerAddress: '127.0.0.1:10911',
        alive: true,
        lastHeartbeatAgeMs: 200n,
        heartbeatTimeoutMs: 3000n,
        epoch: 3,
        maxOffset: 8192n,
        confirmOffset: 4096n,
        electionPriority: 1,
        zone: 'a',
      },
      {
        clusterName: 'c1',
        brokerName: 'g1',
        brokerId: 3n,
        brokerAddress: '127.0.0.1:10913',
        alive: false,
        suspected: true,
        lastHeartbeatAgeMs: 65_000n,
        heartbeatTimeoutMs: 3000n,
        epoch: 2,
        maxOffset: 100n,
        confirmOffset: 100n,
      },
    ],
  }),
  audit: create(ElectionAuditRecordSchema, {
    clusterName: 'c1',
    brokerName: 'g1',
    trigger: ElectionTrigger.CONTROLLER,
    policyName: 'rocketmq-default',
    chosenBrokerId: 2n,
    oldMasterBrokerId: 1n,
    rankedBrokerIds: [2n],
    reasons: [
      { brokerId: 1n, verdict: Verdict.NOT_ALIVE, detail: 'last heartbeat 3.2s ago' },
      { brokerId: 2n, verdict: Verdict.CHOSEN, detail: 'in sync, epoch 3, maxOffset 8192' },
      { brokerId: 3n, verdict: Verdict.NOT_IN_SYNC_STATE_SET, detail: 'unclean election disabled' },
    ],
    explanation: 'master 1 stopped heartbeating; 2 is the best in-sync replica',
    masterEpoch: 4,
    raftTerm: 7n,
    raftIndex: 118n,
    decidedAtUnixMs: 1_764_000_000_000n,
  }),
};

const defaults: AdminImpl = {
  getControllerMetadata: () => ({ metadata: fixtures.metadata }),
  getClusterStatus: () => fixtures.status,
  getSyncStateData: (req) => {
    if (req.brokerNames.length === 0) return fixtures.syncState;
    const replicas = Object.fromEntries(
      Object.entries(fixtures.syncState.replicas).filter(([name]) => req.brokerNames.includes(name)),
    );
    return { replicas };
  },
  getBrokerLiveness: () => fixtures.liveness,
  getElectionAudit: () => ({ records: [fixtures.audit] }),
};

/** Starts the fake on a free loopback port. Every call needs `authorization: Bearer <token>`. */
export async function startFakeAdmin(
  impl: AdminImpl = {},
  options: { token?: string } = {},
): Promise<FakeAdmin> {
  const token = options.token ?? FAKE_TOKEN;
  const calls: RecordedCall[] = [];
  const record: Interceptor = (next) => async (req) => {
    const authorization = req.header.get('authorization');
    const call: RecordedCall = { method: req.method.name, request: undefined, authorization };
    calls.push(call);
    if (authorization !== `Bearer ${token}`)
      throw new ConnectError('missing or unknown token', Code.Unauthenticated);
    if (!req.stream) {
      call.request = req.message;
      return next(req);
    }
    const messages = req.message;
    async function* recorded() {
      for await (const m of messages) {
        call.request ??= m;
        yield m;
      }
    }
    return next({ ...req, message: recorded() });
  };
  const merged = { ...defaults, ...impl };
  const server: RunningServer = await startServer({
    host: '127.0.0.1',
    port: 0,
    logger: createLogger('fake-admin', 'silent'),
    metrics: createMetricsRegistry('fake-admin'),
    interceptors: [record],
    routes: (router: ConnectRouter) => router.service(AdminService, merged),
  });
  return { address: `127.0.0.1:${server.port}`, calls, close: () => server.close() };
}
