// The simulated clients: a session client that retries one request at a time with the same (clientId, sequence)
// until it gets a reply or gives up, simulated brokers that register through the full protocol (GetNextBrokerId →
// ApplyBrokerId with a check code → RegisterBroker), heartbeat every controller node, die and come back, ask for
// elections, and as masters shrink and expand their SyncStateSet (sometimes with deliberately stale epochs), and an
// admin that designates masters, cleans dead ids, toggles unclean elections and reads every group. Every reply a
// client accepts goes through the ledger's checks.
import { create } from '@bufbuild/protobuf';
import { BrokerHeartbeatSchema, ControllerCondition } from '@regent/proto/common';
import type { ControllerCommand, ControllerReply } from '@regent/proto/consensus';
import { LagFallback, type PolicyConfig, PolicyConfigSchema } from '@regent/proto/election';
import type { SeededRandom } from '@regent/raft/testing';
import { commands } from '../testing.js';
import type { RpcOutcome } from './sim-executor.js';
import type { AckedEpochs, GroupFacts, Ledger } from './sim-ledger.js';
import { type ControllerSimulationPlan, simClusterName, unixEpochMs } from './sim-plan.js';

/** What clients need from the simulation. */
export interface ClientWorld {
  readonly rand: SeededRandom;
  readonly plan: ControllerSimulationPlan;
  readonly ledger: Ledger;
  /** False once the faults healed: brokers no longer die. */
  readonly faultsActive: boolean;
  /** False at the end: clients start no new requests. */
  readonly clientsActive: boolean;
  nowMs(): number;
  nodeIds(): readonly number[];
  trace(line: string): void;
  /** Sends one attempt to node `to`; `receive` gets the outcome if it makes it back. */
  sendRequest(
    to: number,
    clientId: string,
    sequence: bigint,
    command: ControllerCommand,
    receive: (outcome: RpcOutcome, from: number) => void,
  ): void;
  heartbeat(broker: SimBroker): void;
  suspect(broker: SimBroker): void;
  nextStreamSequence(): bigint;
  brokersOf(brokerName: string): readonly SimBroker[];
  /** Records a violation found by a client (the simulation fails with it). */
  fail(message: string): never;
}

/** One attempt waits this long for an answer before the client tries again. */
const attemptTimeoutMs = 600;
/** A request is abandoned (outcome unknown) after this long. */
const giveUpAfterMs = 8_000;

interface Op {
  readonly token: number;
  readonly sequence: bigint;
  readonly command: ControllerCommand;
  readonly what: string;
  /** The newest epochs acknowledged to anyone when the request started. */
  readonly before: ReadonlyMap<string, AckedEpochs>;
  readonly onReply: (reply: ControllerReply, what: string, before: ReadonlyMap<string, AckedEpochs>) => void;
  /** The request was abandoned: its outcome stays unknown. */
  readonly onGiveUp: () => void;
  readonly giveUpAtMs: number;
  nextSendAtMs: number;
  attemptDeadlineMs: number;
  attempts: number;
}

/** A client session: one request at a time, retried with the same sequence so it applies at most once. */
export class SimClient {
  private nextSequence = 1n;
  private op: Op | undefined;
  private leaderGuess = 0;
  private tokens = 0;

  constructor(
    readonly clientId: string,
    private readonly world: ClientWorld,
  ) {}

  get busy(): boolean {
    return this.op !== undefined;
  }

  start(
    command: ControllerCommand,
    what: string,
    onReply: (reply: ControllerReply, what: string, before: ReadonlyMap<string, AckedEpochs>) => void,
    onGiveUp: () => void = () => {},
  ): void {
    if (this.op !== undefined) throw new Error(`${this.clientId} already has a request in flight`);
    const now = this.world.nowMs();
    const sequence = this.nextSequence;
    this.nextSequence += 1n;
    this.op = {
      token: ++this.tokens,
      onGiveUp,
      sequence,
      command,
      what: `${this.clientId}#${sequence} ${what}`,
      before: this.world.ledger.ackedSnapshot(),
      onReply,
      giveUpAtMs: now + giveUpAfterMs,
      nextSendAtMs: now,
      attemptDeadlineMs: Number.POSITIVE_INFINITY,
      attempts: 0,
    };
    this.send(this.op);
  }

