// Real processes, sockets and files: 3- and 5-node kv clusters elect a leader, serve writes and linearizable reads,
// and keep every acknowledged write when the leader is killed (SIGKILL) under load and later rejoins.
import { readControllerError } from '@regent/proto';
import { ControllerCondition } from '@regent/proto/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ClusterClient,
  missingOrWrong,
  ProcessCluster,
  startWriteLoad,
  TEST_TIMEOUT_MS,
  TEST_TIMING_ARGS,
} from './testing/cluster-harness.js';

const text = (s: string): Uint8Array => new TextEncoder().encode(s);

describe.each([3, 5])('a %i-node cluster on loopback', { timeout: TEST_TIMEOUT_MS }, (size) => {
  let cluster: ProcessCluster;
  let client: ClusterClient;

  beforeAll(async () => {
    cluster = await ProcessCluster.start({ size, nodeArgs: TEST_TIMING_ARGS });
    client = cluster.client();
  }, TEST_TIMEOUT_MS);
  afterAll(async () => {
    await cluster?.close();
  });

  it('elects a leader that serves writes and linearizable reads; followers point at it', async () => {
    await cluster.waitForLeader();
    const put = await client.put('greeting', text('hello'));
    const got = await client.get('greeting');
    expect(got.found).toBe(true);
    expect(new TextDecoder().decode(got.value)).toBe('hello');
    expect(got.index).toBeGreaterThanOrEqual(put.index);

    // A follower refuses writes and names the leader (looked at again if an election happened meanwhile).
    for (let attempt = 1; ; attempt++) {
      const before = await cluster.waitForLeader();
      const follower = cluster.ids().find((id) => id !== before.id)!;
      const refused = await cluster
        .kv(follower)
        .put({ key: 'x', value: text('y') })
        .then(
          () => undefined,
          (error: unknown) => readControllerError(error),
        );
      const after = await cluster.waitForLeader();
      if (after.term !== before.term && attempt < 5) continue;
      expect(refused?.condition).toBe(ControllerCondition.NOT_LEADER);
      expect(Number(refused?.leader?.nodeId)).toBe(before.id);
      expect(refused?.leader?.address).toBe(cluster.node(before.id).address);
      break;
    }
    const missing = await client.get('never-written');
    expect(missing.found).toBe(false);
  });

  it('keeps every acknowledged write when the leader is killed under load, and the old leader catches up', async () => {
    const load = startWriteLoad(cluster, { writers: 4, prefix: `crash${size}` });
    await load.waitForMoreAcks(100);
    const old = await cluster.waitForLeader();
    expect(await cluster.kill(old.id)).toBe('SIGKILL');
    const next = await cluster.waitForLeader();
    expect(next.id).not.toBe(old.id);
    expect(next.term).toBeGreaterThan(old.term);
    await load.waitForMoreAcks(100);
    cluster.restart(old.id);
    await load.waitForMoreAcks(100);
    await load.stop();

    const index = await cluster.waitForConvergence();
    const statuses = await cluster.statuses();
    expect(statuses.size).toBe(size);
    for (const s of statuses.values()) expect(s.appliedIndex).toBe(index);

    expect(await missingOrWrong(load.acked, (key) => client.get(key))).toEqual([]);
    // The restarted node holds the same values: make it the leader and read everything from it.
    await cluster.transferLeadership(old.id);
    expect(await missingOrWrong(load.acked, (key) => cluster.kv(old.id).get({ key }))).toEqual([]);
  });
});
