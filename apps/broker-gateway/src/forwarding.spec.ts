// Forwarding against a fake 3-node consensus cluster: command mapping, leader discovery and NOT_LEADER hints, a
// leader change mid-call, retries with the same session, unreachable nodes, deadlines, the in-flight bound, request
// ids, and the status RPCs.
import { create } from '@bufbuild/protobuf';
import { Code, ConnectError } from '@connectrpc/connect';
import { connectErrorOf, readControllerError } from '@regent/proto';
import { MembershipChange } from '@regent/proto/admin';
import { ControllerCondition } from '@regent/proto/common';
import { ControllerReplySchema } from '@regent/proto/consensus';
import { REQUEST_ID_HEADER } from '@regent/service-kit';
import { waitFor } from '@regent/testing';
import { mutatingCommands } from './forwarder.js';
import { untilAborted } from './testing/fake-consensus.js';
import { type Harness, type HarnessOptions, startHarness, tokens } from './testing/harness.js';
import { adminSamples, brokerSamples, callSample, clusterA } from './testing/rpc-samples.js';

const register = {
  clusterName: clusterA,
  brokerName: 'broker-a',
  brokerId: 1n,
  brokerAddress: '10.0.0.1:10911',
};
const replicaInfo = { clusterName: clusterA, brokerName: 'broker-a' };

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** A harness whose gateway has found the leader; the probe is slowed so tests control what the gateway knows. */
async function ready(options: HarnessOptions = {}): Promise<Harness> {
  h = await startHarness({ ...options, tuning: { leaderProbeIntervalMs: 60_000, ...options.tuning } });
  const harness = h;
  await waitFor(() => harness.gateway.ready().ready, { what: 'a known leader' });
  return harness;
}

async function failure(call: Promise<unknown>): Promise<ConnectError> {
  return call.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (error: unknown) => ConnectError.from(error),
  );
}

function sessionOf(node: Harness['cluster']['nodes'][number], i: number) {
  const request = node.submits[i]!.request;
  return { clientId: request.clientId, sequence: request.sequence };
}

describe('command mapping', () => {
  test('every controller RPC is one Submit with the matching command case; mutating ones carry the session', async () => {
    const harness = await ready();
    const leader = harness.cluster.nodes[0]!;
    const samples = [
      ...brokerSamples
        .filter((s) => s.command !== undefined)
        .map((s) => [harness.broker(tokens.brokerA), s] as const),
      ...adminSamples
        .filter((s) => s.command !== undefined)
        .map((s) => [harness.admin(tokens.admin), s] as const),
    ];
    expect(samples).toHaveLength(16); // every ControllerCommand case
    let lastSequence = 0n;
    for (const [client, sample] of samples) {
      const before = leader.submits.length;
      await callSample(client, sample, clusterA);
      expect(leader.submits).toHaveLength(before + 1);
      const { command, clientId, sequence } = leader.submits[before]!.request;
      expect(command?.command.case).toBe(sample.command);
      if (mutatingCommands.has(sample.command as never)) {
        expect([sample.method, /^gw-test\.\d+$/.test(clientId)]).toEqual([sample.method, true]); // a session lane
        expect(sequence).toBeGreaterThan(lastSequence);
        lastSequence = sequence;
      } else {
        expect([sample.method, clientId, sequence]).toEqual([sample.method, '', 0n]);
      }
    }
  });

  test('the reply of the same case is the response; an error reply becomes its Connect code and condition', async () => {
    const harness = await ready();
    const leader = harness.cluster.nodes[0]!;
    const broker = harness.broker(tokens.brokerA);
    expect(await broker.getNextBrokerId({ clusterName: clusterA, brokerName: 'broker-a' })).toMatchObject({
      clusterName: clusterA,
      brokerName: 'broker-a',
      nextBrokerId: 1n,
    });
    leader.onSubmit = () =>
      create(ControllerReplySchema, {
        reply: {
          case: 'error',
          value: {
            condition: ControllerCondition.BROKER_METADATA_NOT_EXIST,
            rocketmqCode: 2008,
            message: 'unknown group',
          },
        },
      });
    const error = await failure(broker.getReplicaInfo(replicaInfo));
    expect(error.code).toBe(Code.NotFound);
    expect(readControllerError(error)).toMatchObject({
      condition: ControllerCondition.BROKER_METADATA_NOT_EXIST,
      rocketmqCode: 2008,
    });
    expect(leader.submits).toHaveLength(2); // a controller answer is final: not retried
  });

  test('a reply of another case is an INTERNAL error', async () => {
    const harness = await ready();
    harness.cluster.nodes[0]!.onSubmit = () =>
      create(ControllerReplySchema, { reply: { case: 'applyBrokerId', value: {} } });
    expect((await failure(harness.broker(tokens.brokerA).getReplicaInfo(replicaInfo))).code).toBe(
      Code.Internal,
    );
  });
});