  /** Retries or gives up when due. */
  step(now: number): void {
    const op = this.op;
    if (op === undefined) return;
    if (now >= op.giveUpAtMs) {
      this.op = undefined;
      this.world.ledger.count('requests-given-up');
      this.world.trace(`${op.what}: gave up after ${op.attempts} attempts`);
      op.onGiveUp();
      return;
    }
    if (now >= op.attemptDeadlineMs && this.world.rand.chance(0.5)) this.leaderGuess = 0;
    if (now >= op.nextSendAtMs || now >= op.attemptDeadlineMs) this.send(op);
  }

  /** The process died: the request's outcome stays unknown. */
  abandon(): void {
    this.op = undefined;
  }

  private send(op: Op): void {
    const rand = this.world.rand;
    const ids = this.world.nodeIds();
    const to = this.leaderGuess !== 0 && rand.chance(0.9) ? this.leaderGuess : rand.pick(ids);
    op.attempts += 1;
    op.nextSendAtMs = Number.POSITIVE_INFINITY;
    op.attemptDeadlineMs = this.world.nowMs() + attemptTimeoutMs;
    if (op.attempts > 1) this.world.ledger.count('request-retries');
    const token = op.token;
    this.world.sendRequest(to, this.clientId, op.sequence, op.command, (outcome, from) =>
      this.receive(token, outcome, from),
    );
  }

  private receive(token: number, outcome: RpcOutcome, from: number): void {
    const op = this.op;
    if (op === undefined || op.token !== token) return;
    if (outcome.kind === 'failed') {
      this.leaderGuess = outcome.leaderHint !== from ? outcome.leaderHint : 0;
      op.nextSendAtMs = this.world.nowMs() + 20 + this.world.rand.nextInt(80);
      return;
    }
    this.op = undefined;
    this.leaderGuess = from;
    this.world.trace(`${op.what} → n${from}: ${describeReply(outcome.reply)}`);
    op.onReply(outcome.reply, op.what, op.before);
  }
}

/** A short description of a reply for traces. */
export function describeReply(reply: ControllerReply): string {
  const r = reply.reply;
  if (r.case === 'error') return `error ${ControllerCondition[r.value.condition]}: ${r.value.message}`;
  if (r.case === 'electMaster' || r.case === 'adminElectMaster') {
    const v = r.value;
    return `${r.case} ${ControllerCondition[v.condition]} master=${v.masterBrokerId} epoch=${v.masterEpoch} sss=[${v.syncStateSet?.brokerIds.join(',')}]@${v.syncStateSet?.epoch}`;
  }
  if (r.case === 'registerBroker' || r.case === 'getReplicaInfo') {
    const v = r.value;
    return `${r.case} master=${v.masterBrokerId} epoch=${v.masterEpoch} sss=[${v.syncStateSet?.brokerIds.join(',')}]@${v.syncStateSet?.epoch}`;
  }
  if (r.case === 'alterSyncStateSet') {
    return `alterSyncStateSet [${r.value.syncStateSet?.brokerIds.join(',')}]@${r.value.syncStateSet?.epoch}`;
  }
  if (r.case === 'getNextBrokerId') return `getNextBrokerId ${r.value.nextBrokerId}`;
  return `${r.case}`;
}

function conditionOf(reply: ControllerReply): ControllerCondition | undefined {
  return reply.reply.case === 'error' ? reply.reply.value.condition : undefined;
}

interface Belief {
  masterBrokerId: bigint | undefined;
  masterEpoch: number;
  syncStateSet: readonly bigint[];
  syncStateSetEpoch: number;
}

function noBelief(): Belief {
  return { masterBrokerId: undefined, masterEpoch: 0, syncStateSet: [], syncStateSetEpoch: 0 };
}

