// Snapshots and log compaction with real processes: a follower that was down while the leader took several
// snapshots (and compacted the entries it lacks) catches up through InstallSnapshot and serves the values.
import { waitFor } from '@regent/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  missingOrWrong,
  ProcessCluster,
  TEST_TIMEOUT_MS,
  TEST_TIMING_ARGS,
  writeKeys,
} from './testing/cluster-harness.js';

const SNAPSHOT_EVERY_ENTRIES = 50;
const SNAPSHOT_KEEP_ENTRIES = 10;

describe('snapshot catch-up', { timeout: TEST_TIMEOUT_MS }, () => {
  let cluster: ProcessCluster;

  beforeAll(async () => {
    cluster = await ProcessCluster.start({
      size: 3,
      nodeArgs: [
        ...TEST_TIMING_ARGS,
        '--snapshot-every-entries',
        String(SNAPSHOT_EVERY_ENTRIES),
        '--snapshot-keep-entries',
        String(SNAPSHOT_KEEP_ENTRIES),
      ],
    });
    await cluster.waitForLeader();
  }, TEST_TIMEOUT_MS);
  afterAll(async () => {
    await cluster?.close();
  });

  it('brings a follower that missed several snapshots up to date with InstallSnapshot', async () => {
    const early = await writeKeys(cluster, 'early', 20);
    const leader = await cluster.waitForLeader();
    const victim = cluster.ids().find((id) => id !== leader.id)!;
    await cluster.waitForConvergence();
    const before = (await cluster.status(victim)).status!;
    await cluster.kill(victim);

    const missed = await writeKeys(cluster, 'missed', 5 * SNAPSHOT_EVERY_ENTRIES);
    // A snapshot is saved (written, fsynced, the log compacted) in the background after the write that crossed its
    // threshold was answered: wait for the last one rather than read the status at once.
    const fourSnapshotsOn = before.lastIndex + 4n * BigInt(SNAPSHOT_EVERY_ENTRIES);
    const leaderStatus = await waitFor(
      async () => {
        const status = (await cluster.status((await cluster.waitForLeader()).id)).status!;
        return status.snapshotIndex >= fourSnapshotsOn ? status : undefined;
      },
      { what: `the leader's snapshot at ${fourSnapshotsOn} or later` },
    );
    // The entries the victim lacks are gone from the leader's log: only a snapshot can bring it back.
    expect(leaderStatus.firstIndex).toBeGreaterThan(before.lastIndex + 1n);

    cluster.restart(victim);
    const index = await cluster.waitForConvergence({
      ids: cluster.ids(),
      minIndex: leaderStatus.commitIndex,
    });
    const after = (await cluster.status(victim)).status!;
    expect(after.appliedIndex).toBe(index);
    expect(after.snapshotIndex).toBeGreaterThanOrEqual(leaderStatus.snapshotIndex);
    expect(after.firstIndex).toBeGreaterThan(before.lastIndex + 1n);

    await cluster.transferLeadership(victim);
    const read = (key: string) => cluster.kv(victim).get({ key });
    expect(await missingOrWrong(new Map([...early, ...missed]), read)).toEqual([]);
  });
});
