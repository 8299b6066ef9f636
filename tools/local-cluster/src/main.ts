// `npm start`: a complete local Regent system — NATS (reused if reachable, else started), the election-policy
// service, 3 consensus nodes, a broker gateway and notification-push; `--demo` adds simulated broker groups.
// Prints endpoints, data folders and the dashboard URL. Ctrl-C stops everything; a restart keeps the data.
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { type ConfigOf, loadConfigOrExit, option } from '@regent/service-kit';
import { type ManagedProcess, spawnProcess, spawnTs, WORKSPACE_ROOT, waitForHttpOk } from '@regent/testing';
import { findNatsServer, NATS_INSTALL_HINT, parseNatsUrl, reachable } from './nats.js';
import { planCluster } from './plan.js';

const schema = {
  dataDir: option.string({ description: 'root of all data folders', default: '.data' }),
  basePort: option.int({
    description: 'ports are base+101.. (consensus), +200 gateway, +300 policy, +400 push',
    default: 7000,
    min: 1024,
    max: 60000,
  }),
  nats: option.string({ description: 'NATS server URL', default: 'nats://127.0.0.1:4222' }),
  demo: option.bool({ description: 'also run simulated broker groups (broker-sim)', default: false }),
  demoGroups: option.int({
    description: 'broker groups in the demo (3 replicas each)',
    default: 3,
    min: 1,
    max: 1000,
  }),
  adminToken: option.string({
    description: 'admin bearer token for the gateway',
    default: 'regent-admin-dev',
  }),
  brokerToken: option.string({
    description: 'broker bearer token (all clusters)',
    default: 'regent-broker-dev',
  }),
  verbose: option.bool({ description: 'echo every process log line', default: false }),
};

async function main(config: ConfigOf<typeof schema>): Promise<void> {
  const dataDir = resolve(WORKSPACE_ROOT, config.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const running: ManagedProcess[] = [];
  let stopping = false;
  const stopAll = async (code: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
    process.stderr.write('\nstopping…\n');
    for (const p of [...running].reverse()) await p.stop(5000);
    process.exit(code);
  };
  process.on('SIGINT', () => void stopAll(0));
  process.on('SIGTERM', () => void stopAll(0));

  const { host, port } = parseNatsUrl(config.nats);
  if (!(await reachable(host, port))) {
    const bin = findNatsServer();
    if (bin === undefined) {
      process.stderr.write(`${NATS_INSTALL_HINT}\n`);
      process.exit(1);
    }
    const nats = spawnProcess(
      'nats-server',
      bin,
      ['-a', host, '-p', String(port), '-js', '-sd', resolve(dataDir, 'nats')],
      {
        echo: config.verbose,
      },
    );
    running.push(nats);
    process.stderr.write(`started local nats-server (${bin}) on ${config.nats}\n`);
  } else {
    process.stderr.write(`using the NATS server at ${config.nats}\n`);
  }

  const plan = planCluster({
    dataDir,
    basePort: config.basePort,
    consensusNodes: 3,
    natsUrl: config.nats,
    demo: config.demo,
    demoGroups: config.demoGroups,
    adminToken: config.adminToken,
    brokerToken: config.brokerToken,
  });
  for (const p of plan.processes) {
    const proc = spawnTs(p.name, p.entry, p.args, {
      echo: config.verbose,
      env: { REGENT_LOG_LEVEL: 'info', ...p.env },
    });
    running.push(proc);
    void proc.exited.then((code) => {
      if (!stopping) {
        process.stderr.write(`${p.name} exited (${code}); last output:\n${proc.output().slice(-2000)}\n`);
        void stopAll(1);
      }
    });
  }
  await Promise.all(plan.processes.map((p) => waitForHttpOk(p.healthUrl, 60_000)));
  const lines = [
    '',
    'Regent is running.',
    `  broker gateway (Connect, gRPC, gRPC-Web, JSON):  ${plan.gatewayUrl}`,
    `  dashboard:                                       ${plan.dashboardUrl}`,
    `  consensus nodes:                                 ${plan.consensusAddresses.join(', ')}`,
    `  NATS:                                            ${config.nats}  (subjects regent.<cluster>.<group>.role)`,
    `  admin token: ${config.adminToken}    broker token: ${config.brokerToken}`,
    '  data folders:',
    ...plan.dataFolders.map((d) => `    ${d}`),
    `  try: npx regentctl metadata --gateway ${new URL(plan.gatewayUrl).host} --token ${config.adminToken}`,
    'Ctrl-C stops everything; the data stays for the next start.',
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

main(
  loadConfigOrExit(schema, {
    envPrefix: 'REGENT_LOCAL',
    program: 'npm start --',
    summary: 'Starts a complete local Regent system.',
  }),
).catch((error: unknown) => {
  process.stderr.write(`local cluster failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
