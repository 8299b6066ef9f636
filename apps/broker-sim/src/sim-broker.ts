// One simulated broker: a broker agent plus a simulated store. As master (and unfenced) it grows its commit log at
// the configured rate, serves HA fetches, computes the confirm offset over `ackQuorumSet()` and proposes SyncStateSet
// shrink/expand; as slave it truncates to the common epoch point of its new master and then follows it with a lag.
// kill = crash (no goodbye, connections closed), pause = hang (nothing sent, connections open), restart = crash then
// start again from the last store checkpoint.
import { mkdir } from 'node:fs/promises';
import {
  type BrokerAgent,
  type BrokerAgentStatus,
  type BrokerServiceConnection,
  confirmOffsetOf,
  createBrokerAgent,
  EpochCache,
  type NatsConnector,
  nextSyncStateSet,
  type RoleEvent,
  type SlaveProgress,
  truncationPoint,
} from '@regent/broker-agent';
import type { Logger } from 'pino';
import type { SimConfig } from './config.js';
import type { HaPeers, HaReply, HaRequest } from './ha.js';
import { SimStore } from './sim-store.js';

export type BrokerState = 'starting' | 'running' | 'paused' | 'killed' | 'stopped' | 'failed';

export interface SimBrokerSpec {
  readonly group: string;
  readonly replicaIndex: number;
  readonly dir: string;
  /** The address registered with the controller: this process's control port. */
  readonly address: string;
  readonly zone: string;
}

export interface SimBrokerDeps {
  readonly config: SimConfig;
  readonly logger: Logger;
  readonly ha: HaPeers;
  readonly connectGateway: () => BrokerServiceConnection;
  readonly connectNats: NatsConnector | undefined;
}

interface SlaveRecord {
  ackOffset: bigint;
  /** The master's max offset when it answered the fetch before this ack: what the slave had been sent. */
  sentBeforeAck: bigint;
  /** The master's max offset in its latest answer. */
  sentOffset: bigint;
  lastCaughtUpMs: number;
  lastSeenMs: number;
}

interface Following {
  readonly masterBrokerId: bigint;
  readonly masterAddress: string;
  handshakeDone: boolean;
  /** Master max offsets seen, oldest first (bounded). */
  readonly samples: { atMs: number; maxOffset: bigint }[];
}

const SAMPLES_MAX = 256;
/** Slaves tracked by a master (the controller allows 64 replicas per group). */
const SLAVES_MAX = 64;

export class SimBroker {
  state: BrokerState = 'stopped';
  private agent: BrokerAgent | undefined;
  private connection: BrokerServiceConnection | undefined;
  private store = new SimStore();
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly slaves = new Map<bigint, SlaveRecord>();
  private following: Following | undefined;
  private replicating = false;
  private lastGrowthMs = 0;
  private failure: string | undefined;
  /** Wall clock (unix ms) when the last role event reached this broker; 0 before any (for failover timing). */
  private roleChangedAtMs = 0;

  constructor(
    readonly spec: SimBrokerSpec,
    private readonly deps: SimBrokerDeps,
  ) {}

  get brokerId(): bigint | undefined {
    return this.agent?.identity()?.brokerId;
  }

