// Scenario tests: tricky protocol paths as readable scripts over the scripted cluster (etcd's testdata/*.txt
// style, in TypeScript). Each step says what the cluster does; each expectation says what must hold.

import { ConfChangeInProgressError, ProposalDroppedError } from './errors.js';
import { Cluster } from './testing/index.js';
import { ConfChangeType } from './types.js';

const electionTimeoutTicks = 10;

describe('PreVote: a partitioned node that rejoins does not disrupt the leader', () => {
  test('with PreVote the leader keeps its term', () => {
    const c = new Cluster({ voters: [1, 2, 3], config: { preVote: true, checkQuorum: false } });
    c.elect(1);
    const term = c.status(1).term;

    // Node 3 is cut off for many election timeouts: it keeps failing pre-elections, its term stays.
    c.isolate(3);
    c.tickAll(5 * electionTimeoutTicks);
    expect(c.status(3)).toMatchObject({ term, role: 'pre-candidate' });
    c.propose(1, 'while-3-was-away');
    c.stabilize();

    // It rejoins: no election happens; it follows the same leader and catches up.
    c.heal();
    c.tickAll(2);
    expect(c.leader()).toBe(1);
    expect(c.status(1).term).toBe(term);
    expect(c.status(3)).toMatchObject({ role: 'follower', leader: 1, term });
    expect(c.get(3).commands).toEqual(['while-3-was-away']);
  });

  test('without PreVote (and CheckQuorum) the same rejoin forces a new election', () => {
    const c = new Cluster({ voters: [1, 2, 3], config: { preVote: false, checkQuorum: false } });
    c.elect(1);
    const term = c.status(1).term;
    c.isolate(3);
    c.tickAll(5 * electionTimeoutTicks);
    expect(c.status(3).term).toBeGreaterThan(term + 2);
    c.heal();
    c.tickAll(3 * electionTimeoutTicks);
    expect(c.status(c.leader()!).term).toBeGreaterThan(term);
  });
});

describe('CheckQuorum: an isolated leader steps down', () => {
  test('the majority elects a new leader; the old one steps down and rejoins as a follower', () => {
    const c = new Cluster({ voters: [1, 2, 3], config: { checkQuorum: true } });
    c.elect(1);
    const term = c.status(1).term;

    // The leader loses both followers. Within two election timeouts it notices and steps down.
    c.isolate(1);
    c.tickAll(2 * electionTimeoutTicks);
    expect(c.status(1)).toMatchObject({ role: 'follower', leader: 0, term });

    // The others elect a leader among themselves.
    c.tickAll(2 * electionTimeoutTicks);
    const next = c.leader()!;
    expect([2, 3]).toContain(next);
    c.propose(next, 'after');
    c.stabilize();

    // The old leader rejoins and follows.
    c.heal();
    c.tickAll(2);
    expect(c.status(1)).toMatchObject({ role: 'follower', leader: next });
    expect(c.get(1).commands).toEqual(['after']);
  });
});

