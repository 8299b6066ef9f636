// The client workload: simulated brokers (the RocketMQ 5.1.1+ registration protocol, unary heartbeats, ElectMaster,
// AlterSyncStateSet with the epochs they believe, GetReplicaInfo, RegisterBroker) and one admin client (designated
// ElectMaster, audit polling), all through the gateways, every controller operation recorded. Each broker
// incarnation is one sequential observer; it subscribes to its group's NATS subject and believes the newest
// masterEpoch it has seen.
//
// Duplication is exercised at the RPC level (TCP cannot duplicate): a client whose answer was lost re-sends the
// same request (ApplyBrokerId with the same register check code must then be idempotent), and the gateways retry a
// command with the same session sequence after an ambiguous failure, which the proxies' reply loss provokes.
import { setMaxListeners } from 'node:events';
import { fromBinary } from '@bufbuild/protobuf';
import type { Client } from '@connectrpc/connect';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { BrokerService } from '@regent/proto/broker';
import { ControllerCondition } from '@regent/proto/common';
import { RoleChangeNotificationSchema } from '@regent/proto/notify';
import { compareVersions } from './check/epochs.js';
import type { GroupView, OpInput, OpOutput } from './check/types.js';
import { type ChaosCluster, CLUSTER } from './cluster.js';
import { type Recorder, RecorderFullError, viewFrom } from './history.js';
import type { Rng } from './random.js';

export interface WorkloadOptions {
  readonly groups: readonly string[];
  readonly brokersPerGroup: number;
  /** Client deadline of one operation, ms (then its outcome is unknown). */
  readonly operationTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  /** The liveness timeout brokers announce in their heartbeats, ms. */
  readonly heartbeatTimeoutMs: number;
  /** Pause between two operations of one client, ms. */
  readonly thinkMsMin: number;
  readonly thinkMsMax: number;
}

type Mode = 'chaos' | 'settle' | 'stopped';

/** Resolves after `ms`, or at once when `signal` aborts (its listener is removed either way). */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** An ElectMaster answer: a new master, or MASTER_STILL_EXIST (any other condition is recorded as a refusal). */
function electOutput(r: {
  readonly condition: ControllerCondition;
  readonly masterBrokerId?: bigint | undefined;
  readonly masterEpoch: number;
  readonly syncStateSet?: { readonly brokerIds: readonly bigint[]; readonly epoch: number } | undefined;
}): OpOutput {
  if (r.condition === ControllerCondition.UNSPECIFIED) return { type: 'ok', view: viewFrom(r) };
  if (r.condition === ControllerCondition.MASTER_STILL_EXIST)
    return { type: 'ok', view: viewFrom(r), masterKept: true };
  return { type: 'fail', condition: ControllerCondition[r.condition] ?? String(r.condition) };
}

/** What the workload knows about a group's registered ids (to build requests; not used by any checker). */
class GroupKnowledge {
  readonly ids = new Set<number>();
}

