import { ProcessCluster, SessionWriter, TEST_TIMING_ARGS } from './cluster-harness.js';

const cluster = await ProcessCluster.start({ size: 3, nodeArgs: TEST_TIMING_ARGS });
const show = async () => {
  const s = await cluster.statuses();
  console.log(
    [...s.values()]
      .map(
        (x) =>
          `${x.nodeId}:${x.role} t${x.term} L${x.leaderId} c${x.commitIndex} a${x.appliedIndex} last${x.lastIndex}`,
      )
      .join('  '),
  );
};
try {
  await cluster.waitForLeader();
  const w = new SessionWriter(cluster.client(), 'a');
  await w.put('x', new Uint8Array(3));
  const l = await cluster.waitForLeader();
  console.log('leader', l);
  await cluster.changeMembership('remove', l.id);
  console.log('removed');
  for (let i = 0; i < 8; i++) {
    await show();
    await new Promise((r) => setTimeout(r, 500));
  }
} finally {
  for (const id of cluster.ids())
    console.log(
      id,
      cluster
        .output(id)
        .split('\n')
        .filter((x) => /leader changed|membership|transfer/.test(x))
        .map((x) => x.slice(60, 260))
        .join('\n'),
    );
  await cluster.close();
}
