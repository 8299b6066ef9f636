import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);
import { ProcessCluster, SessionWriter } from './cluster-harness.js';
const cluster = await ProcessCluster.start({ size: 3 });
try {
  await cluster.waitForLeader();
  await new SessionWriter(cluster.client(), 'a').put('x', new Uint8Array(3));
  await cluster.addNode(4);
  await cluster.changeMembership('add-learner', 4);
  for (let i = 0; i < 6; i++) {
    await new Promise((r) => setTimeout(r, 2500));
    const s = await cluster.statuses();
    console.log([...s.values()].map((x) => `${x.nodeId}:${x.role} t${x.term} L${x.leaderId} c${x.commitIndex} a${x.appliedIndex} last${x.lastIndex} snap${x.snapshotIndex} m${JSON.stringify(Object.fromEntries(Object.entries(x.matchIndex).map(([k,v])=>[k,Number(v)])))}`).join('  '));
  }
} finally {
  console.log(cluster.output(4).slice(-5000)); const p = cluster.node(4).process?.child.pid; console.log(require('node:child_process').execSync('ps -o pid,stat,pcpu,rss,cmd -p ' + p).toString());
  await cluster.close();
}
