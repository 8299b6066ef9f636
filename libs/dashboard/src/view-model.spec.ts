import { describe, expect, it } from 'vitest';
import {
  clustersOf,
  compareInt64,
  formatAgeMs,
  groupsView,
  membersView,
  rpcFailure,
  TIMELINE_ENTRIES_MAX,
  timelineView,
} from './assets/view-model.js';

describe('membersView', () => {
  it("orders nodes, measures lag against the leader's commit and reads learners from the metadata", () => {
    const status = {
      nodes: [
        { nodeId: '3', role: 'follower', commitIndex: '90', appliedIndex: '88', term: '4' },
        { nodeId: '1', role: 'leader', commitIndex: '100', appliedIndex: '100', term: '4' },
        { nodeId: '10', role: 'unreachable', error: 'timeout' },
        { nodeId: '2', role: 'follower', commitIndex: '100', appliedIndex: '101' },
      ],
    };
    const metadata = { metadata: { peers: [{ nodeId: '3', learner: true }, { nodeId: '1' }] } };
    const view = membersView(status, metadata);
    expect(view.map((m) => [m.nodeId, m.role, m.lag, m.learner])).toEqual([
      ['1', 'leader', '0', false],
      ['2', 'follower', '0', false],
      ['3', 'follower', '12', true],
      ['10', 'unreachable', null, false],
    ]);
    expect(view[3]!.error).toBe('timeout');
    expect(view[1]!.term).toBe('0');
  });

  it('uses the highest commit index when no leader answered', () => {
    const view = membersView(
      {
        nodes: [
          { nodeId: '1', commitIndex: '7', appliedIndex: '7', role: 'candidate' },
          { nodeId: '2', commitIndex: '9', appliedIndex: '5', role: 'follower' },
        ],
      },
      {},
    );
    expect(view.map((m) => m.lag)).toEqual(['2', '4']);
  });
});

describe('groupsView', () => {
  const syncState = {
    replicas: {
      orders: {
        clusterName: 'c1',
        masterBrokerId: '2',
        masterAddress: 'h:2',
        masterEpoch: 3,
        syncStateSetEpoch: 5,
        inSyncReplicas: [
          { brokerId: '2', brokerAddress: 'h:2', alive: true },
          { brokerId: '1', brokerAddress: 'h:1' },
        ],
        notInSyncReplicas: [{ brokerId: '3', brokerAddress: 'h:3', alive: true }],
      },
      billing: { clusterName: 'c2' },
    },
  };
  const liveness = {
    brokers: [
      {
        brokerName: 'orders',
        brokerId: '1',
        suspected: true,
        epoch: 2,
        maxOffset: '9007199254740993',
        lastHeartbeatAgeMs: '4100',
      },
      {
        brokerName: 'orders',
        brokerId: '2',
        alive: true,
        epoch: 3,
        maxOffset: '10',
        confirmOffset: '8',
        zone: 'a',
      },
    ],
  };

  it('merges replicas with liveness, keeping 64-bit offsets exact', () => {
    const [billing, orders] = groupsView(syncState, liveness);
    expect(billing).toMatchObject({
      name: 'billing',
      cluster: 'c2',
      masterId: null,
      masterEpoch: 0,
      brokers: [],
    });
    expect(orders!.masterId).toBe('2');
    expect(orders!.syncStateSet).toEqual(['1', '2']);
    expect(orders!.brokers).toEqual([
      {
        brokerId: '1',
        address: 'h:1',
        role: 'slave',
        inSync: true,
        state: 'suspected',
        epoch: 2,
        maxOffset: '9007199254740993',
        confirmOffset: '0',
        heartbeatAgeMs: '4100',
        zone: '',
      },
      {
        brokerId: '2',
        address: 'h:2',
        role: 'master',
        inSync: true,
        state: 'alive',
        epoch: 3,
        maxOffset: '10',
        confirmOffset: '8',
        heartbeatAgeMs: '0',
        zone: 'a',
      },
      {
        brokerId: '3',
        address: 'h:3',
        role: 'slave',
        inSync: false,
        state: 'alive',
        epoch: null,
        maxOffset: null,
        confirmOffset: null,
        heartbeatAgeMs: null,
        zone: '',
      },
    ]);
    expect(clustersOf(groupsView(syncState, liveness))).toEqual(['c1', 'c2']);
  });
});

describe('timelineView', () => {
  const record = (group: string, index: string, extra: Record<string, unknown> = {}) => ({
    clusterName: 'c1',
    brokerName: group,
    raftIndex: index,
    raftTerm: '2',
    trigger: 'ELECTION_TRIGGER_CONTROLLER',
    oldMasterBrokerId: '1',
    chosenBrokerId: '2',
    masterEpoch: 4,
    decidedAtUnixMs: '1764000000000',
    reasons: [{ brokerId: '1', verdict: 'VERDICT_NOT_ALIVE', detail: 'gone' }],
    ...extra,
  });

  it('orders decisions newest first across groups and clusters, once each', () => {
    const view = timelineView([
      { records: [record('a', '9'), record('b', '100')] },
      { records: [record('a', '9'), record('c', '10', { clusterName: 'c2', chosenBrokerId: undefined })] },
    ]);
    expect(view.map((e) => e.key)).toEqual(['c1/b#100', 'c2/c#10', 'c1/a#9']);
    expect(view[1]!.change).toBe('master 1 → none');
    expect(view[0]).toMatchObject({
      change: 'master 1 → 2',
      trigger: 'controller',
      decidedAtUnixMs: 1_764_000_000_000,
      reasons: [{ brokerId: '1', verdict: 'not-alive', detail: 'gone' }],
    });
    expect(timelineView([{ records: [record('a', '3', { chosenBrokerId: '1' })] }])[0]!.change).toBe(
      'master 1 kept',
    );
  });

  it('keeps at most TIMELINE_ENTRIES_MAX entries, the newest', () => {
    const records = Array.from({ length: TIMELINE_ENTRIES_MAX + 50 }, (_, i) => record('a', String(i + 1)));
    const view = timelineView([{ records }]);
    expect(view).toHaveLength(TIMELINE_ENTRIES_MAX);
    expect(view[0]!.raftIndex).toBe(String(TIMELINE_ENTRIES_MAX + 50));
  });
});

describe('small helpers', () => {
  it('reads Connect errors with and without a ControllerError detail', () => {
    expect(
      rpcFailure(400, {
        code: 'failed_precondition',
        message: 'ELECT_MASTER_FAILED: broker 3 is not alive',
        details: [
          {
            type: 'regent.common.v1.ControllerError',
            value: 'CA0=',
            debug: {
              condition: 'CONTROLLER_CONDITION_ELECT_MASTER_FAILED',
              message: 'broker 3 is not alive',
            },
          },
        ],
      }),
    ).toEqual({
      code: 'failed_precondition',
      condition: 'ELECT_MASTER_FAILED',
      message: 'broker 3 is not alive',
    });
    expect(rpcFailure(401, { code: 'unauthenticated', message: 'missing bearer token' })).toEqual({
      code: 'unauthenticated',
      condition: '',
      message: 'missing bearer token',
    });
    expect(rpcFailure(502, undefined)).toEqual({ code: 'unavailable', condition: '', message: 'HTTP 502' });
  });

  it('compares 64-bit decimals and formats ages', () => {
    expect(compareInt64('9007199254740993', '9007199254740992')).toBe(1);
    expect(formatAgeMs('1500')).toBe('1.5s');
    expect(formatAgeMs(245_000)).toBe('4m05s');
  });
});
