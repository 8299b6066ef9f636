// The master's SyncStateSet proposals (AlterSyncStateSet, §3.5): at most one in flight, sent with the held masterEpoch
// and syncStateSetEpoch; the local set changes only on acceptance, and only while the role and masterEpoch it was
// proposed under still hold. While one is in flight, acks count against the union of the current and proposed sets.
import { ConnectError } from '@connectrpc/connect';
import { readControllerError } from '@regent/proto';
import { ControllerCondition } from '@regent/proto/common';
import type { AgentCounters, AlterOutcome } from './agent-api.js';
import type { Settings } from './config.js';
import type { BrokerIdentity } from './identity-files.js';
import type { AgentLogger, BrokerServiceClient } from './ports.js';
import { type RoleState, sameIds, sortedUnique, unionOf } from './role.js';

export type SyncStateSetProposerSettings = Pick<Settings, 'clusterName' | 'brokerName' | 'rpcTimeoutMs'>;

/** The proposer reads the agent's state through these and writes back only an accepted set. */
export interface SyncStateSetProposerDeps {
  readonly client: BrokerServiceClient;
  readonly logger: AgentLogger;
  readonly counters: Pick<AgentCounters, 'alterRequests' | 'alterAccepted' | 'alterFenced' | 'alterRejected'>;
  readonly self: () => BrokerIdentity | undefined;
  readonly roleState: () => RoleState;
  /** Adopts the accepted set: same role and masterEpoch, newer syncStateSetEpoch. */
  readonly setRoleState: (state: RoleState) => void;
  readonly isFenced: () => boolean;
  readonly terminated: () => boolean;
}

export class SyncStateSetProposer {
  /** The set being proposed, while an AlterSyncStateSet is in flight. */
  private proposedIds: readonly bigint[] | undefined;

  constructor(
    private readonly s: SyncStateSetProposerSettings,
    private readonly deps: SyncStateSetProposerDeps,
  ) {}

  get proposed(): readonly bigint[] | undefined {
    return this.proposedIds;
  }

  ackQuorumSet(): readonly bigint[] {
    const current = this.deps.roleState().syncStateSet;
    return this.proposedIds === undefined ? current : unionOf(current, this.proposedIds);
  }

  async propose(brokerIds: readonly bigint[]): Promise<AlterOutcome> {
    const self = this.deps.self();
    const held = this.deps.roleState();
    if (self === undefined || held.role !== 'master' || this.deps.isFenced()) return { kind: 'not-master' };
    if (this.proposedIds !== undefined) return { kind: 'in-flight' };
    const proposed = sortedUnique(brokerIds);
    if (sameIds(proposed, held.syncStateSet)) return { kind: 'unchanged' };
    this.proposedIds = proposed;
    this.deps.counters.alterRequests++;
    try {
      const reply = await this.deps.client.alterSyncStateSet(
        {
          clusterName: this.s.clusterName,
          brokerName: this.s.brokerName,
          masterBrokerId: self.brokerId,
          masterEpoch: held.masterEpoch,
          newSyncStateSet: { brokerIds: proposed, epoch: held.syncStateSetEpoch },
        },
        { timeoutMs: this.s.rpcTimeoutMs },
      );
      return this.onAccepted(held, reply.syncStateSet?.brokerIds ?? proposed, reply.syncStateSet?.epoch);
    } catch (error) {
      return this.onFailed(error);
    } finally {
      this.proposedIds = undefined;
    }
  }

  private onAccepted(held: RoleState, ids: readonly bigint[], epoch: number | undefined): AlterOutcome {
    const now = this.deps.roleState();
    if (this.deps.terminated() || now.role !== 'master' || now.masterEpoch !== held.masterEpoch) {
      return { kind: 'superseded' };
    }
    this.deps.counters.alterAccepted++;
    const newEpoch = epoch ?? held.syncStateSetEpoch + 1;
    if (newEpoch > now.syncStateSetEpoch) {
      this.deps.setRoleState({ ...now, syncStateSet: sortedUnique(ids), syncStateSetEpoch: newEpoch });
    }
    const adopted = this.deps.roleState();
    return {
      kind: 'accepted',
      syncStateSet: adopted.syncStateSet,
      syncStateSetEpoch: adopted.syncStateSetEpoch,
    };
  }

  private onFailed(error: unknown): AlterOutcome {
    const condition = readControllerError(error)?.condition ?? ControllerCondition.UNSPECIFIED;
    if (
      condition === ControllerCondition.FENCED_MASTER_EPOCH ||
      condition === ControllerCondition.FENCED_SYNC_STATE_SET_EPOCH
    ) {
      // RocketMQ: log and wait for the poll to learn the newer epoch; no self-demotion here.
      this.deps.counters.alterFenced++;
      this.deps.logger.info({ condition: ControllerCondition[condition] }, 'AlterSyncStateSet fenced');
      return { kind: 'fenced', condition };
    }
    const connectError = ConnectError.from(error);
    if (condition !== ControllerCondition.UNSPECIFIED) {
      this.deps.counters.alterRejected++;
      return { kind: 'rejected', condition, message: connectError.rawMessage };
    }
    return { kind: 'failed', error: connectError };
  }
}
