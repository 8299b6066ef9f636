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

  it('PutStream: pipelined puts on the leader are applied and readable; a follower answers each NOT_LEADER', async () => {
    const leader = await cluster.waitForLeader();
    const count = 200;
    async function* puts(prefix: string) {
      for (let i = 0; i < count; i++)
        yield {
          id: BigInt(i),
          put: { key: `${prefix}-${i}`, value: text(`v${i}`), clientId: prefix, sequence: BigInt(i + 1) },
        };
    }
    const answers = [];
    for await (const a of cluster.kv(leader.id).putStream(puts(`stream${size}`))) answers.push(a);
    const failed = answers.filter((a) => a.result.case !== 'put');
    // An election during the stream would answer the rest NOT_LEADER: then only the applied ones are checked.
    if ((await cluster.waitForLeader()).term === leader.term) expect(failed).toEqual([]);
    expect(new Set(answers.map((a) => a.id)).size).toBe(count);
    const applied = answers.filter((a) => a.result.case === 'put').map((a) => Number(a.id));
    expect(applied.length).toBeGreaterThan(0);
    for (const i of [applied[0]!, applied.at(-1)!]) {
      const got = await client.get(`stream${size}-${i}`);
      expect(new TextDecoder().decode(got.value)).toBe(`v${i}`);
    }

    const follower = cluster.ids().find((id) => id !== leader.id)!;
    const refused = [];
    for await (const a of cluster.kv(follower).putStream(puts(`refused${size}`))) refused.push(a);
    expect(refused).toHaveLength(count);
    for (const a of refused) {
      expect(a.result.case).toBe('error');
      if (a.result.case === 'error')
        expect(a.result.value.detail?.condition).toBe(ControllerCondition.NOT_LEADER);
    }
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
