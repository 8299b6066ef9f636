// Paper tests: each checks sentences of the Raft paper (Ongaro & Ousterhout 2014) or of Ongaro's thesis (2014),
// cited by section, in the manner of etcd's raft_paper_test.go.

import { NotLeaderError, ProposalDroppedError } from './errors.js';
import type { Message, MessageOf } from './messages.js';
import { createRaftNode, type RaftNode, type Ready } from './raw-node.js';
import { bytes, Cluster, createSeededRandom, fixedRandom, MemoryStorage } from './testing/index.js';
import { type Entry, EntryType } from './types.js';

/** A founding member's storage holding entries of `terms` from index 2 (index 1 is the bootstrap snapshot). */
function storageWith(options: {
  voters: number[];
  terms?: number[];
  term?: number;
  commit?: number;
}): MemoryStorage {
  const storage = MemoryStorage.bootstrap({ voters: options.voters });
  const terms = options.terms ?? [];
  storage.append(terms.map((term, i) => entry(2 + i, term)));
  storage.setHardState({ term: options.term ?? Math.max(1, ...terms), vote: 0, commit: options.commit ?? 1 });
  return storage;
}

function entry(index: number, term: number): Entry {
  return { index, term, type: EntryType.Normal, data: bytes(`e${index}`) };
}

interface Solo {
  raft: RaftNode;
  storage: MemoryStorage;
}

function solo(
  id: number,
  storage: MemoryStorage,
  config: { preVote?: boolean; checkQuorum?: boolean } = {},
): Solo {
  return { raft: createRaftNode({ id, random: fixedRandom(), preVote: false, ...config }, storage), storage };
}

/** Persists and advances one Ready of a lone node (the runtime's job), returning it. */
function drain({ raft, storage }: Solo): Ready {
  const ready = raft.ready();
  if (ready.snapshot) storage.applySnapshot(ready.snapshot);
  storage.append(ready.entries);
  if (ready.hardState) storage.setHardState(ready.hardState);
  raft.advance(ready);
  return ready;
}

function ofType<T extends Message['type']>(messages: readonly Message[], type: T): MessageOf<T>[] {
  return messages.filter((m): m is MessageOf<T> => m.type === type);
}

function voteRequest(
  from: number,
  to: number,
  term: number,
  last: [number, number],
  preVote = false,
): Message {
  return {
    type: 'VoteRequest',
    from,
    to,
    term,
    preVote,
    lastLogIndex: last[0],
    lastLogTerm: last[1],
    transfer: false,
  };
}

function voteResponse(from: number, to: number, term: number, granted: boolean, preVote = false): Message {
  return { type: 'VoteResponse', from, to, term, preVote, granted };
}

function appendResponse(from: number, to: number, term: number, index: number): Message {
  return {
    type: 'AppendEntriesResponse',
    from,
    to,
    term,
    reject: false,
    index,
    rejectHint: 0,
    rejectHintTerm: 0,
    readContext: 0,
  };
}

/** Campaigns `id` and runs the cluster one round at a time until it leads (its no-op not yet committed). */
function untilLeader(c: Cluster, id: number): void {
  c.get(id).raft.campaign();
  for (let round = 0; round < 10 && c.status(id).role !== 'leader'; round++) {
    c.processAll();
    c.deliver();
  }
  expect(c.status(id).role).toBe('leader');
}

/** A node elected leader of term 2 in a 3-node cluster by votes stepped in by hand. */
function leaderOfThree(terms: number[] = []): Solo {
  const n = solo(1, storageWith({ voters: [1, 2, 3], terms }));
  n.raft.campaign();
  drain(n);
  n.raft.step(voteResponse(2, 1, n.raft.status().term, true));
  drain(n);
  return n;
}

describe('§5.1 terms', () => {
  test('a server that sees a higher term becomes a follower in that term', () => {
    const n = leaderOfThree();
    expect(n.raft.status().role).toBe('leader');
    n.raft.step(appendResponse(3, 1, 9, 0));
    expect(n.raft.status()).toMatchObject({ role: 'follower', term: 9, leader: 0 });
  });

  test('a request with a stale term is rejected (the stale leader learns the newer term)', () => {
    const n = solo(1, storageWith({ voters: [1, 2, 3], term: 5 }));
    n.raft.step({
      type: 'AppendEntries',
      from: 2,
      to: 1,
      term: 4,
      prevLogIndex: 1,
      prevLogTerm: 1,
      entries: [],
      leaderCommit: 1,
      readContext: 0,
    });
    const [answer] = ofType(drain(n).messages, 'AppendEntriesResponse');
    expect(answer).toMatchObject({ to: 2, term: 5, reject: true });
    expect(n.raft.status()).toMatchObject({ term: 5, leader: 0 });
  });
});

