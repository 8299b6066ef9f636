import { findInactiveMasters } from './scan.js';
import { commands, Harness } from './testing.js';

function groups(h: Harness, ...names: string[]): void {
  for (const name of names) {
    h.registerGroup(name, 3);
    h.submit(commands.electMaster(name, 1n));
  }
}

describe('findInactiveMasters (DLedger scanNeedReelectBrokerSets)', () => {
  it('flags a group whose master is dead while another member is alive', () => {
    const h = new Harness();
    groups(h, 'a');
    h.advance(20_000);
    h.heartbeat('a', 2n);
    expect(findInactiveMasters(h.state, h.view())).toEqual([
      { clusterName: 'DefaultCluster', brokerName: 'a', masterBrokerId: 1n, masterEpoch: 1 },
    ]);
  });

  it('returns the flagged groups ascending by name, whatever order they were registered in', () => {
    const h = new Harness();
    groups(h, 'c', 'a', 'd', 'b');
    h.advance(20_000);
    for (const name of ['c', 'a', 'b']) h.heartbeat(name, 2n);
    h.heartbeat('d', 1n); // d's master lives
    expect(findInactiveMasters(h.state, h.view()).map((m) => m.brokerName)).toEqual(['a', 'b', 'c']);
  });

  it('bug fix (RocketMQ #8380/#10875): a dead slave under a live master is not flagged (jRaft inverted the check)', () => {
    const h = new Harness();
    groups(h, 'a');
    h.advance(20_000);
    h.heartbeat('a', 1n); // the master lives, slaves 2 and 3 died
    expect(findInactiveMasters(h.state, h.view())).toEqual([]);
  });

  it('does not flag a group whose members are all dead, nor a group without a master', () => {
    const h = new Harness();
    groups(h, 'a');
    h.registerGroup('b', 2);
    h.advance(20_000);
    h.heartbeat('b', 1n);
    expect(findInactiveMasters(h.state, h.view())).toEqual([]);
  });

  it('flags a master whose heartbeat stream broke, at once', () => {
    const h = new Harness();
    groups(h, 'b', 'a');
    const streamOpenedSequence = h.heartbeat('a', 1n);
    const record = h.view().get('DefaultCluster', 'a', 1n);
    expect(record?.suspected).toBe(false);
    expect(
      h.table.suspect(
        {
          $typeName: 'regent.consensus.v1.StreamSuspicion',
          clusterName: 'DefaultCluster',
          brokerName: 'a',
          brokerId: 1n,
          streamId: 's',
          streamOpenedSequence,
        },
        'g1',
      ),
    ).toBe('applied');
    expect(findInactiveMasters(h.state, h.view()).map((m) => m.brokerName)).toEqual(['a']);
  });

  it('bug fix (RocketMQ #11045): a stale stream close does not make a re-registered master look inactive', () => {
    const h = new Harness();
    groups(h, 'a');
    const oldStream = h.heartbeat('a', 1n);
    h.heartbeat('a', 1n); // the master reconnected on a new stream and registered again
    h.submit(commands.registerBroker('a', 1n, 'a-1:10911'));
    const close = {
      $typeName: 'regent.consensus.v1.StreamSuspicion',
      clusterName: 'DefaultCluster',
      brokerName: 'a',
      brokerId: 1n,
      streamId: 'old',
      streamOpenedSequence: oldStream,
    } as const;
    expect(h.table.suspect(close, 'g1')).toBe('ignored-stale');
    expect(findInactiveMasters(h.state, h.view())).toEqual([]);
  });
});
