// `npm run bench -- failover --trials 20`: a master broker dies (kill -9 of its process) or hangs (SIGSTOP) → a new
// master from the SyncStateSet holds its role, told over NATS. Real processes: 3 consensus nodes, 1 gateway, the
// election-policy service, notification-push, a private nats-server, and one group of 3 brokers, each a broker-sim
// process in `--single` mode with the broker-agent defaults (heartbeat 100 ms, timeout 500 ms, poll 1 s).
//
// What is measured, per trial (all times on this host's wall clock, shared by every process):
// - kill/hang: from just before this process sends SIGKILL/SIGSTOP to the master's process, to the moment the new
//   master's broker-sim received its agent's became-master event (`roleChangedAtMs` in GET /brokers): detection,
//   election, Raft commit, notification-push, NATS and the agent's epoch gate (or its 1 s poll, whichever is first).
// - notify: from the moment this process received the committed ElectMaster event on a consensus Watch stream of the
//   Raft leader (the stream notification-push also follows) to the moment it received the matching
//   RoleChangeNotification from NATS (same Raft index); the publisher's clock (`published_at_unix_ms`) is not used.
//   Samples whose Watch stream was (re)opened after the trial began are dropped (`notifyDropped`).
// `--trials N` runs N kill trials and N hang trials, alternating, after `--warmup W` of each (not counted); with 20
// samples, p99 (nearest rank) is the maximum. Between trials the killed process restarts (the hung one continues)
// and the group settles with all three brokers in the SyncStateSet again.
import { loadavg } from 'node:os';
import {
  type BrokerSim,
  CLUSTER,
  type NotificationObserver,
  observeNotifications,
  roleSubjectOf,
  System,
  simOf,
  waitForSettled,
} from '@regent/e2e';
import { startNatsServer, waitFor } from '@regent/testing';
import { type BenchResult, log, parseArgs, quantile, round } from '../machine.js';

const GROUP = 'bench-failover';
/** Commits remembered by the watcher (a run has a few per trial). */
const COMMITS_MAX = 10_000;
/** Pause before re-opening a broken Watch stream (paces the retry loop; not a synchronisation). */
const RETRY_PAUSE_MS = 100;

type Mode = 'kill' | 'hang';

interface Commit {
  /** performance-clock receipt time, unix ms. */
  readonly atMs: number;
  /** When the stream that carried it was opened. */
  readonly streamOpenedAtMs: number;
}

const nowMs = (): number => performance.timeOrigin + performance.now();

/** Follows the Raft leader's Watch stream and records when each committed ElectMaster of GROUP arrived, by index. */
function watchElections(system: System, signal: AbortSignal): Map<bigint, Commit> {
  const commits = new Map<bigint, Commit>();
  void (async () => {
    let fromIndex = 0n;
    while (!signal.aborted) {
      try {
        const leader = await system.waitForLeader(60_000);
        const streamOpenedAtMs = nowMs();
        for await (const m of system.consensusClient(leader).watch({ fromIndex }, { signal })) {
          if (m.item.case === 'resync') {
            fromIndex = m.item.value.index + 1n;
            continue;
          }
          if (m.item.case !== 'event') continue;
          const c = m.item.value;
          fromIndex = c.index + 1n;
          const e = c.event?.event;
          if (e?.case === 'electMaster' && e.value.brokerName === GROUP) {
            if (commits.size >= COMMITS_MAX) commits.delete(commits.keys().next().value!);
            commits.set(c.index, { atMs: nowMs(), streamOpenedAtMs });
          }
        }
      } catch {
        // leader changed or the stream broke: find the leader again and continue after the last index seen
        if (!signal.aborted) await new Promise((r) => setTimeout(r, RETRY_PAUSE_MS));
      }
    }
  })();
  return commits;
}

interface Trial {
  /** How long the group took to settle (full SyncStateSet) before the trial. */
  readonly settleMs: number;
  readonly failoverMs: number;
  readonly notifiedMs: number;
  readonly notifyMs: number | undefined;
}

async function trial(
  system: System,
  sims: BrokerSim[],
  observer: NotificationObserver,
  commits: Map<bigint, Commit>,
  mode: Mode,
): Promise<Trial> {
  const settleStartMs = nowMs();
  const before = await waitForSettled(system, sims, GROUP, { timeoutMs: 120_000 });
  const settleMs = nowMs() - settleStartMs;
  const victim = await simOf(sims, GROUP, before.masterId);
  const from = observer.received.length;
  const startedAtMs = nowMs();
  if (mode === 'kill') process.kill(victim.pid, 'SIGKILL');
  else process.kill(victim.pid, 'SIGSTOP');
  try {
    const got = await observer.next(
      from,
      (n) => n.brokerName === GROUP && n.masterEpoch > before.masterEpoch && n.masterBrokerId !== undefined,
      { timeoutMs: 30_000, what: `the election notification (${mode})` },
    );
    const newMaster = String(got.notification.masterBrokerId);
    const others = sims.filter((s) => s !== victim);
    const view = await waitFor(
      async () => {
        const all = (await Promise.all(others.map((s) => s.brokers()))).flat();
        const v = all.find((b) => b.brokerId === newMaster);
        return v?.role === 'master' && v.masterEpoch >= got.notification.masterEpoch ? v : undefined;
      },
      { timeoutMs: 30_000, what: `broker ${newMaster} to become master` },
    );
    const commit = await waitFor(() => commits.get(got.notification.raftIndex), {
      timeoutMs: 30_000,
      what: `the commit of index ${got.notification.raftIndex} on the watch`,
    }).catch(() => undefined);
    const notifyMs =
      commit === undefined || commit.streamOpenedAtMs > startedAtMs
        ? undefined
        : got.receivedAtPreciseMs - commit.atMs;
    return {
      settleMs,
      failoverMs: view.roleChangedAtMs - startedAtMs,
      notifiedMs: got.receivedAtPreciseMs - startedAtMs,
      notifyMs,
    };
  } finally {
    if (mode === 'kill') await victim.restart();
    else victim.resume();
  }
}

