// The RawNode API: the Ready contract, typed errors, flow-control bounds, validation at the boundary.

import {
  InvalidConfChangeError,
  InvalidMessageError,
  InvalidRequestError,
  NotLeaderError,
  OverloadedError,
} from './errors.js';
import type { Message } from './messages.js';
import { createRaftNode, type RaftNode, type Ready } from './raw-node.js';
import { bytes, Cluster, fixedRandom, MemoryStorage } from './testing/index.js';
import { AssertionError, ConfChangeType, EntryType } from './types.js';

interface Solo {
  raft: RaftNode;
  storage: MemoryStorage;
}

function single(config: Record<string, number | boolean> = {}): Solo {
  const storage = MemoryStorage.bootstrap({ voters: [1] });
  return { raft: createRaftNode({ id: 1, random: fixedRandom(), ...config }, storage), storage };
}

function drain({ raft, storage }: Solo): Ready {
  const ready = raft.ready();
  if (ready.snapshot) storage.applySnapshot(ready.snapshot);
  storage.append(ready.entries);
  if (ready.hardState) storage.setHardState(ready.hardState);
  raft.advance(ready);
  return ready;
}

/** A single-node leader with its no-op committed and applied. */
function singleLeader(config: Record<string, number | boolean> = {}): Solo {
  const n = single(config);
  n.raft.campaign();
  while (n.raft.hasReady()) drain(n);
  expect(n.raft.status()).toMatchObject({ role: 'leader', leaderBarrierCommitted: true });
  return n;
}

describe('Ready contract', () => {
  test('nothing to do, nothing ready; one Ready at a time', () => {
    const n = singleLeader();
    expect(n.raft.hasReady()).toBe(false);
    n.raft.propose(bytes('x'));
    const ready = n.raft.ready();
    expect(n.raft.hasReady()).toBe(false);
    expect(() => n.raft.ready()).toThrow(AssertionError);
    expect(() => n.raft.advance({ ...ready })).toThrow(AssertionError);
    n.raft.advance(ready);
  });

  test("a leader's own entry commits only after the Ready that persists it was advanced", () => {
    const n = singleLeader();
    const { index } = n.raft.propose(bytes('x'));
    const first = drain(n);
    expect(first.entries.map((e) => e.index)).toEqual([index]);
    expect(first.committedEntries).toEqual([]);
    const second = drain(n);
    expect(second.hardState?.commit).toBe(index);
    expect(second.mustSync).toBe(false);
    expect(second.committedEntries.map((e) => [e.index, e.type])).toEqual([[index, EntryType.Normal]]);
  });

  test('a granted vote travels in the Ready that persists it', () => {
    const storage = MemoryStorage.bootstrap({ voters: [1, 2, 3] });
    const n = { raft: createRaftNode({ id: 2, random: fixedRandom() }, storage), storage };
    n.raft.step({
      type: 'VoteRequest',
      from: 1,
      to: 2,
      term: 2,
      preVote: false,
      lastLogIndex: 1,
      lastLogTerm: 1,
      transfer: false,
    });
    const ready = drain(n);
    expect(ready.hardState).toEqual({ term: 2, vote: 1, commit: 1 });
    expect(ready.mustSync).toBe(true);
    expect(ready.messages).toEqual([
      expect.objectContaining({ type: 'VoteResponse', granted: true, term: 2 }),
    ]);
  });

  test("a follower's acknowledgement travels in the Ready that persists the entries", () => {
    const storage = MemoryStorage.bootstrap({ voters: [1, 2, 3] });
    const n = { raft: createRaftNode({ id: 2, random: fixedRandom() }, storage), storage };
    const entries = [{ index: 2, term: 2, type: EntryType.Normal, data: bytes('a') }];
    n.raft.step({
      type: 'AppendEntries',
      from: 1,
      to: 2,
      term: 2,
      prevLogIndex: 1,
      prevLogTerm: 1,
      entries,
      leaderCommit: 2,
      readContext: 0,
    });
    const ready = drain(n);
    expect(ready.entries).toEqual(entries);
    expect(ready.committedEntries).toEqual(entries);
    expect(ready.hardState).toEqual({ term: 2, vote: 0, commit: 2 });
    expect(ready.softState).toEqual({ leader: 1, role: 'follower' });
    expect(ready.messages).toEqual([
      expect.objectContaining({ type: 'AppendEntriesResponse', index: 2, reject: false }),
    ]);
  });

  test("a leader's Ready may send before persisting; votes, acknowledgements and a new term may not", () => {
    const storage = MemoryStorage.bootstrap({ voters: [1, 2, 3] });
    const n = { raft: createRaftNode({ id: 1, random: fixedRandom(), preVote: false }, storage), storage };
    n.raft.campaign();
    const campaign = drain(n);
    expect(campaign.hardState).toMatchObject({ term: 2, vote: 1 });
    expect(campaign.sendBeforePersist).toBe(false);
    n.raft.step({ type: 'VoteResponse', from: 2, to: 1, term: 2, preVote: false, granted: true });
    const elected = drain(n);
    expect(elected.softState?.role).toBe('leader');
    // Term and vote were made durable by the campaign's Ready: the appends may overlap the leader's fsync.
    expect(elected.sendBeforePersist).toBe(true);
    expect(elected.messages.some((m) => m.type === 'AppendEntries')).toBe(true);
    n.raft.propose(bytes('x'));
    const proposal = drain(n);
    expect(proposal.entries).toHaveLength(1);
    expect(proposal.sendBeforePersist).toBe(true);
    // Sent before persisting, the entry still does not count for the leader until advance(): with no follower
    // acknowledgement it is not committed.
    expect(n.raft.status().commit).toBeLessThan(proposal.entries[0]!.index);
  });

  test("a follower's Ready never sends before persisting", () => {
    const storage = MemoryStorage.bootstrap({ voters: [1, 2, 3] });
    const n = { raft: createRaftNode({ id: 2, random: fixedRandom() }, storage), storage };
    n.raft.step({
      type: 'AppendEntries',
      from: 1,
      to: 2,
      term: 2,
      prevLogIndex: 1,
      prevLogTerm: 1,
      entries: [{ index: 2, term: 2, type: EntryType.Normal, data: bytes('a') }],
      leaderCommit: 1,
      readContext: 0,
    });
    expect(drain(n).sendBeforePersist).toBe(false);
  });

  test('committed entries per Ready are bounded by maxCommittedSizePerReadyBytes', () => {
    const n = singleLeader({ maxCommittedSizePerReadyBytes: 40 });
    for (let i = 0; i < 5; i++) n.raft.propose(bytes('0123456789'));
    drain(n);
    const sizes: number[] = [];
    while (n.raft.hasReady()) sizes.push(drain(n).committedEntries.length);
    expect(sizes).toEqual([1, 1, 1, 1, 1]);
  });

  test('a read is handed out in the Ready that applies up to its index', () => {
    const n = singleLeader();
    n.raft.propose(bytes('x'));
    drain(n);
    n.raft.readIndex(42);
    const ready = drain(n);
    expect(ready.readStates).toEqual([{ context: 42, index: ready.committedEntries.at(-1)!.index }]);
  });

  test('a Ready reports the membership in force when a ConfChange is appended', () => {
    const c = new Cluster({ voters: [1, 2, 3] });
    c.elect(1);
    expect(c.get(1).raft.hasReady()).toBe(false);
    c.proposeConfChange(1, { type: ConfChangeType.AddLearner, nodeId: 4, context: 'host4:7000' });
    const leaderReady = c.processReady(1)!;
    expect(leaderReady.membership).toEqual({
      confState: { voters: [1, 2, 3], learners: [4] },
      addresses: new Map([[4, 'host4:7000']]),
    });
    c.deliver();
    expect(c.processReady(2)!.membership?.confState.learners).toEqual([4]);
    c.stabilize();
    c.get(1).raft.propose(bytes('x'));
    expect(c.processReady(1)!.membership).toBeUndefined();
  });

  test('the core learns of compaction through Storage', () => {
    const n = singleLeader();
    for (let i = 0; i < 3; i++) n.raft.propose(bytes('x'));
    while (n.raft.hasReady()) drain(n);
    const applied = n.raft.status().applied;
    n.storage.createSnapshot(applied, n.raft.appliedMembership(), bytes('state'));
    n.storage.compact(applied);
    expect(n.raft.status().firstIndex).toBe(applied + 1);
  });
});

