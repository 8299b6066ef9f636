// The broker agent: what a broker embeds to live under the Regent controller (RocketMQ `ReplicasManager`, §3).
// It registers with a persisted identity, heartbeats, learns its role from GetReplicaInfo polls, election replies
// and NATS notifications — each gated on a strictly newer masterEpoch — asks for an election when the group has no
// master, keeps the broker fenced until its role is known, and reports the master's SyncStateSet changes.
//
// Control flow: `start()` checks the identity files and returns; registration, heartbeats, polling and the NATS
// subscription run in the background until `stop()`/`abort()`, a permanent registration refusal, or an unexpected
// error (a bug, or an injected crash), which terminates the agent; `closed()` tells which.
import { create, fromBinary } from '@bufbuild/protobuf';
import { ConnectError } from '@connectrpc/connect';
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { readControllerError } from '@regent/proto';
import type {
  ElectMasterResponse,
  GetReplicaInfoResponse,
  RegisterBrokerResponse,
} from '@regent/proto/broker';
import { type BrokerHeartbeat, BrokerHeartbeatSchema, ControllerCondition } from '@regent/proto/common';
import { type RoleChangeNotification, RoleChangeNotificationSchema } from '@regent/proto/notify';
import { roleSubject } from './adapters.js';
import { assert } from './assert.js';
import { createBackoff } from './backoff.js';
import { type Cancel, type Clock, type Random, sleep, systemClock, systemRandom } from './clock.js';
import { BrokerAgentConfigError, RegistrationRejectedError } from './errors.js';
import { HeartbeatSender, type HeartbeatStats } from './heartbeat.js';
import { type BrokerIdentity, readIdentityFiles } from './identity-files.js';
import {
  type AgentLogger,
  type BrokerServiceClient,
  type NatsConnector,
  type StoreView,
  silentLogger,
} from './ports.js';
import { type Registered, type RegistrationHooks, registerBroker } from './registration.js';
import {
  decideRole,
  initialRoleState,
  type ReplicaInfo,
  type Role,
  type RoleState,
  sameIds,
  sortedUnique,
  unionOf,
} from './role.js';
import { type FenceReason, type RoleEvent, RoleEventHub } from './role-events.js';

/**
 * Defaults, chosen with the controller for sub-second failover (RocketMQ's are in brackets):
 * - heartbeat every 100 ms [1000], timeout 500 ms [10 000]: a silent broker is declared dead after five missed
 *   heartbeats, which rides out a ~400 ms GC or scheduling pause; a crashed one is caught at once by its broken
 *   heartbeat stream.
 * - GetReplicaInfo every 1000 ms [5000]: NATS notifications carry role changes within milliseconds; the poll is the
 *   fallback for a missed one and bounds convergence without it to ~1 s.
 * - RPC timeout 1000 ms [3000]: twice the heartbeat timeout, so a call outlives a leader change on the gateway's
 *   side but a dead path is noticed within one poll period.
 * - stream reconnect 50 ms → 1000 ms [n/a]: a broken stream reopens before the next heartbeat is due; unary
 *   heartbeats cover the gap meanwhile.
 * - registration retry 100 ms → 5000 ms [5 attempts, random sleep < 1 s, then every 5 s].
 */
export const BROKER_AGENT_DEFAULTS = {
  heartbeatIntervalMs: 100,
  heartbeatTimeoutMs: 500,
  syncBrokerMetadataPeriodMs: 1000,
  rpcTimeoutMs: 1000,
  useHeartbeatStream: true,
  streamReconnectMinMs: 50,
  streamReconnectMaxMs: 1000,
  registerRetryMinMs: 100,
  registerRetryMaxMs: 5000,
  /** Off: a master keeps serving while the controller is unreachable, as in RocketMQ. */
  selfFenceAfterMs: 0,
  restartRegistrationWhenForgotten: true,
  roleEventsBufferMax: 64,
  roleEventSubscribersMax: 16,
  subjectPrefix: 'regent',
} as const;

