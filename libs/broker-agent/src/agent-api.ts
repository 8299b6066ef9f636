// The agent's public contract: the `BrokerAgent` interface, the ports it is built with, and what it reports (its
// status and counters, and the outcome of a SyncStateSet proposal). The implementation is in agent.ts.
import type { ConnectError } from '@connectrpc/connect';
import type { ControllerCondition } from '@regent/proto/common';
import type { Clock, Random } from './clock.js';
import type { HeartbeatStats } from './heartbeat.js';
import type { BrokerIdentity } from './identity-files.js';
import type { AgentLogger, BrokerServiceClient, NatsConnector, StoreView } from './ports.js';
import type { RegistrationHooks } from './registration.js';
import type { Role } from './role.js';
import type { FenceReason, RoleEvent } from './role-events.js';

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
