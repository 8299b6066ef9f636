// The broker agent: what a broker embeds to live under the Regent controller (RocketMQ `ReplicasManager`, §3).
// It registers with a persisted identity, heartbeats, learns its role from GetReplicaInfo polls, election replies
// and NATS notifications — each gated on a strictly newer masterEpoch — asks for an election when the group has no
// master, keeps the broker fenced until its role is known, and reports the master's SyncStateSet changes.
//
// Control flow: `start()` checks the identity files and returns; registration, heartbeats, polling and the NATS
// subscription run in the background until `stop()`/`abort()`, a permanent registration refusal, or an unexpected
// error (a bug, or an injected crash), which terminates the agent; `closed()` tells which.
//
// This file holds the agent's state and control flow; config.ts, registration.ts, heartbeat.ts,
// role-notifications.ts and sync-state-set-proposal.ts do the parts, agent-api.ts declares the public types.
import { readControllerError } from '@regent/proto';
import type { RegisterBrokerResponse } from '@regent/proto/broker';
import { ControllerCondition } from '@regent/proto/common';
import type {
  AgentCounters,
  AgentPhase,
  AlterOutcome,
  BrokerAgent,
  BrokerAgentPorts,
  BrokerAgentStatus,
} from './agent-api.js';
import { assert } from './assert.js';
import { type Cancel, type Clock, type Random, systemClock, systemRandom } from './clock.js';
import { type BrokerAgentConfig, type Settings, settingsOf } from './config.js';
import { HeartbeatSender, heartbeatOf } from './heartbeat.js';
import { type BrokerIdentity, readIdentityFiles } from './identity-files.js';
import { type AgentLogger, type BrokerServiceClient, silentLogger } from './ports.js';
import { type Registered, registerWithRetry } from './registration.js';
import { decideRole, initialRoleState, type ReplicaInfo, type RoleState, replicaInfoOf } from './role.js';
import { eventKey, type FenceReason, type RoleEvent, RoleEventHub, roleEventOf } from './role-events.js';
import { drainOrClose, RoleNotifications } from './role-notifications.js';
import { SyncStateSetProposer } from './sync-state-set-proposal.js';

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
  private readonly notifications: RoleNotifications;
  private readonly proposer: SyncStateSetProposer;
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
  private pollInFlight = false;
  private electInFlight = false;
  private reRegistering = false;
  private cancelPoll: Cancel | undefined;
  /** The newest notification that arrived while paused (bounded to one: later ones supersede it). */
  private heldNotification: ReplicaInfo | undefined;
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
        build: () => heartbeatOf(this.s, this.ports.store, this.self?.brokerId),
      },
    );
    this.notifications = new RoleNotifications(s, {
      connect: ports.connectNats,
      clock: this.clock,
      random: this.random,
      logger: this.logger,
      counters: this.counters,
      stopSignal: this.stopSignal,
      terminated: () => this.terminated(),
      onInfo: (info) => this.onNotification(info),
      onReconnect: () => this.schedulePoll(0),
    });
    this.proposer = new SyncStateSetProposer(s, {
      client: this.client,
      logger: this.logger,
      counters: this.counters,
      self: () => this.self,
      roleState: () => this.roleState,
      setRoleState: (state) => {
        this.roleState = state;
      },
      isFenced: () => this.isFenced(),
      terminated: () => this.terminated(),
    });
  }

  // ---- lifecycle ----------------------------------------------------------------------------------------------

  async start(): Promise<void> {
    assert(this.phase === 'created', `start() in phase ${this.phase}`);
    await readIdentityFiles(this.s.dataDir, this.s);
    this.phase = 'registering';
    this.lastEventKey = eventKey(this.currentEvent());
    void this.notifications.run().catch((error: unknown) => this.fail(error));
    void this.run().catch((error: unknown) => this.fail(error));
  }

  async stop(): Promise<void> {
    if (this.terminated()) return;
    this.phase = 'stopped';
    this.halt(true);
    const nc = this.notifications.detach();
    if (nc !== undefined) await drainOrClose(nc, this.clock);
    this.finish(undefined);
  }

  abort(): void {
    if (this.terminated()) return;
    this.phase = 'stopped';
    this.halt(false);
    this.notifications.close();
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
    this.notifications.close();
    this.finish(this.failure);
  }

  private halt(graceful: boolean): void {
    this.heartbeats.stop(graceful);
    for (const cancel of this.timers) cancel();
    this.timers.clear();
    this.signalStop();
    this.stopController.abort();
    this.notifications.unsubscribe();
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
    // stop() may have landed while the last attempt was answered: a stopped agent stays stopped.
    if (registered === undefined || this.terminated()) return;
    this.phase = 'running';
    await this.heartbeats.sendUnary();
    if (this.terminated()) return;
    this.heartbeats.start();
    this.schedulePoll(this.s.syncBrokerMetadataPeriodMs);
    this.onRegistered(registered.reply);
  }

  private registerWithRetry(): Promise<Registered | undefined> {
    return registerWithRetry(this.s, {
      client: this.client,
      clock: this.clock,
      hooks: this.ports.registrationHooks,
      signal: this.stopController.signal,
      random: this.random,
      logger: this.logger,
      counters: this.counters,
      stopSignal: this.stopSignal,
      terminated: () => this.terminated(),
      onRegistered: (identity) => this.adoptIdentity(identity),
      onRefused: (error) => this.fail(error, 'registration-failed'),
    });
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
      this.applyInfo(replicaInfoOf(reply, reply.masterBrokerId), 'register');
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
      this.applyInfo(replicaInfoOf(reply, reply.masterBrokerId), 'poll');
      this.maybeUnfenceSelf();
    } catch (error) {
      if (this.terminated()) return;
      this.counters.pollFailures++;
      const condition = readControllerError(error)?.condition;
      this.logger.debug({ err: error }, 'GetReplicaInfo failed');
      // An unexpected failure while registering again is fatal, as it is in the first registration.
      if (condition === ControllerCondition.BROKER_METADATA_NOT_EXIST)
        void this.reRegister().catch((failure: unknown) => this.fail(failure));
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
      this.applyInfo(replicaInfoOf(reply, reply.masterBrokerId), 'election');
    } catch (error) {
      if (this.terminated()) return;
      this.counters.electionFailures++;
      this.logger.info({ err: error }, 'ElectMaster failed; the next poll retries');
    } finally {
      this.electInFlight = false;
    }
  }

  /** Applies a notification, or holds it while paused (see `heldNotification`). */
  private onNotification(info: ReplicaInfo): void {
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

  // ---- SyncStateSet ----------------------------------------------------------------------------------------------

  ackQuorumSet(): readonly bigint[] {
    return this.proposer.ackQuorumSet();
  }

  proposeSyncStateSet(brokerIds: readonly bigint[]): Promise<AlterOutcome> {
    return this.proposer.propose(brokerIds);
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
      proposedSyncStateSet: this.proposer.proposed,
      natsConnected: this.notifications.connected,
      counters: { ...this.counters },
      roleEventsDropped: this.hub.droppedCount,
      heartbeat: this.heartbeats.stats(),
      failure: this.failure,
    };
  }

  private currentEvent(): RoleEvent {
    return roleEventOf(this.fenceReason(), this.roleState);
  }

  /** Publishes the current state when its role, epoch or fence reason differs from the last published one. */
  private emitIfChanged(): void {
    const event = this.currentEvent();
    const key = eventKey(event);
    if (key === this.lastEventKey) return;
    this.lastEventKey = key;
    this.hub.publish(event);
  }
}
