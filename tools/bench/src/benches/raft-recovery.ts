// raft-recovery: restart time and memory of a node with a long history. Writes `entries` small puts (high
// concurrency) to a 3-node cluster that snapshots every `snapshot-every-entries`, stops a follower (SIGTERM),
// restarts it, and measures the time from spawn until it answers Status having applied the commit index it had
// when stopped (restartMs), the storage open time it reports (storageOpenMs), and its RSS once caught up (rssMb).
// Options: --entries (1000000) --snapshot-every-entries (100000) --concurrency (256) --payload (16) --nodes (3)
//          --key-space (100000) --runtime compiled|source (compiled: the nodes run the built JavaScript, as a
//          deployment does — the bench builds it first; source: TypeScript through tsx, which compiles every module
//          at start-up and so adds a second or more to the restart on a 2-core machine)
import { type BenchResult, log, parseArgs, round } from '../machine.js';
import {
  buildConsensus,
  clientFactory,
  closedLoop,
  closeWithOutput,
  payloadOf,
  rssMb,
  sleep,
  startCluster,
} from '../raft-load.js';

const defaults = {
  entries: 1_000_000,
  snapshotEveryEntries: 100_000,
  concurrency: 256,
  payload: 16,
  nodes: 3,
  keySpace: 100_000,
  runtime: 'compiled',
};

const entriesMax = 100_000_000;
const readyPollMs = 10;
const restartTimeoutMs = 120_000;
/** Writing proceeds in chunks of this long so progress is reported. */
const chunkMs = 10_000;

function checkedParams(args: string[]): typeof defaults {
  const p = parseArgs(args, defaults);
  const integerIn = (name: keyof typeof defaults, min: number, max: number): void => {
    const v = p[name] as number;
    if (!Number.isInteger(v) || v < min || v > max)
      throw new Error(`--${name} must be an integer in [${min}, ${max}]`);
  };
  integerIn('entries', 1, entriesMax);
  integerIn('snapshotEveryEntries', 1, entriesMax);
  integerIn('concurrency', 1, 4096);
  integerIn('payload', 1, 64 * 1024);
  integerIn('nodes', 3, 9);
  integerIn('keySpace', 1, 10_000_000);
  if (p.runtime !== 'compiled' && p.runtime !== 'source')
    throw new Error('--runtime must be compiled or source');
  return p;
}

/** The storage open time the node logged (info level "storage opened" line), if present. */
function storageOpenMs(output: string): number | undefined {
  for (const line of output.split('\n')) {
    if (!line.includes('"storage opened"')) continue;
    try {
      const parsed = JSON.parse(line) as { openReport?: { durationMs?: number } };
      if (parsed.openReport?.durationMs !== undefined) return parsed.openReport.durationMs;
    } catch {
      // not a JSON log line
    }
  }
  return undefined;
}

export async function run(args: string[]): Promise<BenchResult> {
  const p = checkedParams(args);
  const compiled = p.runtime === 'compiled';
  if (compiled) buildConsensus();
  const cluster = await startCluster({
    size: p.nodes,
    compiled,
    logLevel: 'info',
    nodeArgs: ['--snapshot-every-entries', String(p.snapshotEveryEntries)],
  });
  const clients = clientFactory(cluster, 'raw');
  try {
    const payload = payloadOf(p.payload);
    const writeStarted = performance.now();
    let written = 0;
    const first = (await cluster.status((await cluster.waitForLeader()).id)).status!.commitIndex;
    for (;;) {
      const leader = await cluster.waitForLeader();
      const commit = (await cluster.status(leader.id)).status!.commitIndex;
      written = Number(commit - first);
      if (written >= p.entries) break;
      const elapsedS = (performance.now() - writeStarted) / 1000;
      log(`written ${written} of ${p.entries} entries (${round(written / Math.max(elapsedS, 0.001), 0)}/s)`);
      const leftMs = Math.min(
        chunkMs,
        Math.max(200, ((p.entries - written) / Math.max(written / elapsedS, 100)) * 1000),
      );
      await closedLoop(clients, {
        concurrency: p.concurrency,
        payload,
        durationMs: leftMs,
        keySpace: p.keySpace,
        sessionPrefix: `fill-${written}`,
      });
    }
    const writeSeconds = (performance.now() - writeStarted) / 1000;
    await cluster.waitForConvergence({ timeoutMs: 120_000 });
    const leader = await cluster.waitForLeader();
    const victim = cluster.ids().find((id) => id !== leader.id)!;
    const before = (await cluster.status(victim)).status!;
    log(
      `wrote ${written} entries in ${round(writeSeconds, 1)} s; stopping node ${victim} at commit ${before.commitIndex} ` +
        `(snapshot ${before.snapshotIndex}, first index ${before.firstIndex})`,
    );
    await cluster.stop(victim);

    const spawned = performance.now();
    const proc = cluster.restart(victim);
    let restartMs = 0;
    for (;;) {
      if (performance.now() - spawned > restartTimeoutMs)
        throw new Error(`node ${victim} was not ready in time`);
      try {
        const s = (await cluster.status(victim, { timeoutMs: 1000 })).status!;
        if (s.appliedIndex >= before.commitIndex) {
          restartMs = performance.now() - spawned;
          break;
        }
      } catch {
        // not listening yet
      }
      await sleep(readyPollMs);
    }
    await cluster.waitForConvergence({ timeoutMs: 120_000 });
    const rss = rssMb(proc.child.pid!);
    const after = (await cluster.status(victim)).status!;
    log(
      `node ${victim} ready after ${round(restartMs, 0)} ms; RSS ${rss} MiB; applied ${after.appliedIndex}`,
    );
    return {
      params: {
        nodes: p.nodes,
        entries: p.entries,
        snapshotEveryEntries: p.snapshotEveryEntries,
        concurrency: p.concurrency,
        payloadBytes: p.payload,
        keySpace: p.keySpace,
        runtime: p.runtime,
      },
      metrics: {
        restartMs: round(restartMs, 0),
        storageOpenMs: round(storageOpenMs(proc.output()) ?? Number.NaN, 1),
        rssMb: rss,
        entriesWritten: written,
        writeOpsPerSec: round(written / writeSeconds, 0),
        snapshotIndexAtStop: Number(before.snapshotIndex),
        walEntriesAfterSnapshot: Number(before.commitIndex - before.snapshotIndex),
      },
    };
  } catch (error) {
    await closeWithOutput(cluster, error);
    throw error;
  } finally {
    clients.close();
    await cluster.close();
  }
}
