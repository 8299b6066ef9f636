// A broker-sim process (apps/broker-sim) for end-to-end tests and benchmarks: many brokers behind one control API,
// or with `single` exactly one broker in its own OS process, so that SIGKILL and SIGSTOP hit exactly that broker.
// Its control port is fixed at spawn and kept across restarts: the brokers register it as their address.
import { freePort, type ManagedProcess, spawnTs, waitFor, waitForHttpOk } from '@regent/testing';

/** One broker as broker-sim's `GET /brokers` shows it (the fields the tests read). */
export interface SimBrokerView {
  readonly group: string;
  readonly replicaIndex: number;
  /** The id the controller assigned; null before registration. */
  readonly brokerId: string | null;
  readonly state: 'starting' | 'running' | 'paused' | 'killed' | 'stopped' | 'failed';
  readonly role: 'unknown' | 'master' | 'slave';
  readonly fenced: boolean;
  readonly masterEpoch: number;
  readonly masterBrokerId: string | null;
  readonly syncStateSet: readonly string[];
  readonly syncStateSetEpoch: number;
  readonly natsConnected: boolean;
  /** The broker agent's counters (staleIgnored, notificationsReceived, roleChanges, polls, …). */
  readonly counters: Readonly<Record<string, number>>;
  /** Wall clock (unix ms) of the broker's last role event (became-master / became-slave / fenced); 0 before any. */
  readonly roleChangedAtMs: number;
}

export interface BrokerSimOptions {
  /** Gateway base URL, e.g. http://127.0.0.1:7000. */
  readonly gateway: string;
  readonly token: string;
  readonly cluster: string;
  /** Root of the brokers' identity and store files (kept across restarts). */
  readonly dataDir: string;
  /** NATS server URLs; empty: the brokers learn their role by polling only. */
  readonly nats?: readonly string[];
  /** One broker in this process. */
  readonly single?: { readonly group: string; readonly replicaIndex: number };
  /**
   * Without `single`: groups `<groupPrefix><index>` × `replicas`. Every broker of one process registers the process's
   * address; with `replicas` > 1 two replicas of a group that apply for the same id in the same millisecond send the
   * same check code and both get it. Prefer one replica per process (`replicas: 1`, the same groups in R processes).
   */
  readonly groups?: number;
  readonly replicas?: number;
  readonly groupPrefix?: string;
  /** More broker-sim flags, e.g. ['--sync-broker-metadata-period-ms', '600000']. */
  readonly args?: readonly string[];
  /** A name for logs. */
  readonly name?: string;
}

export class BrokerSim {
  #proc: ManagedProcess;
  #generation = 0;

  private constructor(
    readonly options: BrokerSimOptions,
    readonly port: number,
  ) {
    this.#proc = this.#spawn();
  }

  /** Spawns the process and waits until its control API answers. */
  static async start(options: BrokerSimOptions): Promise<BrokerSim> {
    const sim = new BrokerSim(options, await freePort());
    try {
      await sim.waitHealthy();
    } catch (error) {
      await sim.stop();
      throw error;
    }
    return sim;
  }

  get name(): string {
    const o = this.options;
    return (
      o.name ??
      (o.single ? `sim-${o.single.group}-r${o.single.replicaIndex}` : `sim-${o.groupPrefix ?? 'broker-'}`)
    );
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get proc(): ManagedProcess {
    return this.#proc;
  }

  get pid(): number {
    const pid = this.#proc.child.pid;
    if (pid === undefined) throw new Error(`${this.name} has no pid`);
    return pid;
  }

  get alive(): boolean {
    return this.#proc.child.exitCode === null && this.#proc.child.signalCode === null;
  }

  #spawn(): ManagedProcess {
    const o = this.options;
    const args = [
      '--gateway',
      o.gateway,
      '--token',
      o.token,
      '--cluster',
      o.cluster,
      '--data-dir',
      o.dataDir,
      '--port',
      String(this.port),
      ...(o.nats !== undefined && o.nats.length > 0 ? ['--nats', o.nats.join(',')] : []),
      ...(o.single
        ? ['--single', '--group', o.single.group, '--replica-index', String(o.single.replicaIndex)]
        : [
            '--groups',
            String(o.groups ?? 1),
            '--replicas',
            String(o.replicas ?? 3),
            '--group-prefix',
            o.groupPrefix ?? 'broker-',
          ]),
      ...(o.args ?? []),
    ];
    this.#generation++;
    return spawnTs(
      this.#generation === 1 ? this.name : `${this.name}#${this.#generation}`,
      'apps/broker-sim/src/main.ts',
      args,
    );
  }