describe('membership changes (thesis §4.1: one server at a time, in force once appended)', () => {
  test('removing the leader: it leads until the change commits, then hands over and stays out', () => {
    const c = new Cluster({ voters: [1, 2, 3] });
    c.elect(1);
    c.propose(1, 'a');
    c.stabilize();

    c.proposeConfChange(1, { type: ConfChangeType.RemoveNode, nodeId: 1, context: '' });
    // The change is in force at once: the leader takes no more proposals.
    expect(c.status(1).confState.voters).toEqual([2, 3]);
    expect(() => c.propose(1, 'b')).toThrow(ProposalDroppedError);

    // Once the change commits it steps down and sends TimeoutNow to an up-to-date voter.
    c.stabilize();
    expect(c.status(1).role).toBe('follower');
    const next = c.leader()!;
    expect([2, 3]).toContain(next);
    expect(c.status(next).confState.voters).toEqual([2, 3]);

    // The removed node never campaigns again, and new entries go to the remaining voters only.
    const removedTerm = c.status(1).term;
    c.tickAll(5 * electionTimeoutTicks);
    expect(c.status(1).term).toBe(removedTerm);
    c.propose(c.leader()!, 'c');
    c.stabilize();
    expect(c.get(2).commands).toEqual(['a', 'c']);
    expect(c.get(3).commands).toEqual(['a', 'c']);
    expect(c.get(1).commands).toEqual(['a']);
  });

  test('a two-node cluster whose leader removed itself and crashed before the change reached the other', () => {
    const c = new Cluster({ voters: [1, 2] });
    c.elect(1);
    c.isolate(2);
    c.proposeConfChange(1, { type: ConfChangeType.RemoveNode, nodeId: 1, context: '' });
    c.stabilize();
    c.crash(1);
    c.restart(1);
    c.heal();

    // Node 2 still counts node 1 and needs its vote, which node 1 refuses (its log is longer). Node 1, removed
    // by an uncommitted change, campaigns without counting itself (thesis §4.2.2), commits the change with
    // node 2's help and hands over.
    c.tickAll(6 * electionTimeoutTicks);
    expect(c.leader()).toBe(2);
    expect(c.status(2).confState.voters).toEqual([2]);
    expect(c.status(1).role).toBe('follower');
  });

  test('a learner joins from a snapshot, does not count, and counts once promoted', () => {
    const c = new Cluster({ voters: [1, 2, 3] });
    c.elect(1);
    c.propose(1, 'a');
    c.stabilize();

    c.addNode(4);
    c.proposeConfChange(1, { type: ConfChangeType.AddLearner, nodeId: 4, context: 'n4' });
    // One change at a time: the next one waits until this one commits.
    expect(() =>
      c.proposeConfChange(1, { type: ConfChangeType.PromoteLearner, nodeId: 4, context: '' }),
    ).toThrow(ConfChangeInProgressError);
    c.stabilize();
    // Its empty log starts below the leader's first index: it gets the bootstrap snapshot, then the entries.
    expect(c.get(4).restoredSnapshots).toBe(1);
    expect(c.get(4).commands).toEqual(['a']);
    expect(c.status(1).progress.get(4)).toMatchObject({ isLearner: true, state: 'replicate' });

    // With voters 2 and 3 away, the learner's acknowledgement does not commit anything.
    c.isolate(2);
    c.isolate(3);
    const { index } = c.propose(1, 'b');
    c.stabilize();
    expect(c.status(4).lastIndex).toBe(index);
    expect(c.status(1).commit).toBeLessThan(index);
    c.heal();
    c.tickAll(2);
    expect(c.status(1).commit).toBe(index);

    // Promoted, it counts: leader, node 2 and node 4 are a majority of four voters.
    c.proposeConfChange(1, { type: ConfChangeType.PromoteLearner, nodeId: 4, context: '' });
    c.stabilize();
    expect(c.status(1).confState).toEqual({ voters: [1, 2, 3, 4], learners: [] });
    c.isolate(3);
    const second = c.propose(1, 'c');
    c.stabilize();
    expect(c.status(1).commit).toBe(second.index);
    expect(c.get(4).commands).toEqual(['a', 'b', 'c']);
  });
});

