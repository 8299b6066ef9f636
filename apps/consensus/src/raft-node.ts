// Assembles one consensus node: durable storage, the Raft runtime with a Connect transport, the state machine,
// Raft metrics, and the generic node operations (status, membership, leadership transfer, snapshots).
import { Code, ConnectError } from '@connectrpc/connect';
import { connectErrorOf } from '@regent/proto';
import { ControllerCondition } from '@regent/proto/common';
import {
  bootstrapSnapshot,
  type ConfChange,
  type ConfChangeInProgressError,
  ConfChangeType,
  NotLeaderError,
  OverloadedError,
  ProposalDroppedError,
  RaftError,
} from '@regent/raft';
import {
  createConnectPeerTransport,
  ProposalOutcomeUnknownError,
  RaftRuntime,
  ReadDroppedError,
  RuntimeStoppedError,
  type StateMachine,
} from '@regent/raft-runtime';
import { type FileStorage, openFileStorage } from '@regent/raft-storage';
import type { Logger } from 'pino';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { ConsensusConfig } from './config.js';
import { parsePeers } from './config.js';
import { createRandom } from './random.js';

export interface RaftNodeHandle {
  readonly runtime: RaftRuntime;
  readonly storage: FileStorage;
  readonly config: ConsensusConfig;
  readonly selfAddress: string;
  /** The leader's id and address as this node knows them (0/'' when unknown). */
  leader(): { id: number; address: string };
  /** Throws NOT_LEADER (with the leader hint) unless this node leads and its no-op barrier committed. */
  requireLeader(): void;
  /** Maps a Raft/runtime error to the ConnectError sent to clients. */
  toConnectError(error: unknown): ConnectError;
  /** Registers a listener for leader changes (called after the Ready that changed it was persisted). */
  onLeaderChange(listener: (leader: number, term: number, isLeader: boolean) => void): void;
  /** Graceful stop: a leader hands leadership to the most up-to-date voter first. */
  stop(): Promise<void>;
}

export interface RaftMetrics {
  readonly proposals: Counter<'result'>;
  readonly proposalSeconds: Histogram;
}

export function createRaftMetrics(registry: Registry): RaftMetrics {
  return {
    proposals: new Counter({
      name: 'regent_raft_proposals_total',
      help: 'Raft proposals by result (ok, not_leader, overloaded, dropped, unknown, error)',
      labelNames: ['result'],
      registers: [registry],
    }),
    proposalSeconds: new Histogram({
      name: 'regent_raft_proposal_seconds',
      help: 'Time from proposal to apply on the leader',
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1],
      registers: [registry],
    }),
  };
}

