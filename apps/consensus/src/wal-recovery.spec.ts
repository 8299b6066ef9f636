// A node's WAL damaged while it is down (real files, real processes): a torn tail in the active segment is cut off
// and the node catches up; a corrupted record with intact records after it makes the node refuse to start, naming
// the segment file and the record's byte offset.
import { readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ClusterClient,
  missingOrWrong,
  ProcessCluster,
  TEST_TIMEOUT_MS,
  TEST_TIMING_ARGS,
  writeKeys,
} from './testing/cluster-harness.js';

const RECORD_HEADER_BYTES = 12;

/** Start offsets of the records of a WAL segment (frame: u32 payload length, u32 crc, u32 header crc, payload). */
function recordOffsets(file: Uint8Array): number[] {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const offsets: number[] = [];
  for (let at = 0; at + RECORD_HEADER_BYTES <= file.byteLength; ) {
    offsets.push(at);
    at += RECORD_HEADER_BYTES + view.getUint32(at, true);
  }
  return offsets;
}

describe('WAL damage on a stopped node', { timeout: TEST_TIMEOUT_MS }, () => {
  let cluster: ProcessCluster;
  let client: ClusterClient;

  beforeAll(async () => {
    cluster = await ProcessCluster.start({ size: 3, nodeArgs: TEST_TIMING_ARGS });
    client = cluster.client();
    await cluster.waitForLeader();
  }, TEST_TIMEOUT_MS);
  afterAll(async () => {
    await cluster?.close();
  });

  it('cuts a torn tail off the active segment, starts, and catches up', async () => {
    const before = await writeKeys(cluster, 'before', 60);
    const leader = await cluster.waitForLeader();
    const victim = cluster.ids().find((id) => id !== leader.id)!;
    await cluster.waitForConvergence();
    await cluster.kill(victim);

    const segment = cluster.walSegments(victim).at(-1)!;
    const bytes = statSync(segment).size;
    truncateSync(segment, bytes - 3);
    const whileDown = await writeKeys(cluster, 'while-down', 60);

    cluster.restart(victim);
    const index = await cluster.waitForConvergence({ ids: cluster.ids() });
    const log = cluster.output(victim);
    expect(log).toContain('WAL torn tail truncated');
    expect(log).toContain(segment);
    const status = (await cluster.status(victim)).status!;
    expect(status.appliedIndex).toBe(index);

    // The repaired node serves every value once it leads.
    await cluster.transferLeadership(victim);
    const read = (key: string) => cluster.kv(victim).get({ key });
    expect(await missingOrWrong(new Map([...before, ...whileDown]), read)).toEqual([]);
  });

  it('refuses to start when a record in the middle of a segment is corrupted, naming the file and offset', async () => {
    await writeKeys(cluster, 'more', 30);
    const leader = await cluster.waitForLeader();
    const victim = cluster.ids().find((id) => id !== leader.id)!;
    await cluster.waitForConvergence();
    await cluster.kill(victim);

    const segment = cluster.walSegments(victim).at(-1)!;
    const file = readFileSync(segment);
    const offsets = recordOffsets(file);
    expect(offsets.length).toBeGreaterThan(20);
    // A record from the older half of the segment: intact records follow it, so this is not a torn tail.
    const damaged = offsets[Math.floor(offsets.length / 3)]!;
    file[damaged + RECORD_HEADER_BYTES + 2]! ^= 0xff;
    writeFileSync(segment, file);

    cluster.restart(victim);
    const code = await cluster.exited(victim);
    expect(code).not.toBe(0);
    expect(typeof code === 'number' || code === 'SIGABRT').toBe(true);
    const log = cluster.output(victim);
    expect(log).toContain(`WAL corruption in ${segment} at byte ${damaged}`);
    expect(log).toContain('checksum mismatch');
    // Nothing was repaired or truncated behind the operator's back.
    expect(statSync(segment).size).toBe(file.byteLength);

    // The two remaining nodes keep serving.
    const after = await writeKeys(cluster, 'after', 10);
    expect(await missingOrWrong(after, (key) => client.get(key))).toEqual([]);
  });
});