describe('leader discovery and retries', () => {
  test('a NOT_LEADER hint is followed; the retry carries the same session; the leader change is counted', async () => {
    const harness = await ready();
    const [node0, , node2] = harness.cluster.nodes;
    harness.cluster.setLeader(2); // the gateway still believes node 0 leads
    await harness.broker(tokens.brokerA).registerBroker(register);
    expect(node0!.submits).toHaveLength(1);
    expect(node2!.submits).toHaveLength(1);
    expect(sessionOf(node2!, 0)).toEqual(sessionOf(node0!, 0));
    expect(sessionOf(node2!, 0).clientId).toMatch(/^gw-test\.\d+$/);
    expect(harness.gateway.ready().detail.leader).toBe(node2!.address);
    expect(await harness.metric('regent_gateway_leader_changes_total')).toBe(1);
    // Later calls go straight to the new leader.
    await harness.broker(tokens.brokerA).getReplicaInfo(replicaInfo);
    expect(node0!.submits).toHaveLength(1);
    expect(node2!.submits).toHaveLength(2);
  });

  test('the leader steps down while handling a command: the retry goes to the new leader with the same session', async () => {
    const harness = await ready();
    const [node0, node1] = harness.cluster.nodes;
    node0!.onSubmit = () => {
      harness.cluster.setLeader(1);
      throw connectErrorOf(ControllerCondition.RAFT_INTERNAL_ERROR, 'leadership lost before commit');
    };
    const response = await harness.broker(tokens.brokerA).electMaster({ ...replicaInfo, brokerId: 1n });
    expect(response).toBeDefined();
    expect(node0!.submits).toHaveLength(1);
    expect(node1!.submits).toHaveLength(1);
    expect(sessionOf(node1!, 0)).toEqual(sessionOf(node0!, 0));
    expect(node1!.submits[0]!.request.command?.command.case).toBe('electMaster');
  });

  test('a mutating command whose outcome is unknown is retried with the same client id and sequence', async () => {
    const harness = await ready();
    const leader = harness.cluster.nodes[0]!;
    let attempts = 0;
    leader.onSubmit = (request) => {
      attempts += 1;
      if (attempts < 3) throw new ConnectError('connection reset by peer', Code.Unavailable);
      return create(ControllerReplySchema, {
        reply: { case: request.command!.command.case, value: {} } as never,
      });
    };
    await harness.broker(tokens.brokerA).registerBroker(register);
    expect(leader.submits).toHaveLength(3);
    const sessions = leader.submits.map((s) => `${s.request.clientId}#${s.request.sequence}`);
    expect(new Set(sessions).size).toBe(1);
    expect(sessions[0]).toMatch(/^gw-test\.\d+#\d+$/);

    // The next incoming call gets a new, larger sequence.
    attempts = 10;
    await harness.broker(tokens.brokerA).registerBroker(register);
    expect(sessionOf(leader, 3).sequence).toBeGreaterThan(sessionOf(leader, 0).sequence);
  });

  test('a read is retried without a session', async () => {
    const harness = await ready();
    const leader = harness.cluster.nodes[0]!;
    let attempts = 0;
    leader.onSubmit = (request) => {
      if (++attempts === 1) throw new ConnectError('stream reset', Code.Unavailable);
      return create(ControllerReplySchema, {
        reply: { case: request.command!.command.case, value: {} } as never,
      });
    };
    await harness.broker(tokens.brokerA).getReplicaInfo(replicaInfo);
    expect(leader.submits.map((s) => [s.request.clientId, s.request.sequence])).toEqual([
      ['', 0n],
      ['', 0n],
    ]);
  });

  test('concurrent mutating calls use distinct session lanes, one call per lane at a time', async () => {
    const t = await ready();
    const broker = t.broker(tokens.brokerA);
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        broker.registerBroker({
          clusterName: clusterA,
          brokerName: 'g1',
          brokerId: BigInt(i + 1),
          brokerAddress: `127.0.0.1:${10000 + i}`,
        }),
      ),
    );
    const leader = t.cluster.leader!;
    const lanes = new Set(leader.submits.map((s) => s.request.clientId));
    expect(lanes.size).toBeGreaterThan(1);
    for (const lane of lanes) {
      const sequences = leader.submits
        .filter((s) => s.request.clientId === lane)
        .map((s) => s.request.sequence);
      expect([...sequences].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))).toEqual(sequences);
    }
  });

  test('STALE_SEQUENCE on a command that never ran gets a new sequence', async () => {
    const harness = await ready();
    const leader = harness.cluster.nodes[0]!;
    leader.onSubmit = (request) =>
      leader.submits.length === 1
        ? create(ControllerReplySchema, {
            reply: {
              case: 'error',
              value: { condition: ControllerCondition.STALE_SEQUENCE, message: 'stale' },
            },
          })
        : create(ControllerReplySchema, {
            reply: { case: request.command!.command.case, value: {} } as never,
          });
    await harness.broker(tokens.brokerA).registerBroker(register);
    expect(leader.submits).toHaveLength(2);
    expect(sessionOf(leader, 1).clientId).toMatch(/^gw-test\.\d+$/);
    expect(sessionOf(leader, 1).sequence).toBeGreaterThan(sessionOf(leader, 0).sequence);
  });

  test('STALE_SEQUENCE after an attempt whose outcome is unknown is returned to the caller', async () => {
    const harness = await ready();
    const leader = harness.cluster.nodes[0]!;
    leader.onSubmit = () => {
      if (leader.submits.length === 1) throw new ConnectError('connection reset', Code.Unavailable);
      return create(ControllerReplySchema, {
        reply: { case: 'error', value: { condition: ControllerCondition.STALE_SEQUENCE, message: 'stale' } },
      });
    };
    const error = await failure(harness.broker(tokens.brokerA).registerBroker(register));
    expect(readControllerError(error)?.condition).toBe(ControllerCondition.STALE_SEQUENCE);
    expect(sessionOf(leader, 1)).toEqual(sessionOf(leader, 0));
  });

  test('an unreachable leader: the gateway asks the others and forwards to the new leader', async () => {
    const harness = await ready();
    const [node0, node1] = harness.cluster.nodes;
    await node0!.stop();
    harness.cluster.setLeader(1);
    await harness.broker(tokens.brokerA).registerBroker(register);
    expect(node1!.submits).toHaveLength(1);
    expect(harness.gateway.ready().detail.leader).toBe(node1!.address);
  });

  test('the leader is found from any reachable seed when the first seeds are down', async () => {
    h = await startHarness({ leaderIndex: 2, tuning: { leaderProbeIntervalMs: 60_000 } });
    await h.cluster.nodes[0]!.stop();
    const harness = h;
    await harness.broker(tokens.brokerA).getReplicaInfo(replicaInfo);
    expect(harness.cluster.nodes[2]!.submits).toHaveLength(1);
  });
});