describe('proposals and their typed errors', () => {
  test('a follower refuses with the leader it knows of', () => {
    const c = new Cluster({ voters: [1, 2, 3] });
    c.elect(1);
    expect(() => c.propose(2, 'x')).toThrow(
      expect.objectContaining({ name: 'NotLeaderError', leaderHint: 1 }),
    );
    expect(() => c.get(2).raft.transferLeadership(3)).toThrow(NotLeaderError);
  });

  test('the pending-proposal bound', () => {
    const n = singleLeader({ maxPendingProposals: 3 });
    n.raft.propose(bytes('a'));
    n.raft.propose(bytes('b'));
    n.raft.propose(bytes('c'));
    expect(() => n.raft.propose(bytes('d'))).toThrow(
      expect.objectContaining({ name: 'OverloadedError', reason: 'pending-proposals', limit: 3 }),
    );
    while (n.raft.hasReady()) drain(n);
    expect(n.raft.propose(bytes('d')).index).toBeGreaterThan(0);
  });

  test('the uncommitted-bytes bound lets one large entry through when nothing is pending', () => {
    const n = singleLeader({ maxUncommittedEntriesBytes: 10 });
    n.raft.propose(new Uint8Array(50));
    expect(() => n.raft.propose(new Uint8Array(1))).toThrow(OverloadedError);
    while (n.raft.hasReady()) drain(n);
    expect(n.raft.status().uncommittedBytes).toBe(0);
    n.raft.propose(new Uint8Array(6));
    expect(() => n.raft.propose(new Uint8Array(6))).toThrow(
      expect.objectContaining({ reason: 'uncommitted-bytes' }),
    );
  });

  test('membership changes are validated against the membership in force', () => {
    const c = new Cluster({ voters: [1, 2, 3] });
    c.elect(1);
    expect(() => c.proposeConfChange(1, { type: ConfChangeType.AddVoter, nodeId: 2, context: '' })).toThrow(
      InvalidConfChangeError,
    );
    expect(() =>
      c.proposeConfChange(1, { type: ConfChangeType.PromoteLearner, nodeId: 9, context: '' }),
    ).toThrow(InvalidConfChangeError);
  });

  test('a transfer target must be a voter', () => {
    const c = new Cluster({ voters: [1, 2, 3], learners: [4] });
    c.elect(1);
    expect(() => c.get(1).raft.transferLeadership(4)).toThrow(InvalidRequestError);
    expect(() => c.get(1).raft.transferLeadership(9)).toThrow(InvalidRequestError);
  });

  test('reads are bounded; a follower rejects a duplicate read context', () => {
    const n = singleLeader({ maxPendingReads: 2 });
    n.raft.readIndex(1);
    n.raft.readIndex(2);
    expect(() => n.raft.readIndex(3)).toThrow(expect.objectContaining({ reason: 'pending-reads' }));
    const c = new Cluster({ voters: [1, 2, 3] });
    c.elect(1);
    c.get(2).raft.readIndex(5);
    expect(() => c.get(2).raft.readIndex(5)).toThrow(InvalidRequestError);
    expect(() => c.get(2).raft.readIndex(-1)).toThrow(InvalidRequestError);
  });
});