describe('snapshots (Raft §7)', () => {
  test('a follower behind the compaction point installs a snapshot while replication goes on', () => {
    const c = new Cluster({ voters: [1, 2, 3] });
    c.elect(1);
    c.isolate(3);
    for (let i = 0; i < 20; i++) c.propose(1, `c${i}`);
    c.stabilize();

    // The leader snapshots and compacts its log: node 3 can no longer be sent the entries it lacks.
    c.compact(1);
    c.compact(2);
    expect(c.status(1).firstIndex).toBeGreaterThan(c.status(3).lastIndex + 1);

    // Node 3 comes back while clients keep writing.
    c.heal();
    c.tickAll(1);
    for (let i = 20; i < 25; i++) c.propose(1, `c${i}`);
    c.tickAll(2);

    expect(c.get(3).restoredSnapshots).toBe(1);
    expect(c.get(3).commands).toEqual(c.get(1).commands);
    expect(c.get(3).commands).toHaveLength(25);
    expect(c.status(1).progress.get(3)).toMatchObject({ state: 'replicate', match: c.status(1).lastIndex });
  });

  test('a restarted node recovers from its own snapshot and log', () => {
    const c = new Cluster({ voters: [1, 2, 3] });
    c.elect(1);
    for (let i = 0; i < 5; i++) c.propose(1, `c${i}`);
    c.stabilize();
    c.compact(2, 3);
    c.propose(1, 'c5');
    c.stabilize();
    c.crash(2);
    c.restart(2);
    c.stabilize();
    expect(c.get(2).commands).toEqual(['c0', 'c1', 'c2', 'c3', 'c4', 'c5']);
  });
});

describe('leadership transfer (thesis §3.10)', () => {
  test('a rolling restart: hand leadership away, restart the old leader, it rejoins as a follower', () => {
    const c = new Cluster({ voters: [1, 2, 3, 4, 5] });
    c.elect(1);
    c.propose(1, 'a');
    c.stabilize();

    c.get(1).raft.transferLeadership(4);
    c.stabilize();
    expect(c.leader()).toBe(4);

    c.crash(1);
    c.propose(4, 'b');
    c.stabilize();
    c.restart(1);
    c.tickAll(2);
    expect(c.status(1)).toMatchObject({ role: 'follower', leader: 4 });
    expect(c.get(1).commands).toEqual(['a', 'b']);
  });
});

describe('log repair (Raft §5.3)', () => {
  test("an old leader's uncommitted entries are overwritten by the new leader's", () => {
    const c = new Cluster({ voters: [1, 2, 3], config: { checkQuorum: false } });
    c.elect(1);
    c.propose(1, 'committed');
    c.stabilize();

    // The leader is cut off but still accepts proposals; they can never commit.
    c.isolate(1);
    c.propose(1, 'lost-1');
    c.propose(1, 'lost-2');
    c.stabilize();
    expect(c.status(1).lastIndex).toBe(c.status(2).lastIndex + 2);

    // The others elect a new leader and commit a different entry at the same index.
    c.get(2).raft.campaign();
    c.stabilize();
    expect(c.leader()).toBe(2);
    c.propose(2, 'winner');
    c.stabilize();

    // Back together, node 1 finds its suffix conflicts, and the leader repairs it.
    c.heal();
    c.tickAll(1);
    expect(c.status(1)).toMatchObject({ role: 'follower', leader: 2 });
    expect(c.logTerms(1)).toEqual(c.logTerms(2));
    expect(c.get(1).commands).toEqual(['committed', 'winner']);
  });
});

describe('commit propagation (broadcastCommit)', () => {
  /** Runs one write to completion on leader 1, counting the empty appends the leader sends meanwhile. */
  function oneWrite(broadcastCommit: boolean): { c: Cluster; sent: { emptyAppends: number }; index: number } {
    const c = new Cluster({ voters: [1, 2, 3], config: { broadcastCommit } });
    c.elect(1);
    const sent = { emptyAppends: 0 };
    c.filter = (m) => {
      if (m.type === 'AppendEntries' && m.from === 1 && m.entries.length === 0) sent.emptyAppends++;
      return true;
    };
    const { index } = c.propose(1, 'x');
    c.stabilize();
    expect(c.status(1).commit).toBe(index);
    expect(c.get(1).commands).toEqual(['x']);
    return { c, sent, index };
  }

  test('eager (etcd): the new commit index reaches idle followers at once, in one empty append each', () => {
    const { c, sent, index } = oneWrite(true);
    expect(sent.emptyAppends).toBe(2);
    expect(c.status(2).commit).toBe(index);
    expect(c.get(2).commands).toEqual(['x']);
  });

  test('heartbeat: no extra messages; followers learn the commit index with the next heartbeat', () => {
    const { c, sent, index } = oneWrite(false);
    expect(sent.emptyAppends).toBe(0);
    expect(c.status(2).commit).toBe(index - 1);
    expect(c.get(2).commands).toEqual([]);
    // One heartbeat interval (heartbeatTimeoutTicks) later the leader's heartbeat carries it.
    c.tick(1, 1);
    c.stabilize();
    expect(sent.emptyAppends).toBe(2);
    expect(c.status(2).commit).toBe(index);
    expect(c.get(2).commands).toEqual(['x']);
  });
});