/** A broker of a group: its identity file and commit log survive restarts; everything else does not. */
export class SimBroker {
  alive = false;
  incarnation = 0;
  /** The identity file: written once ApplyBrokerId was acknowledged. */
  identity: { readonly brokerId: bigint; readonly registerCheckCode: string } | undefined;
  registered = false;
  belief: Belief = noBelief();
  /** The commit log's progress: the last epoch in the epoch file and the max offset. */
  data = { epoch: 0, maxOffset: 0n };
  /** The heartbeat stream of this incarnation (the gateway's sequence). */
  stream = 0n;
  address = '';
  deaths = 0;
  private client: SimClient | undefined;
  /**
   * The temporary identity file (RocketMQ writes it before ApplyBrokerId): the id being applied for and its check
   * code survive a restart, so a restarted broker retries the same apply (idempotent with the same code).
   */
  private pendingId: bigint | undefined;
  private registerCheckCode = '';
  private nextHeartbeatAtMs = 0;
  private nextActionAtMs = 0;
  private reviveAtMs: number;
  /** A request was refused on stale knowledge: read the group before the next change. */
  private needsRefresh = false;

  constructor(
    readonly brokerName: string,
    readonly slot: number,
    private readonly world: ClientWorld,
  ) {
    this.reviveAtMs = world.rand.nextInt(2_000);
  }

  get name(): string {
    return `${this.brokerName}/${this.slot}`;
  }

  /** A request of this broker is in flight. */
  get busy(): boolean {
    return this.client?.busy === true;
  }

  step(now: number): void {
    if (!this.alive) {
      if (now >= this.reviveAtMs) this.revive(now);
      return;
    }
    const rand = this.world.rand;
    if (this.world.faultsActive && rand.chance(this.world.plan.brokerDeathRate)) {
      this.die(now);
      return;
    }
    if (this.identity !== undefined && now >= this.nextHeartbeatAtMs) {
      this.world.heartbeat(this);
      this.nextHeartbeatAtMs = now + this.world.plan.heartbeatIntervalMs;
    }
    this.progress();
    const client = this.client as SimClient;
    client.step(now);
    if (!client.busy && this.world.clientsActive && now >= this.nextActionAtMs) this.act();
  }

  private revive(now: number): void {
    this.alive = true;
    this.incarnation += 1;
    this.client = new SimClient(`${this.name}#${this.incarnation}`, this.world);
    this.stream = this.world.nextStreamSequence();
    this.registered = false;
    this.needsRefresh = false;
    this.belief = noBelief();
    this.nextHeartbeatAtMs = now;
    this.nextActionAtMs = now;
    this.address = `${this.brokerName}-${this.slot}${this.incarnation % 3 === 0 ? 'b' : 'a'}:10911`;
    if (this.identity === undefined && this.pendingId === undefined) this.newRegistration(now);
    if (this.identity === undefined && this.pendingId !== undefined)
      this.world.ledger.count('broker-restarted-mid-apply');
    this.world.trace(`${this.name} up #${this.incarnation} id=${this.identity?.brokerId} ${this.address}`);
  }

  private newRegistration(now: number): void {
    this.pendingId = undefined;
    this.registerCheckCode = `${this.address};${unixEpochMs + now}`;
  }

  private die(now: number): void {
    this.alive = false;
    this.deaths += 1;
    this.client?.abandon();
    this.client = undefined;
    this.registered = false;
    this.reviveAtMs = now + 1_000 + this.world.rand.nextInt(7_000);
    this.world.trace(`${this.name} DIES (id ${this.identity?.brokerId})`);
    if (this.identity !== undefined && this.world.rand.chance(this.world.plan.suspicionRate)) {
      this.world.suspect(this);
    }
  }

  /** The commit log grows on the master; slaves copy the master's progress now and then. */
  private progress(): void {
    const rand = this.world.rand;
    const me = this.identity?.brokerId;
    if (me === undefined || !this.registered) return;
    const master = this.belief.masterBrokerId;
    if (master === me) {
      if (rand.chance(0.2)) this.data.maxOffset += BigInt(1 + rand.nextInt(100));
      return;
    }
    if (master === undefined || !rand.chance(0.05)) return;
    const leader = this.world.brokersOf(this.brokerName).find((b) => b.identity?.brokerId === master);
    if (leader?.alive === true && leader.data.epoch >= this.data.epoch) this.data = { ...leader.data };
  }

  private schedule(minMs: number, spreadMs: number): void {
    this.nextActionAtMs = this.world.nowMs() + minMs + this.world.rand.nextInt(spreadMs);
  }

  private start(
    command: ControllerCommand,
    what: string,
    onReply: (reply: ControllerReply, what: string, before: ReadonlyMap<string, AckedEpochs>) => void,
  ): void {
    this.schedule(100, 900);
    (this.client as SimClient).start(command, what, onReply);
  }