describe('deadlines', () => {
  test("the caller's deadline bounds the call and is passed on to the consensus node", async () => {
    const harness = await ready();
    const leader = harness.cluster.nodes[0]!;
    leader.onSubmit = (_request, ctx) => untilAborted(ctx.signal);
    const error = await failure(harness.broker(tokens.brokerA).registerBroker(register, { timeoutMs: 300 }));
    expect(error.code).toBe(Code.DeadlineExceeded);
    expect(leader.submits).toHaveLength(1);
    expect(leader.submits[0]!.timeoutMs).toBeLessThanOrEqual(300);
  });

  test('without a caller deadline, --request-timeout-ms bounds it: DEADLINE_EXCEEDED with TIMEOUT', async () => {
    const harness = await ready({ config: { requestTimeoutMs: 300 } });
    const leader = harness.cluster.nodes[0]!;
    leader.onSubmit = (_request, ctx) => untilAborted(ctx.signal);
    const error = await failure(harness.broker(tokens.brokerA).registerBroker(register));
    expect(error.code).toBe(Code.DeadlineExceeded);
    expect(readControllerError(error)?.condition).toBe(ControllerCondition.TIMEOUT);
    expect(leader.submits[0]!.timeoutMs).toBeLessThanOrEqual(300);
  });

  test('no leader anywhere: UNAVAILABLE with NOT_LEADER when the deadline passes, nothing applied', async () => {
    const harness = await ready({ config: { requestTimeoutMs: 300 } });
    harness.cluster.setLeader(undefined);
    const error = await failure(harness.broker(tokens.brokerA).registerBroker(register));
    expect(error.code).toBe(Code.Unavailable);
    expect(readControllerError(error)?.condition).toBe(ControllerCondition.NOT_LEADER);
    expect(error.message).toContain('nothing was applied');
    await waitFor(() => !harness.gateway.ready().ready, { what: 'readiness to drop' });
  });
});