export async function run(args: string[]): Promise<BenchResult> {
  const p = parseArgs(args, {
    trials: 20,
    warmup: 1,
    heartbeatIntervalMs: 100,
    heartbeatTimeoutMs: 500,
    pollMs: 1000,
  });
  if (p.trials < 1 || p.trials > 500) throw new Error('--trials must be 1..500');
  if (p.warmup < 0 || p.warmup > 10) throw new Error('--warmup must be 0..10');
  const loadAverage1mAtStart = round(loadavg()[0]!, 1);
  const nats = await startNatsServer();
  const system = await System.start({
    consensusNodes: 3,
    gateways: 1,
    policy: true,
    natsUrl: nats.url,
  }).catch(async (error: unknown) => {
    await nats.stop();
    throw error;
  });
  const abort = new AbortController();
  const samples: Record<Mode, number[]> = { kill: [], hang: [] };
  const notified: Record<Mode, number[]> = { kill: [], hang: [] };
  const notify: number[] = [];
  let notifyDropped = 0;
  let observer: NotificationObserver | undefined;
  try {
    observer = await observeNotifications(nats.url, roleSubjectOf(CLUSTER, GROUP));
    const commits = watchElections(system, abort.signal);
    const sims: BrokerSim[] = [];
    for (const replicaIndex of [0, 1, 2]) {
      sims.push(
        await system.startBrokerSim({
          single: { group: GROUP, replicaIndex },
          args: [
            '--heartbeat-interval-ms',
            String(p.heartbeatIntervalMs),
            '--heartbeat-timeout-ms',
            String(p.heartbeatTimeoutMs),
            '--sync-broker-metadata-period-ms',
            String(p.pollMs),
          ],
        }),
      );
    }
    for (let i = 0; i < 2 * (p.warmup + p.trials); i++) {
      const mode: Mode = i % 2 === 0 ? 'kill' : 'hang';
      const t = await trial(system, sims, observer, commits, mode);
      const warm = i < 2 * p.warmup;
      log(
        `${warm ? 'warm-up' : 'trial'} ${i} ${mode}: new master after ${round(t.failoverMs, 1)} ms, notification at ` +
          `${round(t.notifiedMs, 1)} ms, commit → NATS ${t.notifyMs === undefined ? 'n/a' : `${round(t.notifyMs, 2)} ms`}` +
          ` (settled in ${round(t.settleMs)} ms)`,
      );
      if (warm) continue;
      samples[mode].push(t.failoverMs);
      notified[mode].push(t.notifiedMs);
      if (t.notifyMs === undefined) notifyDropped++;
      else notify.push(t.notifyMs);
    }
  } finally {
    abort.abort();
    await observer?.close();
    await system.stop();
    await nats.stop();
  }
  const stats = (xs: number[], digits = 1) => ({
    p50: round(quantile(xs, 0.5), digits),
    p99: round(quantile(xs, 0.99), digits),
    max: round(Math.max(...xs), digits),
  });
  const kill = stats(samples.kill);
  const hang = stats(samples.hang);
  const n = stats(notify, 2);
  return {
    params: {
      ...p,
      group: GROUP,
      brokers: 3,
      brokerProcesses: 'broker-sim --single',
      consensusNodes: 3,
      // The host's 1-minute load average: the numbers mean little on a saturated machine.
      loadAverage1mAtStart,
      loadAverage1mAtEnd: round(loadavg()[0]!, 1),
    },
    metrics: {
      killTrials: samples.kill.length,
      hangTrials: samples.hang.length,
      killP50Ms: kill.p50,
      killP99Ms: kill.p99,
      killMaxMs: kill.max,
      hangP50Ms: hang.p50,
      hangP99Ms: hang.p99,
      hangMaxMs: hang.max,
      killNotifiedP50Ms: stats(notified.kill).p50,
      hangNotifiedP50Ms: stats(notified.hang).p50,
      notifyP50Ms: n.p50,
      notifyP99Ms: n.p99,
      notifyMaxMs: n.max,
      notifySamples: notify.length,
      notifyDropped,
    },
  };
}
