// The local cluster's layout: which processes run, on which ports, with which data folders and credentials.
// Pure: the plan is computed from options and printed; main.ts starts it.
import { join } from 'node:path';

export interface LocalClusterOptions {
  readonly dataDir: string;
  readonly basePort: number;
  readonly consensusNodes: number;
  readonly natsUrl: string;
  readonly demo: boolean;
  readonly demoGroups: number;
  readonly adminToken: string;
  readonly brokerToken: string;
}

export interface ProcessPlan {
  readonly name: string;
  readonly entry: string;
  readonly args: readonly string[];
  readonly healthUrl: string;
  readonly env?: Record<string, string>;
}

export interface ClusterPlan {
  readonly processes: readonly ProcessPlan[];
  readonly gatewayUrl: string;
  readonly dashboardUrl: string;
  readonly consensusAddresses: readonly string[];
  readonly dataFolders: readonly string[];
}

export function planCluster(o: LocalClusterOptions): ClusterPlan {
  const host = '127.0.0.1';
  const consensusPorts = Array.from({ length: o.consensusNodes }, (_, i) => o.basePort + 101 + i);
  const consensusAddresses = consensusPorts.map((p) => `${host}:${p}`);
  const peers = consensusAddresses.map((a, i) => `${i + 1}=${a}`).join(',');
  const gatewayPort = o.basePort + 200;
  const policyPort = o.basePort + 300;
  const pushPort = o.basePort + 400;
  const simPort = o.basePort + 500;
  const dataFolders: string[] = [];
  const processes: ProcessPlan[] = [
    {
      name: 'election-policy',
      entry: 'apps/election-policy/src/main.ts',
      args: ['--host', host, '--port', String(policyPort)],
      healthUrl: `http://${host}:${policyPort}/healthz`,
    },
  ];
  consensusPorts.forEach((port, i) => {
    const dir = join(o.dataDir, `consensus-${i + 1}`);
    dataFolders.push(dir);
    processes.push({
      name: `consensus-${i + 1}`,
      entry: 'apps/consensus/src/main.ts',
      args: [
        '--node-id',
        String(i + 1),
        '--peers',
        peers,
        '--host',
        host,
        '--port',
        String(port),
        '--data-dir',
        dir,
        '--policy-address',
        `${host}:${policyPort}`,
      ],
      healthUrl: `http://${host}:${port}/healthz`,
    });
  });
  processes.push({
    name: 'broker-gateway',
    entry: 'apps/broker-gateway/src/main.ts',
    args: [
      '--host',
      host,
      '--port',
      String(gatewayPort),
      '--consensus',
      consensusAddresses.join(','),
      '--admin-tokens',
      o.adminToken,
      '--broker-tokens',
      `*=${o.brokerToken}`,
    ],
    healthUrl: `http://${host}:${gatewayPort}/healthz`,
  });
  const pushDir = join(o.dataDir, 'notification-push');
  dataFolders.push(pushDir);
  processes.push({
    name: 'notification-push',
    entry: 'apps/notification-push/src/main.ts',
    args: [
      '--host',
      host,
      '--port',
      String(pushPort),
      '--consensus',
      consensusAddresses.join(','),
      '--nats',
      o.natsUrl,
      '--data-dir',
      pushDir,
    ],
    healthUrl: `http://${host}:${pushPort}/healthz`,
  });
  if (o.demo) {
    const simDir = join(o.dataDir, 'broker-sim');
    dataFolders.push(simDir);
    processes.push({
      name: 'broker-sim',
      entry: 'apps/broker-sim/src/main.ts',
      args: [
        '--gateway',
        `http://${host}:${gatewayPort}`,
        '--groups',
        String(o.demoGroups),
        '--replicas',
        '3',
        '--nats',
        o.natsUrl,
        '--data-dir',
        simDir,
        '--token',
        o.brokerToken,
        '--port',
        String(simPort),
      ],
      healthUrl: `http://${host}:${simPort}/healthz`,
    });
  }
  return {
    processes,
    gatewayUrl: `http://${host}:${gatewayPort}`,
    dashboardUrl: `http://${host}:${gatewayPort}/dashboard`,
    consensusAddresses,
    dataFolders,
  };
}
