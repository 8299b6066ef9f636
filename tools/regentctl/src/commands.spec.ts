// Every command against an in-process AdminService: the request it sends, its table, its --json shape, and its
// exit code.
import { create } from '@bufbuild/protobuf';
import { Code, ConnectError, type HandlerContext } from '@connectrpc/connect';
import { connectErrorOf } from '@regent/proto';
import {
  type ElectMasterRequest,
  MembershipChange,
  type WatchEventsRequest,
  type WatchEventsResponse,
  WatchEventsResponseSchema,
} from '@regent/proto/admin';
import { ControllerCondition } from '@regent/proto/common';
import { LagFallback } from '@regent/proto/election';
import {
  AlterSyncStateSetEventSchema,
  type ControllerEvent,
  ElectMasterEventSchema,
} from '@regent/proto/state';
import { afterEach, describe, expect, it } from 'vitest';
import { ExitCode } from './exit-codes.js';
import {
  type AdminImpl,
  FAKE_TOKEN,
  type FakeAdmin,
  fixtures,
  startFakeAdmin,
} from './testing/fake-admin.js';
import { type RunCliOptions, runCli } from './testing/run-cli.js';

let fake: FakeAdmin | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

async function cli(impl: AdminImpl, argv: string[], options: RunCliOptions = {}) {
  fake = await startFakeAdmin(impl);
  return runCli(['--gateway', fake.address, '--token', FAKE_TOKEN, ...argv], options);
}

function callsOf(method: string): unknown[] {
  return fake!.calls.filter((c) => c.method === method).map((c) => c.request);
}

describe('metadata', () => {
  it('prints the leader and peers, sending the admin token', async () => {
    const r = await cli({}, ['metadata']);
    expect(r.code).toBe(ExitCode.Ok);
    expect(r.stdout).toContain('leader       2 (127.0.0.1:7102)');
    expect(r.stdout).toMatch(/^\s+2\s+127\.0\.0\.1:7102\s+voter\s+\*$/m);
    expect(r.stdout).toMatch(/^\s+3\s+127\.0\.0\.1:7103\s+learner$/m);
    expect(fake!.calls[0]!.authorization).toBe(`Bearer ${FAKE_TOKEN}`);
  });

  it('prints the metadata as proto3 JSON with 64-bit numbers as strings', async () => {
    const r = await cli({}, ['metadata', '--json']);
    expect(r.code).toBe(ExitCode.Ok);
    expect(JSON.parse(r.stdout)).toEqual({
      group: 'regent',
      leaderId: '2',
      leaderAddress: '127.0.0.1:7102',
      isLeader: false,
      answeringNodeId: '1',
      term: '7',
      peers: [
        { nodeId: '1', address: '127.0.0.1:7101', learner: false },
        { nodeId: '2', address: '127.0.0.1:7102', learner: false },
        { nodeId: '3', address: '127.0.0.1:7103', learner: true },
      ],
    });
  });

  it('reads the gateway and token from the environment', async () => {
    fake = await startFakeAdmin();
    const r = await runCli(['metadata', '--json'], {
      env: { REGENT_GATEWAY: fake.address, REGENT_ADMIN_TOKEN: FAKE_TOKEN },
    });
    expect(r.code).toBe(ExitCode.Ok);
    expect(JSON.parse(r.stdout).leaderId).toBe('2');
  });
});

describe('status', () => {
  it("shows every node with its lag behind the leader's commit index", async () => {
    const r = await cli({}, ['status']);
    expect(r.code).toBe(ExitCode.Ok);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(
      /^NODE\s+ADDRESS\s+ROLE\s+TERM\s+LEADER\s+COMMIT\s+APPLIED\s+LAST\s+SNAPSHOT\s+LAG\s+UPTIME\s+ERROR$/,
    );
    expect(lines[1]).toMatch(
      /^\s+1\s+127\.0\.0\.1:7101\s+follower\s+7\s+2\s+118\s+115\s+121\s+100\s+5\s+1m20s$/,
    );
    expect(lines[2]).toMatch(
      /^\s+2\s+127\.0\.0\.1:7102\s+leader\s+7\s+2\s+120\s+120\s+121\s+100\s+0\s+1m15s$/,
    );
    expect(lines[3]).toMatch(/^\s+3\s+127\.0\.0\.1:7103\s+unreachable(\s+-){8}\s+connect ECONNREFUSED$/);
  });

  it('adds the lag to the JSON of each node', async () => {
    const r = await cli({}, ['status', '--json']);
    const nodes = JSON.parse(r.stdout).nodes as { nodeId: string; lag: string | null; commitIndex: string }[];
    expect(nodes.map((n) => [n.nodeId, n.lag])).toEqual([
      ['1', '5'],
      ['2', '0'],
      ['3', null],
    ]);
    expect(nodes[1]!.commitIndex).toBe('120');
  });
});

