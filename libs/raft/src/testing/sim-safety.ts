// The simulator's safety checks and the bookkeeping they need: Election Safety, Log Matching, Leader
// Completeness, State Machine Safety, linearizable reads and no acknowledged proposal lost.

import type { Entry, NodeId } from '../types.js';
import { describeNodes, entryKey, type SimNode } from './sim-node.js';
import type { SimTrace } from './sim-trace.js';

export class SafetyChecks {
  private readonly leaderOfTerm = new Map<number, NodeId>();
  /** (index, term) → the entry's content and the term before it: the Log Matching property, incrementally. */
  private readonly entryAt = new Map<string, { key: string; prevTerm: number }>();
  /** index → the entry applied there (State Machine Safety). */
  private readonly appliedAt = new Map<number, string>();
  private maxAppliedIndex = 0;
  private readonly acknowledged: { id: string; index: number }[] = [];
  private readonly acknowledgedIds: string[] = [];

  constructor(
    private readonly nodes: ReadonlyMap<NodeId, SimNode>,
    private readonly trace: SimTrace,
  ) {}

  /** The number of terms that had a leader. */
  get leaderTerms(): number {
    return this.leaderOfTerm.size;
  }

  get acknowledgedCount(): number {
    return this.acknowledged.length;
  }

  /** The proposals acknowledged so far, in order (a copy). */
  acknowledgedIdsNow(): string[] {
    return [...this.acknowledgedIds];
  }

  acknowledge(node: SimNode, id: string, index: number): void {
    this.acknowledged.push({ id, index });
    this.acknowledgedIds.push(id);
    this.trace.add(`${node.id} acknowledged ${id} at ${index}`);
  }

  /** Election Safety: at most one leader per term. */
  checkLeaders(): void {
    for (const node of this.nodes.values()) {
      const s = node.raft?.basicStatus();
      if (s?.role !== 'leader') continue;
      const known = this.leaderOfTerm.get(s.term);
      if (known === undefined) {
        this.leaderOfTerm.set(s.term, s.id);
        this.trace.add(`${s.id} LEADER of term ${s.term}`);
      } else this.trace.require(known === s.id, () => `two leaders in term ${s.term}: ${known} and ${s.id}`);
    }
  }

  /** Log Matching: an (index, term) pair always names the same entry after the same term. */
  checkAppended(node: SimNode, entries: readonly Entry[]): void {
    for (const e of entries) {
      if (e.index <= node.storage.firstIndex() - 1) continue;
      const prevTerm = node.storage.term(e.index - 1);
      const at = `${e.index}:${e.term}`;
      const key = entryKey(e);
      const seen = this.entryAt.get(at);
      if (!seen) this.entryAt.set(at, { key, prevTerm });
      else {
        this.trace.require(
          seen.key === key && seen.prevTerm === prevTerm,
          () =>
            `log matching: ${node.id} has ${key} after term ${prevTerm} at ${at}, other ${seen.key} after ${seen.prevTerm}`,
        );
      }
    }
  }

  /**
   * State Machine Safety: `e` is the entry after `node`'s applied index, and every node applies the same entry
   * at an index. Checked before the node's applied index moves to `e`.
   */
  checkApplied(node: SimNode, e: Entry): void {
    this.trace.require(
      e.index === node.appliedIndex + 1,
      () => `${node.id} applied ${e.index} after ${node.appliedIndex}`,
    );
    const key = entryKey(e);
    const seen = this.appliedAt.get(e.index);
    if (seen === undefined) this.appliedAt.set(e.index, key);
    else
      this.trace.require(
        seen === key,
        () => `state machine safety: ${node.id} applied ${key} at ${e.index}, other ${seen}`,
      );
    this.maxAppliedIndex = Math.max(this.maxAppliedIndex, e.index);
  }

  /** Leader Completeness: a new leader's log holds every entry applied anywhere. */
  checkLeaderCompleteness(node: SimNode): void {
    const index = this.maxAppliedIndex;
    const key = this.appliedAt.get(index);
    if (index === 0 || key === undefined || index < node.storage.firstIndex() - 1) return;
    this.trace.require(
      index <= node.storage.lastIndex(),
      () => `leader ${node.id} lacks applied index ${index}`,
    );
    const term = node.storage.term(index);
    this.trace.require(
      key.startsWith(`${term}/`),
      () => `leader ${node.id} has term ${term} at applied ${index} (${key})`,
    );
  }

  /** Linearizable read: everything acknowledged before the read started (`before`) is in the state machine. */
  checkRead(node: SimNode, context: number, before: readonly string[]): void {
    for (const id of before) {
      this.trace.require(
        node.commandSet.has(id),
        () => `stale read on ${node.id}: ${id} acknowledged before read ${context}`,
      );
    }
  }

  /** No acknowledged proposal lost: every member of `leader`'s configuration has applied each one. */
  checkAcknowledged(leader: SimNode): void {
    const { voters, learners } = leader.raft!.membership().confState;
    for (const id of [...voters, ...learners]) {
      const node = this.nodes.get(id)!;
      for (const ack of this.acknowledged) {
        this.trace.require(
          node.commandSet.has(ack.id),
          () =>
            `acknowledged ${ack.id} (index ${ack.index}) lost on node ${id}\n${describeNodes(this.nodes.values())}`,
        );
      }
    }
  }
}