export class SimBroker {
  brokerId: number | undefined;
  /** "<address>;<ms>", kept across restarts like RocketMQ's temp identity file. */
  #checkCode: string | undefined;
  #registered = false;
  #incarnation = 0;
  #abort = new AbortController();
  #paused: { promise: Promise<void>; resume: () => void } | undefined;
  #nc: NatsConnection | undefined;
  #clients: Client<typeof BrokerService>[] = [];
  /** The newest view this incarnation saw (its epochs go into AlterSyncStateSet). */
  #lastView: GroupView | undefined;
  #belief: { masterEpoch: number; masterBrokerId: number | undefined } = {
    masterEpoch: 0,
    masterBrokerId: undefined,
  };
  #alive = false;
  /** Offset of this broker's clock from the host's, ms (the nemesis's clock jumps). */
  clockOffsetMs = 0;
  heartbeatsSent = 0;
  heartbeatsFailed = 0;

  constructor(
    readonly name: string,
    readonly group: string,
    readonly address: string,
    private readonly cluster: ChaosCluster,
    private readonly recorder: Recorder,
    private readonly rng: Rng,
    private readonly knowledge: GroupKnowledge,
    private readonly options: WorkloadOptions,
    private readonly mode: () => Mode,
  ) {}

  get alive(): boolean {
    return this.#alive;
  }

  /** The newest (masterEpoch, master) this broker believes. */
  get belief(): { readonly masterEpoch: number; readonly masterBrokerId: number | undefined } {
    return this.#belief;
  }

  get observer(): string {
    return `${this.name}#${this.#incarnation}`;
  }

  async start(natsUrl: string): Promise<void> {
    this.#abort = new AbortController();
    // Every call of this incarnation listens on its signal (bounded by the loops: a few at a time).
    setMaxListeners(64, this.#abort.signal);
    this.#registered = false;
    this.#lastView = undefined;
    this.#belief = { masterEpoch: 0, masterBrokerId: undefined };
    this.#alive = true;
    const links = await Promise.all(
      this.cluster.gateways.map((g) => this.cluster.brokerLink(this.name, g.index)),
    );
    this.#clients = links.map((link) => this.cluster.brokerClient(link));
    const signal = this.#abort.signal;
    void this.#subscribe(natsUrl, signal);
    void this.#heartbeatLoop(signal);
    void this.#operationLoop(signal);
  }

  /** kill -9: in-flight requests are abandoned (their outcome is unknown), nothing else is sent. */
  kill(): void {
    if (!this.#alive) return;
    this.#alive = false;
    this.#abort.abort();
    this.#paused?.resume();
    this.#paused = undefined;
    void this.#nc?.close().catch(() => {});
    this.#nc = undefined;
  }

  /** Forgets the broker id and check code (a lost identity file): the next start registers a new broker. */
  loseIdentity(): void {
    this.brokerId = undefined;
    this.#checkCode = undefined;
  }

  async restart(natsUrl: string): Promise<void> {
    if (this.#alive) return;
    this.#incarnation++;
    await this.start(natsUrl);
  }

  pause(): void {
    if (this.#paused !== undefined || !this.#alive) return;
    let resume = (): void => {};
    const promise = new Promise<void>((r) => {
      resume = r;
    });
    this.#paused = { promise, resume };
  }

  resume(): void {
    this.#paused?.resume();
    this.#paused = undefined;
  }

  async #whileRunning(signal: AbortSignal): Promise<boolean> {
    if (this.#paused !== undefined) await this.#paused.promise;
    return !signal.aborted && this.mode() !== 'stopped';
  }

  #client(): Client<typeof BrokerService> {
    return this.rng.pick(this.#clients);
  }

  #callOptions(signal: AbortSignal) {
    return { signal, timeoutMs: this.options.operationTimeoutMs };
  }

  async #subscribe(natsUrl: string, signal: AbortSignal): Promise<void> {
    try {
      const nc = await connect({
        servers: natsUrl,
        reconnect: true,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 200,
        name: this.observer,
      });
      if (signal.aborted) {
        await nc.close();
        return;
      }
      this.#nc = nc;
      const observer = this.observer;
      nc.subscribe(`regent.${CLUSTER}.${this.group}.role`, {
        callback: (error, msg) => {
          if (error !== null || signal.aborted) return;
          const n = fromBinary(RoleChangeNotificationSchema, msg.data);
          const view = viewFrom(n);
          this.recorder.noteNotification(observer, this.group, Number(n.raftIndex), view);
          this.#adopt(view);
        },
      });
    } catch {
      // NATS down: this incarnation learns from its own answers only.
    }
  }

  async #heartbeatLoop(signal: AbortSignal): Promise<void> {
    while (await this.#whileRunning(signal)) {
      if (this.#registered) this.#sendHeartbeat(signal);
      await sleep(this.options.heartbeatIntervalMs, signal);
    }
  }

  /** One unary heartbeat (fire and forget; not a checked operation: liveness is not replicated). */
  #sendHeartbeat(signal: AbortSignal): void {
    if (this.brokerId === undefined) return;
    this.heartbeatsSent++;
    this.#client()
      .heartbeat(
        {
          heartbeat: {
            clusterName: CLUSTER,
            brokerName: this.group,
            brokerAddress: this.address,
            brokerId: BigInt(this.brokerId),
            epoch: this.#lastView?.masterEpoch ?? -1,
            maxOffset: 0n,
            confirmOffset: 0n,
            heartbeatTimeoutMs: BigInt(this.options.heartbeatTimeoutMs),
          },
        },
        { signal, timeoutMs: this.options.heartbeatIntervalMs * 4 },
      )
      .catch(() => {
        this.heartbeatsFailed++;
      });
  }

  async #operationLoop(signal: AbortSignal): Promise<void> {
    try {
      while (await this.#whileRunning(signal)) {
        if (!this.#registered) await this.#register(signal);
        else if (this.mode() === 'settle') await this.#settleStep(signal);
        else await this.#chaosStep(signal);
        const think =
          this.mode() === 'settle' ? 500 : this.rng.int(this.options.thinkMsMin, this.options.thinkMsMax);
        await sleep(think, signal);
      }
    } catch (error) {
      if (!(error instanceof RecorderFullError)) throw error;
    }
  }

  /** Records one operation; the answer's view (if any) updates this incarnation's knowledge. */
  async #op<T>(
    input: OpInput,
    call: (client: Client<typeof BrokerService>) => Promise<T>,
    toOutput: (answer: T) => OpOutput,
  ): Promise<OpOutput> {
    const client = this.#client();
    const output = await this.recorder.record(this.observer, this.group, input, () => call(client), toOutput);
    if (output.type === 'ok' && output.view !== undefined) {
      if (this.#lastView === undefined || compareVersions(output.view, this.#lastView) > 0)
        this.#lastView = output.view;
      if (output.masterOmittedWhenDead !== true || output.view.masterBrokerId !== undefined)
        this.#adopt(output.view);
    }
    return output;
  }

  /** Believes `view`'s master when its masterEpoch is newer (RocketMQ brokers gate on the epoch). */
  #adopt(view: GroupView): void {
    if (view.masterEpoch <= this.#belief.masterEpoch) return;
    this.#belief = { masterEpoch: view.masterEpoch, masterBrokerId: view.masterBrokerId };
    this.recorder.noteBelief({ broker: this.name, group: this.group, ...this.#belief });
  }

  /** GetNextBrokerId → ApplyBrokerId (same check code on retry) → RegisterBroker; on restart only RegisterBroker. */
  async #register(signal: AbortSignal): Promise<void> {
    const base = { clusterName: CLUSTER, brokerName: this.group };
    if (this.brokerId === undefined) {
      const next = await this.#op(
        { kind: 'getNextBrokerId' },
        (c) => c.getNextBrokerId(base, this.#callOptions(signal)),
        (r) => ({ type: 'ok', nextBrokerId: Number(r.nextBrokerId) }),
      );
      if (next.type !== 'ok' || next.nextBrokerId === undefined) return;
      const id = next.nextBrokerId;
      const checkCode = `${this.address};${Date.now() + this.clockOffsetMs}`;
      for (let attempt = 0; attempt < 4 && !signal.aborted; attempt++) {
        const applied = await this.#op(
          { kind: 'applyBrokerId', brokerId: id, checkCode },
          (c) =>
            c.applyBrokerId(
              { ...base, appliedBrokerId: BigInt(id), registerCheckCode: checkCode },
              this.#callOptions(signal),
            ),
          () => ({ type: 'ok' }),
        );
        if (applied.type === 'ok') {
          this.brokerId = id;
          this.#checkCode = checkCode;
          this.knowledge.ids.add(id);
          break;
        }
        if (applied.type === 'fail') return;
        // Unknown: re-send the identical request (it must be idempotent).
      }
      if (this.brokerId === undefined) return;
    }
    const registered = await this.#registerBroker(signal);
    if (registered.type === 'ok') {
      this.#registered = true;
      // Like a RocketMQ broker, heartbeat at once: a master elected before its first heartbeat looks dead.
      this.#sendHeartbeat(signal);
    }
  }

  #registerBroker(signal: AbortSignal): Promise<OpOutput> {
    const brokerId = this.brokerId!;
    return this.#op(
      { kind: 'registerBroker', brokerId },
      (c) =>
        c.registerBroker(
          {
            clusterName: CLUSTER,
            brokerName: this.group,
            brokerId: BigInt(brokerId),
            brokerAddress: this.address,
          },
          this.#callOptions(signal),
        ),
      (r) => ({ type: 'ok', view: viewFrom(r), masterOmittedWhenDead: true }),
    );
  }

  #getReplicaInfo(signal: AbortSignal): Promise<OpOutput> {
    return this.#op(
      { kind: 'getReplicaInfo' },
      (c) => c.getReplicaInfo({ clusterName: CLUSTER, brokerName: this.group }, this.#callOptions(signal)),
      (r) => ({ type: 'ok', view: viewFrom(r) }),
    );
  }

  #electMaster(signal: AbortSignal): Promise<OpOutput> {
    const brokerId = this.brokerId!;
    return this.#op(
      { kind: 'electMaster', brokerId },
      (c) =>
        c.electMaster(
          { clusterName: CLUSTER, brokerName: this.group, brokerId: BigInt(brokerId) },
          this.#callOptions(signal),
        ),
      electOutput,
    );
  }

  /** An AlterSyncStateSet request with the epochs this broker believes (sometimes stale, to exercise fencing). */
  #alterRequest(view: GroupView): Extract<OpInput, { kind: 'alterSyncStateSet' }> {
    const brokerId = this.brokerId!;
    const members = [...this.knowledge.ids].filter((id) =>
      id === brokerId ? this.rng.chance(0.95) : this.rng.chance(0.5),
    );
    const stale = this.rng.chance(0.1);
    const masterEpoch = stale && this.rng.chance(0.5) ? view.masterEpoch - 1 : view.masterEpoch;
    return {
      kind: 'alterSyncStateSet',
      masterBrokerId: brokerId,
      masterEpoch,
      syncStateSet: [...new Set(members)].sort((a, b) => a - b),
      syncStateSetEpoch:
        stale && masterEpoch === view.masterEpoch ? view.syncStateSetEpoch - 1 : view.syncStateSetEpoch,
    };
  }

  #alterSyncStateSet(
    signal: AbortSignal,
    input: Extract<OpInput, { kind: 'alterSyncStateSet' }>,
  ): Promise<OpOutput> {
    const { masterBrokerId, masterEpoch, syncStateSet, syncStateSetEpoch } = input;
    return this.#op(
      input,
      (c) =>
        c.alterSyncStateSet(
          {
            clusterName: CLUSTER,
            brokerName: this.group,
            masterBrokerId: BigInt(masterBrokerId),
            masterEpoch,
            newSyncStateSet: { brokerIds: syncStateSet.map(BigInt), epoch: syncStateSetEpoch },
          },
          this.#callOptions(signal),
        ),
      (r) => ({
        type: 'ok',
        view: viewFrom({ masterBrokerId: BigInt(masterBrokerId), masterEpoch, syncStateSet: r.syncStateSet }),
      }),
    );
  }

  /** Re-sends this broker's own ApplyBrokerId: idempotent for the same check code. */
  #applyAgain(signal: AbortSignal, brokerId: number, checkCode: string): Promise<OpOutput> {
    return this.#op(
      { kind: 'applyBrokerId', brokerId, checkCode },
      (c) =>
        c.applyBrokerId(
          {
            clusterName: CLUSTER,
            brokerName: this.group,
            appliedBrokerId: BigInt(brokerId),
            registerCheckCode: checkCode,
          },
          this.#callOptions(signal),
        ),
      () => ({ type: 'ok' }),
    );
  }

  /** One random operation; a mutation whose answer was lost is sometimes re-sent at once, identical. */
  async #chaosStep(signal: AbortSignal): Promise<void> {
    const view = this.#lastView;
    const roll = this.rng.next();
    let send: () => Promise<OpOutput>;
    let mutation = true;
    if (view !== undefined && view.masterBrokerId === this.brokerId && roll < 0.4) {
      const input = this.#alterRequest(view);
      send = () => this.#alterSyncStateSet(signal, input);
    } else if (roll >= 0.55 && roll < 0.7) {
      send = () => this.#electMaster(signal);
    } else if (roll >= 0.85 && roll < 0.9 && this.#checkCode !== undefined) {
      const [brokerId, checkCode] = [this.brokerId!, this.#checkCode];
      send = () => this.#applyAgain(signal, brokerId, checkCode);
    } else {
      mutation = false;
      if (roll >= 0.7 && roll < 0.8) send = () => this.#registerBroker(signal);
      else if (roll >= 0.8 && roll < 0.85) {
        send = () =>
          this.#op(
            { kind: 'getNextBrokerId' },
            (c) =>
              c.getNextBrokerId({ clusterName: CLUSTER, brokerName: this.group }, this.#callOptions(signal)),
            (r) => ({ type: 'ok', nextBrokerId: Number(r.nextBrokerId) }),
          );
      } else send = () => this.#getReplicaInfo(signal);
    }
    const output = await send();
    if (mutation && output.type === 'unknown' && this.rng.chance(0.5) && !signal.aborted) await send();
  }

  /** After the heal: poll the group; ask for an election when it has no master. */
  async #settleStep(signal: AbortSignal): Promise<void> {
    const output = await this.#getReplicaInfo(signal);
    if (output.type === 'ok' && output.view?.masterBrokerId === undefined) await this.#electMaster(signal);
  }
}