export function openRaftNode(options: {
  config: ConsensusConfig;
  stateMachine: StateMachine;
  logger: Logger;
  registry: Registry;
}): RaftNodeHandle {
  const { config, logger, registry } = options;
  const peers = parsePeers(config.peers);
  const selfAddress = config.advertise || peers.get(config.nodeId) || `${config.host}:${config.port}`;
  const syncSeconds = new Histogram({
    name: 'regent_wal_sync_seconds',
    help: 'WAL fdatasync latency',
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1],
    registers: [registry],
  });
  if (!config.join && peers.size > 0 && !peers.has(config.nodeId)) {
    throw new Error(`--peers must include this node (${config.nodeId})`);
  }
  const storage = openFileStorage({
    dir: config.dataDir,
    // A founding member starts from a snapshot at index 1 holding the membership and the empty state machine.
    bootstrap:
      config.join || peers.size === 0
        ? undefined
        : bootstrapSnapshot({
            voters: [...peers.keys()],
            addresses: peers,
            data: options.stateMachine.snapshot(),
          }),
    metrics: { onSync: (ms) => syncSeconds.observe(ms / 1000) },
    ...(config.chaosSyncLedger === '' ? {} : { syncLedgerPath: config.chaosSyncLedger }),
  });
  logger.info({ openReport: storage.openReport }, 'storage opened');
  if (config.chaosSyncLedger !== '') {
    logger.warn({ syncLedger: config.chaosSyncLedger }, 'fault injection: the WAL keeps a sync ledger');
  }
  if (storage.openReport.tornTail !== undefined) {
    logger.warn({ tornTail: storage.openReport.tornTail }, 'WAL torn tail truncated');
  }
  const random = createRandom();
  const leaderChanges = new Counter({
    name: 'regent_raft_leader_changes_total',
    help: 'Leader changes observed by this node',
    registers: [registry],
  });
  const leaderListeners: ((leader: number, term: number, isLeader: boolean) => void)[] = [];
  const snapshots = new Counter({
    name: 'regent_raft_snapshots_total',
    help: 'Snapshots taken',
    registers: [registry],
  });
  const runtime = new RaftRuntime({
    raft: {
      id: config.nodeId,
      random,
      electionTimeoutTicks: config.electionTimeoutTicks,
      heartbeatTimeoutTicks: config.heartbeatTicks,
      broadcastCommit: config.commitBroadcast === 'eager',
    },
    storage,
    stateMachine: options.stateMachine,
    tickMs: config.tickMs,
    snapshotEveryEntries: config.snapshotEveryEntries,
    snapshotKeepEntries: config.snapshotKeepEntries,
    // A joining node answers the leader through the --peers addresses until the leader's snapshot arrives.
    seedAddresses: config.join ? withoutSelf(peers, config.nodeId) : undefined,
    createTransport: (events) => {
      const transport = createConnectPeerTransport({
        group: config.group,
        selfId: config.nodeId,
        peers: new Map(),
        events,
      });
      const overrides = parsePeers(config.peerOverrides);
      return {
        ...transport,
        setPeers: (addresses) => {
          const dialed = new Map(addresses);
          for (const [id, address] of overrides) if (dialed.has(id)) dialed.set(id, address);
          transport.setPeers(dialed);
        },
      };
    },
    hooks: {
      onLeaderChange: (leader, term, isLeader) => {
        leaderChanges.inc();
        logger.info({ leader, term, isLeader }, 'leader changed');
        for (const listener of leaderListeners) listener(leader, term, isLeader);
      },
      onSnapshot: (index, bytes) => {
        snapshots.inc();
        logger.info({ index, bytes }, 'snapshot taken');
      },
      onConfChange: (change, index) => logger.info({ change, index }, 'membership changed'),
      onError: (error, context) => logger.error({ err: error, context }, 'raft runtime error'),
    },
  });
  registerRaftGauges(registry, runtime);
  logger.info({ seed: random.seed }, 'raft random seed');

  const leader = (): { id: number; address: string } => {
    const id = runtime.leaderId;
    return { id, address: id === 0 ? '' : (runtime.addresses().get(id) ?? '') };
  };
  const notLeader = (message: string): ConnectError => {
    const l = leader();
    return connectErrorOf(ControllerCondition.NOT_LEADER, message, {
      leader: l.id === 0 ? undefined : ({ nodeId: BigInt(l.id), address: l.address } as never),
    });
  };
  const handle: RaftNodeHandle = {
    runtime,
    storage,
    config,
    selfAddress,
    leader,
    requireLeader: () => {
      const s = runtime.node.basicStatus();
      if (s.role !== 'leader') throw notLeader(`node ${config.nodeId} is not the leader`);
      if (!s.leaderBarrierCommitted)
        throw notLeader(`node ${config.nodeId} has not committed its leader barrier yet`);
    },
    toConnectError: (error) => mapError(error, notLeader),
    onLeaderChange: (listener) => {
      leaderListeners.push(listener);
    },
    stop: async () => {
      await transferBeforeStop(runtime, logger);
      await runtime.stop();
    },
  };
  return handle;
}