describe('bounds and request ids', () => {
  test('calls beyond --max-in-flight are refused with RESOURCE_EXHAUSTED / OVERLOADED', async () => {
    const harness = await ready({ config: { maxInFlight: 1 } });
    const leader = harness.cluster.nodes[0]!;
    let release = (): void => {};
    leader.onSubmit = (request) =>
      new Promise((resolve) => {
        release = () =>
          resolve(
            create(ControllerReplySchema, {
              reply: { case: request.command!.command.case, value: {} } as never,
            }),
          );
      });
    const first = harness.broker(tokens.brokerA).getReplicaInfo(replicaInfo);
    await waitFor(() => leader.submits.length === 1);
    const error = await failure(harness.broker(tokens.brokerA).getReplicaInfo(replicaInfo));
    expect(error.code).toBe(Code.ResourceExhausted);
    expect(readControllerError(error)?.condition).toBe(ControllerCondition.OVERLOADED);
    release();
    await first;
    leader.onSubmit = undefined;
    await harness.broker(tokens.brokerA).getReplicaInfo(replicaInfo);
  });

  test("the caller's request id reaches the consensus (field and header) and comes back; a new one otherwise", async () => {
    const harness = await ready();
    const leader = harness.cluster.nodes[0]!;
    let responseId: string | null = null;
    await harness.broker(tokens.brokerA, { [REQUEST_ID_HEADER]: 'req-42' }).getReplicaInfo(replicaInfo, {
      onHeader: (headers) => {
        responseId = headers.get(REQUEST_ID_HEADER);
      },
    });
    expect(responseId).toBe('req-42');
    expect(leader.submits[0]!.request.requestId).toBe('req-42');
    expect(leader.submits[0]!.headers.get(REQUEST_ID_HEADER)).toBe('req-42');

    await harness
      .broker(tokens.brokerA, { [REQUEST_ID_HEADER]: 'bad id with spaces' })
      .getReplicaInfo(replicaInfo);
    await harness.broker(tokens.brokerA).getReplicaInfo(replicaInfo);
    const [, second, third] = leader.submits.map((s) => s.request.requestId);
    expect(second).toMatch(/^[0-9a-f-]{36}$/);
    expect(third).toMatch(/^[0-9a-f-]{36}$/);
    expect(second).not.toBe(third);
  });

  test('every call is counted by rpc and code, and timed', async () => {
    const harness = await ready();
    await harness.broker(tokens.brokerA).getReplicaInfo(replicaInfo);
    await failure(harness.broker().getReplicaInfo(replicaInfo));
    expect(
      await harness.metric('regent_gateway_requests_total', {
        rpc: 'BrokerService/GetReplicaInfo',
        code: 'ok',
      }),
    ).toBe(1);
    expect(
      await harness.metric('regent_gateway_requests_total', {
        rpc: 'BrokerService/GetReplicaInfo',
        code: 'unauthenticated',
      }),
    ).toBe(1);
    const text = await harness.registry.metrics();
    expect(text).toMatch(/regent_gateway_request_seconds_count\{rpc="BrokerService\/GetReplicaInfo"\} 2/);
  });
});

