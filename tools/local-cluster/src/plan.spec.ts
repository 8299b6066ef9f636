import { describe, expect, it } from 'vitest';
import { findNatsServer, parseNatsUrl, reachable } from './nats.js';
import { planCluster } from './plan.js';

const base = {
  dataDir: '/tmp/x',
  basePort: 7000,
  consensusNodes: 3,
  natsUrl: 'nats://127.0.0.1:4222',
  demo: false,
  demoGroups: 3,
  adminToken: 'a',
  brokerToken: 'b',
};

describe('local cluster plan', () => {
  it('lays out 3 consensus nodes, gateway, policy and push on distinct ports with data folders', () => {
    const plan = planCluster(base);
    expect(plan.processes.map((p) => p.name)).toEqual([
      'election-policy',
      'consensus-1',
      'consensus-2',
      'consensus-3',
      'broker-gateway',
      'notification-push',
    ]);
    const ports = plan.processes.map((p) => new URL(p.healthUrl).port);
    expect(new Set(ports).size).toBe(ports.length);
    expect(plan.dataFolders).toEqual([
      '/tmp/x/consensus-1',
      '/tmp/x/consensus-2',
      '/tmp/x/consensus-3',
      '/tmp/x/notification-push',
    ]);
    expect(plan.processes[1]!.args).toContain('1=127.0.0.1:7101,2=127.0.0.1:7102,3=127.0.0.1:7103');
    expect(plan.dashboardUrl).toBe('http://127.0.0.1:7200/dashboard');
  });

  it('adds the broker simulator with --demo', () => {
    expect(planCluster({ ...base, demo: true }).processes.at(-1)!.name).toBe('broker-sim');
  });

  it('parses NATS URLs and probes reachability', async () => {
    expect(parseNatsUrl('nats://127.0.0.1:4222')).toEqual({ host: '127.0.0.1', port: 4222 });
    expect(() => parseNatsUrl('http://x')).toThrow(/nats:\/\//);
    expect(await reachable('127.0.0.1', 1, 200)).toBe(false);
    expect(findNatsServer('/nonexistent')).toBe(process.env.NATS_SERVER_BIN ?? '/usr/sbin/nats-server');
  });
});
