import { create } from '@bufbuild/protobuf';
import { ControllerCondition } from '@regent/proto/common';
import { ReportHeartbeatsRequestSchema, StreamSuspicionSchema } from '@regent/proto/consensus';
import { LivenessTable } from './liveness.js';
import { cluster, heartbeatOf } from './testing.js';

const g1 = (sequence: bigint) => ({ gatewayId: 'g1', sequence });
const g2 = (sequence: bigint) => ({ gatewayId: 'g2', sequence });

function suspicion(brokerName: string, brokerId: bigint, streamOpenedSequence: bigint) {
  return create(StreamSuspicionSchema, {
    clusterName: cluster,
    brokerName,
    brokerId,
    streamId: `s${streamOpenedSequence}`,
    streamOpenedSequence,
  });
}

function table(createdAtMs = 0, graceMs = 0) {
  return new LivenessTable({ createdAtMs, graceMs });
}

describe('LivenessTable update rule (RocketMQ onBrokerHeartbeat)', () => {
  it('always refreshes timestamp, timeout and priority', () => {
    const t = table();
    t.heartbeat(heartbeatOf('a', 1n, { heartbeatTimeoutMs: 3000n, electionPriority: 5 }), g1(1n), 100);
    t.heartbeat(heartbeatOf('a', 1n, { heartbeatTimeoutMs: 4000n }), g1(1n), 200);
    const record = t.view(200).get(cluster, 'a', 1n);
    expect(record?.lastHeartbeatMs).toBe(200);
    expect(record?.heartbeatTimeoutMs).toBe(4000);
    expect(record?.electionPriority).toBeUndefined();
  });

  it('replaces progress only for a larger epoch, or an equal epoch with a larger maxOffset', () => {
    const t = table();
    t.heartbeat(heartbeatOf('a', 1n, { epoch: 3, maxOffset: 100n, confirmOffset: 90n }), g1(1n), 1);
    t.heartbeat(heartbeatOf('a', 1n, { epoch: 2, maxOffset: 500n, confirmOffset: 500n }), g1(1n), 2);
    expect(t.view(2).get(cluster, 'a', 1n)).toMatchObject({ epoch: 3, maxOffset: 100n, confirmOffset: 90n });
    t.heartbeat(heartbeatOf('a', 1n, { epoch: 3, maxOffset: 50n, confirmOffset: 50n }), g1(1n), 3);
    expect(t.view(3).get(cluster, 'a', 1n)).toMatchObject({ epoch: 3, maxOffset: 100n, confirmOffset: 90n });
    t.heartbeat(heartbeatOf('a', 1n, { epoch: 3, maxOffset: 120n, confirmOffset: 110n }), g1(1n), 4);
    expect(t.view(4).get(cluster, 'a', 1n)).toMatchObject({ epoch: 3, maxOffset: 120n, confirmOffset: 110n });
    t.heartbeat(heartbeatOf('a', 1n, { epoch: 4, maxOffset: 10n, confirmOffset: 5n }), g1(1n), 5);
    expect(t.view(5).get(cluster, 'a', 1n)).toMatchObject({ epoch: 4, maxOffset: 10n, confirmOffset: 5n });
  });

  it('bug fix: offset comparison cannot overflow (differences above 2^31 and 2^53)', () => {
    const t = table();
    // RocketMQ casts (a - b) to int: a difference of 2^31 + 1 flips sign and the larger offset loses.
    t.heartbeat(heartbeatOf('a', 1n, { epoch: 1, maxOffset: 0n }), g1(1n), 1);
    t.heartbeat(heartbeatOf('a', 1n, { epoch: 1, maxOffset: 2n ** 31n + 1n }), g1(1n), 2);
    expect(t.view(2).get(cluster, 'a', 1n)?.maxOffset).toBe(2n ** 31n + 1n);
    // As doubles, 2^53 and 2^53 + 1 are equal; as bigints the larger one wins.
    t.heartbeat(heartbeatOf('a', 1n, { epoch: 2, maxOffset: 2n ** 53n }), g1(1n), 3);
    t.heartbeat(heartbeatOf('a', 1n, { epoch: 2, maxOffset: 2n ** 53n + 1n }), g1(1n), 4);
    expect(t.view(4).get(cluster, 'a', 1n)?.maxOffset).toBe(2n ** 53n + 1n);
    // And a smaller offset never replaces a larger one, however far apart.
    t.heartbeat(heartbeatOf('a', 1n, { epoch: 2, maxOffset: 2n ** 53n + 1n - 2n ** 40n }), g1(1n), 5);
    expect(t.view(5).get(cluster, 'a', 1n)?.maxOffset).toBe(2n ** 53n + 1n);
  });

  it('defaults the timeout to 10 s and is alive while last + timeout >= now', () => {
    const t = table();
    const outcome = t.heartbeat(heartbeatOf('a', 1n), g1(1n), 1000);
    expect(outcome).toEqual({ kind: 'accepted', effectiveTimeoutMs: 10_000 });
    expect(t.view(11_000).isAlive(cluster, 'a', 1n)).toBe(true);
    expect(t.view(11_001).isAlive(cluster, 'a', 1n)).toBe(false);
  });

  it('rejects a heartbeat without broker id (INVALID_REQUEST) and malformed ones (INVALID_ARGUMENT)', () => {
    const t = table();
    const noId = heartbeatOf('a', 1n);
    noId.brokerId = undefined;
    expect(t.heartbeat(noId, g1(1n), 1)).toMatchObject({
      kind: 'rejected',
      condition: ControllerCondition.INVALID_REQUEST,
    });
    const labels = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v']));
    expect(t.heartbeat(heartbeatOf('a', 1n, { labels }), g1(1n), 1)).toMatchObject({
      condition: ControllerCondition.INVALID_ARGUMENT,
    });
    expect(t.heartbeat(heartbeatOf('a', 1n, { heartbeatTimeoutMs: -1n }), g1(1n), 1)).toMatchObject({
      condition: ControllerCondition.INVALID_ARGUMENT,
    });
    expect(t.heartbeat(heartbeatOf('', 1n), g1(1n), 1)).toMatchObject({
      condition: ControllerCondition.INVALID_ARGUMENT,
    });
    expect(t.size).toBe(0);
  });

  it('refuses new brokers with OVERLOADED when full, but keeps refreshing known ones', () => {
    const t = new LivenessTable({ createdAtMs: 0, graceMs: 0, entriesMax: 1 });
    expect(t.heartbeat(heartbeatOf('a', 1n), g1(1n), 1).kind).toBe('accepted');
    expect(t.heartbeat(heartbeatOf('a', 2n), g1(2n), 1)).toMatchObject({
      condition: ControllerCondition.OVERLOADED,
    });
    expect(t.heartbeat(heartbeatOf('a', 1n), g1(3n), 2).kind).toBe('accepted');
  });

  it('keeps brokers apart whose names and ids would run together in a key', () => {
    const t = table();
    const brokers = [
      { clusterName: 'a1', brokerName: 'b', brokerId: 1n },
      { clusterName: 'a', brokerName: '1b', brokerId: 1n },
      { clusterName: 'a', brokerName: 'b1', brokerId: 1n },
      { clusterName: 'a', brokerName: 'b', brokerId: 11n },
      { clusterName: 'a', brokerName: '1:b', brokerId: 1n },
      { clusterName: 'a1:', brokerName: 'b', brokerId: 1n },
    ];
    brokers.forEach((b, i) => {
      t.heartbeat({ ...heartbeatOf(b.brokerName, b.brokerId), clusterName: b.clusterName }, g1(1n), i + 1);
    });
    expect(t.size).toBe(brokers.length);
    brokers.forEach((b, i) => {
      expect(t.view(10).get(b.clusterName, b.brokerName, b.brokerId)?.lastHeartbeatMs).toBe(i + 1);
    });
  });
});