  /** Waits until the control API answers; fails at once (with the process's output) if the process exits. */
  async waitHealthy(timeoutMs = 60_000): Promise<void> {
    const proc = this.#proc;
    const exited = proc.exited.then((code) => {
      throw new Error(`exited with ${code}`);
    });
    try {
      await Promise.race([waitForHttpOk(`${this.url}/healthz`, timeoutMs), exited]);
    } catch (error) {
      throw new Error(
        `${proc.name} did not start: ${(error as Error).message}\n${proc.output().slice(-3000)}`,
        {
          cause: error,
        },
      );
    } finally {
      exited.catch(() => {});
    }
  }

  /** GET /brokers. */
  async brokers(timeoutMs = 2000): Promise<SimBrokerView[]> {
    const res = await fetch(`${this.url}/brokers`, { signal: AbortSignal.timeout(timeoutMs) });
    if (res.status !== 200) throw new Error(`${this.name}: GET /brokers answered ${res.status}`);
    return ((await res.json()) as { brokers: SimBrokerView[] }).brokers;
  }

  /** POST /brokers/<group>/<id|r<index>>/<action> through the control API; returns the broker's view. */
  async act(
    group: string,
    id: string,
    action: 'kill' | 'pause' | 'resume' | 'restart',
  ): Promise<SimBrokerView> {
    const res = await fetch(`${this.url}/brokers/${group}/${id}/${action}`, {
      method: 'POST',
      signal: AbortSignal.timeout(10_000),
    });
    if (res.status !== 200) throw new Error(`${this.name}: ${action} ${group}/${id} answered ${res.status}`);
    return (await res.json()) as SimBrokerView;
  }

  /** SIGKILL of the whole process (a crashed broker host process); resolves when it has exited. */
  async kill(): Promise<void> {
    await this.#proc.kill();
  }

  /** SIGSTOP: the process hangs, its connections stay open. */
  pause(): void {
    this.#proc.pause();
  }

  /** SIGCONT. */
  resume(): void {
    this.#proc.resume();
  }

  /** Starts the process again on the same port and data dir (after kill, or kills it first). */
  async restart(): Promise<void> {
    if (this.alive) await this.#proc.kill();
    this.#proc = this.#spawn();
    await this.waitHealthy();
  }

  async stop(): Promise<void> {
    await this.#proc.stop(3000);
  }

  output(): string {
    return this.#proc.output();
  }
}

/** The view of the broker with this id in this group, from several broker-sim processes (skipping dead ones). */
export async function brokerViews(sims: readonly BrokerSim[], group?: string): Promise<SimBrokerView[]> {
  const views = await Promise.all(sims.filter((s) => s.alive).map((s) => s.brokers().catch(() => [])));
  return views.flat().filter((b) => group === undefined || b.group === group);
}

/** Waits until `check` holds for the views of `group`; returns them. */
export async function waitForBrokers(
  sims: readonly BrokerSim[],
  group: string,
  check: (views: SimBrokerView[]) => boolean,
  options: { timeoutMs?: number; what: string },
): Promise<SimBrokerView[]> {
  return waitFor(
    async () => {
      const views = await brokerViews(sims, group);
      return check(views) ? views : undefined;
    },
    { timeoutMs: options.timeoutMs ?? 20_000, intervalMs: 50, what: options.what },
  );
}