  async start(): Promise<void> {
    if (this.state === 'running' || this.state === 'starting' || this.state === 'paused') return;
    this.state = 'starting';
    this.failure = undefined;
    await mkdir(this.spec.dir, { recursive: true });
    this.store = await SimStore.load(this.spec.dir);
    this.slaves.clear();
    this.following = undefined;
    const c = this.deps.config;
    this.connection = this.deps.connectGateway();
    const agent = createBrokerAgent(
      {
        clusterName: c.cluster,
        brokerName: this.spec.group,
        brokerAddress: this.spec.address,
        dataDir: this.spec.dir,
        heartbeatIntervalMs: c.heartbeatIntervalMs,
        heartbeatTimeoutMs: c.heartbeatTimeoutMs,
        syncBrokerMetadataPeriodMs: c.syncBrokerMetadataPeriodMs,
        rpcTimeoutMs: c.rpcTimeoutMs,
        zone: this.spec.zone,
        labels: { replica: String(this.spec.replicaIndex) },
      },
      {
        brokerService: this.connection.client,
        store: this.store,
        connectNats: this.deps.connectNats,
        logger: this.deps.logger.child({ group: this.spec.group, replica: this.spec.replicaIndex }),
      },
    );
    this.agent = agent;
    void this.followRoleEvents(agent);
    void agent.closed().then((error) => this.onAgentClosed(agent, error));
    await agent.start();
    this.lastGrowthMs = Date.now();
    this.every(c.storeTickMs, () => this.storeTick());
    this.every(c.storeFlushMs, () => void this.store.flush(this.spec.dir).catch(() => {}));
    this.every(c.replicationPollMs, () => void this.replicate());
    this.every(c.checkSyncStateSetPeriodMs, () => this.checkSyncStateSet());
    this.state = 'running';
  }

  /** A crash: stop at once, close every connection, keep only what the last checkpoint saved. */
  kill(): void {
    if (this.agent === undefined) return;
    this.halt();
    this.agent.abort();
    this.connection?.abort();
    this.state = 'killed';
  }

  pause(): void {
    if (this.state !== 'running') return;
    this.agent?.pause();
    this.state = 'paused';
  }

  resume(): void {
    if (this.state !== 'paused') return;
    this.agent?.resume();
    this.lastGrowthMs = Date.now();
    this.state = 'running';
  }

  async restart(): Promise<void> {
    this.kill();
    await this.start();
  }

  /** Graceful stop: a last checkpoint, then the agent's goodbye. */
  async stop(): Promise<void> {
    if (this.agent === undefined || this.state === 'stopped') return;
    this.halt();
    await this.store.flush(this.spec.dir).catch(() => {});
    await this.agent.stop();
    this.connection?.abort();
    this.state = 'stopped';
  }

  /** Answers a slave's HA fetch while this broker is a running, unfenced master. */
  serveHa(request: HaRequest): HaReply | undefined {
    const agent = this.agent;
    const self = this.brokerId;
    if (agent === undefined || self === undefined || this.state !== 'running') return undefined;
    const status = agent.status();
    if (status.role !== 'master' || status.fenced) return undefined;
    const now = Date.now();
    const max = this.store.maxOffsetValue;
    const known = this.slaves.has(request.slaveBrokerId);
    if (request.ackOffset >= 0n && (known || this.slaves.size < SLAVES_MAX)) {
      const previous = this.slaves.get(request.slaveBrokerId);
      const sentBeforeAck = previous?.sentOffset ?? max;
      const caughtUp = request.ackOffset >= sentBeforeAck;
      this.slaves.set(request.slaveBrokerId, {
        ackOffset: request.ackOffset,
        sentBeforeAck,
        sentOffset: max,
        lastCaughtUpMs: caughtUp ? now : (previous?.lastCaughtUpMs ?? now),
        lastSeenMs: now,
      });
      // RocketMQ checks expansion on every ack: a slave that holds everything may join right now.
      if (request.ackOffset >= max && !status.syncStateSet.includes(request.slaveBrokerId))
        this.checkSyncStateSet();
    }
    return {
      masterBrokerId: self,
      masterEpoch: status.masterEpoch,
      maxOffset: max,
      confirmOffset: this.store.confirmOffsetValue,
      epochs: this.store.epochs.entries.map((e) => ({ epoch: e.epoch, startOffset: e.startOffset })),
    };
  }