describe('sync-state', () => {
  it('lists every replica with its role, in-sync and alive flags', async () => {
    const r = await cli({}, ['sync-state']);
    expect(r.code).toBe(ExitCode.Ok);
    expect(r.stdout).toMatch(/^g1\s+c1\s+3\s+5\s+1\s+127\.0\.0\.1:10911\s+master\s+yes\s+yes$/m);
    expect(r.stdout).toMatch(/^g1\s+c1\s+3\s+5\s+3\s+127\.0\.0\.1:10913\s+slave\s+no\s+no$/m);
    expect(r.stdout).toMatch(/^g2\s+c1\s+1\s+1\s+-\s+-\s+no master$/m);
    expect(callsOf('GetSyncStateData')).toEqual([
      expect.objectContaining({ clusterName: '', brokerNames: [] }),
    ]);
  });

  it('asks for the named groups and refuses a group that does not exist', async () => {
    const ok = await cli({}, ['sync-state', 'g1', '--cluster', 'c1', '--json']);
    expect(Object.keys(JSON.parse(ok.stdout).replicas)).toEqual(['g1']);
    expect(JSON.parse(ok.stdout).replicas.g1.masterBrokerId).toBe('1');
    expect(callsOf('GetSyncStateData')).toEqual([
      expect.objectContaining({ clusterName: 'c1', brokerNames: ['g1'] }),
    ]);
    await fake!.close();
    const missing = await cli({}, ['sync-state', 'g1', 'g9']);
    expect(missing.code).toBe(ExitCode.Refused);
    expect(missing.stderr).toBe(
      'regentctl: BROKER_METADATA_NOT_EXIST (RocketMQ 2008): no such broker group: g9\n',
    );
  });
});

describe('brokers', () => {
  it('shows liveness, offsets and heartbeat age, ordered by group and id', async () => {
    const r = await cli({}, ['brokers']);
    expect(r.code).toBe(ExitCode.Ok);
    const rows = r.stdout.split('\n').filter((l) => l.startsWith('g1'));
    expect(rows.map((l) => l.split(/\s+/).slice(0, 4))).toEqual([
      ['g1', '1', '127.0.0.1:10911', 'alive'],
      ['g1', '2', '127.0.0.1:10912', 'alive'],
      ['g1', '3', '127.0.0.1:10913', 'suspected'],
    ]);
    expect(rows[1]).toMatch(/\s3\s+9007199254740993\s+4096\s+1\.5s ago\s+3\.0s\s+-\s+a$/);
    expect(rows[2]).toContain('1m05s ago');
    expect(r.stdout).toContain('(liveness as seen by node 2)');
  });

  it('keeps int64 offsets exact in JSON and notes groups without entries', async () => {
    const r = await cli({}, ['brokers', 'g1', 'g7', '--json']);
    expect(r.code).toBe(ExitCode.Ok);
    const json = JSON.parse(r.stdout);
    expect(json.brokers[0].maxOffset).toBe('9007199254740993');
    expect(json.answeringNodeId).toBe('2');
    expect(r.stderr).toBe('regentctl: no liveness entries for: g7\n');
  });
});