describe('LivenessTable restart grace', () => {
  it('counts a broker without a record as alive until createdAt + grace, then dead', () => {
    const t = new LivenessTable({ createdAtMs: 5_000 });
    expect(t.graceMs).toBe(10_000);
    expect(t.view(15_000).isAlive(cluster, 'a', 1n)).toBe(true);
    expect(t.view(15_001).isAlive(cluster, 'a', 1n)).toBe(false);
  });

  it('judges a broker with a record by its own timeout, even during the grace', () => {
    const t = new LivenessTable({ createdAtMs: 0, graceMs: 60_000 });
    t.heartbeat(heartbeatOf('a', 1n, { heartbeatTimeoutMs: 1000n }), g1(1n), 10);
    expect(t.view(1010).isAlive(cluster, 'a', 1n)).toBe(true);
    expect(t.view(1011).isAlive(cluster, 'a', 1n)).toBe(false);
  });

  it('removes expired records only after the grace and the retention', () => {
    const t = new LivenessTable({ createdAtMs: 0, graceMs: 20_000, expiredRetentionMs: 5_000 });
    t.heartbeat(heartbeatOf('a', 1n, { heartbeatTimeoutMs: 1000n }), g1(1n), 0);
    t.heartbeat(heartbeatOf('a', 2n), g1(2n), 15_000);
    expect(t.removeExpired(19_000)).toEqual([]);
    expect(t.removeExpired(20_001)).toEqual([{ clusterName: cluster, brokerName: 'a', brokerId: 1n }]);
    expect(t.view(20_001).get(cluster, 'a', 1n)).toBeUndefined();
    expect(t.view(20_001).isAlive(cluster, 'a', 1n)).toBe(false);
    expect(t.size).toBe(1);
  });
});

