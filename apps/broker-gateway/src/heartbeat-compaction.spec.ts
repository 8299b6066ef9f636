// Compaction of a node's heartbeat backlog: the newest heartbeat per broker and stream, with the most advanced
// progress of its run; brokers with heartbeats of several streams (or a stream and unary calls) keep them all.
import { create } from '@bufbuild/protobuf';
import { type BrokerHeartbeat, BrokerHeartbeatSchema } from '@regent/proto/common';
import fc from 'fast-check';
import { compactHeartbeats } from './heartbeat-compaction.js';

function hb(brokerId: number, init: Partial<Omit<BrokerHeartbeat, '$typeName'>> = {}): BrokerHeartbeat {
  return create(BrokerHeartbeatSchema, {
    clusterName: 'c',
    brokerName: 'g',
    brokerAddress: '10.0.0.1:10911',
    brokerId: BigInt(brokerId),
    epoch: 1,
    maxOffset: 100n,
    confirmOffset: 100n,
    ...init,
  });
}

function lastIndexWhere<T>(items: readonly T[], predicate: (item: T) => boolean): number {
  for (let i = items.length - 1; i >= 0; i--) if (predicate(items[i]!)) return i;
  return -1;
}

const ids = (run: { heartbeats: readonly BrokerHeartbeat[] }) =>
  run.heartbeats.map((h) => Number(h.brokerId));

describe('compactHeartbeats', () => {
  it('keeps the newest heartbeat of each broker and stream, where the newest was', () => {
    const run = compactHeartbeats({
      heartbeats: [hb(1), hb(2), hb(1, { brokerAddress: '10.0.0.9:1' }), hb(3), hb(2)],
      sequences: [11n, 12n, 11n, 13n, 12n],
    });
    expect(ids(run)).toEqual([1, 3, 2]);
    expect(run.sequences).toEqual([11n, 13n, 12n]);
    expect(run.heartbeats[0]!.brokerAddress).toBe('10.0.0.9:1');
  });

  it('gives the newest heartbeat the most advanced progress of its run (larger epoch, then larger maxOffset)', () => {
    const run = compactHeartbeats({
      heartbeats: [
        hb(1, { epoch: 2, maxOffset: 50n, confirmOffset: 40n }),
        hb(1, { epoch: 2, maxOffset: 70n, confirmOffset: 60n, heartbeatTimeoutMs: 9n }),
        hb(1, { epoch: 1, maxOffset: 900n, confirmOffset: 900n, heartbeatTimeoutMs: 3000n, zone: 'z2' }),
      ],
      sequences: [5n, 5n, 5n],
    });
    expect(run.heartbeats).toHaveLength(1);
    expect(run.heartbeats[0]).toMatchObject({
      epoch: 2,
      maxOffset: 70n,
      confirmOffset: 60n,
      heartbeatTimeoutMs: 3000n,
      zone: 'z2',
    });
  });

  it('keeps every heartbeat, in order, of a broker heard on several streams or also by unary calls', () => {
    const heartbeats = [hb(1), hb(2), hb(1), hb(2), hb(1), hb(2)];
    const run = compactHeartbeats({ heartbeats, sequences: [6n, 7n, 5n, 7n, 6n, 0n] });
    expect(ids(run)).toEqual([1, 2, 1, 2, 1, 2]);
    expect(run.sequences).toEqual([6n, 7n, 5n, 7n, 6n, 0n]);
  });

  it('tells brokers apart by cluster, group and id', () => {
    const run = compactHeartbeats({
      heartbeats: [hb(1), hb(1, { clusterName: 'c2' }), hb(1, { brokerName: 'g2' }), hb(11), hb(1)],
      sequences: [1n, 1n, 1n, 1n, 1n],
    });
    expect(run.heartbeats.map((h) => `${h.clusterName}/${h.brokerName}/${h.brokerId}`)).toEqual([
      'c2/g/1',
      'c/g2/1',
      'c/g/11',
      'c/g/1',
    ]);
  });

  it('keeps one heartbeat per broker stream, the last of each in order, and every heartbeat of a mixed broker (property)', () => {
    const entry = fc.record({
      broker: fc.integer({ min: 1, max: 4 }),
      sequence: fc.integer({ min: 0, max: 2 }),
    });
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 40 }), (entries) => {
        const heartbeats = entries.map((e, i) => hb(e.broker, { maxOffset: BigInt(i) }));
        const sequences = entries.map((e) => BigInt(e.sequence));
        const run = compactHeartbeats({ heartbeats, sequences });
        const sequencesOf = (broker: number) =>
          new Set(entries.filter((e) => e.broker === broker).map((e) => e.sequence));
        const expected = entries.flatMap((e, i) => {
          const mixed = sequencesOf(e.broker).size > 1;
          const newest = lastIndexWhere(entries, (o) => o.broker === e.broker) === i;
          return mixed || newest ? [`${e.broker}@${e.sequence}`] : [];
        });
        expect(run.heartbeats.map((h, i) => `${h.brokerId}@${run.sequences[i]}`)).toEqual(expected);
        // Offsets grow along the run, so the kept heartbeat of a stream carries its newest offset.
        for (const [i, h] of run.heartbeats.entries()) {
          const broker = Number(h.brokerId);
          const last = lastIndexWhere(
            entries,
            (o) => o.broker === broker && BigInt(o.sequence) === run.sequences[i],
          );
          if (sequencesOf(broker).size === 1) expect(h.maxOffset).toBe(BigInt(last));
        }
      }),
      { numRuns: 300 },
    );
  });
});