describe('validation at the boundary', () => {
  const append = (overrides: Partial<Message>): Message =>
    ({
      type: 'AppendEntries',
      from: 2,
      to: 1,
      term: 2,
      prevLogIndex: 1,
      prevLogTerm: 1,
      entries: [],
      leaderCommit: 1,
      readContext: 0,
      ...overrides,
    }) as Message;

  test.each([
    { name: 'wrong recipient', message: append({ to: 3 }) },
    { name: 'from itself', message: append({ from: 1 }) },
    { name: 'negative term', message: append({ term: -1 }) },
    {
      name: 'non-consecutive entries',
      message: append({
        entries: [{ index: 3, term: 2, type: EntryType.Normal, data: bytes('x') }],
      } as never),
    },
    {
      name: 'entry term above the message term',
      message: append({
        entries: [{ index: 2, term: 3, type: EntryType.Normal, data: bytes('x') }],
      } as never),
    },
    { name: 'unknown type', message: { ...append({}), type: 'Nope' } as unknown as Message },
  ])('a malformed message is refused: $name', ({ message }) => {
    const n = single();
    expect(() => n.raft.step(message)).toThrow(InvalidMessageError);
    expect(n.raft.status().term).toBe(1);
  });

  test('config is validated', () => {
    expect(() => single({ heartbeatTimeoutTicks: 10, electionTimeoutTicks: 10 })).toThrow(
      InvalidRequestError,
    );
    expect(() => single({ maxInflightMessages: 0 })).toThrow(InvalidRequestError);
  });

  test('a hard state whose commit is beyond the log is a broken invariant', () => {
    const storage = MemoryStorage.bootstrap({ voters: [1] });
    storage.setHardState({ term: 1, vote: 0, commit: 5 });
    expect(() => createRaftNode({ id: 1, random: fixedRandom() }, storage)).toThrow(AssertionError);
  });

  test('a membership must come from a snapshot, not index 0', () => {
    const storage = new MemoryStorage();
    storage.initialState = () => ({
      hardState: { term: 0, vote: 0, commit: 0 },
      confState: { voters: [1], learners: [] },
      addresses: new Map(),
    });
    expect(() => createRaftNode({ id: 1, random: fixedRandom() }, storage)).toThrow(AssertionError);
  });

  test('messages beyond the per-Ready queue bound are dropped and counted', () => {
    const c = new Cluster({ voters: [1, 2, 3], config: { maxQueuedMessages: 3 } });
    c.elect(1);
    for (let i = 0; i < 5; i++) c.get(1).raft.tick();
    expect(c.get(1).raft.ready().messages).toHaveLength(3);
    expect(c.status(1).droppedMessageCount).toBeGreaterThan(0);
  });
});

describe('status', () => {
  test('the leader reports every member’s progress', () => {
    const c = new Cluster({ voters: [1, 2, 3], learners: [4] });
    c.elect(1);
    const s = c.status(1);
    expect(s).toMatchObject({
      role: 'leader',
      leader: 1,
      commit: 2,
      applied: 2,
      lastIndex: 2,
      firstIndex: 2,
    });
    expect(s.confState).toEqual({ voters: [1, 2, 3], learners: [4] });
    expect([...s.progress.keys()]).toEqual([1, 2, 3, 4]);
    expect(s.progress.get(4)).toMatchObject({ match: 2, next: 3, state: 'replicate', isLearner: true });
    expect(c.status(2).progress.size).toBe(0);
  });
});
