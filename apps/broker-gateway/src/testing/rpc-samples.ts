// A valid request for every BrokerService and AdminService RPC, and a way to call any of them by name (unary, or
// the first message of a stream), for tests that sweep the whole API.
import type { Client } from '@connectrpc/connect';
import type { AdminService } from '@regent/proto/admin';
import { MembershipChange } from '@regent/proto/admin';
import type { BrokerService } from '@regent/proto/broker';

export const clusterA = 'cluster-a';
export const clusterB = 'cluster-b';

export function heartbeatOf(clusterName: string, brokerId = 1n, brokerName = 'broker-a') {
  return {
    clusterName,
    brokerName,
    brokerAddress: '10.0.0.1:10911',
    brokerId,
    epoch: 1,
    maxOffset: 100n,
    confirmOffset: 90n,
  };
}

export type Shape = 'unary' | 'bidi' | 'server-stream';

export interface Sample {
  readonly method: string;
  readonly shape: Shape;
  /** The ControllerCommand case it forwards as, when it goes through Submit. */
  readonly command?: string;
  /** True when the request names a cluster (a broker token of another cluster is refused). */
  readonly scoped: boolean;
  request(clusterName: string): Record<string, unknown>;
}

const group = (clusterName: string) => ({ clusterName, brokerName: 'broker-a' });

export const brokerSamples: readonly Sample[] = [
  { method: 'getNextBrokerId', shape: 'unary', command: 'getNextBrokerId', scoped: true, request: group },
  {
    method: 'applyBrokerId',
    shape: 'unary',
    command: 'applyBrokerId',
    scoped: true,
    request: (c) => ({ ...group(c), appliedBrokerId: 1n, registerCheckCode: '10.0.0.1:10911;1700000000000' }),
  },
  {
    method: 'registerBroker',
    shape: 'unary',
    command: 'registerBroker',
    scoped: true,
    request: (c) => ({ ...group(c), brokerId: 1n, brokerAddress: '10.0.0.1:10911' }),
  },
  { method: 'heartbeat', shape: 'unary', scoped: true, request: (c) => ({ heartbeat: heartbeatOf(c) }) },
  { method: 'heartbeatStream', shape: 'bidi', scoped: true, request: (c) => ({ heartbeat: heartbeatOf(c) }) },
  {
    method: 'electMaster',
    shape: 'unary',
    command: 'electMaster',
    scoped: true,
    request: (c) => ({ ...group(c), brokerId: 1n }),
  },
  {
    method: 'alterSyncStateSet',
    shape: 'unary',
    command: 'alterSyncStateSet',
    scoped: true,
    request: (c) => ({
      ...group(c),
      masterBrokerId: 1n,
      masterEpoch: 1,
      newSyncStateSet: { brokerIds: [1n, 2n], epoch: 1 },
    }),
  },
  { method: 'getReplicaInfo', shape: 'unary', command: 'getReplicaInfo', scoped: true, request: group },
  {
    method: 'getSyncStateData',
    shape: 'unary',
    command: 'getSyncStateData',
    scoped: true,
    request: (c) => ({ clusterName: c, brokerNames: ['broker-a'] }),
  },
  { method: 'getControllerMetadata', shape: 'unary', scoped: false, request: () => ({}) },
];

export const adminSamples: readonly Sample[] = [
  { method: 'getControllerMetadata', shape: 'unary', scoped: false, request: () => ({}) },
  { method: 'getClusterStatus', shape: 'unary', scoped: false, request: () => ({}) },
  {
    method: 'getSyncStateData',
    shape: 'unary',
    command: 'adminGetSyncStateData',
    scoped: false,
    request: (c) => ({ clusterName: c }),
  },
  {
    method: 'getBrokerLiveness',
    shape: 'unary',
    command: 'getBrokerLiveness',
    scoped: false,
    request: (c) => ({ clusterName: c }),
  },
  { method: 'electMaster', shape: 'unary', command: 'adminElectMaster', scoped: false, request: group },
  { method: 'cleanBrokerData', shape: 'unary', command: 'cleanBrokerData', scoped: false, request: group },
  {
    method: 'getControllerConfig',
    shape: 'unary',
    command: 'getControllerConfig',
    scoped: false,
    request: () => ({}),
  },
  {
    method: 'updateControllerConfig',
    shape: 'unary',
    command: 'updateControllerConfig',
    scoped: false,
    request: () => ({ entries: { enableElectUncleanMaster: 'false' } }),
  },
  {
    method: 'getElectionPolicy',
    shape: 'unary',
    command: 'getElectionPolicy',
    scoped: false,
    request: (c) => ({ clusterName: c }),
  },
  {
    method: 'setElectionPolicy',
    shape: 'unary',
    command: 'setElectionPolicy',
    scoped: false,
    request: (c) => ({ clusterName: c }),
  },
  {
    method: 'changeMembership',
    shape: 'unary',
    scoped: false,
    request: () => ({ change: MembershipChange.REMOVE_NODE, nodeId: 3n }),
  },
  { method: 'transferLeadership', shape: 'unary', scoped: false, request: () => ({ targetNodeId: 2n }) },
  { method: 'triggerSnapshot', shape: 'unary', scoped: false, request: () => ({}) },
  { method: 'watchEvents', shape: 'server-stream', scoped: false, request: () => ({ fromIndex: 0n }) },
  {
    method: 'getElectionAudit',
    shape: 'unary',
    command: 'getElectionAudit',
    scoped: false,
    request: (c) => ({ clusterName: c }),
  },
];

type AnyClient = Client<typeof BrokerService> | Client<typeof AdminService>;
type AnyMethod = (request: unknown, options?: { signal?: AbortSignal }) => unknown;

/** Calls `sample` and resolves with its (first) response; rejects with the call's error. */
export async function callSample(client: AnyClient, sample: Sample, clusterName: string): Promise<unknown> {
  const method = (client as unknown as Record<string, AnyMethod>)[sample.method]!;
  const request = sample.request(clusterName);
  if (sample.shape === 'unary') return method(request);
  const stop = new AbortController();
  const input = async function* () {
    yield request;
    await new Promise<void>((resolve) => stop.signal.addEventListener('abort', () => resolve()));
  };
  const responses = method(sample.shape === 'bidi' ? input() : request, {
    signal: stop.signal,
  }) as AsyncIterable<unknown>;
  try {
    for await (const response of responses) return response;
    return undefined;
  } finally {
    stop.abort();
  }
}
