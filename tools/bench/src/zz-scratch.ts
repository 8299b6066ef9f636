import { closedLoop, payloadOf, Reservoir, startCluster } from './raft-load.js';

const conc = Number(process.argv[2] ?? 64);
const cluster = await startCluster({ size: 3, logLevel: 'warn' });
const metrics = async (id: number) => {
  const t = await (await fetch(`http://${cluster.node(id).address}/metrics`)).text();
  const get = (re: RegExp) => Number(re.exec(t)?.[1] ?? NaN);
  return {
    cpu: get(/process_cpu_seconds_total\{[^}]*\} ([\d.e-]+)/),
    syncs: get(/regent_wal_sync_seconds_count\{[^}]*\} ([\d.e-]+)/),
    syncSum: get(/regent_wal_sync_seconds_sum\{[^}]*\} ([\d.e-]+)/),
    lagMax: get(/nodejs_eventloop_lag_max_seconds\{[^}]*\} ([\d.e-]+)/),
    lagP99: get(/nodejs_eventloop_lag_p99_seconds\{[^}]*\} ([\d.e-]+)/),
  };
};
try {
  const leader = (await cluster.waitForLeader()).id;
  await closedLoop(
    { client: () => cluster.client() },
    { concurrency: conc, payload: payloadOf(256), durationMs: 1000, sessionPrefix: 'w' },
  );
  const before = await Promise.all(cluster.ids().map(metrics));
  const c0 = process.cpuUsage();
  const lat = new Reservoir();
  const r = await closedLoop(
    { client: () => cluster.client() },
    { concurrency: conc, payload: payloadOf(256), durationMs: 5000, sessionPrefix: 'x', latencies: lat },
  );
  const c1 = process.cpuUsage(c0);
  const after = await Promise.all(cluster.ids().map(metrics));
  console.log(
    r.ops / 5,
    'ops/s',
    lat.summary(),
    'leader',
    leader,
    'term',
    (await cluster.waitForLeader()).term,
  );
  console.log('client cpu us/op', ((c1.user + c1.system) / r.ops).toFixed(0));
  cluster.ids().forEach((id, i) => {
    const a = after[i]!,
      b = before[i]!;
    console.log(
      'node',
      id,
      'cpu us/op',
      (((a.cpu - b.cpu) * 1e6) / r.ops).toFixed(0),
      'syncs',
      a.syncs - b.syncs,
      'avg sync ms',
      (((a.syncSum - b.syncSum) / (a.syncs - b.syncs)) * 1000).toFixed(2),
      'lag p99/max ms',
      (a.lagP99 * 1000).toFixed(0),
      (a.lagMax * 1000).toFixed(0),
    );
  });
} finally {
  await cluster.close();
}
