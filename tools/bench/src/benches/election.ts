// `npm run bench -- election --trials 20`: a master's heartbeats stop → the controller's ElectMaster is committed.
// Real processes: 3 consensus nodes, 1 gateway, 1 group of 3 brokers heartbeating every 100 ms with a 500 ms
// timeout (the broker-agent defaults). Time runs from the master's last acknowledged heartbeat to the moment the
// committed ElectMaster event arrives on a Watch stream.
import { ADMIN_TOKEN, CLUSTER, System, TestBroker } from '@regent/e2e';
import { waitFor } from '@regent/testing';
import { type BenchResult, log, parseArgs, quantile, round } from '../machine.js';

export async function run(args: string[]): Promise<BenchResult> {
  const p = parseArgs(args, { trials: 20, heartbeatIntervalMs: 100, heartbeatTimeoutMs: 500 });
  if (p.trials < 1 || p.trials > 1000) throw new Error('--trials must be 1..1000');
  const system = await System.start({ consensusNodes: 3, gateways: 1 });
  const samples: number[] = [];
  const abort = new AbortController();
  try {
    const group = 'bench-election';
    const brokers = [0, 1, 2].map(
      (i) =>
        new TestBroker(
          system.brokerClient(0),
          CLUSTER,
          group,
          `127.0.0.1:${20911 + i}`,
          p.heartbeatTimeoutMs,
        ),
    );
    for (const b of brokers) await b.register();
    const lastAck = new Map<bigint, number>();
    const beat = (b: TestBroker): NodeJS.Timeout =>
      setInterval(() => {
        b.heartbeatOnce().then(
          () => lastAck.set(b.brokerId, performance.now()),
          () => {},
        );
      }, p.heartbeatIntervalMs);
    const timers = new Map(brokers.map((b) => [b.brokerId, beat(b)]));
    await waitFor(() => brokers.every((b) => lastAck.has(b.brokerId)), { what: 'heartbeats' });
    await brokers[0]!.client.electMaster({
      clusterName: CLUSTER,
      brokerName: group,
      brokerId: brokers[0]!.brokerId,
    });

    const elections: { at: number; master: bigint }[] = [];
    const leader = await system.waitForLeader();
    void (async () => {
      try {
        for await (const m of system
          .consensusClient(leader)
          .watch({ fromIndex: 0n }, { signal: abort.signal })) {
          if (m.item.case !== 'event') continue;
          const e = m.item.value.event?.event;
          if (e?.case === 'electMaster' && e.value.newMasterElected && e.value.brokerName === group) {
            elections.push({ at: performance.now(), master: e.value.newMasterBrokerId });
          }
        }
      } catch {
        // aborted at the end
      }
    })();
    const admin = system.adminClient(0, ADMIN_TOKEN);
    for (let trial = 0; trial < p.trials; trial++) {
      const info = await brokers[0]!.client.getReplicaInfo({ clusterName: CLUSTER, brokerName: group });
      const master = brokers.find((b) => b.brokerId === info.masterBrokerId)!;
      // Put every broker in the SyncStateSet so any survivor may win.
      const all = brokers.map((b) => b.brokerId).sort((a, b) => (a < b ? -1 : 1));
      if (info.syncStateSet!.brokerIds.length !== all.length) {
        await master.client.alterSyncStateSet({
          clusterName: CLUSTER,
          brokerName: group,
          masterBrokerId: master.brokerId,
          masterEpoch: info.masterEpoch,
          newSyncStateSet: { brokerIds: all, epoch: info.syncStateSet!.epoch },
        });
      }
      const seen = elections.length;
      clearInterval(timers.get(master.brokerId));
      await new Promise((r) => setTimeout(r, p.heartbeatIntervalMs)); // let an in-flight heartbeat land
      const stoppedAt = lastAck.get(master.brokerId)!;
      const elected = await waitFor(() => elections.slice(seen).find((e) => e.master !== master.brokerId), {
        timeoutMs: 15_000,
        what: `election in trial ${trial}`,
      });
      samples.push(elected.at - stoppedAt);
      log(
        `trial ${trial}: ${round(elected.at - stoppedAt, 1)} ms (master ${master.brokerId} → ${elected.master})`,
      );
      timers.set(master.brokerId, beat(master));
      await waitFor(
        async () => {
          const live = await admin.getBrokerLiveness({ clusterName: CLUSTER, brokerNames: [group] });
          return live.brokers.every((b) => b.alive);
        },
        { timeoutMs: 10_000, what: 'all brokers alive again' },
      );
    }
    for (const t of timers.values()) clearInterval(t);
  } finally {
    abort.abort();
    await system.stop();
  }
  return {
    params: p,
    metrics: {
      trials: samples.length,
      p50Ms: round(quantile(samples, 0.5), 1),
      p99Ms: round(quantile(samples, 0.99), 1),
      maxMs: round(Math.max(...samples), 1),
    },
  };
}