  private act(): void {
    const identity = this.identity;
    if (identity === undefined) {
      this.registerId();
      return;
    }
    if (!this.registered) {
      this.registerBroker(identity.brokerId);
      return;
    }
    if (this.needsRefresh) {
      this.needsRefresh = false;
      this.getReplicaInfo();
      return;
    }
    const roll = this.world.rand.nextFloat();
    if (this.belief.masterBrokerId === undefined || roll < 0.03) {
      this.electMaster(identity.brokerId);
      return;
    }
    if (this.belief.masterBrokerId === identity.brokerId && roll < 0.6) {
      this.alterSyncStateSet(identity.brokerId);
      return;
    }
    this.getReplicaInfo();
  }

  private registerId(): void {
    const name = this.brokerName;
    const pendingId = this.pendingId;
    if (pendingId === undefined) {
      this.start(commands.getNextBrokerId(name, simClusterName), 'GetNextBrokerId', (reply) => {
        if (reply.reply.case === 'getNextBrokerId') this.pendingId = reply.reply.value.nextBrokerId;
      });
      return;
    }
    const code = this.registerCheckCode;
    this.start(
      commands.applyBrokerId(name, pendingId, code, simClusterName),
      `ApplyBrokerId(${pendingId}, ${code})`,
      (reply, what) => {
        if (reply.reply.case === 'applyBrokerId') {
          this.world.ledger.ackApplyBrokerId(name, pendingId, code, what);
          this.world.ledger.count('acked-apply-broker-id');
          this.identity = { brokerId: pendingId, registerCheckCode: code };
          this.nextActionAtMs = this.world.nowMs();
          return;
        }
        // Taken by another broker (or refused): ask for the next id again, with a new check code.
        this.newRegistration(this.world.nowMs());
      },
    );
  }

  private registerBroker(brokerId: bigint): void {
    this.start(
      commands.registerBroker(this.brokerName, brokerId, this.address, simClusterName),
      `RegisterBroker(${brokerId}, ${this.address})`,
      (reply, what, before) => {
        if (reply.reply.case === 'registerBroker') {
          const v = reply.reply.value;
          this.learn(
            {
              brokerName: this.brokerName,
              masterBrokerId: v.masterBrokerId,
              masterEpoch: v.masterEpoch,
              syncStateSet: v.syncStateSet?.brokerIds ?? [],
              syncStateSetEpoch: v.syncStateSet?.epoch ?? 0,
            },
            what,
            before,
          );
          this.registered = true;
          this.world.ledger.count('acked-register-broker');
          this.nextActionAtMs = this.world.nowMs();
          return;
        }
        if (conditionOf(reply) === ControllerCondition.BROKER_NEED_TO_BE_REGISTERED) {
          // The id was cleaned: start over with a new identity (RocketMQ deletes the identity file).
          this.world.trace(`${this.name}: id ${brokerId} was cleaned, registering again`);
          this.identity = undefined;
          this.newRegistration(this.world.nowMs());
        }
      },
    );
  }

  private electMaster(brokerId: bigint): void {
    this.start(
      commands.electMaster(this.brokerName, brokerId, simClusterName),
      `ElectMaster(${brokerId})`,
      (reply, what, before) => {
        if (reply.reply.case !== 'electMaster') {
          this.needsRefresh = true;
          return;
        }
        const v = reply.reply.value;
        const facts: GroupFacts = {
          brokerName: this.brokerName,
          masterBrokerId: v.masterBrokerId,
          masterEpoch: v.masterEpoch,
          syncStateSet: v.syncStateSet?.brokerIds ?? [],
          syncStateSetEpoch: v.syncStateSet?.epoch ?? 0,
        };
        if (v.condition === ControllerCondition.UNSPECIFIED) {
          this.world.ledger.ackElection(facts, before, what);
          this.world.ledger.count('acked-broker-elections');
          this.learnOnly(facts);
        } else this.learn(facts, what, before);
      },
    );
  }

