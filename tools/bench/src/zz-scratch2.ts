import { execSync, spawn } from 'node:child_process';
import { closedLoop, payloadOf, startCluster } from './raft-load.js';

const cluster = await startCluster({ size: 3, logLevel: 'warn' });
try {
  const leader = (await cluster.waitForLeader()).id;
  const pid = cluster.node(leader).process!.child.pid!;
  const follower = cluster.ids().find((i) => i !== leader)!;
  const fpid = cluster.node(follower).process!.child.pid!;
  const loop = closedLoop(cluster, {
    concurrency: 64,
    payload: payloadOf(256),
    durationMs: 4000,
    sessionPrefix: 'w',
  });
  await new Promise((r) => setTimeout(r, 1500));
  const st = spawn('strace', [
    '-f',
    '-tt',
    '-T',
    '-e',
    'trace=fdatasync,fsync,pwrite64,write,writev,epoll_wait,futex',
    '-o',
    '/tmp/scratch/strace-leader.txt',
    '-p',
    String(pid),
  ]);
  const st2 = spawn('strace', [
    '-f',
    '-tt',
    '-T',
    '-e',
    'trace=fdatasync,fsync,pwrite64,write,writev',
    '-o',
    '/tmp/scratch/strace-follower.txt',
    '-p',
    String(fpid),
  ]);
  await new Promise((r) => setTimeout(r, 1500));
  st.kill('SIGINT');
  st2.kill('SIGINT');
  console.log(await loop);
} finally {
  await cluster.close();
}