/** The admin client: designated elections now and then, and audit polling. */
class AdminActor {
  elections = 0;
  auditPollsFailed = 0;

  constructor(
    private readonly cluster: ChaosCluster,
    private readonly recorder: Recorder,
    private readonly rng: Rng,
    private readonly knowledge: ReadonlyMap<string, GroupKnowledge>,
    private readonly options: WorkloadOptions,
    private readonly mode: () => Mode,
  ) {}

  async electLoop(signal: AbortSignal): Promise<void> {
    while (!signal.aborted && this.mode() === 'chaos' && !this.recorder.full) {
      await sleep(this.rng.int(1_500, 4_000), signal);
      if (signal.aborted || this.mode() !== 'chaos') return;
      const group = this.rng.pick([...this.knowledge.keys()]);
      const ids = [...(this.knowledge.get(group)?.ids ?? [])];
      if (ids.length === 0) continue;
      const designated = this.rng.pick(ids);
      const client = this.cluster.adminClient(this.rng.int(0, this.cluster.gateways.length - 1));
      this.elections++;
      await this.recorder.record(
        'admin',
        group,
        { kind: 'adminElectMaster', designatedBrokerId: designated },
        () =>
          client.electMaster(
            { clusterName: CLUSTER, brokerName: group, designatedBrokerId: BigInt(designated) },
            { signal, timeoutMs: this.options.operationTimeoutMs },
          ),
        electOutput,
      );
    }
  }

