// Drives the pure Raft core: ticks from a timer, persists each Ready (group commit: everything proposed while a
// sync runs goes into the next one), sends, applies committed entries to a pluggable state machine, and turns
// proposals and reads into promises. Single writer: exactly one drain loop runs at a time.

import type { RaftMessage } from '@regent/proto/raft';
import {
  type ConfChange,
  createRaftNode,
  decodeConfChange,
  type Entry,
  EntryType,
  type Message,
  type NodeId,
  NotLeaderError,
  type RaftConfigInput,
  type RaftNode,
  type Ready,
  type Snapshot,
  type Status,
} from '@regent/raft';
import type { FileStorage } from '@regent/raft-storage';
import { messageFromWire, WireDecodeError } from './codec.js';
import { SnapshotAssembler } from './snapshot-chunks.js';
import type { PeerTransport, TransportEvents } from './transport.js';

/** The replicated application. `apply` must be deterministic; its result goes back to the proposer. */
export interface StateMachine {
  /** Applies a committed NORMAL entry. */
  apply(entry: Entry): unknown;
  /** Serialises the state as of the last applied entry. */
  snapshot(): Uint8Array;
  /**
   * Optional: captures the state as of the last applied entry when called and encodes it over several turns of
   * the event loop while entries keep being applied, so that a large state does not stall the node (its Raft
   * ticks and heartbeats) while it snapshots. The runtime's own snapshots use it when present.
   */
  snapshotInBackground?(): Promise<Uint8Array>;
  /** Replaces the state with a snapshot's. */
  restore(data: Uint8Array, index: number): void;
}

/** The proposal's entry was overwritten or its leader stepped down before it committed: the outcome is unknown. */
export class ProposalOutcomeUnknownError extends Error {
  override readonly name = 'ProposalOutcomeUnknownError';
}

/** A read could not be confirmed (leadership changed); retry on the leader. */
export class ReadDroppedError extends Error {
  override readonly name = 'ReadDroppedError';
}

export class RuntimeStoppedError extends Error {
  override readonly name = 'RuntimeStoppedError';
}

export interface RuntimeHooks {
  onLeaderChange?(leader: NodeId, term: number, isLeader: boolean): void;
  /** After each batch of applied entries (or a restored snapshot). */
  onApplied?(appliedIndex: number): void;
  onSyncMs?(ms: number): void;
  onSnapshot?(index: number, bytes: number): void;
  /** A committed ConfChange was applied (membership and addresses already updated). */
  onConfChange?(change: ConfChange, index: number): void;
  onError?(error: unknown, context: string): void;
}

export interface RuntimeOptions {
  readonly raft: RaftConfigInput;
  readonly storage: FileStorage;
  readonly stateMachine: StateMachine;
  readonly createTransport: (events: TransportEvents) => PeerTransport;
  /** Wall-clock length of one tick. */
  readonly tickMs: number;
  /** Take a snapshot after this many applied entries since the last one. */
  readonly snapshotEveryEntries?: number;
  /** Entries kept in the log below a snapshot so slightly lagging followers avoid an InstallSnapshot. */
  readonly snapshotKeepEntries?: number;
  readonly snapshotBytesMax?: number;
  /**
   * Peer addresses used while this node knows no membership: a node joining an existing cluster must answer the
   * leader before the leader's snapshot tells it the membership (and with it the addresses).
   */
  readonly seedAddresses?: ReadonlyMap<NodeId, string>;
  readonly hooks?: RuntimeHooks;
}

interface PendingProposal {
  readonly term: number;
  readonly resolve: (result: unknown) => void;
  readonly reject: (error: Error) => void;
}

interface PendingRead {
  readonly resolve: (index: number) => void;
  readonly reject: (error: Error) => void;
}

export class RaftRuntime {
  readonly node: RaftNode;
  readonly #options: RuntimeOptions;
  readonly #transport: PeerTransport;
  readonly #assembler: SnapshotAssembler;
  readonly #proposals = new Map<number, PendingProposal>();
  readonly #reads = new Map<number, PendingRead>();
  readonly #readWaiters: { index: number; context: number }[] = [];
  #nextReadContext = 1;
  #timer: NodeJS.Timeout | undefined;
  #draining = false;
  #again = false;
  #stopped = false;
  #failed: Error | undefined;
  #applied = 0;
  #snapshotIndex: number;
  #snapshotting = false;
  #leader = 0;
  #term = 0;
  #dialed = new Map<NodeId, string>();
  readonly #removedPeers = new Map<NodeId, string>();