describe('status, membership and snapshots', () => {
  test('GetControllerMetadata (broker and admin) returns a node’s metadata', async () => {
    const harness = await ready();
    const leader = harness.cluster.nodes[0]!;
    const fromBroker = await harness.broker(tokens.brokerA).getControllerMetadata({});
    const fromAdmin = await harness.admin(tokens.admin).getControllerMetadata({});
    for (const { metadata } of [fromBroker, fromAdmin]) {
      expect(metadata).toMatchObject({
        group: 'regent-test',
        leaderId: 1n,
        leaderAddress: leader.address,
        isLeader: true,
      });
      expect(metadata?.peers).toHaveLength(3);
    }
  });

  test('GetControllerMetadata is served by a follower when the leader is down', async () => {
    const harness = await ready();
    await harness.cluster.nodes[0]!.stop();
    const { metadata } = await harness.broker(tokens.brokerA).getControllerMetadata({});
    expect(metadata?.answeringNodeId).not.toBe(1n);
  });

  test('GetClusterStatus asks every node; an unreachable one is listed as such with its error', async () => {
    const harness = await ready();
    const down = harness.cluster.nodes[2]!;
    await down.stop();
    const { nodes } = await harness.admin(tokens.admin).getClusterStatus({});
    expect(nodes.map((n) => [n.address, n.role])).toEqual([
      [harness.cluster.nodes[0]!.address, 'leader'],
      [harness.cluster.nodes[1]!.address, 'follower'],
      [down.address, 'unreachable'],
    ]);
    expect(nodes[2]!.nodeId).toBe(3n);
    expect(nodes[2]!.error).not.toBe('');
  });

  test('ChangeMembership and TransferLeadership go to the leader, following a hint', async () => {
    const harness = await ready();
    const [node0, node1] = harness.cluster.nodes;
    harness.cluster.setLeader(1);
    const changed = await harness
      .admin(tokens.admin)
      .changeMembership({ change: MembershipChange.REMOVE_NODE, nodeId: 3n });
    expect(changed.peers).toHaveLength(3);
    expect(node0!.membershipChanges).toHaveLength(0);
    expect(node1!.membershipChanges).toHaveLength(1);
    const transferred = await harness.admin(tokens.admin).transferLeadership({ targetNodeId: 3n });
    expect(transferred.leaderId).toBe(3n);
    await waitFor(() => harness.gateway.ready().detail.leader === harness.cluster.nodes[2]!.address, {
      what: 'the gateway to find the new leader',
    });
  });

  test('ChangeMembership is not retried when its outcome is unknown', async () => {
    const harness = await ready();
    const leader = harness.cluster.nodes[0]!;
    leader.membershipFailures = 1; // records the change, then answers as if the connection broke
    const error = await failure(
      harness.admin(tokens.admin).changeMembership({ change: MembershipChange.REMOVE_NODE, nodeId: 3n }),
    );
    expect(error.code).toBe(Code.Unavailable);
    expect(leader.membershipChanges).toHaveLength(1);
  });

  test('TriggerSnapshot with a node id goes to that node; without, to the leader', async () => {
    const harness = await ready();
    const [node0, , node2] = harness.cluster.nodes;
    await harness.admin(tokens.admin).triggerSnapshot({ nodeId: 3n });
    expect(node2!.snapshots).toEqual([3n]);
    expect(node0!.snapshots).toEqual([]);
    await harness.admin(tokens.admin).triggerSnapshot({});
    expect(node0!.snapshots).toEqual([0n]);
    const error = await failure(harness.admin(tokens.admin).triggerSnapshot({ nodeId: 9n }));
    expect(error.code).toBe(Code.InvalidArgument);
    expect(readControllerError(error)?.field).toBe('node_id');
  });
});