describe('§5.2 leader election', () => {
  test('a follower that hears nothing for an election timeout becomes a candidate and asks for votes', () => {
    const n = solo(1, storageWith({ voters: [1, 2, 3] }));
    for (let i = 0; i < 9; i++) n.raft.tick();
    expect(n.raft.status().role).toBe('follower');
    n.raft.tick();
    const ready = drain(n);
    // It increments its term, votes for itself, and the vote is persisted in the Ready that sends the requests.
    expect(ready.softState).toEqual({ leader: 0, role: 'candidate' });
    expect(ready.hardState).toEqual({ term: 2, vote: 1, commit: 1 });
    expect(ready.mustSync).toBe(true);
    expect(
      ofType(ready.messages, 'VoteRequest').map((m) => [m.to, m.term, m.lastLogIndex, m.lastLogTerm]),
    ).toEqual([
      [2, 2, 1, 1],
      [3, 2, 1, 1],
    ]);
  });

  test.each([
    { size: 1, granted: [], rejected: [], role: 'leader' },
    { size: 3, granted: [2], rejected: [], role: 'leader' },
    { size: 3, granted: [], rejected: [2], role: 'candidate' },
    { size: 3, granted: [], rejected: [2, 3], role: 'follower' },
    { size: 5, granted: [2], rejected: [3], role: 'candidate' },
    { size: 5, granted: [2, 3], rejected: [], role: 'leader' },
    { size: 5, granted: [2], rejected: [3, 4, 5], role: 'follower' },
  ])('a candidate of $size nodes with grants $granted and rejections $rejected is a $role', (c) => {
    const voters = Array.from({ length: c.size }, (_, i) => i + 1);
    const n = solo(1, storageWith({ voters }));
    n.raft.campaign();
    drain(n);
    for (const id of c.granted) n.raft.step(voteResponse(id, 1, 2, true));
    for (const id of c.rejected) n.raft.step(voteResponse(id, 1, 2, false));
    expect(n.raft.status().role).toBe(c.role);
  });

  test('each server votes for at most one candidate in a term, first come first served', () => {
    const n = solo(1, storageWith({ voters: [1, 2, 3] }));
    n.raft.step(voteRequest(2, 1, 2, [1, 1]));
    n.raft.step(voteRequest(3, 1, 2, [1, 1]));
    n.raft.step(voteRequest(2, 1, 2, [1, 1]));
    const ready = drain(n);
    expect(ready.hardState).toEqual({ term: 2, vote: 2, commit: 1 });
    expect(ofType(ready.messages, 'VoteResponse').map((m) => [m.to, m.granted])).toEqual([
      [2, true],
      [3, false],
      [2, true],
    ]);
  });

  test('a candidate that hears from a leader of its term becomes its follower', () => {
    const n = solo(1, storageWith({ voters: [1, 2, 3] }));
    n.raft.campaign();
    n.raft.step({
      type: 'AppendEntries',
      from: 3,
      to: 1,
      term: 2,
      prevLogIndex: 1,
      prevLogTerm: 1,
      entries: [],
      leaderCommit: 1,
      readContext: 0,
    });
    expect(n.raft.status()).toMatchObject({ role: 'follower', term: 2, leader: 3 });
  });

  test('a candidate that neither wins nor loses starts a new election after another timeout', () => {
    const n = solo(1, storageWith({ voters: [1, 2, 3] }));
    n.raft.campaign();
    expect(n.raft.status().term).toBe(2);
    for (let i = 0; i < 10; i++) n.raft.tick();
    expect(n.raft.status()).toMatchObject({ role: 'candidate', term: 3 });
  });

  test('election timeouts are random in [electionTimeout, 2 × electionTimeout)', () => {
    const timeouts = new Set<number>();
    for (let seed = 1; seed <= 50; seed++) {
      const raft = createRaftNode(
        { id: 1, random: createSeededRandom(seed), preVote: false },
        storageWith({ voters: [1, 2, 3] }),
      );
      let ticks = 0;
      while (raft.status().role === 'follower' && ticks < 100) {
        raft.tick();
        ticks++;
      }
      timeouts.add(ticks);
    }
    expect(Math.min(...timeouts)).toBeGreaterThanOrEqual(10);
    expect(Math.max(...timeouts)).toBeLessThan(20);
    expect(timeouts.size).toBeGreaterThan(3);
  });

  test('the leader sends heartbeats (empty AppendEntries) every heartbeat timeout', () => {
    const n = leaderOfThree();
    drain(n);
    n.raft.tick();
    const heartbeats = ofType(drain(n).messages, 'AppendEntries');
    expect(heartbeats.map((m) => [m.to, m.entries.length])).toEqual([
      [2, 0],
      [3, 0],
    ]);
  });

  test('a new leader appends a no-op of its term and reports when that barrier commits', () => {
    const c = new Cluster({ voters: [1, 2, 3] });
    untilLeader(c, 1);
    expect(c.status(1)).toMatchObject({ leaderBarrierCommitted: false, lastIndex: 2 });
    expect(c.get(1).storage.snapshot().metadata.index).toBe(1);
    c.stabilize();
    expect(c.status(1)).toMatchObject({ leaderBarrierCommitted: true, commit: 2 });
  });
});

