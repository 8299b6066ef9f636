// The leader's view of one follower (etcd tracker/progress.go). Holds: match < next <= lastIndex + 1 of the
// leader (match is durable on the follower); in `replicate` the inflight window bounds optimistic sends.

import { Inflights } from './inflights.js';
import { assert } from './types.js';

/**
 * probe: one message at a time until the follower's match is known; replicate: pipelined sends up to the
 * in-flight window; snapshot: waiting for a snapshot to be installed, nothing else is sent.
 */
export type ProgressState = 'probe' | 'replicate' | 'snapshot';

export class Progress {
  match = 0;
  next: number;
  state: ProgressState = 'probe';
  /** The index of the snapshot in flight (snapshot state), else 0. */
  pendingSnapshot = 0;
  /** Heard from since the last CheckQuorum round. */
  recentActive = false;
  /** Probe state: a message is in flight; wait for an answer (or a heartbeat answer) before the next. */
  probeSent = false;
  /**
   * Replicate state: set at each heartbeat round. An answer that shows the follower behind while everything
   * was sent may then probe the log's tail once: the last appends may have been lost.
   */
  tailProbeAllowed = false;
  /** The highest commit index this follower could adopt from what was sent to it (commits are re-sent above). */
  sentCommit = 0;
  readonly inflights: Inflights;

  constructor(
    next: number,
    inflightCapacity: number,
    public isLearner: boolean,
  ) {
    assert(next >= 1, `progress next ${next} must be >= 1`);
    this.next = next;
    this.inflights = new Inflights(inflightCapacity);
  }

  becomeProbe(): void {
    if (this.state === 'snapshot') {
      this.next = Math.max(this.match + 1, this.pendingSnapshot + 1);
    } else {
      this.next = this.match + 1;
    }
    this.resetState('probe');
  }

  becomeReplicate(): void {
    this.next = this.match + 1;
    this.resetState('replicate');
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.resetState('snapshot');
    this.pendingSnapshot = snapshotIndex;
  }

  /** The follower acknowledged `index`; returns whether match advanced. */
  maybeUpdate(index: number): boolean {
    const updated = this.match < index;
    if (updated) {
      this.match = index;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, index + 1);
    return updated;
  }

  /** Bookkeeping after sending `entryCount` entries ending at `lastIndex`. */
  sentEntries(entryCount: number, lastIndex: number): void {
    if (this.state === 'replicate') {
      if (entryCount === 0) return;
      this.next = lastIndex + 1;
      this.inflights.add(lastIndex);
    } else if (this.state === 'probe') {
      this.probeSent = true;
    }
  }

  /**
   * The follower rejected an append at `rejected`; `matchHint` is the largest index that may match. Returns
   * false for a stale rejection (an older message). Holds afterwards: match < next.
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === 'replicate') {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1);
    this.probeSent = false;
    return true;
  }

  /** Whether the leader must hold back appends to this follower. */
  isPaused(): boolean {
    switch (this.state) {
      case 'probe':
        return this.probeSent;
      case 'replicate':
        return this.inflights.full();
      case 'snapshot':
        return true;
    }
  }

  private resetState(state: ProgressState): void {
    this.state = state;
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.inflights.reset();
  }
}