  private getReplicaInfo(): void {
    this.start(
      commands.getReplicaInfo(this.brokerName, simClusterName),
      'GetReplicaInfo',
      (reply, what, before) => {
        if (reply.reply.case !== 'getReplicaInfo') return;
        const v = reply.reply.value;
        this.learn(
          {
            brokerName: this.brokerName,
            masterBrokerId: v.masterBrokerId,
            masterEpoch: v.masterEpoch,
            syncStateSet: v.syncStateSet?.brokerIds ?? [],
            syncStateSetEpoch: v.syncStateSet?.epoch ?? 0,
          },
          what,
          before,
        );
      },
    );
  }

  /** Shrinks out dead or lagging members, expands with caught-up ones; now and then an arbitrary or stale change. */
  private alterSyncStateSet(me: bigint): void {
    const rand = this.world.rand;
    const current = this.belief.syncStateSet;
    const siblings = this.world
      .brokersOf(this.brokerName)
      .filter((b) => b !== this && b.identity !== undefined);
    const holder = (id: bigint): SimBroker | undefined => siblings.find((b) => b.identity?.brokerId === id);
    const lagging = (b: SimBroker): boolean =>
      !b.alive ||
      !b.registered ||
      b.data.epoch < this.data.epoch ||
      b.data.maxOffset + 200n < this.data.maxOffset;
    let next: bigint[] | undefined;
    if (rand.chance(0.1)) {
      const ids = siblings.map((b) => b.identity?.brokerId as bigint);
      if (ids.length > 0) {
        const id = rand.pick(ids);
        next = current.includes(id) ? current.filter((x) => x !== id) : [...current, id];
      }
    } else {
      const drop = current.filter(
        (id) => id !== me && (holder(id) === undefined || lagging(holder(id) as SimBroker)),
      );
      const add = siblings.filter((b) => !current.includes(b.identity?.brokerId as bigint) && !lagging(b));
      if (drop.length > 0) {
        const id = rand.pick(drop);
        next = current.filter((x) => x !== id);
      } else if (add.length > 0) next = [...current, rand.pick(add).identity?.brokerId as bigint];
    }
    if (next === undefined) {
      this.getReplicaInfo();
      return;
    }
    next.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    let masterEpoch = this.belief.masterEpoch;
    let epoch = this.belief.syncStateSetEpoch;
    const stale = rand.chance(this.world.plan.staleAlterRate) && (masterEpoch > 1 || epoch > 0);
    if (stale) {
      if (masterEpoch > 1 && (epoch === 0 || rand.chance(0.5))) masterEpoch -= 1;
      else epoch -= 1;
    }
    const name = this.brokerName;
    const what = `AlterSyncStateSet([${next.join(',')}] masterEpoch=${masterEpoch} epoch=${epoch}${stale ? ' STALE' : ''})`;
    this.start(
      commands.alterSyncStateSet(
        name,
        { masterBrokerId: me, masterEpoch, brokerIds: next, epoch },
        simClusterName,
      ),
      what,
      (reply, fullWhat, before) => {
        if (reply.reply.case !== 'alterSyncStateSet') {
          this.world.ledger.count(stale ? 'stale-alters-refused' : 'alters-refused');
          this.needsRefresh = true;
          return;
        }
        if (stale) this.world.fail(`${fullWhat}: a deliberately stale AlterSyncStateSet was acknowledged`);
        const set = reply.reply.value.syncStateSet;
        this.world.ledger.ackAlter(name, set?.brokerIds ?? [], set?.epoch ?? 0, before, fullWhat);
        this.world.ledger.count('acked-alters');
        if ((set?.epoch ?? 0) >= this.belief.syncStateSetEpoch) {
          this.belief.syncStateSet = [...(set?.brokerIds ?? [])];
          this.belief.syncStateSetEpoch = set?.epoch ?? 0;
        }
      },
    );
  }

  /** Checks the facts of an acknowledged reply, then believes them. */
  private learn(facts: GroupFacts, what: string, before: ReadonlyMap<string, AckedEpochs>): void {
    this.world.ledger.ackFacts(facts, before, what);
    this.learnOnly(facts);
  }

