// The suite's targets (from the benches' comments and the issues) and how a measured value is judged. Pure.

/** etcd 3.4 on this machine as the issue recorded it: the anchor when etcd cannot be run here. */
export const etcdFromIssue = {
  c1: { opsPerSec: 684, p50Ms: 1.2, p99Ms: 5.9 },
  c64: { opsPerSec: 2500, p99Ms: 69 },
  c256: { opsPerSecLow: 2800, opsPerSecHigh: 4900 },
  leaderKillGap: { p50Ms: 1400, worstMs: 2100 },
} as const;

export type Comparison = '>=' | '<=' | '<' | '==';

export interface Target {
  /** The run (see report.ts) whose metric is judged. */
  readonly run: string;
  readonly metric: string;
  readonly op: Comparison;
  readonly value: number;
  readonly unit: string;
  /** Where the target comes from. */
  readonly source: string;
}

export type Verdict = 'pass' | 'FAIL' | 'no data';

export function judge(target: Target, measured: number | undefined): Verdict {
  if (measured === undefined || !Number.isFinite(measured)) return 'no data';
  switch (target.op) {
    case '>=':
      return measured >= target.value ? 'pass' : 'FAIL';
    case '<=':
      return measured <= target.value ? 'pass' : 'FAIL';
    case '<':
      return measured < target.value ? 'pass' : 'FAIL';
    case '==':
      return measured === target.value ? 'pass' : 'FAIL';
  }
}

/** etcd's measured throughput by concurrency on this machine, when the etcd bench ran. */
export interface EtcdAnchor {
  readonly c64?: number;
  readonly c256?: number;
}

/** Every target; the throughput ones are 3× etcd: measured here when possible, else the issue's figures. */
export function suiteTargets(etcd: EtcdAnchor): Target[] {
  const c64 = etcd.c64 ?? etcdFromIssue.c64.opsPerSec;
  const c256 = etcd.c256 ?? etcdFromIssue.c256.opsPerSecLow;
  const anchor = (measured: number | undefined, issue: string) =>
    measured === undefined
      ? `3× etcd (${issue}, from the issue)`
      : `3× etcd measured here (${Math.round(measured)} ops/s)`;
  return [
    {
      run: 'raft-c1',
      metric: 'p50Ms',
      op: '<=',
      value: 1,
      unit: 'ms',
      source: 'raft bench / issue: c1 p50 ≤ 1 ms',
    },
    {
      run: 'raft-c1',
      metric: 'p99Ms',
      op: '<=',
      value: 5,
      unit: 'ms',
      source: 'raft bench / issue: c1 p99 ≤ 5 ms',
    },
    {
      run: 'raft-c64',
      metric: 'opsPerSec',
      op: '>=',
      value: 3 * c64,
      unit: 'ops/s',
      source: anchor(etcd.c64, '~2,500 ops/s'),
    },
    {
      run: 'raft-c256',
      metric: 'opsPerSec',
      op: '>=',
      value: 3 * c256,
      unit: 'ops/s',
      source: anchor(etcd.c256, '2,800–4,900 ops/s, low end'),
    },
    {
      run: 'raft-failover',
      metric: 'maxGapP99Ms',
      op: '<=',
      value: 500,
      unit: 'ms',
      source: 'issue: failover gap p99 ≤ 500 ms',
    },
    {
      run: 'raft-failover',
      metric: 'spuriousElections',
      op: '==',
      value: 0,
      unit: '',
      source: 'issue: no elections when idle',
    },
    {
      run: 'raft-recovery',
      metric: 'restartMs',
      op: '<=',
      value: 2000,
      unit: 'ms',
      source: 'issue: restart ≤ 2 s',
    },
    {
      run: 'raft-recovery',
      metric: 'rssMb',
      op: '<=',
      value: 200,
      unit: 'MB',
      source: 'issue: RSS ≤ 200 MB',
    },
    {
      run: 'heartbeat',
      metric: 'p99Ms',
      op: '<',
      value: 50,
      unit: 'ms',
      source: 'issue: 10k brokers, heartbeat p99 < 50 ms',
    },
    {
      run: 'heartbeat',
      metric: 'falseFailovers',
      op: '==',
      value: 0,
      unit: '',
      source: 'issue: 0 false failovers',
    },
    {
      run: 'heartbeat',
      metric: 'leaderRssMb',
      op: '<',
      value: 300,
      unit: 'MB',
      source: 'issue: leader < 300 MB at 10k brokers',
    },
    {
      run: 'election',
      metric: 'p99Ms',
      op: '<',
      value: 1000,
      unit: 'ms',
      source: 'issue: election p99 < 1 s',
    },
    {
      run: 'failover',
      metric: 'killP99Ms',
      op: '<',
      value: 1000,
      unit: 'ms',
      source: 'issue: failover (kill -9) p99 < 1 s',
    },
    {
      run: 'failover',
      metric: 'hangP99Ms',
      op: '<',
      value: 1500,
      unit: 'ms',
      source: 'issue: failover (hang) p99 < 1.5 s',
    },
    {
      run: 'failover',
      metric: 'notifyP99Ms',
      op: '<',
      value: 20,
      unit: 'ms',
      source: 'issue: notification p99 < 20 ms',
    },
  ];
}