describe('§5.3 log replication', () => {
  test('the leader commits an entry once a majority persisted it; followers learn the commit index', () => {
    const c = new Cluster({ voters: [1, 2, 3] });
    c.elect(1);
    c.isolate(3);
    const before = c.status(3).commit;
    const { index } = c.propose(1, 'x');
    c.stabilize();
    expect([c.status(1).commit, c.status(2).commit, c.status(3).commit]).toEqual([index, index, before]);
    expect(c.get(2).commands).toEqual(['x']);
    c.heal();
    c.tickAll(1);
    expect(c.get(3).commands).toEqual(['x']);
  });

  test('entries are batched up to maxSizePerMessageBytes and pipelined within the in-flight window', () => {
    const c = new Cluster({
      voters: [1, 2],
      config: { maxSizePerMessageBytes: 100, maxInflightMessages: 2 },
    });
    c.elect(1);
    for (let i = 0; i < 10; i++) c.propose(1, `command-${i}`.padEnd(30, '.'));
    const appends = ofType(c.processReady(1)!.messages, 'AppendEntries');
    // 46 bytes per entry (30 + 16 overhead): two per message within 100 bytes; two messages in flight at most.
    expect(appends.map((m) => m.entries.length)).toEqual([2, 2]);
    c.stabilize();
    expect(c.get(2).commands).toHaveLength(10);
  });

  // Raft Figure 7: the leader of term 8 and followers (a)–(f) with missing, extra and conflicting entries
  // (shifted by one index: index 1 is the bootstrap snapshot here).
  const leaderLog = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6];
  test.each([
    { name: '(a) missing one', follower: [1, 1, 1, 4, 4, 5, 5, 6, 6] },
    { name: '(b) missing many', follower: [1, 1, 1, 4] },
    { name: '(c) one extra uncommitted', follower: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6] },
    { name: '(d) extra entries of term 7', follower: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7] },
    { name: '(e) conflicting term 4 suffix', follower: [1, 1, 1, 4, 4, 4, 4] },
    { name: '(f) conflicting terms 2 and 3', follower: [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3] },
  ])('a follower with $name is made to match the leader (§5.3, Figure 7)', ({ follower }) => {
    const c = new Cluster({
      voters: [1, 2, 3],
      config: { preVote: false },
      storage: (id) => storageWith({ voters: [1, 2, 3], terms: id === 2 ? follower : leaderLog, term: 7 }),
    });
    // Node 2 sees the leader's messages only; node 3 gives the leader its majority.
    c.filter = (m) => !(m.type === 'VoteRequest' && m.to === 2);
    c.elect(1);
    c.filter = undefined;
    c.stabilize();
    const want = [1, ...leaderLog, c.status(1).term];
    expect(c.logTerms(2)).toEqual(want.slice(c.get(2).storage.firstIndex() - 1));
    expect(c.status(2).commit).toBe(c.status(1).commit);
  });

  test('fast backtracking: a divergent follower is repaired in one probe per conflicting term, not per entry', () => {
    const follower = [1, 1, 1, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3];
    const c = new Cluster({
      voters: [1, 2, 3],
      config: { preVote: false },
      storage: (id) => storageWith({ voters: [1, 2, 3], terms: id === 2 ? follower : leaderLog, term: 7 }),
    });
    let rejections = 0;
    c.filter = (m) => {
      if (m.type === 'AppendEntriesResponse' && m.from === 2 && m.reject) rejections++;
      return !(m.type === 'VoteRequest' && m.to === 2);
    };
    c.elect(1);
    c.stabilize();
    expect(c.logTerms(2)).toEqual([...leaderLog, c.status(1).term]);
    expect(rejections).toBeLessThanOrEqual(3);
  });
});