describe('elect', () => {
  const elected = {
    condition: ControllerCondition.UNSPECIFIED,
    masterBrokerId: 2n,
    masterAddress: '127.0.0.1:10912',
    masterEpoch: 4,
    syncStateSet: { brokerIds: [2n], epoch: 6 },
    explanation: 'designated by an admin',
  };

  it("designates a broker, resolving the group's cluster first", async () => {
    const r = await cli({ electMaster: () => elected }, ['elect', 'g1', '--broker', '2']);
    expect(r.code).toBe(ExitCode.Ok);
    expect(callsOf('ElectMaster')).toEqual([
      expect.objectContaining({ clusterName: 'c1', brokerName: 'g1', designatedBrokerId: 2n }),
    ]);
    expect(r.stdout).toContain('outcome         new master elected');
    expect(r.stdout).toContain('master          2 (127.0.0.1:10912)');
    expect(r.stdout).toContain('sync state set  {2} epoch 6');
    expect(r.stdout).toContain('why             designated by an admin');
  });

  it('runs an ordinary election with the given cluster, and reports a kept master as success', async () => {
    const r = await cli(
      {
        electMaster: () => ({
          ...elected,
          condition: ControllerCondition.MASTER_STILL_EXIST,
          masterBrokerId: 1n,
        }),
      },
      ['elect', 'g1', '--cluster', 'c1', '--json'],
    );
    expect(r.code).toBe(ExitCode.Ok);
    const req = callsOf('ElectMaster')[0] as ElectMasterRequest;
    expect(req.designatedBrokerId).toBeUndefined();
    expect(callsOf('GetSyncStateData')).toEqual([]);
    expect(JSON.parse(r.stdout)).toMatchObject({
      condition: 'CONTROLLER_CONDITION_MASTER_STILL_EXIST',
      masterBrokerId: '1',
      masterEpoch: 4,
      syncStateSet: { brokerIds: ['2'], epoch: 6 },
    });
  });

  it('refuses a group the controller does not know when no cluster is given', async () => {
    const r = await cli({ electMaster: () => elected }, ['elect', 'g9', '--broker', '2']);
    expect(r.code).toBe(ExitCode.Refused);
    expect(r.stderr).toBe(
      'regentctl: BROKER_METADATA_NOT_EXIST (RocketMQ 2008): no such broker group: g9 (or pass --cluster)\n',
    );
    expect(callsOf('ElectMaster')).toEqual([]);
  });

  it('exits 1 with the condition on stderr when the controller refuses', async () => {
    const refuse = () => {
      throw connectErrorOf(ControllerCondition.ELECT_MASTER_FAILED, 'broker 3 is not alive');
    };
    const r = await cli({ electMaster: refuse }, ['elect', 'g1', '--broker', '3']);
    expect(r.code).toBe(ExitCode.Refused);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('regentctl: ELECT_MASTER_FAILED (RocketMQ 2012): broker 3 is not alive\n');
    await fake!.close();
    const j = await cli({ electMaster: refuse }, ['elect', 'g1', '--broker', '3', '--json']);
    expect(j.code).toBe(ExitCode.Refused);
    expect(JSON.parse(j.stderr)).toEqual({
      error: {
        code: 'failed_precondition',
        condition: 'ELECT_MASTER_FAILED',
        rocketmqCode: 2012,
        message: 'broker 3 is not alive',
      },
    });
  });

  it('shows a spinner on a terminal while the election runs', async () => {
    const r = await cli({ electMaster: () => elected }, ['elect', 'g1', '--broker', '2'], { tty: true });
    expect(r.code).toBe(ExitCode.Ok);
    expect(r.stderr.startsWith('\r| electing a master for g1 (broker 2)')).toBe(true);
    expect(r.stderr.endsWith('\r\x1b[K')).toBe(true);
  });
});

describe('clean', () => {
  it('removes listed ids and reports a whole-group removal', async () => {
    const r = await cli({ cleanBrokerData: () => ({ groupRemoved: false }) }, [
      'clean',
      'g1',
      '--broker-ids',
      '2,3',
      '--clean-living',
    ]);
    expect(r.code).toBe(ExitCode.Ok);
    expect(r.stdout).toBe('removed brokers 2,3 from g1\n');
    expect(callsOf('CleanBrokerData')).toEqual([
      expect.objectContaining({
        clusterName: 'c1',
        brokerName: 'g1',
        brokerIds: [2n, 3n],
        cleanLivingBroker: true,
      }),
    ]);
    await fake!.close();
    const all = await cli({ cleanBrokerData: () => ({ groupRemoved: true }) }, [
      'clean',
      'g2',
      '-c',
      'c1',
      '--json',
    ]);
    expect(JSON.parse(all.stdout)).toEqual({ groupRemoved: true });
    expect(callsOf('CleanBrokerData')).toEqual([
      expect.objectContaining({ brokerName: 'g2', brokerIds: [], cleanLivingBroker: false }),
    ]);
  });

  it('passes the controller refusal through', async () => {
    const r = await cli(
      {
        cleanBrokerData: () => {
          throw connectErrorOf(ControllerCondition.INVALID_CLEAN_BROKER_METADATA, 'broker 1 is alive');
        },
      },
      ['clean', 'g1', '-b', '1'],
    );
    expect(r.code).toBe(ExitCode.Refused);
    expect(r.stderr).toContain('INVALID_CLEAN_BROKER_METADATA (RocketMQ 2009): broker 1 is alive');
  });
});

