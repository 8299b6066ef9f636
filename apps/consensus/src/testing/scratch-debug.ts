import { ProcessCluster, SessionWriter } from './cluster-harness.js';
let t = Date.now();
const lap = (what: string) => { console.log(what, Date.now() - t); t = Date.now(); };
const cluster = await ProcessCluster.start({ size: 3 });
try {
  const l = await cluster.waitForLeader();
  lap('leader ' + l.term);
  for (let i = 0; i < 50; i++) await cluster.status(l.id);
  lap('50 status');
  const w = new SessionWriter(cluster.client(), 'a');
  for (let i = 0; i < 50; i++) await w.put('k' + i, new Uint8Array(10));
  lap('50 puts');
  const res = await (await fetch(`http://${cluster.node(l.id).address}/metrics`)).text();
  console.log(res.split('\n').filter((x) => /wal_sync_seconds_(sum|count)|proposal_seconds_(sum|count)/.test(x)).join('\n'));
} finally {
  await cluster.close();
}