function mapError(error: unknown, notLeader: (m: string) => ConnectError): ConnectError {
  if (error instanceof ConnectError) return error;
  if (error instanceof NotLeaderError) return notLeader(error.message);
  if (error instanceof OverloadedError) return connectErrorOf(ControllerCondition.OVERLOADED, error.message);
  if (error instanceof ProposalDroppedError) return notLeader(error.message);
  // The read's leadership confirmation was lost: retry on the (hinted) leader.
  if (error instanceof ReadDroppedError) return notLeader(error.message);
  if ((error as ConfChangeInProgressError)?.name === 'ConfChangeInProgressError') {
    return connectErrorOf(ControllerCondition.MEMBERSHIP_CHANGE_IN_PROGRESS, (error as Error).message);
  }
  // A node stopping fails what is pending; a pending proposal may still commit under the next leader.
  if (error instanceof ProposalOutcomeUnknownError || error instanceof RuntimeStoppedError) {
    return connectErrorOf(
      ControllerCondition.RAFT_INTERNAL_ERROR,
      `${error.message}; retry with the same session`,
    );
  }
  if (error instanceof RaftError) return connectErrorOf(ControllerCondition.INVALID_ARGUMENT, error.message);
  return new ConnectError(error instanceof Error ? error.message : String(error), Code.Internal);
}

/**
 * Leadership transfer on graceful shutdown: pick the voter with the highest match index and wait (≤ 1 s) until
 * this node follows a new leader — by then it has also sent its vote, so stopping cannot stall the election.
 */
async function transferBeforeStop(runtime: RaftRuntime, logger: Logger): Promise<void> {
  const status = runtime.status();
  if (status.role !== 'leader') return;
  let best = 0;
  let bestMatch = -1;
  for (const [id, p] of status.progress) {
    if (id === status.id || p.isLearner) continue;
    if (p.match > bestMatch) {
      best = id;
      bestMatch = p.match;
    }
  }
  if (best === 0) return;
  try {
    runtime.transferLeadership(best);
  } catch (error) {
    logger.warn({ err: error }, 'leadership transfer on shutdown failed');
    return;
  }
  const deadline = Date.now() + 1000;
  const moved = (): boolean => runtime.leaderId !== 0 && runtime.leaderId !== status.id;
  while (Date.now() < deadline && !moved()) await new Promise((r) => setTimeout(r, 5));
  if (moved()) {
    logger.info(
      { to: best, leader: runtime.leaderId, term: runtime.node.basicStatus().term },
      'leadership transferred before shutdown',
    );
  } else {
    logger.warn(
      { to: best, leader: runtime.leaderId },
      'leadership transfer before shutdown did not finish within 1 s',
    );
  }
}

function registerRaftGauges(registry: Registry, runtime: RaftRuntime): void {
  const roles = { follower: 0, 'pre-candidate': 1, candidate: 1, leader: 2, learner: 0 } as Record<
    string,
    number
  >;
  new Gauge({
    name: 'regent_raft_role',
    help: 'Raft role of this node: 0 follower, 1 candidate, 2 leader (RocketMQ role gauge)',
    registers: [registry],
    collect() {
      this.set(roles[runtime.node.basicStatus().role] ?? 0);
    },
  });
  const indexes = new Gauge({
    name: 'regent_raft_index',
    help: 'Raft indexes of this node by kind (term, commit, applied, first, last, snapshot)',
    labelNames: ['kind'],
    registers: [registry],
    collect() {
      const s = runtime.node.basicStatus();
      indexes.set({ kind: 'term' }, s.term);
      indexes.set({ kind: 'commit' }, s.commit);
      indexes.set({ kind: 'applied' }, runtime.appliedIndex);
      indexes.set({ kind: 'first' }, s.firstIndex);
      indexes.set({ kind: 'last' }, s.lastIndex);
      indexes.set({ kind: 'snapshot' }, runtime.snapshotIndex);
    },
  });
  new Gauge({
    name: 'regent_raft_commit_apply_lag',
    help: 'Committed but not yet applied entries',
    registers: [registry],
    collect() {
      this.set(Math.max(0, runtime.node.basicStatus().commit - runtime.appliedIndex));
    },
  });
}

function withoutSelf(peers: ReadonlyMap<number, string>, self: number): Map<number, string> {
  return new Map([...peers].filter(([id]) => id !== self));
}

export function confChangeOf(
  type: 'add-voter' | 'remove' | 'add-learner' | 'promote',
  nodeId: number,
  address: string,
): ConfChange {
  const t = {
    'add-voter': ConfChangeType.AddVoter,
    remove: ConfChangeType.RemoveNode,
    'add-learner': ConfChangeType.AddLearner,
    promote: ConfChangeType.PromoteLearner,
  }[type];
  return { type: t, nodeId, context: address };
}
