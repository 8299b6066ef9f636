import { startNatsServer, waitFor } from '@regent/testing';
import { System } from './system.js';
import { waitForSettled, simOf } from './groups.js';
import type { BrokerSim } from './broker-sim.js';

const nats = await startNatsServer();
const system = await System.start({ consensusNodes: 3, gateways: 1, policy: true, natsUrl: nats.url });
try {
  const sims: BrokerSim[] = [];
  for (const r of [0, 1, 2]) sims.push(await system.startBrokerSim({ single: { group: 'g', replicaIndex: r } }));
  const s = await waitForSettled(system, sims, 'g');
  const views = (await Promise.all(sims.map((x) => x.brokers()))).flat();
  console.log(JSON.stringify(views.map((v: any) => ({ id: v.brokerId, hb: v.heartbeatStream, role: v.role }))));
  const metrics = async () => {
    const out: string[] = [];
    for (const n of system.nodes) {
      const t = await (await fetch(`http://127.0.0.1:${n.port}/metrics`)).text();
      out.push(...t.split('\n').filter((l) => /suspicion|heartbeats_total/.test(l) && !l.startsWith('#')).map((l) => `${n.id}: ${l}`));
    }
    const g = await (await fetch(`${system.gatewayUrl(0)}/metrics`)).text();
    out.push(...g.split('\n').filter((l) => /suspic|stream/i.test(l) && !l.startsWith('#')).map((l) => `gw: ${l}`));
    return out.join('\n');
  };
  console.log(await metrics());
  const victim = await simOf(sims, 'g', s.masterId);
  const t0 = Date.now();
  process.kill(victim.pid, 'SIGKILL');
  const info = await waitFor(async () => {
    const i = await system.brokerClient(0).getReplicaInfo({ clusterName: 'e2e', brokerName: 'g' });
    return i.masterEpoch > s.masterEpoch ? i : undefined;
  }, { intervalMs: 5, timeoutMs: 20000 });
  console.log('elected after', Date.now() - t0, 'ms', String(info.masterBrokerId));
  const audit = await system.adminClient(0).getElectionAudit({ clusterName: 'e2e', brokerName: 'g' });
  const last = audit.records.at(-1)!;
  console.log('decidedAt - t0', Number(last.decidedAtUnixMs) - t0, last.explanation);
  console.log(await metrics());
} finally {
  await system.stop();
  await nats.stop();
}
