// One consensus node of a ProcessCluster as a child process: its port and data dir, the flags it starts with,
// and its start and end (the output of every finished run is kept).
import { join } from 'node:path';
import { freePort, type ManagedProcess, spawnProcess, spawnTs, WORKSPACE_ROOT } from '@regent/testing';

export const CONSENSUS_ENTRY = 'apps/consensus/src/main.ts';
/** The built node (`nx run consensus:build`): what a deployment runs. */
export const CONSENSUS_COMPILED_ENTRY = 'apps/consensus/dist/main.js';

/**
 * Timing flags for integration tests: election timeouts of 0.5–1 s and 50 ms heartbeats. The defaults (150–300 ms)
 * are tuned for fast failover on a quiet machine; a test machine running other suites next to 3–5 nodes stalls
 * event loops for longer than that, and the elections it causes would make timing-exact checks (terms) flaky.
 * Tests check behaviour, never speed, so they lose nothing.
 */
export const TEST_TIMING_ARGS: readonly string[] = [
  '--election-timeout-ticks',
  '50',
  '--heartbeat-ticks',
  '5',
];

/** How every node of a cluster is started. */
export interface NodeProcessOptions {
  /** Extra flags for every node, e.g. ['--snapshot-every-entries', '50']. */
  readonly nodeArgs?: readonly string[];
  /** The nodes' pino level (default info: tests read log lines). */
  readonly logLevel?: string;
  /** Mirror the nodes' output on stderr. */
  readonly echo?: boolean;
  /** Node.js flags placed before the entry point (e.g. --cpu-prof). */
  readonly nodeOptions?: readonly string[];
  /**
   * Run the built JavaScript (CONSENSUS_COMPILED_ENTRY, built beforehand) instead of the TypeScript sources
   * through tsx, whose start-up compiles every module: for benchmarks of what a deployment runs.
   */
  readonly compiled?: boolean;
}

export interface ClusterNode {
  readonly id: number;
  readonly port: number;
  /** host:port, both the peer and the client address. */
  readonly address: string;
  readonly dataDir: string;
  /** Started with --join (not a founding member). */
  readonly joined: boolean;
  /** The running process, undefined while stopped. */
  process: ManagedProcess | undefined;
  /** Output of finished runs, oldest first. */
  readonly pastOutputs: string[];
}

/** Adds node `id` to `nodes` on a free loopback port no other node has, with its data dir under `dir`. */
export async function defineNode(
  nodes: Map<number, ClusterNode>,
  dir: string,
  id: number,
  joined: boolean,
): Promise<ClusterNode> {
  if (nodes.has(id)) throw new Error(`node ${id} exists`);
  let port = await freePort();
  for (let attempt = 1; [...nodes.values()].some((n) => n.port === port); attempt++) {
    if (attempt > 100) throw new Error('no free port distinct from the cluster’s after 100 attempts');
    port = await freePort();
  }
  const node: ClusterNode = {
    id,
    port,
    address: `127.0.0.1:${port}`,
    dataDir: join(dir, `n${id}`),
    joined,
    process: undefined,
    pastOutputs: [],
  };
  nodes.set(id, node);
  return node;
}

/** Founding members' --peers value. */
function peersFlag(nodes: ReadonlyMap<number, ClusterNode>): string {
  return [...nodes.values()]
    .filter((n) => !n.joined)
    .map((n) => `${n.id}=${n.address}`)
    .join(',');
}

/** Every other node's address, for a joining node to answer the leader before it knows the membership. */
function addressesFlag(nodes: ReadonlyMap<number, ClusterNode>, self: number): string {
  return [...nodes.values()]
    .filter((n) => n.id !== self)
    .map((n) => `${n.id}=${n.address}`)
    .join(',');
}

/** Starts `node` (one of `nodes`, which give its --peers) and records the process on it. */
export function spawnNode(
  node: ClusterNode,
  nodes: ReadonlyMap<number, ClusterNode>,
  options: NodeProcessOptions,
): ManagedProcess {
  if (node.process !== undefined) throw new Error(`node ${node.id} is running`);
  const args = [
    '--node-id',
    String(node.id),
    '--port',
    String(node.port),
    '--data-dir',
    node.dataDir,
    '--state-machine',
    'kv',
    ...(node.joined
      ? ['--join', '--advertise', node.address, '--peers', addressesFlag(nodes, node.id)]
      : ['--peers', peersFlag(nodes)]),
    ...(options.nodeArgs ?? []),
  ];
  const env = { REGENT_LOG_LEVEL: options.logLevel ?? 'info' };
  const echo = options.echo;
  const name = `node-${node.id}`;
  if (options.compiled) {
    const entry = join(WORKSPACE_ROOT, CONSENSUS_COMPILED_ENTRY);
    const proc = spawnProcess(name, process.execPath, [...(options.nodeOptions ?? []), entry, ...args], {
      env,
      echo,
    });
    node.process = proc;
    return proc;
  }
  // spawnTs has no slot for Node flags (and NODE_OPTIONS refuses some, e.g. --cpu-prof): spell the command out.
  const proc =
    options.nodeOptions === undefined
      ? spawnTs(name, CONSENSUS_ENTRY, args, { env, echo })
      : spawnProcess(
          name,
          process.execPath,
          [
            ...options.nodeOptions,
            '--conditions=@regent/source',
            '--import',
            'tsx',
            '--no-warnings',
            join(WORKSPACE_ROOT, CONSENSUS_ENTRY),
            ...args,
          ],
          { env, echo },
        );
  node.process = proc;
  return proc;
}

/** Waits until `node`'s process exits by itself; rejects after `timeoutMs`. */
export async function exitedWithin(node: ClusterNode, timeoutMs: number): Promise<void> {
  const proc = node.process;
  if (proc === undefined) throw new Error(`node ${node.id} is not running`);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`node ${node.id} did not exit within ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  try {
    await Promise.race([proc.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Ends `node`'s run through `end`, keeps its output and marks it stopped. Resolves with the exit code or signal. */
export async function finishNode(
  node: ClusterNode,
  end: (p: ManagedProcess) => Promise<number | string>,
): Promise<number | string> {
  const proc = node.process;
  if (proc === undefined) throw new Error(`node ${node.id} is not running`);
  const code = await end(proc);
  node.pastOutputs.push(proc.output());
  node.process = undefined;
  return code;
}