  /** Polls every group's audit trail (the controller keeps the newest 64 records per group). */
  async pollAudit(signal?: AbortSignal): Promise<boolean> {
    let allOk = true;
    for (const group of this.knowledge.keys()) {
      try {
        const client = this.cluster.adminClient(this.rng.int(0, this.cluster.gateways.length - 1));
        const answer = await client.getElectionAudit(
          { clusterName: CLUSTER, brokerName: group, limit: 0 },
          { signal, timeoutMs: this.options.operationTimeoutMs },
        );
        this.recorder.noteAudit(group, answer.records);
      } catch {
        this.auditPollsFailed++;
        allOk = false;
      }
    }
    return allOk;
  }

  async auditLoop(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await sleep(2_000, signal);
      if (!signal.aborted) await this.pollAudit(signal);
    }
  }
}

export class Workload {
  readonly brokers: SimBroker[] = [];
  readonly #knowledge = new Map<string, GroupKnowledge>();
  readonly #admin: AdminActor;
  #mode: Mode = 'chaos';
  readonly #abort = new AbortController();

  constructor(
    private readonly cluster: ChaosCluster,
    recorder: Recorder,
    rng: Rng,
    options: WorkloadOptions,
  ) {
    const mode = (): Mode => this.#mode;
    for (const group of options.groups) {
      const knowledge = new GroupKnowledge();
      this.#knowledge.set(group, knowledge);
      for (let slot = 1; slot <= options.brokersPerGroup; slot++) {
        const name = `${group}/${slot}`;
        const address = `127.0.0.1:${20_000 + this.brokers.length}`;
        this.brokers.push(
          new SimBroker(name, group, address, cluster, recorder, rng.fork(name), knowledge, options, mode),
        );
      }
    }
    this.#admin = new AdminActor(cluster, recorder, rng.fork('admin'), this.#knowledge, options, mode);
  }