describe('config', () => {
  it('gets the configuration and the forbidden keys', async () => {
    const r = await cli(
      {
        getControllerConfig: () => ({
          entries: { scanIntervalMs: '500', electionPolicy: 'x' },
          forbiddenKeys: ['storePath'],
        }),
      },
      ['config', 'get'],
    );
    expect(r.stdout).toBe(
      'KEY             VALUE\nelectionPolicy  x\nscanIntervalMs  500\n\nnot settable remotely: storePath\n',
    );
  });

  it('sets keys and refuses forbidden ones with exit 1', async () => {
    const r = await cli({ updateControllerConfig: (req) => ({ entries: { ...req.entries, other: '1' } }) }, [
      'config',
      'set',
      'scanIntervalMs=250',
      'label=a=b',
      '--json',
    ]);
    expect(r.code).toBe(ExitCode.Ok);
    expect(callsOf('UpdateControllerConfig')).toEqual([
      expect.objectContaining({ entries: { scanIntervalMs: '250', label: 'a=b' } }),
    ]);
    expect(JSON.parse(r.stdout)).toEqual({ entries: { scanIntervalMs: '250', label: 'a=b', other: '1' } });
    await fake!.close();
    const forbidden = await cli(
      {
        updateControllerConfig: () => {
          throw connectErrorOf(
            ControllerCondition.CONFIG_KEY_FORBIDDEN,
            'storePath may not be changed remotely',
          );
        },
      },
      ['config', 'set', 'storePath=/tmp'],
    );
    expect(forbidden.code).toBe(ExitCode.Refused);
    expect(forbidden.stderr).toContain('CONFIG_KEY_FORBIDDEN: storePath may not be changed remotely');
  });
});

describe('policy', () => {
  it('gets the effective policy with its source', async () => {
    const r = await cli(
      {
        getElectionPolicy: () => ({
          source: 'cluster',
          policy: { policy: { case: 'zoneAware', value: { zoneOrder: ['a', 'b'] } } },
        }),
      },
      ['policy', 'get', 'c1', 'g1'],
    );
    expect(r.stdout).toBe(
      'scope   group c1/g1\npolicy  zone-aware (zones in order: a, b)\nsource  cluster\n',
    );
    expect(callsOf('GetElectionPolicy')).toEqual([
      expect.objectContaining({ clusterName: 'c1', brokerName: 'g1' }),
    ]);
  });

  it('sets a max-lag policy on a cluster and clears a group setting', async () => {
    const r = await cli({ setElectionPolicy: () => ({}) }, [
      'policy',
      'set',
      'c1',
      '--policy',
      'max-lag',
      '--max-lag-bytes',
      '1048576',
      '--lag-fallback',
      'refuse',
    ]);
    expect(r.code).toBe(ExitCode.Ok);
    expect(r.stdout).toBe(
      'cluster c1: policy set to max-lag (at most 1048576 bytes behind; fallback refuse)\n',
    );
    expect(callsOf('SetElectionPolicy')).toEqual([
      expect.objectContaining({
        clusterName: 'c1',
        brokerName: '',
        policy: expect.objectContaining({
          policy: {
            case: 'maxLag',
            value: expect.objectContaining({ maxLagBytes: 1_048_576n, fallback: LagFallback.REFUSE }),
          },
        }),
      }),
    ]);
    await fake!.close();
    const cleared = await cli({ setElectionPolicy: () => ({}) }, ['policy', 'clear', 'c1', 'g1']);
    expect(cleared.stdout).toBe('group c1/g1: policy setting cleared\n');
    expect((callsOf('SetElectionPolicy')[0] as { policy?: unknown }).policy).toBeUndefined();
  });

  it('reports an invalid rule with its field', async () => {
    const r = await cli(
      {
        setElectionPolicy: () => {
          throw connectErrorOf(ControllerCondition.INVALID_POLICY, "undeclared reference to 'c.nope'", {
            field: 'rules.filter',
          });
        },
      },
      ['policy', 'set', 'c1', '--policy', 'rules', '--filter', 'c.nope > 1'],
    );
    expect(r.code).toBe(ExitCode.Refused);
    expect(r.stderr).toBe(
      "regentctl: INVALID_POLICY: undeclared reference to 'c.nope' [field rules.filter]\n",
    );
  });
});

