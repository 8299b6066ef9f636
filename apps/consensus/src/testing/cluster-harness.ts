// A real-process Raft cluster for integration tests and benchmarks: N consensus nodes (kv state machine) as child
// processes on loopback ports with data directories in one tmp dir, a client that follows NOT_LEADER hints and
// retries with its session, crash/restart helpers, and waits for a leader or for the nodes' logs to converge.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CallOptions, type Client, Code, ConnectError, createClient } from '@connectrpc/connect';
import { createConnectTransport, Http2SessionManager } from '@connectrpc/connect-node';
import { readControllerError } from '@regent/proto';
import { MembershipChange, type NodeStatus } from '@regent/proto/admin';
import { ControllerCondition } from '@regent/proto/common';
import {
  ConsensusService,
  type GetResponse,
  KvService,
  type PutResponse,
  type StatusResponse,
} from '@regent/proto/consensus';
import {
  freePort,
  type ManagedProcess,
  spawnProcess,
  spawnTs,
  WORKSPACE_ROOT,
  waitFor,
} from '@regent/testing';

export const CONSENSUS_ENTRY = 'apps/consensus/src/main.ts';

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

/** Per-test (and cluster start-up) timeout for the real-process suites: generous, for busy shared machines. */
export const TEST_TIMEOUT_MS = 180_000;

export interface ProcessClusterOptions {
  /** Founding members, ids 1..size. */
  readonly size: number;
  /** Extra flags for every node, e.g. ['--snapshot-every-entries', '50']. */
  readonly nodeArgs?: readonly string[];
  /** The nodes' pino level (default info: tests read log lines). */
  readonly logLevel?: string;
  /** Mirror the nodes' output on stderr. */
  readonly echo?: boolean;
  /** Parent of the cluster's tmp dir (default the OS tmp dir). */
  readonly baseDir?: string;
  /** Node.js flags placed before the entry point (e.g. --cpu-prof). */
  readonly nodeOptions?: readonly string[];
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

/** Per-call deadline for client and status calls: a dead or paused node must not hang a test. */
const CALL_TIMEOUT_MS = 2_000;
/** How long a ClusterClient keeps retrying one operation (generous: test machines are shared and slow). */
const OPERATION_DEADLINE_MS = 60_000;
/** Default deadline of the cluster-level waits (leader, convergence, membership). */
const WAIT_DEADLINE_MS = 60_000;
const RETRY_PAUSE_MS = 20;
/** Writers of one write load, at most. */
const WRITERS_MAX = 256;

export class ProcessCluster {
  readonly dir: string;
  readonly #options: ProcessClusterOptions;
  readonly #nodes = new Map<number, ClusterNode>();
  /** Nodes removed from the membership (by changeMembership). */
  readonly #removed = new Set<number>();
  readonly #sessions = new Map<number, Http2SessionManager>();
  /** Clients per node over its session; dropped with the session when the node stops. */
  readonly #kvClients = new Map<number, Client<typeof KvService>>();
  readonly #consensusClients = new Map<number, Client<typeof ConsensusService>>();

  private constructor(options: ProcessClusterOptions, dir: string) {
    this.#options = options;
    this.dir = dir;
  }