export interface BrokerAgentConfig {
  readonly clusterName: string;
  readonly brokerName: string;
  /** The broker's own "host:port" (registered with the controller, told to slaves as the master address). */
  readonly brokerAddress: string;
  /** Where the identity files live (RocketMQ `storePathRootDir`). */
  readonly dataDir: string;
  readonly heartbeatIntervalMs?: number;
  /** Sent in every heartbeat; the controller declares the broker dead after this long without one. */
  readonly heartbeatTimeoutMs?: number;
  readonly syncBrokerMetadataPeriodMs?: number;
  readonly rpcTimeoutMs?: number;
  /** Lower wins; absent means lowest priority (RocketMQ Integer.MAX_VALUE). */
  readonly electionPriority?: number;
  readonly zone?: string;
  /** At most 16 entries. */
  readonly labels?: Readonly<Record<string, string>>;
  readonly useHeartbeatStream?: boolean;
  readonly streamReconnectMinMs?: number;
  readonly streamReconnectMaxMs?: number;
  readonly registerRetryMinMs?: number;
  readonly registerRetryMaxMs?: number;
  /**
   * When > 0, the broker fences itself after this long without an acknowledged heartbeat, and unfences after the
   * next successful poll. 0 (default) keeps RocketMQ's behaviour: a master keeps serving without the controller.
   */
  readonly selfFenceAfterMs?: number;
  readonly restartRegistrationWhenForgotten?: boolean;
  readonly roleEventsBufferMax?: number;
  readonly roleEventSubscribersMax?: number;
  /** NATS subject prefix; the agent subscribes to `<prefix>.<cluster>.<brokerName>.role`. */
  readonly subjectPrefix?: string;
}

export interface BrokerAgentPorts {
  readonly brokerService: BrokerServiceClient;
  readonly store: StoreView;
  /** Omitted: no notifications, role changes are learned by polling only. */
  readonly connectNats?: NatsConnector;
  readonly clock?: Clock;
  readonly random?: Random;
  readonly logger?: AgentLogger;
  readonly registrationHooks?: RegistrationHooks;
}

export type AgentPhase = 'created' | 'registering' | 'running' | 'stopped' | 'failed';

export interface AgentCounters {
  registrationAttempts: number;
  /** News with a lower masterEpoch than held, ignored. */
  staleIgnored: number;
  /** News with the held masterEpoch and nothing new, ignored. */
  duplicateIgnored: number;
  roleChanges: number;
  notificationsReceived: number;
  /** Undecodable notifications or ones for another group. */
  notificationsInvalid: number;
  polls: number;
  pollFailures: number;
  electionsRequested: number;
  electionFailures: number;
  alterRequests: number;
  alterAccepted: number;
  alterFenced: number;
  alterRejected: number;
  natsReconnects: number;
}

export interface BrokerAgentStatus {
  readonly phase: AgentPhase;
  readonly paused: boolean;
  readonly brokerId: bigint | undefined;
  readonly role: Role;
  readonly fenced: boolean;
  readonly fenceReason: FenceReason | undefined;
  readonly masterEpoch: number;
  readonly masterBrokerId: bigint | undefined;
  readonly masterAddress: string;
  readonly syncStateSet: readonly bigint[];
  readonly syncStateSetEpoch: number;
  /** The set being proposed to the controller, while an AlterSyncStateSet is in flight. */
  readonly proposedSyncStateSet: readonly bigint[] | undefined;
  readonly natsConnected: boolean;
  readonly counters: Readonly<AgentCounters>;
  readonly roleEventsDropped: number;
  readonly heartbeat: HeartbeatStats;
  readonly failure: Error | undefined;
}

export type AlterOutcome =
  | {
      readonly kind: 'accepted';
      readonly syncStateSet: readonly bigint[];
      readonly syncStateSetEpoch: number;
    }
  /** Not the master, or fenced: nothing was sent. */
  | { readonly kind: 'not-master' }
  /** Another change is in flight: nothing was sent; propose again after it is answered. */
  | { readonly kind: 'in-flight' }
  /** The proposal equals the current set: nothing was sent. */
  | { readonly kind: 'unchanged' }
  /** The controller holds a newer masterEpoch or syncStateSetEpoch: the poll will bring it. */
  | { readonly kind: 'fenced'; readonly condition: ControllerCondition }
  | { readonly kind: 'rejected'; readonly condition: ControllerCondition; readonly message: string }
  /** No answer (network, timeout): the outcome is unknown; the poll will tell. */
  | { readonly kind: 'failed'; readonly error: ConnectError }
  /** The role or masterEpoch changed while the request was in flight; its answer was not applied. */
  | { readonly kind: 'superseded' };