  private learnOnly(facts: GroupFacts): void {
    const belief = this.belief;
    if (
      facts.masterEpoch > belief.masterEpoch ||
      (facts.masterEpoch === belief.masterEpoch && facts.masterBrokerId !== undefined)
    ) {
      belief.masterEpoch = facts.masterEpoch;
      belief.masterBrokerId = facts.masterBrokerId;
    } else if (facts.masterEpoch === belief.masterEpoch && facts.masterBrokerId === undefined) {
      // RegisterBroker hides a master the controller thinks dead: ask for an election.
      belief.masterBrokerId = undefined;
    }
    if (facts.syncStateSet !== undefined && facts.syncStateSetEpoch >= belief.syncStateSetEpoch) {
      belief.syncStateSet = [...facts.syncStateSet];
      belief.syncStateSetEpoch = facts.syncStateSetEpoch;
    }
    const me = this.identity?.brokerId;
    if (me !== undefined && belief.masterBrokerId === me && this.data.epoch < belief.masterEpoch) {
      // A new master starts a new epoch in its epoch file at its current offset.
      this.data = { epoch: belief.masterEpoch, maxOffset: this.data.maxOffset };
    }
  }

  /** The heartbeat this broker sends now. */
  heartbeatMessage() {
    return create(BrokerHeartbeatSchema, {
      clusterName: simClusterName,
      brokerName: this.brokerName,
      brokerAddress: this.address,
      brokerId: this.identity?.brokerId,
      epoch: this.data.epoch,
      maxOffset: this.data.maxOffset,
      confirmOffset: this.data.maxOffset,
      heartbeatTimeoutMs: BigInt(this.world.plan.heartbeatTimeoutMs),
      electionPriority: this.slot === 3 ? undefined : this.slot,
      zone: this.slot === 2 ? 'b' : 'a',
    });
  }
}

/** The operator: designated elections, cleaning dead ids, toggling unclean elections, reading every group. */
export class SimAdmin {
  private readonly client: SimClient;
  private nextActionAtMs: number;
  /** A clean whose outcome is unknown may still apply: no more cleans, so no group ever loses every replica. */
  private cleanUnknown = false;

  constructor(private readonly world: ClientWorld) {
    this.client = new SimClient('admin', world);
    this.nextActionAtMs = world.plan.adminIntervalMs;
  }

  step(now: number): void {
    this.client.step(now);
    if (this.client.busy || !this.world.clientsActive || now < this.nextActionAtMs) return;
    const interval = this.world.plan.adminIntervalMs;
    this.nextActionAtMs = now + interval / 2 + this.world.rand.nextInt(interval);
    this.act();
  }

  get busy(): boolean {
    return this.client.busy;
  }

  private act(): void {
    const rand = this.world.rand;
    const groups = [...this.world.ledger.oracle.groups.values()];
    const roll = rand.nextFloat();
    if (groups.length === 0 || (roll >= 0.35 && roll < 0.65)) {
      this.readAll();
      return;
    }
    const group = rand.pick(groups);
    const ids = [...group.replicas.keys()];
    if (roll < 0.35) {
      const designated = rand.chance(0.15) ? undefined : rand.pick(ids);
      this.client.start(
        commands.adminElectMaster(group.brokerName, designated, simClusterName),
        `AdminElectMaster(${group.brokerName}, ${designated})`,
        (reply, what, before) => {
          if (reply.reply.case !== 'adminElectMaster') return;
          const v = reply.reply.value;
          const facts: GroupFacts = {
            brokerName: group.brokerName,
            masterBrokerId: v.masterBrokerId,
            masterEpoch: v.masterEpoch,
            syncStateSet: v.syncStateSet?.brokerIds ?? [],
            syncStateSetEpoch: v.syncStateSet?.epoch ?? 0,
          };
          if (v.condition === ControllerCondition.UNSPECIFIED) {
            this.world.ledger.ackElection(facts, before, what);
            this.world.ledger.count('acked-admin-elections');
          } else this.world.ledger.ackFacts(facts, before, what);
        },
      );
      return;
    }
    if (roll < 0.72) {
      this.clean(group.brokerName, ids);
      return;
    }
    if (roll < 0.8) {
      this.setPolicy(group.brokerName);
      return;
    }
    if (roll < 0.9 && this.world.plan.uncleanToggles) {
      const value = String(rand.chance(0.5));
      this.client.start(
        commands.updateControllerConfig({ enableElectUncleanMaster: value }),
        `UpdateControllerConfig(enableElectUncleanMaster=${value})`,
        () => {},
      );
      return;
    }
    this.client.start(
      commands.getReplicaInfo(group.brokerName, simClusterName),
      `GetReplicaInfo(${group.brokerName})`,
      (reply, what, before) => {
        if (reply.reply.case !== 'getReplicaInfo') return;
        const v = reply.reply.value;
        this.world.ledger.ackFacts(
          {
            brokerName: group.brokerName,
            masterBrokerId: v.masterBrokerId,
            masterEpoch: v.masterEpoch,
            syncStateSet: v.syncStateSet?.brokerIds ?? [],
            syncStateSetEpoch: v.syncStateSet?.epoch ?? 0,
          },
          before,
          what,
        );
      },
    );
  }

