// The simulated operator: an admin that designates masters, cleans dead ids, sets policies, toggles unclean
// elections and reads every group; and the one-shot final write that shows the healed cluster makes progress.
import { create } from '@bufbuild/protobuf';
import { ControllerCondition } from '@regent/proto/common';
import { LagFallback, type PolicyConfig, PolicyConfigSchema } from '@regent/proto/election';
import { commands } from '../testing.js';
import { type ClientWorld, describeReply, SimClient } from './sim-client.js';
import type { GroupFacts } from './sim-ledger.js';
import { simClusterName } from './sim-plan.js';

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
