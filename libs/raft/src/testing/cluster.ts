// A scripted in-process cluster for paper and scenario tests: nodes on MemoryStorage, a FIFO network the test
// drives step by step (deliver, cut links, isolate, filter), and a toy state machine (the list of applied
// commands) so tests can read what each node applied. Deterministic: nothing happens unless the test says so.

import type { RaftConfigInput } from '../config.js';
import type { Message } from '../messages.js';
import type { ReadState } from '../raft.js';
import { createRaftNode, type RaftNode, type Ready, type Status } from '../raw-node.js';
import { assert, type ConfChange, EntryType, type NodeId, type Random, type Snapshot } from '../types.js';
import { MemoryStorage } from './memory-storage.js';
import { createSeededRandom } from './random.js';

export interface ClusterOptions {
  readonly voters: readonly NodeId[];
  readonly learners?: readonly NodeId[];
  /** Config for every node (id and random are set per node). */
  readonly config?: Partial<Omit<RaftConfigInput, 'id' | 'random'>>;
  /** The election-timeout randomness of each node; seeded by id when absent. */
  readonly random?: (id: NodeId) => Random;
  /** Each founding node's storage; the bootstrap snapshot of `voters`/`learners` when absent. */
  readonly storage?: (id: NodeId) => MemoryStorage;
}

export interface ClusterNode {
  readonly id: NodeId;
  readonly storage: MemoryStorage;
  raft: RaftNode;
  /** The toy state machine: commands (Normal entries' data as text) in apply order. */
  commands: string[];
  readStates: ReadState[];
  droppedReads: number[];
  restoredSnapshots: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function bytes(text: string): Uint8Array {
  return encoder.encode(text);
}

export function text(data: Uint8Array): string {
  return decoder.decode(data);
}

export class Cluster {
  readonly nodes = new Map<NodeId, ClusterNode>();
  /** Messages sent and not yet delivered, in send order. */
  queue: Message[] = [];
  /** Return false to drop a message at delivery. */
  filter: ((m: Message) => boolean) | undefined;
  private readonly cut = new Set<string>();
  private readonly crashed = new Set<NodeId>();

  constructor(private readonly options: ClusterOptions) {
    for (const id of [...options.voters, ...(options.learners ?? [])]) {
      const storage =
        options.storage?.(id) ??
        MemoryStorage.bootstrap({ voters: options.voters, learners: options.learners ?? [] });
      this.start(id, storage);
    }
  }

  /** Adds a node with empty storage (a node joining through a membership change). */
  addNode(id: NodeId): ClusterNode {
    assert(!this.nodes.has(id), `node ${id} exists`);
    return this.start(id, new MemoryStorage());
  }

  private start(id: NodeId, storage: MemoryStorage): ClusterNode {
    const random = this.options.random?.(id) ?? createSeededRandom(id);
    const raft = createRaftNode({ ...this.options.config, id, random }, storage);
    const snapshot = storage.snapshot();
    const node: ClusterNode = {
      id,
      storage,
      raft,
      commands: decodeCommands(snapshot),
      readStates: [],
      droppedReads: [],
      restoredSnapshots: 0,
    };
    this.nodes.set(id, node);
    return node;
  }

  get(id: NodeId): ClusterNode {
    const node = this.nodes.get(id);
    assert(node !== undefined, `no node ${id}`);
    return node;
  }

  status(id: NodeId): Status {
    return this.get(id).raft.status();
  }

  // ---- driving nodes ----

  /** Runs one Ready of `id` through the contract (persist, send, apply, advance); returns its messages. */
  processReady(id: NodeId): Ready | undefined {
    const node = this.get(id);
    if (this.crashed.has(id) || !node.raft.hasReady()) return undefined;
    const ready = node.raft.ready();
    if (ready.snapshot) node.storage.applySnapshot(ready.snapshot);
    node.storage.append(ready.entries);
    if (ready.hardState) node.storage.setHardState(ready.hardState);
    this.queue.push(...ready.messages);
    if (ready.snapshot) {
      node.commands = decodeCommands(ready.snapshot);
      node.restoredSnapshots++;
    }
    for (const e of ready.committedEntries) {
      if (e.type === EntryType.Normal) node.commands.push(text(e.data));
    }
    node.readStates.push(...ready.readStates);
    node.droppedReads.push(...ready.droppedReads);
    node.raft.advance(ready);
    return ready;
  }

  /** Processes every node's Ready once; returns whether any had one. */
  processAll(): boolean {
    let any = false;
    for (const id of this.ids()) if (this.processReady(id)) any = true;
    return any;
  }

