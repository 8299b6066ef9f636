// A simulated broker: registers through the full protocol (GetNextBrokerId → ApplyBrokerId → RegisterBroker),
// heartbeats, dies and comes back, asks for elections, and as master alters its SyncStateSet, now and then stale.
import { create } from '@bufbuild/protobuf';
import { BrokerHeartbeatSchema, ControllerCondition } from '@regent/proto/common';
import type { ControllerCommand, ControllerReply } from '@regent/proto/consensus';
import { commands } from '../testing.js';
import { type ClientWorld, SimClient } from './sim-client.js';
import type { AckedEpochs, GroupFacts } from './sim-ledger.js';
import { simClusterName, unixEpochMs } from './sim-plan.js';

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
