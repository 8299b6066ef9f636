import { ProcessCluster, SessionWriter, TEST_TIMING_ARGS, describeStatuses } from './cluster-harness.js';
const cluster = await ProcessCluster.start({ size: 3, nodeArgs: TEST_TIMING_ARGS });
try {
  await cluster.waitForLeader();
  const w = new SessionWriter(cluster.client(), 'a');
  await w.put('x', new Uint8Array(3));
  await cluster.addNode(4);
  await cluster.changeMembership('add-learner', 4);
  await cluster.waitForConvergence({ ids: [1, 2, 3, 4] });
  await cluster.changeMembership('promote', 4);
  await w.put('y', new Uint8Array(3));
  await cluster.transferLeadership(4);
  const l = await cluster.waitForLeader({ among: [1, 2, 3, 4] });
  console.log('leader', l);
  await cluster.changeMembership('remove', 1);
  await cluster.kill(1);
  await w.put('z', new Uint8Array(3));
  console.log('removed 1', describeStatuses(await cluster.statuses()));
  await cluster.changeMembership('remove', 4);
  console.log('removed 4');
  for (let i = 0; i < 6; i++) { console.log(describeStatuses(await cluster.statuses())); await new Promise((r) => setTimeout(r, 700)); }
} finally {
  for (const id of cluster.ids()) console.log(id, cluster.output(id).split('\n').filter((x) => /leader changed|membership|transfer/.test(x)).map((x) => x.slice(80, 300)).join('\n'));
  await cluster.close();
}
