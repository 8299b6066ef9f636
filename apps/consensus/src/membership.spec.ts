// Leadership and membership on a running cluster of real processes: TransferLeadership, a graceful SIGTERM of the
// leader (it hands leadership over first), adding a node as a learner and promoting it, removing a follower, and
// removing the leader itself.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ClusterClient,
  ProcessCluster,
  SessionWriter,
  TEST_TIMEOUT_MS,
  TEST_TIMING_ARGS,
} from './testing/cluster-harness.js';

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const decode = (b: Uint8Array): string => new TextDecoder().decode(b);

describe('leadership and membership changes', { timeout: TEST_TIMEOUT_MS }, () => {
  let cluster: ProcessCluster;
  let client: ClusterClient;
  let writer: SessionWriter;
  /** Current voters (the harness's waitForLeader asks only them once nodes were removed). */
  let voters: number[];

  const write = async (key: string): Promise<void> => {
    await writer.put(key, text(`value of ${key}`));
  };
  const readBack = async (key: string): Promise<string> => decode((await client.get(key)).value);
  const peersOf = async (id: number) =>
    ((await cluster.status(id)).metadata?.peers ?? []).map((p) => ({
      id: Number(p.nodeId),
      learner: p.learner,
    }));

  beforeAll(async () => {
    // Tolerant timing matters most here: this file checks exact term changes.
    cluster = await ProcessCluster.start({ size: 3, nodeArgs: TEST_TIMING_ARGS });
    client = cluster.client();
    writer = new SessionWriter(client, 'membership-test');
    voters = [1, 2, 3];
    await cluster.waitForLeader();
    await write('start');
  }, TEST_TIMEOUT_MS);
  afterAll(async () => {
    await cluster?.close();
  });

  it('moves leadership to the requested node with TransferLeadership, one term later', async () => {
    const leader = await cluster.waitForLeader();
    const target = voters.find((id) => id !== leader.id)!;
    const term = await cluster.transferLeadership(target);
    expect(term).toBe(leader.term + 1n);
    await write('after-transfer');
    expect(await readBack('after-transfer')).toBe('value of after-transfer');
  });

  it('hands leadership over before a leader stopped with SIGTERM exits', async () => {
    const leader = await cluster.waitForLeader();
    expect(await cluster.stop(leader.id)).toBe(0);
    expect(cluster.output(leader.id)).toContain('leadership transferred before shutdown');
    const next = await cluster.waitForLeader();
    expect(next.id).not.toBe(leader.id);
    // Handed over (TimeoutNow), not found by an election timeout after a pre-vote: exactly one term later.
    expect(next.term).toBe(leader.term + 1n);
    await write('after-sigterm');
    cluster.restart(leader.id);
    await cluster.waitForConvergence();
  });

  it('adds a fourth node as a learner, then promotes it to a voter', async () => {
    await cluster.addNode(4);
    await cluster.changeMembership('add-learner', 4);
    const leader = await cluster.waitForLeader({ among: voters });
    expect(await peersOf(leader.id)).toContainEqual({ id: 4, learner: true });
    await cluster.waitForConvergence({ ids: [...voters, 4] });
    expect((await cluster.status(4)).status?.role).toBe('learner');

    await cluster.changeMembership('promote', 4);
    voters = [...voters, 4];
    expect(await peersOf(leader.id)).toContainEqual({ id: 4, learner: false });
    await write('with-four');
    await cluster.waitForConvergence({ ids: voters });
    // Only a voter can take over; it has every value.
    await cluster.transferLeadership(4);
    expect(await readBack('start')).toBe('value of start');
    expect(await readBack('with-four')).toBe('value of with-four');
  });

  it('removes a follower; the others keep serving', async () => {
    const leader = await cluster.waitForLeader({ among: voters });
    const removed = voters.find((id) => id !== leader.id && id !== 4)!;
    await cluster.changeMembership('remove', removed);
    voters = voters.filter((id) => id !== removed);
    await cluster.kill(removed);
    expect((await peersOf(leader.id)).map((p) => p.id)).toEqual(voters);
    await write('without-follower');
    expect(await readBack('without-follower')).toBe('value of without-follower');
  });

  it('removes the leader itself: leadership moves and the cluster keeps serving', async () => {
    const leader = await cluster.waitForLeader({ among: voters });
    await cluster.changeMembership('remove', leader.id);
    voters = voters.filter((id) => id !== leader.id);
    const next = await cluster.waitForLeader({ among: voters });
    expect(next.id).not.toBe(leader.id);
    await cluster.kill(leader.id);
    expect((await peersOf(next.id)).map((p) => p.id)).toEqual(voters);
    await write('without-old-leader');
    expect(await readBack('without-old-leader')).toBe('value of without-old-leader');
    expect(await readBack('start')).toBe('value of start');
    await cluster.waitForConvergence({ ids: voters });
  });
});