describe('member, transfer-leader, snapshot', () => {
  it('adds a learner with its address and prints the new membership', async () => {
    const r = await cli(
      {
        changeMembership: (req) => ({
          peers: [
            ...fixtures.metadata.peers,
            { nodeId: req.nodeId, address: req.clientAddress, learner: true },
          ],
        }),
      },
      ['member', 'add-learner', '4', '--address', '127.0.0.1:7104'],
    );
    expect(r.code).toBe(ExitCode.Ok);
    expect(callsOf('ChangeMembership')).toEqual([
      expect.objectContaining({
        change: MembershipChange.ADD_LEARNER,
        nodeId: 4n,
        peerAddress: '127.0.0.1:7104',
        clientAddress: '127.0.0.1:7104',
      }),
    ]);
    expect(r.stdout).toMatch(/^member add-learner 4: done\n/);
    expect(r.stdout).toMatch(/^\s+4\s+127\.0\.0\.1:7104\s+learner$/m);
  });

  it('maps promote and remove, and refuses a second change in flight', async () => {
    const r = await cli({ changeMembership: () => ({ peers: fixtures.metadata.peers }) }, [
      'member',
      'promote',
      '3',
      '--json',
    ]);
    expect(JSON.parse(r.stdout).peers).toHaveLength(3);
    expect(callsOf('ChangeMembership')).toEqual([
      expect.objectContaining({ change: MembershipChange.PROMOTE_LEARNER, nodeId: 3n, peerAddress: '' }),
    ]);
    await fake!.close();
    const busy = await cli(
      {
        changeMembership: () => {
          throw connectErrorOf(ControllerCondition.MEMBERSHIP_CHANGE_IN_PROGRESS, 'adding node 4');
        },
      },
      ['member', 'remove', '3'],
    );
    expect(busy.code).toBe(ExitCode.Refused);
    expect(busy.stderr).toContain('MEMBERSHIP_CHANGE_IN_PROGRESS: adding node 4');
    expect(callsOf('ChangeMembership')).toEqual([
      expect.objectContaining({ change: MembershipChange.REMOVE_NODE }),
    ]);
  });

  it('transfers leadership to a node or to the best one', async () => {
    const r = await cli(
      { transferLeadership: (req) => ({ leaderId: req.targetNodeId === 0n ? 3n : req.targetNodeId }) },
      ['transfer-leader', '1'],
    );
    expect(r.stdout).toBe('leader is now node 1\n');
    const best = await runCli([
      '--gateway',
      fake!.address,
      '--token',
      FAKE_TOKEN,
      'transfer-leader',
      '--json',
    ]);
    expect(JSON.parse(best.stdout)).toEqual({ leaderId: '3' });
    expect(callsOf('TransferLeadership')).toEqual([
      expect.objectContaining({ targetNodeId: 1n }),
      expect.objectContaining({ targetNodeId: 0n }),
    ]);
  });

  it('triggers a snapshot', async () => {
    const r = await cli({ triggerSnapshot: () => ({ snapshotIndex: 1200n, snapshotBytes: 12_595n }) }, [
      'snapshot',
      '2',
    ]);
    expect(r.stdout).toBe('snapshot at index 1200 (12.3 KiB)\n');
    expect(callsOf('TriggerSnapshot')).toEqual([expect.objectContaining({ nodeId: 2n })]);
  });
});