  view(): Record<string, unknown> {
    const status: BrokerAgentStatus | undefined = this.agent?.status();
    return {
      group: this.spec.group,
      replicaIndex: this.spec.replicaIndex,
      brokerId: status?.brokerId?.toString() ?? null,
      address: this.spec.address,
      zone: this.spec.zone,
      state: this.state,
      role: status?.role ?? 'unknown',
      fenced: status?.fenced ?? true,
      fenceReason: status?.fenceReason ?? 'stopped',
      masterEpoch: status?.masterEpoch ?? 0,
      masterBrokerId: status?.masterBrokerId?.toString() ?? null,
      masterAddress: status?.masterAddress ?? '',
      syncStateSet: status?.syncStateSet.map(String) ?? [],
      syncStateSetEpoch: status?.syncStateSetEpoch ?? 0,
      lastEpoch: this.store.lastEpoch(),
      epochs: this.store.epochs.entries.map((e) => `${e.epoch}-${e.startOffset}`),
      maxOffset: this.store.maxOffsetValue.toString(),
      confirmOffset: this.store.confirmOffsetValue.toString(),
      heartbeatStream: status?.heartbeat.streamState ?? 'down',
      natsConnected: status?.natsConnected ?? false,
      counters: status?.counters ?? {},
      roleChangedAtMs: this.roleChangedAtMs,
      failure: this.failure ?? status?.failure?.message ?? null,
    };
  }

  status(): BrokerAgentStatus | undefined {
    return this.agent?.status();
  }

  private every(periodMs: number, fn: () => void): void {
    this.timers.push(
      setInterval(() => {
        if (this.state === 'running') fn();
      }, periodMs),
    );
  }

  private halt(): void {
    for (const t of this.timers.splice(0)) clearInterval(t);
  }

  private onAgentClosed(agent: BrokerAgent, error: Error | undefined): void {
    if (agent !== this.agent || error === undefined) return;
    this.halt();
    this.state = 'failed';
    this.failure = error.message;
    this.deps.logger.error(
      { err: error, group: this.spec.group, replica: this.spec.replicaIndex },
      'broker failed',
    );
  }

  private async followRoleEvents(agent: BrokerAgent): Promise<void> {
    for await (const event of agent.roleEvents()) {
      if (agent !== this.agent) return;
      this.roleChangedAtMs = Date.now();
      this.onRoleEvent(event);
    }
  }

  private onRoleEvent(event: RoleEvent): void {
    if (event.type === 'became-master') {
      this.following = undefined;
      this.slaves.clear();
      this.store.beginMasterEpoch(event.masterEpoch);
    } else if (event.type === 'became-slave') {
      const f = this.following;
      if (
        f === undefined ||
        f.masterBrokerId !== event.masterBrokerId ||
        f.masterAddress !== event.masterAddress
      ) {
        this.following = {
          masterBrokerId: event.masterBrokerId,
          masterAddress: event.masterAddress,
          handshakeDone: false,
          samples: [],
        };
      }
    }
  }

  private storeTick(): void {
    const agent = this.agent;
    const self = this.brokerId;
    const now = Date.now();
    const elapsedMs = now - this.lastGrowthMs;
    this.lastGrowthMs = now;
    if (agent === undefined || self === undefined || agent.isFenced() || agent.status().role !== 'master')
      return;
    this.store.maxOffsetValue += BigInt(
      Math.floor((this.deps.config.writeRateBytesPerSec * elapsedMs) / 1000),
    );
    const connectedSinceMs = now - this.connectedWindowMs();
    const acks = new Map<bigint, bigint>();
    for (const [id, s] of this.slaves) if (s.lastSeenMs >= connectedSinceMs) acks.set(id, s.ackOffset);
    this.store.confirmOffsetValue = confirmOffsetOf({
      masterBrokerId: self,
      masterMaxOffset: this.store.maxOffsetValue,
      quorumSet: agent.ackQuorumSet(),
      acks,
      previous: this.store.confirmOffsetValue,
    });
  }

  /** A slave that fetched within this window counts as connected. */
  private connectedWindowMs(): number {
    return Math.max(500, 5 * this.deps.config.replicationPollMs);
  }