  /** Delivers the messages queued now (not those their handling produces); returns how many arrived. */
  deliver(): number {
    const batch = this.queue;
    this.queue = [];
    let delivered = 0;
    for (const m of batch) {
      const arrives = this.canDeliver(m);
      if (arrives) {
        this.get(m.to).raft.step(m);
        delivered++;
      }
      // As a transport does: tell the sender whether its snapshot got through.
      if (m.type === 'InstallSnapshot' && !this.crashed.has(m.from))
        this.nodes.get(m.from)?.raft.reportSnapshot(m.to, arrives);
    }
    return delivered;
  }

  private canDeliver(m: Message): boolean {
    if (!this.nodes.has(m.to) || this.crashed.has(m.to) || this.crashed.has(m.from)) return false;
    if (this.cut.has(`${m.from}->${m.to}`)) return false;
    return this.filter?.(m) ?? true;
  }

  /** Processes Readies and delivers messages until nothing moves (bounded). */
  stabilize(maxRounds = 1000): void {
    for (let round = 0; round < maxRounds; round++) {
      const moved = this.processAll();
      if (this.queue.length === 0 && !moved) return;
      this.deliver();
    }
    assert(false, `cluster did not stabilize within ${maxRounds} rounds`);
  }

  /** Ticks `id` n times (no delivery). */
  tick(id: NodeId, n = 1): void {
    for (let i = 0; i < n; i++) this.get(id).raft.tick();
  }

  /** Ticks every live node n times, stabilizing after each tick. */
  tickAll(n = 1): void {
    for (let i = 0; i < n; i++) {
      for (const id of this.ids()) this.get(id).raft.tick();
      this.stabilize();
    }
  }

  /** `id` campaigns, then the cluster stabilizes. */
  elect(id: NodeId): void {
    this.get(id).raft.campaign();
    this.stabilize();
    assert(this.status(id).role === 'leader', `node ${id} did not win: ${this.status(id).role}`);
  }

  propose(id: NodeId, command: string): { index: number; term: number } {
    return this.get(id).raft.propose(bytes(command));
  }

  proposeConfChange(id: NodeId, change: ConfChange): { index: number; term: number } {
    return this.get(id).raft.proposeConfChange(change);
  }

  // ---- faults ----

  cutLink(a: NodeId, b: NodeId): void {
    this.cut.add(`${a}->${b}`);
    this.cut.add(`${b}->${a}`);
  }

  /** Cuts every link of `id`. */
  isolate(id: NodeId): void {
    for (const other of this.nodes.keys()) if (other !== id) this.cutLink(id, other);
  }

  /** Restores every link. */
  heal(): void {
    this.cut.clear();
  }

  /** Loses everything `id` did not persist; its queued messages are lost too. */
  crash(id: NodeId): void {
    this.crashed.add(id);
    this.queue = this.queue.filter((m) => m.from !== id && m.to !== id);
  }

  restart(id: NodeId): void {
    const old = this.get(id);
    this.crashed.delete(id);
    this.nodes.delete(id);
    this.start(id, old.storage);
  }

  /** Snapshots `id`'s state machine at its applied index and compacts its log up to `compactTo`. */
  compact(id: NodeId, compactTo?: number): Snapshot {
    const node = this.get(id);
    const applied = node.raft.status().applied;
    const data = bytes(JSON.stringify(node.commands));
    const snapshot = node.storage.createSnapshot(applied, node.raft.appliedMembership(), data);
    node.storage.compact(compactTo ?? applied);
    return snapshot;
  }

  // ---- reading state ----

  ids(): NodeId[] {
    return [...this.nodes.keys()].filter((id) => !this.crashed.has(id)).sort((a, b) => a - b);
  }

  /** The live node that leads the highest term, if any. */
  leader(): NodeId | undefined {
    let best: Status | undefined;
    for (const id of this.ids()) {
      const s = this.status(id);
      if (s.role === 'leader' && (!best || s.term > best.term)) best = s;
    }
    return best?.id;
  }

  /** The terms of the entries `id` persisted, from its first index on. */
  logTerms(id: NodeId): number[] {
    const storage = this.get(id).storage;
    const terms: number[] = [];
    for (let i = storage.firstIndex(); i <= storage.lastIndex(); i++) terms.push(storage.term(i));
    return terms;
  }

  /** Removes and returns queued messages matching `match` (to inspect or reorder them). */
  take(match: (m: Message) => boolean = () => true): Message[] {
    const taken = this.queue.filter(match);
    this.queue = this.queue.filter((m) => !match(m));
    return taken;
  }
}

function decodeCommands(snapshot: Snapshot): string[] {
  if (snapshot.data.length === 0) return [];
  return JSON.parse(text(snapshot.data)) as string[];
}