describe('audit', () => {
  it('prints each decision with the verdict on every candidate', async () => {
    const r = await cli({}, ['audit', 'c1', 'g1', '--limit', '5']);
    expect(r.code).toBe(ExitCode.Ok);
    expect(callsOf('GetElectionAudit')).toEqual([
      expect.objectContaining({ clusterName: 'c1', brokerName: 'g1', limit: 5 }),
    ]);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe(
      '#118 term 7  2025-11-24T16:00:00.000Z  c1/g1  controller-triggered  master 1 → 2, epoch 4  policy rocketmq-default',
    );
    expect(lines[1]).toBe('    master 1 stopped heartbeating; 2 is the best in-sync replica');
    expect(lines[2]).toMatch(/^\s+BROKER\s+VERDICT\s+DETAIL$/);
    expect(lines[3]).toMatch(/^\s+1\s+not-alive\s+last heartbeat 3\.2s ago$/);
    expect(lines[4]).toMatch(/^\s+2\s+chosen\s+in sync/);
    expect(lines[5]).toMatch(/^\s+3\s+not-in-sync-state-set\s+unclean election disabled$/);
  });

  it('prints the records as JSON', async () => {
    const r = await cli({}, ['audit', 'c1', '--json']);
    const json = JSON.parse(r.stdout);
    expect(json.records[0]).toMatchObject({
      brokerName: 'g1',
      trigger: 'ELECTION_TRIGGER_CONTROLLER',
      chosenBrokerId: '2',
      reasons: [
        { brokerId: '1', verdict: 'VERDICT_NOT_ALIVE' },
        { verdict: 'VERDICT_CHOSEN' },
        { verdict: 'VERDICT_NOT_IN_SYNC_STATE_SET' },
      ],
    });
  });
});

describe('watch', () => {
  const resync = create(WatchEventsResponseSchema, {
    item: {
      case: 'resync',
      value: {
        index: 100n,
        groups: [
          {
            clusterName: 'c1',
            brokerName: 'g1',
            masterBrokerId: 1n,
            masterEpoch: 3,
            syncStateSet: { brokerIds: [1n, 2n], epoch: 5 },
            replicas: [{ brokerId: 1n }, { brokerId: 2n }],
          },
        ],
      },
    },
  });
  type EventSpec =
    | { case: 'alterSyncStateSet'; brokerName: string; set: bigint[] }
    | { case: 'electMaster'; brokerName: string; to: bigint };

  /** A committed event at (index, position) with the group's state after it. */
  function event(index: bigint, position: number, e: EventSpec): WatchEventsResponse {
    const inner: ControllerEvent['event'] =
      e.case === 'alterSyncStateSet'
        ? {
            case: e.case,
            value: create(AlterSyncStateSetEventSchema, { brokerName: e.brokerName, newSyncStateSet: e.set }),
          }
        : {
            case: e.case,
            value: create(ElectMasterEventSchema, {
              brokerName: e.brokerName,
              newMasterElected: true,
              newMasterBrokerId: e.to,
              audit: { oldMasterBrokerId: 1n, chosenBrokerId: e.to, explanation: 'master 1 died' },
            }),
          };
    return create(WatchEventsResponseSchema, {
      item: {
        case: 'event',
        value: {
          index,
          term: 7n,
          position,
          event: { event: inner },
          groupAfter: {
            brokerName: e.brokerName,
            masterEpoch: 4,
            syncStateSet: { brokerIds: [2n], epoch: 6 },
          },
        },
      },
    });
  }

  /** Yields the items, then holds the stream open until the client goes away. */
  function streamOf(items: WatchEventsResponse[]) {
    return async function* (_req: WatchEventsRequest, ctx: HandlerContext) {
      yield* items;
      await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
    };
  }

  it('prints the resync and each event on its own line, stopping after --max-events', async () => {
    const items = [
      resync,
      event(101n, 0, { case: 'electMaster', brokerName: 'g1', to: 2n }),
      event(102n, 0, { case: 'alterSyncStateSet', brokerName: 'g1', set: [2n, 3n] }),
    ];
    const r = await cli({ watchEvents: streamOf(items) }, ['watch', '--max-events', '2']);
    expect(r.code).toBe(ExitCode.Ok);
    expect(r.stdout).toBe(
      [
        'resync at #100: 1 group',
        '  c1/g1  master 1 epoch 3  sync-state-set {1,2} epoch 5  replicas 1,2',
        '#101.0 t7  elect-master  g1  master 1 → 2, epoch 4  — master 1 died',
        '#102.0 t7  alter-sync-state-set  g1  {2,3} epoch 6',
        '',
      ].join('\n'),
    );
    expect(callsOf('WatchEvents')).toEqual([expect.objectContaining({ fromIndex: 0n })]);
  });

  it('writes one JSON object per line with --json and starts at --from', async () => {
    const items = [event(7n, 0, { case: 'alterSyncStateSet', brokerName: 'g1', set: [1n] })];
    const r = await cli({ watchEvents: streamOf(items) }, [
      'watch',
      '--from',
      '7',
      '--max-events',
      '1',
      '--json',
    ]);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({
      event: { index: '7', term: '7', event: { alterSyncStateSet: { newSyncStateSet: ['1'] } } },
    });
    expect(callsOf('WatchEvents')).toEqual([expect.objectContaining({ fromIndex: 7n })]);
  });

  it('ends with exit 0 on Ctrl-C', async () => {
    const interrupt = new AbortController();
    const r = await cli({ watchEvents: streamOf([resync]) }, ['watch'], {
      signal: interrupt.signal,
      onStdout: (text) => {
        if (text.startsWith('resync')) interrupt.abort();
      },
    });
    expect(r.code).toBe(ExitCode.Ok);
    expect(r.stdout).toContain('resync at #100');
  });

  it('resumes after a broken stream without repeating events', async () => {
    let attempt = 0;
    const impl: AdminImpl = {
      watchEvents: async function* (req, ctx) {
        attempt++;
        if (attempt === 1) {
          yield event(5n, 0, { case: 'alterSyncStateSet', brokerName: 'g1', set: [1n] });
          throw new ConnectError('consensus leader changed', Code.Unavailable);
        }
        yield* [
          event(5n, 0, { case: 'alterSyncStateSet', brokerName: 'g1', set: [1n] }),
          event(5n, 1, { case: 'alterSyncStateSet', brokerName: 'g1', set: [1n, 2n] }),
          event(6n, 0, { case: 'alterSyncStateSet', brokerName: 'g1', set: [2n] }),
        ];
        await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
        void req;
      },
    };
    const r = await cli(impl, ['watch', '--from', '5', '--max-events', '3']);
    expect(r.code).toBe(ExitCode.Ok);
    expect(
      r.stdout
        .trimEnd()
        .split('\n')
        .map((l) => l.split(' ')[0]),
    ).toEqual(['#5.0', '#5.1', '#6.0']);
    expect(callsOf('WatchEvents')).toEqual([
      expect.objectContaining({ fromIndex: 5n }),
      expect.objectContaining({ fromIndex: 5n }),
    ]);
    expect(r.stderr).toMatch(/stream interrupted; resuming from index 5/);
  });
});