describe('§5.4.1 election restriction', () => {
  // The voter's log: terms [1 (bootstrap), 2, 2, 3] at indexes 1..4.
  test.each([
    { last: [4, 3], granted: true, why: 'same last entry' },
    { last: [5, 3], granted: true, why: 'longer, same last term' },
    { last: [2, 4], granted: true, why: 'shorter but higher last term' },
    { last: [3, 3], granted: false, why: 'shorter with the same last term' },
    { last: [9, 2], granted: false, why: 'longer but lower last term' },
  ])('a candidate whose log ends at $last is granted: $granted ($why)', ({ last, granted }) => {
    const n = solo(1, storageWith({ voters: [1, 2, 3], terms: [2, 2, 3] }));
    n.raft.step(voteRequest(2, 1, 5, last as [number, number]));
    const [answer] = ofType(drain(n).messages, 'VoteResponse');
    expect(answer?.granted).toBe(granted);
  });
});

describe('§5.4.2 committing entries from previous terms', () => {
  test('a leader does not commit an earlier term entry by counting replicas, only with one of its own term', () => {
    // Figure 8: the leader of term 3 holds an entry of term 2 at index 2 and appends its no-op at index 3.
    const n = solo(1, storageWith({ voters: [1, 2, 3], terms: [2] }));
    n.raft.campaign();
    drain(n);
    n.raft.step(voteResponse(2, 1, 3, true));
    drain(n);
    expect(n.raft.status()).toMatchObject({ role: 'leader', term: 3, lastIndex: 3, commit: 1 });
    n.raft.step(appendResponse(2, 1, 3, 2));
    expect(n.raft.status().commit).toBe(1);
    n.raft.step(appendResponse(2, 1, 3, 3));
    expect(n.raft.status().commit).toBe(3);
  });

  test("the leader's own entries count only once it persisted them", () => {
    const n = leaderOfThree();
    const { index } = n.raft.propose(bytes('x'));
    n.raft.step(appendResponse(2, 1, 2, index));
    expect(n.raft.status().commit).toBeLessThan(index);
    // Node 2 plus the leader form a majority as soon as the Ready holding the entry is persisted.
    drain(n);
    expect(n.raft.status().commit).toBe(index);
  });
});

describe('thesis §9.6 PreVote', () => {
  test('a pre-candidate keeps its term and vote and asks with the term it would campaign in', () => {
    const n = solo(1, storageWith({ voters: [1, 2, 3], term: 4 }), { preVote: true });
    n.raft.campaign();
    const ready = drain(n);
    expect(ready.hardState).toBeUndefined();
    expect(ready.softState?.role).toBe('pre-candidate');
    expect(ofType(ready.messages, 'VoteRequest').map((m) => [m.to, m.term, m.preVote])).toEqual([
      [2, 5, true],
      [3, 5, true],
    ]);
    n.raft.step(voteResponse(2, 1, 5, true, true));
    expect(n.raft.status()).toMatchObject({ role: 'candidate', term: 5, vote: 1 });
  });

  test('a voter grants a PreVote without changing its term or vote', () => {
    const n = solo(2, storageWith({ voters: [1, 2, 3], term: 4 }), { preVote: true });
    n.raft.step(voteRequest(1, 2, 5, [1, 1], true));
    const ready = drain(n);
    expect(ready.hardState).toBeUndefined();
    expect(ofType(ready.messages, 'VoteResponse')[0]).toMatchObject({
      term: 5,
      preVote: true,
      granted: true,
    });
    expect(n.raft.status()).toMatchObject({ term: 4, vote: 0 });
  });

  test('a PreVote from a node whose log is behind is refused and its pre-election is lost', () => {
    const n = solo(1, storageWith({ voters: [1, 2, 3], terms: [1], term: 1 }), { preVote: true });
    n.raft.campaign();
    n.raft.step(voteResponse(2, 1, 1, false, true));
    n.raft.step(voteResponse(3, 1, 1, false, true));
    expect(n.raft.status()).toMatchObject({ role: 'follower', term: 1 });
  });

  test("a partitioned node's term does not grow while it cannot win", () => {
    const c = new Cluster({ voters: [1, 2, 3], config: { preVote: true } });
    c.elect(1);
    const term = c.status(1).term;
    c.isolate(3);
    c.tickAll(100);
    expect(c.status(3)).toMatchObject({ term, role: 'pre-candidate' });
  });
});

