// Leader-side bookkeeping of linearizable reads (thesis §6.4, etcd read_only.go, without its context
// collisions): each request gets a round number `seq`; heartbeats carry the latest seq and followers echo it.
// A request is confirmed once a quorum of voters echoed a seq >= its own. Pure; bounded by `capacity`.

import { committedIndex } from './quorum.js';
import { assert, type NodeId } from './types.js';

export interface ReadRequest {
  /** Who asked: the leader itself or a follower that forwarded the request. */
  readonly from: NodeId;
  readonly context: number;
  /** The leader's commit index when the request was registered: the read waits until applied >= index. */
  readonly index: number;
  readonly seq: number;
}

export class ReadIndexTracker {
  private lastSeq = 0;
  private readonly queue: ReadRequest[] = [];
  private readonly acked = new Map<NodeId, number>();

  constructor(readonly capacity: number) {}

  /** The latest round number; heartbeats carry it so answers confirm every request up to it. */
  get latestSeq(): number {
    return this.lastSeq;
  }

  get size(): number {
    return this.queue.length;
  }

  full(): boolean {
    return this.queue.length >= this.capacity;
  }

  /** Registers a request at commit index `index`; `self` acknowledges its own round at once. */
  add(from: NodeId, context: number, index: number, self: NodeId): ReadRequest {
    assert(!this.full(), `read queue full (${this.capacity})`);
    const request = { from, context, index, seq: ++this.lastSeq };
    this.queue.push(request);
    this.acked.set(self, request.seq);
    return request;
  }

  /** A voter answered a message that carried round `seq` (in the leader's current term). */
  ack(from: NodeId, seq: number): void {
    if (seq <= 0 || seq > this.lastSeq) return;
    if ((this.acked.get(from) ?? 0) < seq) this.acked.set(from, seq);
  }

  /** Removes and returns, in order, the requests a quorum of `voters` has confirmed. */
  release(voters: ReadonlySet<NodeId>): ReadRequest[] {
    if (this.queue.length === 0) return [];
    const confirmed = committedIndex([...voters].map((id) => this.acked.get(id) ?? 0));
    let n = 0;
    while (n < this.queue.length && this.queue[n]!.seq <= confirmed) n++;
    return this.queue.splice(0, n);
  }

  /** Drops every request (leadership lost) and returns them. Round numbers keep increasing. */
  reset(): ReadRequest[] {
    this.acked.clear();
    return this.queue.splice(0, this.queue.length);
  }
}