  constructor(options: RuntimeOptions) {
    this.#options = options;
    this.node = createRaftNode(options.raft, options.storage);
    const snap = options.storage.snapshot();
    this.#snapshotIndex = snap.metadata.index;
    if (snap.metadata.index > 0) options.stateMachine.restore(snap.data, snap.metadata.index);
    this.#applied = snap.metadata.index;
    this.#assembler = new SnapshotAssembler(options.snapshotBytesMax ?? 1024 * 1024 * 1024);
    this.#transport = options.createTransport({
      onUnreachable: (peer) => this.#poke(() => this.node.reportUnreachable(peer)),
      onSnapshotSent: (peer, ok) => this.#poke(() => this.node.reportSnapshot(peer, ok)),
    });
    this.#updatePeers();
  }

  /**
   * The transport's address book follows the membership in force (the seed addresses while there is none), plus
   * the most recently removed members (bounded), so the last messages to a removed node still arrive.
   */
  #updatePeers(): void {
    const membership = this.node.membership();
    const known = membership.confState.voters.length > 0 || membership.confState.learners.length > 0;
    const addresses = known ? membership.addresses : (this.#options.seedAddresses ?? membership.addresses);
    for (const id of addresses.keys()) this.#removedPeers.delete(id);
    for (const [id, address] of this.#dialed) {
      if (!addresses.has(id)) this.#removedPeers.set(id, address);
    }
    while (this.#removedPeers.size > 8) this.#removedPeers.delete(this.#removedPeers.keys().next().value!);
    this.#dialed = new Map([...this.#removedPeers, ...addresses]);
    this.#transport.setPeers(this.#dialed);
  }

  start(): void {
    this.#timer = setInterval(() => this.#poke(() => this.node.tick()), this.#options.tickMs);
    this.#schedule();
  }

  /** Stops ticking and sending; fails everything pending. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    clearInterval(this.#timer);
    this.#failAll(new RuntimeStoppedError('node stopped'));
    await this.#transport.close();
  }

  get appliedIndex(): number {
    return this.#applied;
  }

  get snapshotIndex(): number {
    return this.#snapshotIndex;
  }

  get leaderId(): NodeId {
    return this.#leader;
  }

  get isLeader(): boolean {
    return this.#leader === this.node.id && this.node.basicStatus().role === 'leader';
  }

  status(): Status {
    return this.node.status();
  }

  /** The membership addresses (node id → address) as of the applied index. */
  addresses(): ReadonlyMap<NodeId, string> {
    return this.node.membership().addresses;
  }

  /** Feeds one wire message from a peer. Throws WireDecodeError / InvalidMessageError on bad input. */
  receive(wire: RaftMessage): void {
    if (this.#stopped) return;
    const message =
      wire.body.case === 'installSnapshot' ? this.#assembler.accept(wire) : messageFromWire(wire);
    if (message !== undefined) this.receiveMessage(message);
  }

  /** Feeds one message from a peer already decoded (wire-decode.ts). Throws as receive() does on bad input. */
  receiveMessage(message: Message): void {
    if (this.#stopped) return;
    if (message.to !== this.node.id)
      throw new WireDecodeError(`message for node ${message.to}, I am ${this.node.id}`);
    this.node.step(message);
    this.#schedule();
  }

  /**
   * Proposes a command. Throws at once (NotLeaderError, OverloadedError, ...) when the core refuses it; otherwise
   * returns where it was appended and a promise of the state machine's result once applied here.
   */
  propose(data: Uint8Array): { index: number; term: number; applied: Promise<unknown> } {
    this.#checkRunning();
    const proposal = this.node.propose(data);
    this.#schedule();
    const applied = new Promise((resolve, reject) => {
      this.#proposals.set(proposal.index, { term: proposal.term, resolve, reject });
    });
    return { index: proposal.index, term: proposal.term, applied };
  }

  /** Proposes a membership change; resolves once applied. */
  proposeConfChange(change: ConfChange): Promise<void> {
    this.#checkRunning();
    const proposal = this.node.proposeConfChange(change);
    this.#schedule();
    return new Promise((resolve, reject) => {
      this.#proposals.set(proposal.index, { term: proposal.term, resolve: () => resolve(), reject });
    });
  }

  /** Linearizable read barrier (ReadIndex): resolves with an index once the state machine has applied it. */
  readBarrier(): Promise<number> {
    this.#checkRunning();
    const context = this.#nextReadContext++;
    this.node.readIndex(context);
    this.#schedule();
    return new Promise((resolve, reject) => {
      this.#reads.set(context, { resolve, reject });
    });
  }

  transferLeadership(target: NodeId): void {
    this.#checkRunning();
    this.node.transferLeadership(target);
    this.#schedule();
  }

  campaign(): void {
    this.node.campaign();
    this.#schedule();
  }

  /** Takes a snapshot now (if anything was applied since the last one). Resolves with its index. */
  async snapshotNow(): Promise<number> {
    await this.#takeSnapshot(true);
    return this.#snapshotIndex;
  }

  #checkRunning(): void {
    if (this.#failed) throw this.#failed;
    if (this.#stopped) throw new RuntimeStoppedError('node stopped');
  }

  #poke(fn: () => void): void {
    if (this.#stopped) return;
    fn();
    this.#schedule();
  }

  #schedule(): void {
    if (this.#stopped || this.#failed) return;
    if (this.#draining) {
      this.#again = true;
      return;
    }
    if (!this.node.hasReady()) return;
    this.#draining = true;
    setImmediate(() => void this.#drain());
  }

  async #drain(): Promise<void> {
    try {
      do {
        this.#again = false;
        while (!this.#stopped && this.node.hasReady()) {
          const rd = this.node.ready();
          // A membership change is in force once appended (thesis §4.1): dial new members before sending.
          if (rd.membership) this.#updatePeers();
          // A leader's appends leave before its own fsync, so its disk write overlaps the followers' (§10.2.1).
          if (rd.sendBeforePersist) this.#transport.send(rd.messages);
          await this.#persist(rd);
          if (this.#stopped) return;
          if (!rd.sendBeforePersist) this.#transport.send(rd.messages);
          this.#apply(rd);
          this.node.advance(rd);
          this.#afterAdvance(rd);
        }
      } while (this.#again && !this.#stopped);
    } catch (error) {
      // A storage failure is fatal for this node: stop rather than continue with an unknown durable state.
      this.#failed = error instanceof Error ? error : new Error(String(error));
      this.#options.hooks?.onError?.(error, 'drain');
      this.#failAll(this.#failed);
      clearInterval(this.#timer);
    } finally {
      this.#draining = false;
    }
    if (this.#again) this.#schedule();
  }

  async #persist(rd: Ready): Promise<void> {
    const storage = this.#options.storage;
    if (rd.snapshot) await storage.applySnapshot(rd.snapshot);
    if (rd.entries.length > 0) storage.append(rd.entries);
    if (rd.hardState) storage.setHardState(rd.hardState);
    // A commit-only hard state change needs no fsync (Ready contract): a lost commit index is learned again from
    // the leader, and the next sync makes it durable anyway. This saves one fdatasync per commit.
    if (rd.mustSync) {
      const started = performance.now();
      await storage.sync();
      this.#options.hooks?.onSyncMs?.(performance.now() - started);
    }
  }

  #apply(rd: Ready): void {
    if (rd.snapshot) this.#restore(rd.snapshot);
    for (const entry of rd.committedEntries) this.#applyEntry(entry);
    if (rd.committedEntries.length > 0 || rd.snapshot) this.#options.hooks?.onApplied?.(this.#applied);
    for (const rs of rd.readStates) this.#readWaiters.push(rs);
    for (const context of rd.droppedReads) {
      const read = this.#reads.get(context);
      this.#reads.delete(context);
      read?.reject(new ReadDroppedError('read not confirmed: leadership changed'));
    }
    this.#serveReads();
  }

  #restore(snapshot: Snapshot): void {
    this.#options.stateMachine.restore(snapshot.data, snapshot.metadata.index);
    this.#applied = snapshot.metadata.index;
    this.#snapshotIndex = snapshot.metadata.index;
    for (const [index, p] of this.#proposals) {
      if (index <= snapshot.metadata.index) {
        this.#proposals.delete(index);
        p.reject(new ProposalOutcomeUnknownError(`entry ${index} was replaced by a snapshot`));
      }
    }
  }

  #applyEntry(entry: Entry): void {
    let result: unknown;
    if (entry.type === EntryType.Normal) result = this.#options.stateMachine.apply(entry);
    this.#applied = entry.index;
    const pending = this.#proposals.get(entry.index);
    if (pending !== undefined) {
      this.#proposals.delete(entry.index);
      if (pending.term === entry.term) pending.resolve(result);
      else pending.reject(new ProposalOutcomeUnknownError(`entry ${entry.index} was overwritten`));
    }
  }

  #afterAdvance(rd: Ready): void {
    // A snapshot from the leader replaces the membership (for a joining node: it is the first one it knows).
    if (rd.snapshot) this.#updatePeers();
    for (const entry of rd.committedEntries) {
      if (entry.type === EntryType.ConfChange) {
        this.#updatePeers();
        this.#options.hooks?.onConfChange?.(decodeConfChange(entry.data), entry.index);
      }
    }
    if (rd.softState) this.#onSoftState(rd.softState.leader);
    const hs = rd.hardState;
    if (hs && hs.term !== this.#term) {
      this.#term = hs.term;
      if (rd.softState === undefined) this.#onSoftState(this.node.basicStatus().leader);
    }
    void this.#takeSnapshot(false);
  }

  #onSoftState(leader: NodeId): void {
    const wasLeader = this.#leader === this.node.id;
    const status = this.node.basicStatus();
    this.#leader = leader;
    this.#term = status.term;
    const isLeader = leader === this.node.id && status.role === 'leader';
    if (wasLeader && !isLeader) {
      // Entries may still commit under the next leader; the client must retry with its session to learn the outcome.
      for (const [index, p] of this.#proposals) {
        this.#proposals.delete(index);
        p.reject(new ProposalOutcomeUnknownError(`lost leadership before entry ${index} applied`));
      }
    }
    this.#options.hooks?.onLeaderChange?.(leader, status.term, isLeader);
  }

  #serveReads(): void {
    let kept = 0;
    for (const w of this.#readWaiters) {
      if (w.index <= this.#applied) {
        const read = this.#reads.get(w.context);
        this.#reads.delete(w.context);
        read?.resolve(w.index);
      } else {
        this.#readWaiters[kept++] = w;
      }
    }
    this.#readWaiters.length = kept;
  }

  async #takeSnapshot(force: boolean): Promise<void> {
    const every = this.#options.snapshotEveryEntries ?? 10_000;
    if (this.#snapshotting || this.#applied <= this.#snapshotIndex) return;
    if (!force && this.#applied - this.#snapshotIndex < every) return;
    this.#snapshotting = true;
    let saved = false;
    try {
      const index = this.#applied;
      const machine = this.#options.stateMachine;
      // Captured now, as of `index`; a background encoding finishes later.
      const encoding = machine.snapshotInBackground?.() ?? machine.snapshot();
      // The membership as of the snapshot's index: a later, uncommitted change must not leak into it.
      const membership = this.node.appliedMembership();
      const term = this.#options.storage.term(index);
      const data = await encoding;
      // A snapshot from the leader may have replaced the state meanwhile; this one is older then.
      if (index <= this.#snapshotIndex) return;
      await this.#options.storage.saveSnapshot({
        metadata: { index, term, confState: membership.confState, addresses: membership.addresses },
        data,
      });
      this.#snapshotIndex = index;
      const keep = this.#options.snapshotKeepEntries ?? 1000;
      const compactTo = Math.max(0, index - keep);
      if (compactTo > this.#options.storage.firstIndex() - 1) await this.#options.storage.compact(compactTo);
      this.#options.hooks?.onSnapshot?.(index, data.byteLength);
      saved = true;
    } catch (error) {
      this.#options.hooks?.onError?.(error, 'snapshot');
    } finally {
      this.#snapshotting = false;
    }
    // Entries applied while this one was encoded may have crossed the threshold again; with no further writes
    // nothing else would look (after a failure, the next applied entry retries instead of a loop here).
    if (saved && !this.#stopped && !this.#failed) await this.#takeSnapshot(false);
  }

  #failAll(error: Error): void {
    for (const p of this.#proposals.values()) p.reject(error);
    this.#proposals.clear();
    for (const r of this.#reads.values()) r.reject(error);
    this.#reads.clear();
    this.#readWaiters.length = 0;
  }
}

export { NotLeaderError };