describe('PreVote tie-break (preVoteTieBreak): followers that time out together', () => {
  const tieBreakCluster = (preVoteTieBreak: boolean): Cluster =>
    new Cluster({ voters: [1, 2, 3], config: { preVote: true, checkQuorum: true, preVoteTieBreak } });

  /** The leader (1) crashes; nodes 2 and 3 start a PreVote at the same moment, before either sees the other's. */
  function bothCampaign(preVoteTieBreak: boolean): { c: Cluster; term: number } {
    const c = tieBreakCluster(preVoteTieBreak);
    c.elect(1);
    const term = c.status(1).term;
    c.crash(1);
    c.get(2).raft.campaign();
    c.get(3).raft.campaign();
    c.stabilize();
    return { c, term };
  }

  test('without it both win the PreVote, both become candidates, and the vote splits', () => {
    const { c, term } = bothCampaign(false);
    expect(c.status(2)).toMatchObject({ role: 'candidate', term: term + 1 });
    expect(c.status(3)).toMatchObject({ role: 'candidate', term: term + 1 });
  });

  test('with it the higher-ranked one (same log: the lower id) goes on alone and wins in one round', () => {
    const { c, term } = bothCampaign(true);
    expect(c.status(2)).toMatchObject({ role: 'leader', term: term + 1 });
    expect(c.status(3)).toMatchObject({ role: 'follower', leader: 2, term: term + 1 });
  });

  test('a more up-to-date log ranks above a lower id', () => {
    const c = tieBreakCluster(true);
    c.elect(1);
    const term = c.status(1).term;
    c.cutLink(1, 2);
    c.propose(1, 'only-3-has-it');
    c.stabilize();
    c.crash(1);
    c.heal();
    c.get(2).raft.campaign();
    c.get(3).raft.campaign();
    c.stabilize();
    expect(c.status(3)).toMatchObject({ role: 'leader', term: term + 1 });
    expect(c.get(2).commands).toEqual(['only-3-has-it']);
  });

  test('a rival that times out later is not a tie: a pre-candidate that has not won lets it through', () => {
    const c = tieBreakCluster(true);
    c.elect(1);
    const term = c.status(1).term;
    c.crash(1);
    // Node 2 campaigns at once: node 3 heard from the leader within the election timeout and refuses (stickiness).
    c.get(2).raft.campaign();
    c.stabilize();
    expect(c.status(2)).toMatchObject({ role: 'pre-candidate', term });
    // Node 3 times out later, when node 2's round is older than a heartbeat interval: not a tie, so node 2 grants
    // although it ranks higher (lower id), and 3 wins.
    c.tick(2, 2);
    expect(c.status(2).role).toBe('pre-candidate');
    for (let i = 0; i < 2 * electionTimeoutTicks && c.status(3).role === 'follower'; i++) c.tick(3, 1);
    c.stabilize();
    expect(c.status(3)).toMatchObject({ role: 'leader', term: term + 1 });
    expect(c.status(2)).toMatchObject({ role: 'follower', leader: 3 });
  });
});