describe('failures', () => {
  it('exits 3 without a token or with a wrong one', async () => {
    fake = await startFakeAdmin();
    const none = await runCli(['--gateway', fake.address, 'metadata']);
    expect(none.code).toBe(ExitCode.Unauthorized);
    expect(none.stderr).toBe(
      'regentctl: unauthenticated: missing or unknown token (pass --token or set REGENT_ADMIN_TOKEN)\n',
    );
    expect(fake.calls[0]!.authorization).toBeNull();
    const wrong = await runCli(['--gateway', fake.address, '--token', 'nope', 'sync-state', '--json']);
    expect(wrong.code).toBe(ExitCode.Unauthorized);
    expect(JSON.parse(wrong.stderr)).toEqual({
      error: { code: 'unauthenticated', message: 'missing or unknown token' },
    });
  });

  it('exits 3 on permission denied', async () => {
    const r = await cli(
      {
        getClusterStatus: () => {
          throw new ConnectError('AdminService needs an admin token', Code.PermissionDenied);
        },
      },
      ['status'],
    );
    expect(r.code).toBe(ExitCode.Unauthorized);
  });

  it('exits 4 when the gateway is down, when the leader is unknown and on a deadline', async () => {
    fake = await startFakeAdmin({
      getClusterStatus: async (_req, ctx) => {
        await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
        return {};
      },
      getControllerMetadata: () => {
        throw connectErrorOf(ControllerCondition.NOT_LEADER, 'no leader known');
      },
    });
    const base = ['--gateway', fake.address, '--token', FAKE_TOKEN];
    const slow = await runCli([...base, '--timeout-ms', '50', 'status']);
    expect(slow.code).toBe(ExitCode.Unavailable);
    expect(slow.stderr).toMatch(/^regentctl: deadline_exceeded: /);
    const leaderless = await runCli([...base, 'metadata']);
    expect(leaderless.code).toBe(ExitCode.Unavailable);
    expect(leaderless.stderr).toBe('regentctl: NOT_LEADER (RocketMQ 2007): no leader known\n');
    const address = fake.address;
    await fake.close();
    fake = undefined;
    const down = await runCli(['--gateway', address, '--token', FAKE_TOKEN, 'metadata']);
    expect(down.stderr).toMatch(/^regentctl: unavailable: .*(ECONNREFUSED|EPIPE|ECONNRESET)/);
    expect(down.code).toBe(ExitCode.Unavailable);
  });
});
