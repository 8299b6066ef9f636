// What a state machine brings to a consensus node: the replicated machine itself, its part of ConsensusService
// (Submit, ReportHeartbeats, Watch), any extra routes, and background work started once the node runs.
import type { ConnectRouter, ServiceImpl } from '@connectrpc/connect';
import type { ConsensusService } from '@regent/proto/consensus';
import type { StateMachine } from '@regent/raft-runtime';
import type { HttpHandler } from '@regent/service-kit';
import type { RaftNodeHandle } from './raft-node.js';

export type ModuleConsensusImpl = Pick<
  ServiceImpl<typeof ConsensusService>,
  'submit' | 'reportHeartbeats' | 'watch'
>;

export interface StateMachineModule {
  readonly stateMachine: StateMachine;
  /** Called once the Raft node exists (before it starts ticking). */
  attach(node: RaftNodeHandle): void;
  readonly consensus: ModuleConsensusImpl;
  routes?(router: ConnectRouter): void;
  /** Lean handlers for hot RPCs, tried before the Connect router (called after `attach`). */
  handlers?(): HttpHandler[];
  /** Extra readiness detail (e.g. liveness table warm). */
  readyDetail?(): Record<string, unknown>;
  stop(): Promise<void>;
}
