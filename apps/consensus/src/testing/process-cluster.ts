// ProcessCluster: N consensus nodes (kv state machine) as child processes on loopback ports with data directories
// in one tmp dir; crash/restart helpers, clients per node, and the cluster-level waits.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CallOptions, Client } from '@connectrpc/connect';
import type { NodeStatus } from '@regent/proto/admin';
import type { ConsensusService, KvService, StatusResponse } from '@regent/proto/consensus';
import type { ManagedProcess } from '@regent/testing';
import { ClusterClient, type PutCall } from './cluster-client.js';
import {
  changeMembership,
  type MembershipChangeKind,
  transferLeadership,
  waitForConvergence,
  waitForLeader,
} from './cluster-waits.js';
import { NodeConnections } from './node-connections.js';
import {
  type ClusterNode,
  defineNode,
  exitedWithin,
  finishNode,
  type NodeProcessOptions,
  spawnNode,
} from './node-process.js';
import { CALL_TIMEOUT_MS, WAIT_DEADLINE_MS } from './retry.js';

export interface ProcessClusterOptions extends NodeProcessOptions {
  /** Founding members, ids 1..size. */
  readonly size: number;
  /** Parent of the cluster's tmp dir (default the OS tmp dir). */
  readonly baseDir?: string;
}

export class ProcessCluster {
  readonly dir: string;
  readonly #options: ProcessClusterOptions;
  readonly #nodes = new Map<number, ClusterNode>();
  /** Nodes removed from the membership (by changeMembership). */
  readonly #removed = new Set<number>();
  readonly #connections = new NodeConnections((id) => this.node(id).address);

  private constructor(options: ProcessClusterOptions, dir: string) {
    this.#options = options;
    this.dir = dir;
  }

  /** Starts `size` founding members (ids 1..size) on free loopback ports. Does not wait for a leader. */
  static async start(options: ProcessClusterOptions): Promise<ProcessCluster> {
    const dir = mkdtempSync(join(options.baseDir ?? tmpdir(), 'regent-raft-'));
    const cluster = new ProcessCluster(options, dir);
    for (let id = 1; id <= options.size; id++) await defineNode(cluster.#nodes, dir, id, false);
    for (const node of cluster.#nodes.values()) cluster.#spawn(node);
    return cluster;
  }

  #spawn(node: ClusterNode): ManagedProcess {
    return spawnNode(node, this.#nodes, this.#options);
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
    const node = await defineNode(this.#nodes, this.dir, id, true);
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
    await exitedWithin(this.node(id), timeoutMs);
    return this.#finish(id, (p) => p.exited);
  }

  async #finish(id: number, end: (p: ManagedProcess) => Promise<number | string>): Promise<number | string> {
    const code = await finishNode(this.node(id), end);
    this.#connections.drop(id);
    return code;
  }

  /** A KvService client for node `id` (one HTTP/2 connection per node, shared by every client of this cluster). */
  kv(id: number): Client<typeof KvService> {
    return this.#connections.kv(id);
  }

  consensus(id: number): Client<typeof ConsensusService> {
    return this.#connections.consensus(id);
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
    return waitForLeader(this, options);
  }

  /**
   * Waits until the nodes (default: the running members) report the same commit, applied and last index, with applied =
   * commit, and at least `minIndex`. Resolves with that index.
   */
  async waitForConvergence(
    options: { ids?: readonly number[]; minIndex?: bigint; timeoutMs?: number } = {},
  ): Promise<bigint> {
    return waitForConvergence(this, options);
  }

  /**
   * Moves leadership to `target` through the current leader and waits until it serves reads; resolves with the new
   * leader's term.
   */
  async transferLeadership(target: number): Promise<bigint> {
    return transferLeadership(this, target);
  }

  /** Proposes a membership change through the leader (retrying while another change is in progress). */
  async changeMembership(change: MembershipChangeKind, nodeId: number): Promise<void> {
    await changeMembership(this, change, nodeId);
    // A removed node keeps running until the caller stops it; leader waits no longer count on it.
    if (change === 'remove') this.#removed.add(nodeId);
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
    this.#connections.dropAll();
    if (!options.keepData) rmSync(this.dir, { recursive: true, force: true });
  }
}