  private checkSyncStateSet(): void {
    const agent = this.agent;
    const self = this.brokerId;
    if (agent === undefined || self === undefined || agent.isFenced()) return;
    const status = agent.status();
    if (status.role !== 'master') return;
    const now = Date.now();
    const slaves: SlaveProgress[] = [...this.slaves].map(([brokerId, s]) => ({
      brokerId,
      connected: now - s.lastSeenMs <= this.connectedWindowMs(),
      asyncLearner: false,
      ackOffset: s.ackOffset,
      lastTransferredOffset: s.sentBeforeAck,
      lastCaughtUpMs: s.lastCaughtUpMs,
    }));
    const next = nextSyncStateSet({
      masterBrokerId: self,
      current: status.syncStateSet,
      slaves,
      nowMs: now,
      slaveNotCatchUpMaxMs: this.deps.config.haMaxTimeSlaveNotCatchupMs,
      confirmOffset: this.store.confirmOffsetValue,
      currentEpochStartOffset: this.store.epochs.last?.startOffset ?? 0n,
    });
    if (next === undefined) return;
    void agent.proposeSyncStateSet(next).then((outcome) => {
      if (outcome.kind !== 'accepted' && outcome.kind !== 'in-flight') {
        this.deps.logger.debug(
          { group: this.spec.group, outcome: outcome.kind },
          'SyncStateSet change not applied',
        );
      }
    });
  }

  private async replicate(): Promise<void> {
    const f = this.following;
    const self = this.brokerId;
    if (f === undefined || self === undefined || this.replicating || this.agent?.status().role !== 'slave')
      return;
    this.replicating = true;
    try {
      const ackOffset = f.handshakeDone ? this.store.maxOffsetValue : -1n;
      const reply = await this.deps.ha.fetch(f.masterAddress, this.spec.group, f.masterBrokerId, {
        slaveBrokerId: self,
        ackOffset,
      });
      if (reply === undefined || f !== this.following || this.state !== 'running') return;
      if (!f.handshakeDone && !this.handshake(reply)) return;
      f.handshakeDone = true;
      this.apply(f, reply);
    } finally {
      this.replicating = false;
    }
  }

  /** Truncates to the consistent point with the master (§3.6); false when there is none yet (retried). */
  private handshake(reply: HaReply): boolean {
    if (this.store.epochs.size === 0) {
      this.store.truncate(0n); // a fresh replica copies from the start
      return true;
    }
    const point = truncationPoint(
      { cache: this.store.epochs, maxOffset: this.store.maxOffsetValue },
      { cache: EpochCache.of(reply.epochs), maxOffset: reply.maxOffset },
    );
    if (point === undefined) {
      this.deps.logger.warn(
        { group: this.spec.group, replica: this.spec.replicaIndex },
        'no common epoch with master',
      );
      return false;
    }
    this.store.truncate(point);
    return true;
  }

  /** Follows the master's max offset as it was `replicationLagMs` ago, recording its epochs as their data arrives. */
  private apply(f: Following, reply: HaReply): void {
    const now = Date.now();
    f.samples.push({ atMs: now, maxOffset: reply.maxOffset });
    if (f.samples.length > SAMPLES_MAX) f.samples.shift();
    const lagMs = this.deps.config.replicationLagMs;
    let target: bigint | undefined;
    for (const s of f.samples) if (now - s.atMs >= lagMs) target = s.maxOffset;
    if (target !== undefined && target > this.store.maxOffsetValue) {
      for (const e of reply.epochs) {
        if (e.epoch > this.store.epochs.lastEpoch && e.startOffset < target) {
          const appended = this.store.epochs.append(e.epoch, e.startOffset);
          if (appended.ok) this.store.epochs = appended.cache;
        }
      }
      this.store.maxOffsetValue = target;
    }
    this.store.confirmOffsetValue = minOffset(reply.confirmOffset, this.store.maxOffsetValue);
  }
}

/** The smaller offset (bigint: Math.min does not apply). */
function minOffset(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}