  get adminElections(): number {
    return this.#admin.elections;
  }

  /** The live broker of `group` that the newest belief among its brokers names as master. */
  masterOf(group: string): SimBroker | undefined {
    const members = this.brokers.filter((b) => b.group === group && b.alive);
    const newest = members.reduce<SimBroker | undefined>(
      (best, b) => (best === undefined || b.belief.masterEpoch > best.belief.masterEpoch ? b : best),
      undefined,
    );
    const masterId = newest?.belief.masterBrokerId;
    return masterId === undefined ? undefined : members.find((b) => b.brokerId === masterId);
  }

  broker(name: string): SimBroker | undefined {
    return this.brokers.find((b) => b.name === name);
  }

  async start(): Promise<void> {
    const natsUrl = this.cluster.nats!.url;
    await Promise.all(this.brokers.map((b) => b.start(natsUrl)));
    void this.#admin.electLoop(this.#abort.signal);
    void this.#admin.auditLoop(this.#abort.signal);
  }

  /** Stops mutating at random: brokers only poll (and ask for an election when there is no master). */
  settle(): void {
    this.#mode = 'settle';
  }

  async pollAudit(): Promise<boolean> {
    return this.#admin.pollAudit();
  }

  async stop(): Promise<void> {
    this.#mode = 'stopped';
    this.#abort.abort();
    for (const b of this.brokers) b.kill();
  }
}