export interface BrokerAgent {
  /** Checks the identity files (throws `IdentityMismatchError`/`IdentityFileError`) and starts the background work. */
  start(): Promise<void>;
  /** Stops gracefully: half-closes the heartbeat stream, drains NATS. Idempotent. */
  stop(): Promise<void>;
  /** Stops at once like a crashed process: no goodbye on any connection. */
  abort(): void;
  /** Simulates a hung process: nothing is sent or applied, connections stay open. */
  pause(): void;
  resume(): void;
  /** Resolves when the agent terminated: undefined after stop/abort, the error after a failure. */
  closed(): Promise<Error | undefined>;
  /** True while the broker must not serve: role unknown, no master, self-fenced, or terminated. */
  isFenced(): boolean;
  status(): BrokerAgentStatus;
  identity(): BrokerIdentity | undefined;
  /** Role events; the first one describes the current state. */
  roleEvents(): AsyncIterableIterator<RoleEvent>;
  /** The set acks are counted against: the SyncStateSet, or its union with the proposed one while in flight. */
  ackQuorumSet(): readonly bigint[];
  /** Master only: asks the controller to change the SyncStateSet; the local set changes only on acceptance. */
  proposeSyncStateSet(brokerIds: readonly bigint[]): Promise<AlterOutcome>;
}

type Settings = Required<Omit<BrokerAgentConfig, 'electionPriority'>> & {
  readonly electionPriority?: number;
};

/** Bound on a graceful NATS drain at stop; a disconnected client is closed instead. */
const NATS_DRAIN_MAX_MS = 1000;
const NAME_RE = /^[A-Za-z0-9_-]{1,255}$/;
const LABELS_MAX = 16;