describe('CheckQuorum and leader stickiness (thesis §6.2, §9.6)', () => {
  test('a leader that does not hear from a quorum within an election timeout steps down', () => {
    const n = leaderOfThree();
    n.raft.step(appendResponse(2, 1, 2, 0));
    for (let i = 0; i < 10; i++) n.raft.tick();
    expect(n.raft.status().role).toBe('leader');
    for (let i = 0; i < 10; i++) n.raft.tick();
    expect(n.raft.status()).toMatchObject({ role: 'follower', leader: 0 });
  });

  test('a follower that heard from its leader within the election timeout ignores a vote request', () => {
    const c = new Cluster({ voters: [1, 2, 3], config: { preVote: false } });
    c.elect(1);
    const term = c.status(2).term;
    c.get(2).raft.step(voteRequest(3, 2, term + 1, [100, term + 1]));
    expect(c.status(2)).toMatchObject({ term, leader: 1 });
    // A vote that is part of a leadership transfer is not ignored.
    c.get(2).raft.step({ ...voteRequest(3, 2, term + 1, [100, term + 1]), transfer: true } as Message);
    expect(c.status(2)).toMatchObject({ term: term + 1, vote: 3 });
  });
});

describe('thesis §3.10 leadership transfer', () => {
  test('to an up-to-date follower: TimeoutNow at once, and the target wins the next term', () => {
    const c = new Cluster({ voters: [1, 2, 3] });
    c.elect(1);
    const term = c.status(1).term;
    c.get(1).raft.transferLeadership(2);
    c.processReady(1);
    expect(c.queue.filter((m) => m.type === 'TimeoutNow').map((m) => m.to)).toEqual([2]);
    c.stabilize();
    expect(c.status(2)).toMatchObject({ role: 'leader', term: term + 1 });
    expect(c.status(1)).toMatchObject({ role: 'follower', leader: 2 });
  });

  test('to a lagging follower: it is caught up first; proposals are refused meanwhile', () => {
    const c = new Cluster({ voters: [1, 2, 3] });
    c.elect(1);
    c.isolate(3);
    c.propose(1, 'a');
    c.stabilize();
    c.heal();
    c.get(1).raft.transferLeadership(3);
    expect(() => c.propose(1, 'b')).toThrow(ProposalDroppedError);
    c.processReady(1);
    expect(c.queue.some((m) => m.type === 'TimeoutNow')).toBe(false);
    c.stabilize();
    expect(c.status(3).role).toBe('leader');
    expect(c.get(3).commands).toEqual(['a']);
    expect(() => c.propose(1, 'c')).toThrow(NotLeaderError);
  });

  test('a transfer that does not finish within an election timeout is aborted', () => {
    const c = new Cluster({ voters: [1, 2, 3] });
    c.elect(1);
    c.isolate(3);
    c.get(1).raft.transferLeadership(3);
    expect(c.status(1).leadTransferee).toBe(3);
    c.tickAll(10);
    expect(c.status(1)).toMatchObject({ role: 'leader', leadTransferee: 0 });
    expect(c.propose(1, 'after').index).toBeGreaterThan(0);
  });
});

describe('thesis §6.4 ReadIndex', () => {
  test('the leader serves a read after its no-op committed and a quorum answered a heartbeat round', () => {
    const c = new Cluster({ voters: [1, 2, 3] });
    untilLeader(c, 1);
    c.get(1).raft.readIndex(7);
    c.processAll();
    expect(c.get(1).readStates).toEqual([]);
    c.stabilize();
    expect(c.get(1).readStates).toEqual([{ context: 7, index: c.status(1).commit }]);
  });

  test('a leader cut off from the quorum never confirms the read, and drops it when it steps down', () => {
    const c = new Cluster({ voters: [1, 2, 3] });
    c.elect(1);
    c.isolate(1);
    c.get(1).raft.readIndex(8);
    c.tickAll(25);
    expect(c.get(1).readStates).toEqual([]);
    expect(c.get(1).droppedReads).toEqual([8]);
    expect(c.status(1).role).toBe('follower');
  });

  test('a follower forwards the read to the leader and serves it once applied up to the read index', () => {
    const c = new Cluster({ voters: [1, 2, 3] });
    c.elect(1);
    c.propose(1, 'a');
    c.stabilize();
    c.get(2).raft.readIndex(9);
    c.stabilize();
    expect(c.get(2).readStates).toEqual([{ context: 9, index: c.status(1).commit }]);
    expect(c.get(2).commands).toEqual(['a']);
  });

  test('a follower without a known leader refuses the read', () => {
    const n = solo(2, storageWith({ voters: [1, 2, 3] }));
    expect(() => n.raft.readIndex(1)).toThrow(NotLeaderError);
  });
});