describe('LivenessTable stream suspicions', () => {
  it('marks a broker dead at once when its current stream breaks, until a newer heartbeat', () => {
    const t = table();
    t.heartbeat(heartbeatOf('a', 1n), g1(5n), 100);
    expect(t.suspect(suspicion('a', 1n, 5n), 'g1')).toBe('applied');
    expect(t.view(101).isAlive(cluster, 'a', 1n)).toBe(false);
    expect(t.view(101).get(cluster, 'a', 1n)?.suspected).toBe(true);
    // A late heartbeat of the broken stream itself does not clear the suspicion...
    t.heartbeat(heartbeatOf('a', 1n), g1(5n), 102);
    expect(t.view(102).isAlive(cluster, 'a', 1n)).toBe(false);
    // ...a heartbeat on a new stream does.
    t.heartbeat(heartbeatOf('a', 1n), g1(6n), 103);
    expect(t.view(103).isAlive(cluster, 'a', 1n)).toBe(true);
  });

  it('bug fix (RocketMQ #11045): a stale stream close cannot evict a re-registered broker', () => {
    const t = table();
    t.heartbeat(heartbeatOf('a', 1n), g1(1n), 100); // stream 1
    t.heartbeat(heartbeatOf('a', 1n), g1(2n), 200); // the broker reconnected: stream 2
    expect(t.suspect(suspicion('a', 1n, 1n), 'g1')).toBe('ignored-stale'); // stream 1's close arrives late
    expect(t.view(201).isAlive(cluster, 'a', 1n)).toBe(true);
  });

  it('ignores the close of a stream when the broker has since been heard through another gateway', () => {
    const t = table();
    t.heartbeat(heartbeatOf('a', 1n), g1(9n), 100);
    t.heartbeat(heartbeatOf('a', 1n), g2(1n), 200); // moved to gateway g2 (whose sequences are unrelated)
    t.heartbeat(heartbeatOf('a', 1n), g1(9n), 250); // a delayed heartbeat of the old stream
    expect(t.suspect(suspicion('a', 1n, 9n), 'g1')).toBe('ignored-superseded');
    expect(t.view(251).isAlive(cluster, 'a', 1n)).toBe(true);
  });

  it('applies the close of the newest stream after a move between gateways', () => {
    const t = table();
    t.heartbeat(heartbeatOf('a', 1n), g2(50n), 100);
    t.heartbeat(heartbeatOf('a', 1n), g1(3n), 200); // moved from g2 to g1
    expect(t.suspect(suspicion('a', 1n, 3n), 'g1')).toBe('applied');
  });

  it('ignores the close of a newer stream while an older stream of the same gateway keeps delivering', () => {
    const t = table();
    t.heartbeat(heartbeatOf('a', 1n), g1(3n), 100);
    t.heartbeat(heartbeatOf('a', 1n), g1(4n), 110);
    t.heartbeat(heartbeatOf('a', 1n), g1(3n), 120);
    expect(t.suspect(suspicion('a', 1n, 4n), 'g1')).toBe('ignored-superseded');
  });

  it('applies the close of a stream although unary heartbeats (sequence 0) came while it was opening', () => {
    const t = table();
    t.heartbeat(heartbeatOf('a', 1n), g1(0n), 100); // unary fallback while the stream opens
    t.heartbeat(heartbeatOf('a', 1n), g1(7n), 110);
    t.heartbeat(heartbeatOf('a', 1n), g1(0n), 115); // one more unary, still before the stream's last heartbeat
    t.heartbeat(heartbeatOf('a', 1n), g1(7n), 210);
    expect(t.suspect(suspicion('a', 1n, 7n), 'g1')).toBe('applied');
    expect(t.view(211).isAlive(cluster, 'a', 1n)).toBe(false);
  });

  it('ignores the close of a stream when a unary heartbeat arrived after its last heartbeat', () => {
    const t = table();
    t.heartbeat(heartbeatOf('a', 1n), g1(7n), 100);
    t.heartbeat(heartbeatOf('a', 1n), g2(0n), 150);
    expect(t.suspect(suspicion('a', 1n, 7n), 'g1')).toBe('ignored-superseded');
  });

  it('forgets the least recently heard gateway of a broker beyond gatewaysPerBrokerMax', () => {
    const t = new LivenessTable({ createdAtMs: 0, graceMs: 0, gatewaysPerBrokerMax: 2 });
    t.heartbeat(heartbeatOf('a', 1n), g1(5n), 1);
    t.heartbeat(heartbeatOf('a', 1n), g2(7n), 2);
    t.heartbeat(heartbeatOf('a', 1n), g1(5n), 3); // g1 is heard again: g2 is now the least recently heard
    t.heartbeat(heartbeatOf('a', 1n), { gatewayId: 'g3', sequence: 9n }, 4);
    expect(t.suspect(suspicion('a', 1n, 7n), 'g2')).toBe('ignored-unseen-stream');
    // g1 is still known: its stream's close is judged (and superseded by g3's later heartbeat).
    expect(t.suspect(suspicion('a', 1n, 5n), 'g1')).toBe('ignored-superseded');
  });

  it('ignores suspicions of unknown brokers and of streams never heard from', () => {
    const t = table();
    expect(t.suspect(suspicion('a', 1n, 1n), 'g1')).toBe('ignored-unknown');
    t.heartbeat(heartbeatOf('a', 1n), g1(1n), 100);
    expect(t.suspect(suspicion('a', 1n, 2n), 'g1')).toBe('ignored-unseen-stream');
    expect(t.suspect(suspicion('a', 1n, 1n), 'g3')).toBe('ignored-unseen-stream');
    expect(t.view(101).isAlive(cluster, 'a', 1n)).toBe(true);
  });

  it('applies a gateway batch: heartbeats with their sequences, then suspicions', () => {
    const t = table();
    const bad = heartbeatOf('a', 3n);
    bad.brokerId = undefined;
    const batch = create(ReportHeartbeatsRequestSchema, {
      gatewayId: 'g1',
      heartbeats: [heartbeatOf('a', 1n), heartbeatOf('a', 2n), bad],
      heartbeatSequences: [10n, 11n, 12n],
      suspicions: [suspicion('a', 1n, 10n), suspicion('a', 2n, 9n)],
    });
    const result = t.report(batch, 100);
    expect(result).toEqual({
      acceptedCount: 2,
      rejectedCount: 1,
      suspected: [{ clusterName: cluster, brokerName: 'a', brokerId: 1n }],
    });
    const view = t.view(100);
    expect(view.isAlive(cluster, 'a', 1n)).toBe(false);
    expect(view.isAlive(cluster, 'a', 2n)).toBe(true);
    expect(view.list().map((r) => r.brokerId)).toEqual([1n, 2n]);
  });
});