function settingsOf(config: BrokerAgentConfig): Settings {
  const s = { ...BROKER_AGENT_DEFAULTS, zone: '', labels: {}, ...stripUndefined(config) } as Settings;
  const bad = (message: string): never => {
    throw new BrokerAgentConfigError(message);
  };
  // Names end up in identity files ('#'-separated) and NATS subjects ('.'-separated tokens).
  if (!NAME_RE.test(s.clusterName)) bad(`clusterName ${JSON.stringify(s.clusterName)} must match ${NAME_RE}`);
  if (!NAME_RE.test(s.brokerName)) bad(`brokerName ${JSON.stringify(s.brokerName)} must match ${NAME_RE}`);
  if (!/^[^#;\s]{1,256}$/.test(s.brokerAddress))
    bad(`brokerAddress ${JSON.stringify(s.brokerAddress)} is invalid`);
  if (s.dataDir === '') bad('dataDir is required');
  if (!(s.heartbeatIntervalMs > 0)) bad('heartbeatIntervalMs must be > 0');
  if (!(s.heartbeatTimeoutMs > s.heartbeatIntervalMs))
    bad('heartbeatTimeoutMs must exceed heartbeatIntervalMs');
  if (!(s.syncBrokerMetadataPeriodMs > 0) || !(s.rpcTimeoutMs > 0)) bad('periods and timeouts must be > 0');
  if (!(s.roleEventsBufferMax >= 1) || !(s.roleEventSubscribersMax >= 1)) bad('event limits must be >= 1');
  if (Object.keys(s.labels).length > LABELS_MAX) bad(`at most ${LABELS_MAX} labels`);
  return s;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export function createBrokerAgent(config: BrokerAgentConfig, ports: BrokerAgentPorts): BrokerAgent {
  return new Agent(settingsOf(config), ports);
}

class Agent implements BrokerAgent {
  private readonly clock: Clock;
  private readonly random: Random;
  private readonly logger: AgentLogger;
  private readonly client: BrokerServiceClient;
  private readonly heartbeats: HeartbeatSender;
  private readonly hub: RoleEventHub;
  private readonly timers = new Set<Cancel>();
  private readonly counters: AgentCounters = {
    registrationAttempts: 0,
    staleIgnored: 0,
    duplicateIgnored: 0,
    roleChanges: 0,
    notificationsReceived: 0,
    notificationsInvalid: 0,
    polls: 0,
    pollFailures: 0,
    electionsRequested: 0,
    electionFailures: 0,
    alterRequests: 0,
    alterAccepted: 0,
    alterFenced: 0,
    alterRejected: 0,
    natsReconnects: 0,
  };
  private phase: AgentPhase = 'created';
  private failure: Error | undefined;
  private failReason: FenceReason = 'stopped';
  private paused = false;
  private self: BrokerIdentity | undefined;
  private roleState: RoleState = initialRoleState;
  private noMasterSeen = false;
  private selfFenced = false;
  private registeredAtMs = 0;
  private proposed: readonly bigint[] | undefined;
  private pollInFlight = false;
  private electInFlight = false;
  private reRegistering = false;
  private cancelPoll: Cancel | undefined;
  /** The newest notification that arrived while paused (bounded to one: later ones supersede it). */
  private heldNotification: ReplicaInfo | undefined;
  private nc: NatsConnection | undefined;
  private natsSubscription: Subscription | undefined;
  private natsConnected = false;
  private lastEventKey = '';
  private readonly stopSignal: Promise<void>;
  /** Aborted at stop: cancels registration calls and steps. */
  private readonly stopController = new AbortController();
  private signalStop!: () => void;
  private readonly closedPromise: Promise<Error | undefined>;
  private resolveClosed!: (error: Error | undefined) => void;

  constructor(
    private readonly s: Settings,
    private readonly ports: BrokerAgentPorts,
  ) {
    this.clock = ports.clock ?? systemClock;
    this.random = ports.random ?? systemRandom;
    this.logger = ports.logger ?? silentLogger;
    this.client = ports.brokerService;
    this.stopSignal = new Promise((resolve) => (this.signalStop = resolve));
    this.closedPromise = new Promise((resolve) => (this.resolveClosed = resolve));
    this.hub = new RoleEventHub(
      { bufferMax: s.roleEventsBufferMax, subscribersMax: s.roleEventSubscribersMax },
      () => this.currentEvent(),
    );
    this.heartbeats = new HeartbeatSender(
      {
        intervalMs: s.heartbeatIntervalMs,
        timeoutMs: s.heartbeatTimeoutMs,
        useStream: s.useHeartbeatStream,
        reconnectMinMs: s.streamReconnectMinMs,
        reconnectMaxMs: s.streamReconnectMaxMs,
      },
      {
        client: this.client,
        clock: this.clock,
        random: this.random,
        logger: this.logger,
        build: () => this.heartbeat(),
      },
    );
  }

  // ---- lifecycle ----------------------------------------------------------------------------------------------

  async start(): Promise<void> {
    assert(this.phase === 'created', `start() in phase ${this.phase}`);
    await readIdentityFiles(this.s.dataDir, this.s);
    this.phase = 'registering';
    this.lastEventKey = eventKey(this.currentEvent());
    void this.connectNats().catch((error: unknown) => this.fail(error));
    void this.run().catch((error: unknown) => this.fail(error));
  }

  async stop(): Promise<void> {
    if (this.terminated()) return;
    this.phase = 'stopped';
    this.halt(true);
    const nc = this.nc;
    this.nc = undefined;
    if (nc !== undefined) await drainOrClose(nc, this.clock);
    this.finish(undefined);
  }

  abort(): void {
    if (this.terminated()) return;
    this.phase = 'stopped';
    this.halt(false);
    void this.nc?.close().catch(() => {});
    this.nc = undefined;
    this.finish(undefined);
  }

  pause(): void {
    this.paused = true;
    this.heartbeats.setPaused(true);
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.heartbeats.setPaused(false);
    const held = this.heldNotification;
    this.heldNotification = undefined;
    if (held !== undefined) this.applyInfo(held, 'notification');
    this.schedulePoll(0);
  }

  closed(): Promise<Error | undefined> {
    return this.closedPromise;
  }

  private terminated(): boolean {
    return this.phase === 'stopped' || this.phase === 'failed';
  }

  /** Fatal: an unexpected error (a bug or an injected crash) or a permanent refusal. */
  private fail(error: unknown, reason: FenceReason = 'stopped'): void {
    if (this.terminated()) return;
    this.phase = 'failed';
    this.failReason = reason;
    this.failure = error instanceof Error ? error : new Error(String(error));
    this.logger.error({ err: this.failure }, 'broker agent terminated');
    this.halt(false);
    void this.nc?.close().catch(() => {});
    this.nc = undefined;
    this.finish(this.failure);
  }

  private halt(graceful: boolean): void {
    this.heartbeats.stop(graceful);
    for (const cancel of this.timers) cancel();
    this.timers.clear();
    this.signalStop();
    this.stopController.abort();
    this.natsSubscription?.unsubscribe();
  }

  private finish(error: Error | undefined): void {
    this.emitIfChanged();
    this.hub.close();
    this.resolveClosed(error);
  }

  private setTimer(fn: () => void, delayMs: number): Cancel {
    const cancel = this.clock.setTimer(() => {
      this.timers.delete(cancel);
      if (!this.terminated()) fn();
    }, delayMs);
    this.timers.add(cancel);
    return () => {
      cancel();
      this.timers.delete(cancel);
    };
  }

  // ---- registration and startup ---------------------------------------------------------------------------------

  private async run(): Promise<void> {
    const registered = await this.registerWithRetry();
    if (registered === undefined) return;
    this.phase = 'running';
    await this.heartbeats.sendUnary();
    if (this.terminated()) return;
    this.heartbeats.start();
    this.schedulePoll(this.s.syncBrokerMetadataPeriodMs);
    this.onRegistered(registered.reply);
  }

  private async registerWithRetry(): Promise<Registered | undefined> {
    const backoff = createBackoff(
      { minMs: this.s.registerRetryMinMs, maxMs: this.s.registerRetryMaxMs },
      this.random,
    );
    while (!this.terminated()) {
      this.counters.registrationAttempts++;
      try {
        const registered = await registerBroker(
          {
            clusterName: this.s.clusterName,
            brokerName: this.s.brokerName,
            brokerAddress: this.s.brokerAddress,
            dataDir: this.s.dataDir,
            rpcTimeoutMs: this.s.rpcTimeoutMs,
            restartWhenForgotten: this.s.restartRegistrationWhenForgotten,
          },
          {
            client: this.client,
            clock: this.clock,
            hooks: this.ports.registrationHooks,
            signal: this.stopController.signal,
          },
        );
        if (this.terminated()) return undefined;
        this.adoptIdentity(registered.identity);
        return registered;
      } catch (error) {
        if (this.terminated()) return undefined;
        if (error instanceof RegistrationRejectedError && error.permanent) {
          this.fail(error, 'registration-failed');
          return undefined;
        }
        if (!(error instanceof ConnectError) && !(error instanceof RegistrationRejectedError)) throw error;
        this.logger.warn({ err: error }, 'registration attempt failed; retrying');
        await sleep(this.clock, backoff.next(), this.stopSignal);
      }
    }
    return undefined;
  }

  private adoptIdentity(identity: BrokerIdentity): void {
    const previous = this.self;
    this.self = identity;
    if (previous !== undefined && previous.brokerId !== identity.brokerId) {
      this.logger.warn(
        { old: String(previous.brokerId), new: String(identity.brokerId) },
        'broker id changed',
      );
      this.heartbeats.restartStream();
    }
    this.registeredAtMs = this.clock.nowMs();
    this.logger.info({ brokerId: String(identity.brokerId) }, 'registered');
  }

  /** RegisterBroker names a master only when it is alive: follow it, or ask for an election (RocketMQ step 5). */
  private onRegistered(reply: RegisterBrokerResponse): void {
    if (reply.masterBrokerId !== undefined) {
      this.applyInfo(infoOf(reply, reply.masterBrokerId), 'register');
    } else {
      void this.elect();
    }
  }

  /** The group or id is unknown to the controller (cleaned): register again from the files, forgetting the role. */
  private async reRegister(): Promise<void> {
    if (this.reRegistering) return;
    this.reRegistering = true;
    try {
      this.roleState = initialRoleState;
      this.noMasterSeen = false;
      this.emitIfChanged();
      const registered = await this.registerWithRetry();
      if (registered !== undefined) this.onRegistered(registered.reply);
    } finally {
      this.reRegistering = false;
    }
  }

  // ---- role news -----------------------------------------------------------------------------------------------

  private schedulePoll(delayMs: number): void {
    this.cancelPoll?.();
    this.cancelPoll = this.setTimer(() => {
      this.schedulePoll(this.s.syncBrokerMetadataPeriodMs);
      if (!this.paused) void this.poll();
    }, delayMs);
  }

  private async poll(): Promise<void> {
    const self = this.self;
    if (this.pollInFlight || self === undefined || this.reRegistering) return;
    this.pollInFlight = true;
    this.counters.polls++;
    this.checkSelfFence();
    try {
      const reply = await this.client.getReplicaInfo(
        { clusterName: this.s.clusterName, brokerName: this.s.brokerName },
        { timeoutMs: this.s.rpcTimeoutMs },
      );
      if (this.terminated() || this.paused) return;
      this.applyInfo(infoOf(reply, reply.masterBrokerId), 'poll');
      this.maybeUnfenceSelf();
    } catch (error) {
      if (this.terminated()) return;
      this.counters.pollFailures++;
      const condition = readControllerError(error)?.condition;
      this.logger.debug({ err: error }, 'GetReplicaInfo failed');
      if (condition === ControllerCondition.BROKER_METADATA_NOT_EXIST) void this.reRegister();
    } finally {
      this.pollInFlight = false;
    }
  }

  private async elect(): Promise<void> {
    const self = this.self;
    if (this.electInFlight || self === undefined) return;
    this.electInFlight = true;
    this.counters.electionsRequested++;
    try {
      const reply = await this.client.electMaster(
        { clusterName: this.s.clusterName, brokerName: this.s.brokerName, brokerId: self.brokerId },
        { timeoutMs: this.s.rpcTimeoutMs },
      );
      if (this.terminated() || this.paused) return;
      this.applyInfo(infoOf(reply, reply.masterBrokerId), 'election');
    } catch (error) {
      if (this.terminated()) return;
      this.counters.electionFailures++;
      this.logger.info({ err: error }, 'ElectMaster failed; the next poll retries');
    } finally {
      this.electInFlight = false;
    }
  }

  private onNotification(error: Error | null, msg: Msg): void {
    if (error !== null || this.terminated()) return;
    this.counters.notificationsReceived++;
    let n: RoleChangeNotification;
    try {
      n = fromBinary(RoleChangeNotificationSchema, msg.data);
    } catch {
      this.counters.notificationsInvalid++;
      return;
    }
    if (n.clusterName !== this.s.clusterName || n.brokerName !== this.s.brokerName) {
      this.counters.notificationsInvalid++;
      return;
    }
    const info = infoOf(n, n.masterBrokerId);
    if (this.paused) {
      const held = this.heldNotification;
      if (held === undefined || info.masterEpoch >= held.masterEpoch) this.heldNotification = info;
      return;
    }
    this.applyInfo(info, 'notification');
  }

  /** Every piece of news goes through here: the epoch gate, then the state change and its event. */
  private applyInfo(info: ReplicaInfo, source: string): void {
    const self = this.self;
    if (self === undefined || this.terminated()) return;
    const decision = decideRole(this.roleState, info, self.brokerId);
    switch (decision.kind) {
      case 'stale':
        this.counters.staleIgnored++;
        this.logger.debug(
          { source, epoch: info.masterEpoch, held: this.roleState.masterEpoch },
          'stale news ignored',
        );
        return;
      case 'duplicate':
        this.counters.duplicateIgnored++;
        return;
      case 'sync-state-set':
        this.roleState = decision.state;
        return;
      case 'no-master':
        if (decision.state.masterEpoch !== this.roleState.masterEpoch) this.counters.roleChanges++;
        this.roleState = decision.state;
        this.noMasterSeen = true;
        this.emitIfChanged();
        void this.elect();
        return;
      case 'became-master':
      case 'became-slave':
        this.counters.roleChanges++;
        this.roleState = decision.state;
        this.noMasterSeen = false;
        this.logger.info(
          { source, role: decision.state.role, masterEpoch: decision.state.masterEpoch },
          'role changed',
        );
        this.emitIfChanged();
        return;
    }
  }

  private checkSelfFence(): void {
    if (this.s.selfFenceAfterMs <= 0 || this.selfFenced) return;
    const lastAckMs = Math.max(this.heartbeats.stats().lastAckMs, this.registeredAtMs);
    if (this.clock.nowMs() - lastAckMs > this.s.selfFenceAfterMs) {
      this.selfFenced = true;
      this.logger.warn({ lastAckMs }, 'no heartbeat acknowledged; fencing');
      this.emitIfChanged();
    }
  }

  private maybeUnfenceSelf(): void {
    if (!this.selfFenced) return;
    if (this.clock.nowMs() - this.heartbeats.stats().lastAckMs <= this.s.selfFenceAfterMs) {
      this.selfFenced = false;
      this.emitIfChanged();
    }
  }

  // ---- NATS ------------------------------------------------------------------------------------------------------

  private async connectNats(): Promise<void> {
    const connector = this.ports.connectNats;
    if (connector === undefined) return;
    const backoff = createBackoff(
      { minMs: this.s.registerRetryMinMs, maxMs: this.s.registerRetryMaxMs },
      this.random,
    );
    let nc: NatsConnection | undefined;
    while (nc === undefined && !this.terminated()) {
      try {
        nc = await connector();
      } catch (error) {
        this.logger.warn({ err: error }, 'NATS connect failed; retrying');
        await sleep(this.clock, backoff.next(), this.stopSignal);
      }
    }
    if (nc === undefined) return;
    if (this.terminated()) {
      await nc.close().catch(() => {});
      return;
    }
    this.nc = nc;
    this.natsConnected = true;
    const subject = roleSubject(this.s.subjectPrefix, this.s.clusterName, this.s.brokerName);
    this.natsSubscription = nc.subscribe(subject, {
      callback: (error, msg) => {
        this.onNotification(error, msg);
      },
    });
    for await (const status of nc.status()) {
      if (status.type === 'disconnect') this.natsConnected = false;
      if (status.type === 'reconnect') {
        this.natsConnected = true;
        this.counters.natsReconnects++;
        // Notifications sent while disconnected are lost: ask now instead of at the next period.
        if (!this.terminated()) this.schedulePoll(0);
      }
    }
  }

  // ---- SyncStateSet ----------------------------------------------------------------------------------------------

  ackQuorumSet(): readonly bigint[] {
    const current = this.roleState.syncStateSet;
    return this.proposed === undefined ? current : unionOf(current, this.proposed);
  }

  async proposeSyncStateSet(brokerIds: readonly bigint[]): Promise<AlterOutcome> {
    const self = this.self;
    const held = this.roleState;
    if (self === undefined || held.role !== 'master' || this.isFenced()) return { kind: 'not-master' };
    if (this.proposed !== undefined) return { kind: 'in-flight' };
    const proposed = sortedUnique(brokerIds);
    if (sameIds(proposed, held.syncStateSet)) return { kind: 'unchanged' };
    this.proposed = proposed;
    this.counters.alterRequests++;
    try {
      const reply = await this.client.alterSyncStateSet(
        {
          clusterName: this.s.clusterName,
          brokerName: this.s.brokerName,
          masterBrokerId: self.brokerId,
          masterEpoch: held.masterEpoch,
          newSyncStateSet: { brokerIds: proposed, epoch: held.syncStateSetEpoch },
        },
        { timeoutMs: this.s.rpcTimeoutMs },
      );
      return this.onAlterAccepted(held, reply.syncStateSet?.brokerIds ?? proposed, reply.syncStateSet?.epoch);
    } catch (error) {
      return this.onAlterFailed(error);
    } finally {
      this.proposed = undefined;
    }
  }

  private onAlterAccepted(held: RoleState, ids: readonly bigint[], epoch: number | undefined): AlterOutcome {
    const now = this.roleState;
    if (this.terminated() || now.role !== 'master' || now.masterEpoch !== held.masterEpoch) {
      return { kind: 'superseded' };
    }
    this.counters.alterAccepted++;
    const newEpoch = epoch ?? held.syncStateSetEpoch + 1;
    if (newEpoch > now.syncStateSetEpoch) {
      this.roleState = { ...now, syncStateSet: sortedUnique(ids), syncStateSetEpoch: newEpoch };
    }
    return {
      kind: 'accepted',
      syncStateSet: this.roleState.syncStateSet,
      syncStateSetEpoch: this.roleState.syncStateSetEpoch,
    };
  }

  private onAlterFailed(error: unknown): AlterOutcome {
    const condition = readControllerError(error)?.condition ?? ControllerCondition.UNSPECIFIED;
    if (
      condition === ControllerCondition.FENCED_MASTER_EPOCH ||
      condition === ControllerCondition.FENCED_SYNC_STATE_SET_EPOCH
    ) {
      // RocketMQ: log and wait for the poll to learn the newer epoch; no self-demotion here.
      this.counters.alterFenced++;
      this.logger.info({ condition: ControllerCondition[condition] }, 'AlterSyncStateSet fenced');
      return { kind: 'fenced', condition };
    }
    const connectError = ConnectError.from(error);
    if (condition !== ControllerCondition.UNSPECIFIED) {
      this.counters.alterRejected++;
      return { kind: 'rejected', condition, message: connectError.rawMessage };
    }
    return { kind: 'failed', error: connectError };
  }

  // ---- views -----------------------------------------------------------------------------------------------------

  isFenced(): boolean {
    return this.fenceReason() !== undefined;
  }

  private fenceReason(): FenceReason | undefined {
    if (this.phase === 'failed') return this.failReason;
    if (this.phase === 'stopped') return 'stopped';
    if (this.selfFenced) return 'controller-unreachable';
    if (this.roleState.role === 'unknown') return this.noMasterSeen ? 'no-master' : 'starting';
    return undefined;
  }

  identity(): BrokerIdentity | undefined {
    return this.self;
  }

  roleEvents(): AsyncIterableIterator<RoleEvent> {
    return this.hub.subscribe();
  }

  status(): BrokerAgentStatus {
    const r = this.roleState;
    return {
      phase: this.phase,
      paused: this.paused,
      brokerId: this.self?.brokerId,
      role: r.role,
      fenced: this.isFenced(),
      fenceReason: this.fenceReason(),
      masterEpoch: r.masterEpoch,
      masterBrokerId: r.masterBrokerId,
      masterAddress: r.masterAddress,
      syncStateSet: r.syncStateSet,
      syncStateSetEpoch: r.syncStateSetEpoch,
      proposedSyncStateSet: this.proposed,
      natsConnected: this.natsConnected,
      counters: { ...this.counters },
      roleEventsDropped: this.hub.droppedCount,
      heartbeat: this.heartbeats.stats(),
      failure: this.failure,
    };
  }

  private currentEvent(): RoleEvent {
    const reason = this.fenceReason();
    const r = this.roleState;
    if (reason !== undefined) return { type: 'fenced', reason };
    if (r.role === 'master') {
      return {
        type: 'became-master',
        masterEpoch: r.masterEpoch,
        syncStateSet: r.syncStateSet,
        syncStateSetEpoch: r.syncStateSetEpoch,
      };
    }
    assert(r.masterBrokerId !== undefined, 'a slave knows its master');
    return {
      type: 'became-slave',
      masterBrokerId: r.masterBrokerId,
      masterAddress: r.masterAddress,
      masterEpoch: r.masterEpoch,
    };
  }

  /** Publishes the current state when its role, epoch or fence reason differs from the last published one. */
  private emitIfChanged(): void {
    const event = this.currentEvent();
    const key = eventKey(event);
    if (key === this.lastEventKey) return;
    this.lastEventKey = key;
    this.hub.publish(event);
  }

  private heartbeat(): BrokerHeartbeat {
    const store = this.ports.store;
    return create(BrokerHeartbeatSchema, {
      clusterName: this.s.clusterName,
      brokerName: this.s.brokerName,
      brokerAddress: this.s.brokerAddress,
      brokerId: this.self?.brokerId,
      epoch: store.lastEpoch(),
      maxOffset: store.maxOffset(),
      confirmOffset: store.confirmOffset(),
      heartbeatTimeoutMs: BigInt(this.s.heartbeatTimeoutMs),
      electionPriority: this.s.electionPriority,
      zone: this.s.zone,
      labels: { ...this.s.labels },
    });
  }
}

function eventKey(event: RoleEvent): string {
  switch (event.type) {
    case 'fenced':
      return `fenced:${event.reason}`;
    case 'became-master':
      return `master:${event.masterEpoch}`;
    case 'became-slave':
      return `slave:${event.masterEpoch}:${event.masterBrokerId}`;
  }
}

type ReplicaInfoSource = Pick<
  GetReplicaInfoResponse | ElectMasterResponse | RegisterBrokerResponse | RoleChangeNotification,
  'masterAddress' | 'masterEpoch' | 'syncStateSet'
>;

function infoOf(source: ReplicaInfoSource, masterBrokerId: bigint | undefined): ReplicaInfo {
  return {
    masterBrokerId,
    masterAddress: source.masterAddress,
    masterEpoch: source.masterEpoch,
    syncStateSet: source.syncStateSet?.brokerIds ?? [],
    syncStateSetEpoch: source.syncStateSet?.epoch ?? 0,
  };
}

/** Drains the connection (flushes, unsubscribes) but does not wait on a disconnected one. */
async function drainOrClose(nc: NatsConnection, clock: Clock): Promise<void> {
  if (nc.isClosed()) return;
  try {
    await Promise.race([nc.drain(), sleep(clock, NATS_DRAIN_MAX_MS)]);
  } catch {
    // already closing
  }
  if (!nc.isClosed()) await nc.close().catch(() => {});
}