  /** Starts `size` founding members (ids 1..size) on free loopback ports. Does not wait for a leader. */
  static async start(options: ProcessClusterOptions): Promise<ProcessCluster> {
    const dir = mkdtempSync(join(options.baseDir ?? tmpdir(), 'regent-raft-'));
    const cluster = new ProcessCluster(options, dir);
    for (let id = 1; id <= options.size; id++) await cluster.#define(id, false);
    for (const node of cluster.#nodes.values()) cluster.#spawn(node);
    return cluster;
  }

  async #define(id: number, joined: boolean): Promise<ClusterNode> {
    if (this.#nodes.has(id)) throw new Error(`node ${id} exists`);
    let port = await freePort();
    for (let attempt = 1; [...this.#nodes.values()].some((n) => n.port === port); attempt++) {
      if (attempt > 100) throw new Error('no free port distinct from the cluster’s after 100 attempts');
      port = await freePort();
    }
    const node: ClusterNode = {
      id,
      port,
      address: `127.0.0.1:${port}`,
      dataDir: join(this.dir, `n${id}`),
      joined,
      process: undefined,
      pastOutputs: [],
    };
    this.#nodes.set(id, node);
    return node;
  }

  /** Founding members' --peers value. */
  #peersFlag(): string {
    return [...this.#nodes.values()]
      .filter((n) => !n.joined)
      .map((n) => `${n.id}=${n.address}`)
      .join(',');
  }

  /** Every other node's address, for a joining node to answer the leader before it knows the membership. */
  #addressesFlag(self: number): string {
    return [...this.#nodes.values()]
      .filter((n) => n.id !== self)
      .map((n) => `${n.id}=${n.address}`)
      .join(',');
  }

  #spawn(node: ClusterNode): ManagedProcess {
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
        ? ['--join', '--advertise', node.address, '--peers', this.#addressesFlag(node.id)]
        : ['--peers', this.#peersFlag()]),
      ...(this.#options.nodeArgs ?? []),
    ];
    const env = { REGENT_LOG_LEVEL: this.#options.logLevel ?? 'info' };
    const echo = this.#options.echo;
    const name = `node-${node.id}`;
    // spawnTs has no slot for Node flags (and NODE_OPTIONS refuses some, e.g. --cpu-prof): spell the command out.
    const proc =
      this.#options.nodeOptions === undefined
        ? spawnTs(name, CONSENSUS_ENTRY, args, { env, echo })
        : spawnProcess(
            name,
            process.execPath,
            [
              ...this.#options.nodeOptions,
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

  node(id: number): ClusterNode {
    const node = this.#nodes.get(id);
    if (node === undefined) throw new Error(`no node ${id}`);
    return node;
  }

  /** Every node ever defined, by id. */
  ids(): number[] {
    return [...this.#nodes.keys()].sort((a, b) => a - b);
  }

  /** Running nodes that were not removed from the membership through `changeMembership`. */
  memberIds(): number[] {
    return this.runningIds().filter((id) => !this.#removed.has(id));
  }

  runningIds(): number[] {
    return this.ids().filter((id) => this.node(id).process !== undefined);
  }

  /** Everything node `id` printed, over all its runs. */
  output(id: number): string {
    const node = this.node(id);
    return [...node.pastOutputs, node.process?.output() ?? ''].join('');
  }

  /** Defines and starts a new node with --join (it learns the membership once the leader adds it). */
  async addNode(id: number): Promise<ClusterNode> {
    const node = await this.#define(id, true);
    this.#spawn(node);
    return node;
  }

  /** Starts a stopped node again with the same flags and data dir. */
  restart(id: number): ManagedProcess {
    return this.#spawn(this.node(id));
  }

  /** SIGKILL: a crash. Resolves with the exit signal. */
  async kill(id: number): Promise<number | string> {
    return this.#finish(id, (p) => p.kill());
  }

  /** SIGTERM (graceful), SIGKILL after `graceMs`. Resolves with the exit code. */
  async stop(id: number, graceMs = 5_000): Promise<number | string> {
    return this.#finish(id, (p) => p.stop(graceMs));
  }

  /** Waits until node `id` exits by itself (e.g. refusing to start). */
  async exited(id: number, timeoutMs = WAIT_DEADLINE_MS): Promise<number | string> {
    const proc = this.node(id).process;
    if (proc === undefined) throw new Error(`node ${id} is not running`);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`node ${id} did not exit within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      await Promise.race([proc.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
    return this.#finish(id, (p) => p.exited);
  }

  async #finish(id: number, end: (p: ManagedProcess) => Promise<number | string>): Promise<number | string> {
    const node = this.node(id);
    const proc = node.process;
    if (proc === undefined) throw new Error(`node ${id} is not running`);
    const code = await end(proc);
    node.pastOutputs.push(proc.output());
    node.process = undefined;
    this.#dropSession(id);
    return code;
  }

  #dropSession(id: number): void {
    this.#sessions.get(id)?.abort();
    this.#sessions.delete(id);
    this.#kvClients.delete(id);
    this.#consensusClients.delete(id);
  }

  #session(id: number): Http2SessionManager {
    let session = this.#sessions.get(id);
    if (session === undefined) {
      session = new Http2SessionManager(`http://${this.node(id).address}`, {
        pingIntervalMs: 1_000,
        pingTimeoutMs: 2_000,
      });
      this.#sessions.set(id, session);
    }
    return session;
  }

  #transport(id: number): ReturnType<typeof createConnectTransport> {
    return createConnectTransport({
      baseUrl: `http://${this.node(id).address}`,
      httpVersion: '2',
      useBinaryFormat: true,
      sessionManager: this.#session(id),
      readMaxBytes: 16 * 1024 * 1024,
      writeMaxBytes: 16 * 1024 * 1024,
    });
  }

  /** A KvService client for node `id` (one HTTP/2 connection per node, shared by every client of this cluster). */
  kv(id: number): Client<typeof KvService> {
    let client = this.#kvClients.get(id);
    if (client === undefined) {
      client = createClient(KvService, this.#transport(id));
      this.#kvClients.set(id, client);
    }
    return client;
  }

  consensus(id: number): Client<typeof ConsensusService> {
    let client = this.#consensusClients.get(id);
    if (client === undefined) {
      client = createClient(ConsensusService, this.#transport(id));
      this.#consensusClients.set(id, client);
    }
    return client;
  }

  async status(id: number, options: CallOptions = {}): Promise<StatusResponse> {
    return this.consensus(id).status({}, { timeoutMs: CALL_TIMEOUT_MS, ...options });
  }

  /** The status of each running node that answers. */
  async statuses(ids: readonly number[] = this.runningIds()): Promise<Map<number, NodeStatus>> {
    const answers = await Promise.all(
      ids.map(async (id) => {
        try {
          return [id, (await this.status(id)).status] as const;
        } catch {
          return [id, undefined] as const;
        }
      }),
    );
    const out = new Map<number, NodeStatus>();
    for (const [id, status] of answers) if (status !== undefined) out.set(id, status);
    return out;
  }

  /**
   * Waits for a leader among `among` (default the running members): a node in the leader role whose term no other
   * answering node exceeds, and which every answering node follows.
   */
  async waitForLeader(
    options: { among?: readonly number[]; timeoutMs?: number; not?: number } = {},
  ): Promise<{ id: number; term: bigint }> {
    let seen = new Map<number, NodeStatus>();
    try {
      return await waitFor(
        async () => {
          const statuses = await this.statuses(options.among ?? this.memberIds());
          seen = statuses;
          const maxTerm = [...statuses.values()].reduce((m, s) => (s.term > m ? s.term : m), 0n);
          for (const [id, s] of statuses) {
            if (s.role !== 'leader' || s.term !== maxTerm || id === options.not) continue;
            const followed = [...statuses.values()].every(
              (o) => o.leaderId === BigInt(id) && o.term === s.term,
            );
            if (followed) return { id, term: s.term };
          }
          return undefined;
        },
        { timeoutMs: options.timeoutMs ?? WAIT_DEADLINE_MS, what: 'a leader followed by every running node' },
      );
    } catch (error) {
      throw new Error(`${(error as Error).message}; last statuses: ${describeStatuses(seen)}`, {
        cause: error,
      });
    }
  }

  /**
   * Waits until the nodes (default: the running members) report the same commit, applied and last index, with applied =
   * commit, and at least `minIndex`. Resolves with that index.
   */
  async waitForConvergence(
    options: { ids?: readonly number[]; minIndex?: bigint; timeoutMs?: number } = {},
  ): Promise<bigint> {
    const ids = options.ids ?? this.memberIds();
    const reached = await waitFor(
      async () => {
        const statuses = await this.statuses(ids);
        if (statuses.size !== ids.length) return undefined;
        const first = statuses.values().next().value!;
        const same = [...statuses.values()].every(
          (s) =>
            s.commitIndex === first.commitIndex &&
            s.appliedIndex === first.commitIndex &&
            s.lastIndex === first.lastIndex &&
            s.term === first.term,
        );
        if (!same || first.commitIndex < (options.minIndex ?? 1n)) return undefined;
        return { index: first.commitIndex };
      },
      { timeoutMs: options.timeoutMs ?? WAIT_DEADLINE_MS, what: `nodes ${ids.join(',')} converging` },
    );
    return reached.index;
  }

  /**
   * Moves leadership to `target` through the current leader and waits until it serves reads; resolves with the new
   * leader's term.
   */
  async transferLeadership(target: number): Promise<bigint> {
    return retrying(`leadership moving to node ${target}`, async () => {
      const leader = await this.waitForLeader();
      if (leader.id !== target) {
        await this.consensus(leader.id).transferLeadership(
          { request: { targetNodeId: BigInt(target) } },
          { timeoutMs: 5_000 },
        );
      }
      const after = await this.waitForLeader();
      if (after.id !== target) throw new ConnectError(`leader is ${after.id}`, Code.Unavailable);
      // Serving: a linearizable read succeeds once the new leader's first entry committed (before that it
      // answers NOT_LEADER naming itself).
      await this.kv(target).get({ key: 'regent-harness-probe' }, { timeoutMs: CALL_TIMEOUT_MS });
      return after.term;
    });
  }

  /** Proposes a membership change through the leader (retrying while another change is in progress). */
  async changeMembership(
    change: 'add-learner' | 'add-voter' | 'promote' | 'remove',
    nodeId: number,
  ): Promise<void> {
    const kind = {
      'add-learner': MembershipChange.ADD_LEARNER,
      'add-voter': MembershipChange.ADD_VOTER,
      promote: MembershipChange.PROMOTE_LEARNER,
      remove: MembershipChange.REMOVE_NODE,
    }[change];
    const address = change === 'add-learner' || change === 'add-voter' ? this.node(nodeId).address : '';
    const inEffect = async (leader: number): Promise<boolean> => {
      const peer = (await this.status(leader)).metadata?.peers.find((p) => Number(p.nodeId) === nodeId);
      if (change === 'remove') return peer === undefined;
      if (change === 'add-learner') return peer !== undefined;
      return peer !== undefined && !peer.learner;
    };
    await retrying(`membership change ${change} ${nodeId}`, async () => {
      // Any node in the leader role will do (a wrong one answers NOT_LEADER): the node being removed may lead.
      const leader = await this.#someLeader();
      // A retry after a lost answer must not propose the change twice.
      if (await inEffect(leader.id)) return;
      await this.consensus(leader.id).changeMembership(
        { request: { change: kind, nodeId: BigInt(nodeId), peerAddress: address, clientAddress: address } },
        { timeoutMs: 5_000 },
      );
    });
    // A removed node keeps running until the caller stops it; leader waits no longer count on it.
    if (change === 'remove') this.#removed.add(nodeId);
  }

  /** A running node in the leader role (the highest term if several claim it). */
  async #someLeader(): Promise<{ id: number; term: bigint }> {
    return waitFor(
      async () => {
        let best: { id: number; term: bigint } | undefined;
        for (const [id, s] of await this.statuses(this.runningIds())) {
          if (s.role === 'leader' && (best === undefined || s.term > best.term)) best = { id, term: s.term };
        }
        return best;
      },
      { timeoutMs: WAIT_DEADLINE_MS, what: 'a node in the leader role' },
    );
  }

  /** The WAL segment files of node `id`, in sequence order. */
  walSegments(id: number): string[] {
    const dir = join(this.node(id).dataDir, 'wal');
    return readdirSync(dir)
      .filter((f) => f.endsWith('.seg'))
      .sort()
      .map((f) => join(dir, f));
  }

  /** A client that finds the leader, follows NOT_LEADER hints and retries retriable failures. */
  client(options: { put?: PutCall } = {}): ClusterClient {
    return new ClusterClient(this, options);
  }

  /** Kills every node, closes client sessions, and deletes the data unless `keepData`. */
  async close(options: { keepData?: boolean } = {}): Promise<void> {
    await Promise.all(this.runningIds().map((id) => this.kill(id)));
    for (const id of [...this.#sessions.keys()]) this.#dropSession(id);
    if (!options.keepData) rmSync(this.dir, { recursive: true, force: true });
  }
}

/** One line per node: role, term, leader and indexes (for failure messages). */
export function describeStatuses(statuses: ReadonlyMap<number, NodeStatus>): string {
  if (statuses.size === 0) return 'no node answered';
  return [...statuses.values()]
    .map(
      (s) =>
        `node ${s.nodeId} ${s.role} term ${s.term} leader ${s.leaderId} commit ${s.commitIndex} ` +
        `applied ${s.appliedIndex} last ${s.lastIndex}`,
    )
    .join('; ');
}

/** Runs `attempt` until it succeeds or fails with a non-retriable error; gives up after `timeoutMs`. */
async function retrying<T>(
  what: string,
  attempt: () => Promise<T>,
  timeoutMs = OPERATION_DEADLINE_MS,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (!isRetriable(error)) throw error;
      if (Date.now() > deadline)
        throw new Error(`gave up on ${what} after ${timeoutMs} ms`, { cause: error });
    }
    await new Promise((r) => setTimeout(r, RETRY_PAUSE_MS * 5));
  }
}

/** A failure worth retrying elsewhere or later: not leader, overloaded, unknown outcome, node down or slow. */
export function isRetriable(error: unknown): boolean {
  const e = ConnectError.from(error);
  const detail = readControllerError(e);
  if (detail !== undefined) {
    return [
      ControllerCondition.NOT_LEADER,
      ControllerCondition.OVERLOADED,
      ControllerCondition.RAFT_INTERNAL_ERROR,
      ControllerCondition.MEMBERSHIP_CHANGE_IN_PROGRESS,
      ControllerCondition.TIMEOUT,
    ].includes(detail.condition);
  }
  return [
    Code.Unavailable,
    Code.DeadlineExceeded,
    Code.ResourceExhausted,
    Code.Aborted,
    Code.Canceled,
  ].includes(e.code);
}

/** Sends one Put to node `node` (throws ConnectError-compatible errors). */
export type PutCall = (
  node: number,
  request: { key: string; value: Uint8Array; clientId: string; sequence: bigint },
) => Promise<PutResponse>;

/** Counts of what a ClusterClient saw while retrying. */
export interface ClientStats {
  notLeader: number;
  unavailable: number;
  other: number;
}

/**
 * Sends KV calls to the leader it believes in; on NOT_LEADER it moves to the hinted leader, on a dead or slow node
 * to the next one. Retries for at most OPERATION_DEADLINE_MS per operation, then throws the last error.
 */
export class ClusterClient {
  readonly stats: ClientStats = { notLeader: 0, unavailable: 0, other: 0 };
  #target: number | undefined;
  #rotation = 0;

  readonly #putCall: PutCall;

  /** `options.put` replaces how a Put reaches a node (e.g. a leaner HTTP/2 client in benchmarks). */
  constructor(
    private readonly cluster: ProcessCluster,
    options: { put?: PutCall } = {},
  ) {
    this.#putCall =
      options.put ?? ((node, request) => cluster.kv(node).put(request, { timeoutMs: CALL_TIMEOUT_MS }));
  }

  /** The node the next call goes to first. */
  get target(): number | undefined {
    return this.#target;
  }

  async put(
    key: string,
    value: Uint8Array,
    session?: { clientId: string; sequence: bigint },
  ): Promise<PutResponse> {
    const request = { key, value, clientId: session?.clientId ?? '', sequence: session?.sequence ?? 0n };
    return this.#call((node) => this.#putCall(node, request));
  }

  async get(key: string): Promise<GetResponse> {
    return this.#call((node) => this.cluster.kv(node).get({ key }, { timeoutMs: CALL_TIMEOUT_MS }));
  }

  async #call<T>(call: (node: number) => Promise<T>): Promise<T> {
    const deadline = Date.now() + OPERATION_DEADLINE_MS;
    for (;;) {
      const target = this.#pick();
      try {
        return await call(target);
      } catch (error) {
        if (!isRetriable(error) || Date.now() > deadline) throw error;
        this.#onFailure(error);
      }
      await new Promise((r) => setTimeout(r, RETRY_PAUSE_MS));
    }
  }

  #pick(): number {
    if (this.#target !== undefined && this.cluster.node(this.#target).process !== undefined)
      return this.#target;
    const running = this.cluster.runningIds();
    if (running.length === 0) throw new Error('no node is running');
    this.#target = running[this.#rotation++ % running.length]!;
    return this.#target;
  }

  #onFailure(error: unknown): void {
    const detail = readControllerError(error);
    if (detail?.condition === ControllerCondition.NOT_LEADER) {
      this.stats.notLeader++;
      const hinted = detail.leader === undefined ? 0 : Number(detail.leader.nodeId);
      // No hint: ask another node. A hint at the node that refused is a leader whose first entry has not
      // committed yet: ask it again.
      this.#target = hinted !== 0 ? hinted : undefined;
      return;
    }
    if (detail === undefined) this.stats.unavailable++;
    else this.stats.other++;
    if (detail === undefined || detail.condition !== ControllerCondition.OVERLOADED) this.#target = undefined;
  }
}

/** A client session: each put gets the next sequence number and is retried with it until acknowledged. */
export class SessionWriter {
  #sequence = 0n;

  constructor(
    private readonly client: ClusterClient,
    readonly clientId: string,
  ) {}

  async put(key: string, value: Uint8Array): Promise<PutResponse> {
    this.#sequence++;
    return this.client.put(key, value, { clientId: this.clientId, sequence: this.#sequence });
  }
}

export interface WriteLoad {
  /** Every acknowledged write: key → value. */
  readonly acked: Map<string, Uint8Array>;
  ackedCount(): number;
  /** Resolves once `count` more writes than now were acknowledged. */
  waitForMoreAcks(count: number, timeoutMs?: number): Promise<void>;
  /** Stops the writers after their current write; rejects if a writer failed. */
  stop(): Promise<void>;
}

/** `writers` concurrent sessions, each writing its own keys one at a time (a bounded closed loop). */
export function startWriteLoad(
  cluster: ProcessCluster,
  options: { writers: number; prefix: string; valueBytes?: number },
): WriteLoad {
  if (options.writers < 1 || options.writers > WRITERS_MAX)
    throw new RangeError(`writers ${options.writers}`);
  const acked = new Map<string, Uint8Array>();
  let running = true;
  const loops = Array.from({ length: options.writers }, async (_, w) => {
    const writer = new SessionWriter(cluster.client(), `${options.prefix}-writer-${w}`);
    for (let n = 1; running; n++) {
      const key = `${options.prefix}/${w}/${n}`;
      const value = valueFor(key, options.valueBytes ?? 32);
      await writer.put(key, value);
      acked.set(key, value);
    }
  });
  const all = Promise.all(loops);
  all.catch(() => {
    running = false;
  });
  return {
    acked,
    ackedCount: () => acked.size,
    waitForMoreAcks: async (count, timeoutMs = WAIT_DEADLINE_MS) => {
      const target = acked.size + count;
      await Promise.race([
        waitFor(() => acked.size >= target, { timeoutMs, what: `${count} more acknowledged writes` }),
        all.then(() => {
          throw new Error('writers stopped');
        }),
      ]);
    },
    stop: async () => {
      running = false;
      await all;
    },
  };
}

/** A deterministic value of `bytes` bytes for `key` (so a value read back can be checked against its key). */
export function valueFor(key: string, bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  const seed = new TextEncoder().encode(key);
  for (let i = 0; i < bytes; i++) out[i] = seed[i % seed.length]! ^ (i & 0xff);
  return out;
}

/**
 * Writes keys `${prefix}/0` … `${prefix}/${count - 1}` (values from `valueFor`) through `writers` concurrent
 * sessions; resolves with key → value once all are acknowledged.
 */
export async function writeKeys(
  cluster: ProcessCluster,
  prefix: string,
  count: number,
  options: { writers?: number; valueBytes?: number } = {},
): Promise<Map<string, Uint8Array>> {
  const writers = Math.min(options.writers ?? 8, WRITERS_MAX);
  const written = new Map<string, Uint8Array>();
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      const writer = new SessionWriter(cluster.client(), `${prefix}-keys-${w}`);
      for (let i = w; i < count; i += writers) {
        const key = `${prefix}/${i}`;
        const value = valueFor(key, options.valueBytes ?? 32);
        await writer.put(key, value);
        written.set(key, value);
      }
    }),
  );
  return written;
}

/** Reads every key through `read` (a few at a time); resolves with the keys whose value is missing or differs. */
export async function missingOrWrong(
  expected: ReadonlyMap<string, Uint8Array>,
  read: (key: string) => Promise<{ found: boolean; value: Uint8Array }>,
  readers = 16,
): Promise<string[]> {
  const keys = [...expected.keys()];
  const bad: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: readers }, async () => {
      while (next < keys.length) {
        const key = keys[next++]!;
        const got = await read(key);
        if (!got.found || Buffer.compare(got.value, expected.get(key)!) !== 0) bad.push(key);
      }
    }),
  );
  return bad;
}