  /** Sets (or clears) the group's election policy: the default, zone-aware or max-lag. */
  private setPolicy(brokerName: string): void {
    const rand = this.world.rand;
    const choices: (PolicyConfig | undefined)[] = [
      undefined,
      create(PolicyConfigSchema, { policy: { case: 'rocketmqDefault', value: {} } }),
      create(PolicyConfigSchema, { policy: { case: 'zoneAware', value: { zoneOrder: ['b', 'a'] } } }),
      create(PolicyConfigSchema, {
        policy: {
          case: 'maxLag',
          value: { maxLagBytes: 50n, fallback: rand.pick([LagFallback.REFUSE, LagFallback.DEFAULT_RANKING]) },
        },
      }),
    ];
    const policy = rand.pick(choices);
    this.client.start(
      commands.setElectionPolicy(simClusterName, brokerName, policy),
      `SetElectionPolicy(${brokerName}, ${policy?.policy.case ?? 'none'})`,
      (reply) => {
        if (reply.reply.case === 'setElectionPolicy') this.world.ledger.count('acked-policy-changes');
      },
    );
  }

  /** Cleans one id whose broker is not running (a dead broker or a ghost id), keeping at least two replicas. */
  private clean(brokerName: string, ids: readonly bigint[]): void {
    if (ids.length < 3 || this.cleanUnknown) {
      this.readAll();
      return;
    }
    const running = new Set(
      this.world
        .brokersOf(brokerName)
        .filter((b) => b.alive && b.identity !== undefined)
        .map((b) => b.identity?.brokerId),
    );
    const candidates = ids.filter((id) => !running.has(id));
    if (candidates.length === 0) {
      this.readAll();
      return;
    }
    const id = this.world.rand.pick(candidates);
    this.client.start(
      commands.cleanBrokerData(brokerName, [id], false, simClusterName),
      `CleanBrokerData(${brokerName}, ${id})`,
      (reply) => {
        if (reply.reply.case === 'cleanBrokerData') this.world.ledger.count('acked-cleans');
      },
      () => {
        this.cleanUnknown = true;
      },
    );
  }

  private readAll(): void {
    this.client.start(
      commands.adminGetSyncStateData([]),
      'AdminGetSyncStateData(all)',
      (reply, what, before) => {
        if (reply.reply.case !== 'adminGetSyncStateData') return;
        for (const [brokerName, info] of Object.entries(reply.reply.value.replicas)) {
          this.world.ledger.ackFacts(
            {
              brokerName,
              masterBrokerId: info.masterBrokerId,
              masterEpoch: info.masterEpoch,
              syncStateSet: info.inSyncReplicas.map((r) => r.brokerId),
              syncStateSetEpoch: info.syncStateSetEpoch,
            },
            before,
            what,
          );
        }
        this.world.ledger.count('acked-reads-all');
      },
    );
  }
}

/** A one-shot client for the final write that shows the healed cluster still makes progress. */
export class SimFinalWriter {
  readonly client: SimClient;
  ackedAtIndex: number | undefined;

  constructor(private readonly world: ClientWorld) {
    this.client = new SimClient('final', world);
  }

  start(): void {
    const current = this.world.ledger.oracle.config.get('electMasterMaxRetryCount') ?? '3';
    const value = current === '7' ? '8' : '7';
    this.client.start(
      commands.updateControllerConfig({ electMasterMaxRetryCount: value }),
      `UpdateControllerConfig(electMasterMaxRetryCount=${value})`,
      (reply) => {
        if (reply.reply.case !== 'updateControllerConfig') {
          this.world.fail(`the final write was refused: ${describeReply(reply)}`);
        }
        this.ackedAtIndex = this.world.ledger.oracleIndex;
      },
    );
  }
}
