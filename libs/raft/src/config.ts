// The core's configuration: validated once, frozen. Durations are in ticks, sizes in bytes, counts are counts.

import { InvalidRequestError } from './errors.js';
import type { NodeId, Random } from './types.js';

export interface RaftConfig {
  readonly id: NodeId;
  /** A follower campaigns after a random timeout in [electionTimeoutTicks, 2 × electionTimeoutTicks). */
  readonly electionTimeoutTicks: number;
  /** The leader sends heartbeats every `heartbeatTimeoutTicks`; must be < electionTimeoutTicks. */
  readonly heartbeatTimeoutTicks: number;
  /** Upper bound of one AppendEntries message's entries (at least one entry is always sent). */
  readonly maxSizePerMessageBytes: number;
  /** In-flight AppendEntries messages per follower in the replicate state. */
  readonly maxInflightMessages: number;
  /** Payload bytes of uncommitted entries a leader accepts before proposals fail with OverloadedError. */
  readonly maxUncommittedEntriesBytes: number;
  /** Uncommitted entries a leader accepts before proposals fail with OverloadedError. */
  readonly maxPendingProposals: number;
  /** ReadIndex requests pending on one node (per stage) before `readIndex` fails with OverloadedError. */
  readonly maxPendingReads: number;
  /**
   * Upper bound of `Ready.committedEntries` in entry bytes (at least one entry is always handed out). Default 1 MiB:
   * an entry in memory costs several times its payload, and a restart replaying a long log tail hands it over
   * Ready by Ready — at 16 MiB one Ready held some 270,000 small entries and a node replaying 400,000 peaked at
   * 510 MB resident; at 1 MiB, 291 MB.
   */
  readonly maxCommittedSizePerReadyBytes: number;
  /** Messages queued for the next Ready; beyond it messages are dropped (Raft tolerates loss) and counted. */
  readonly maxQueuedMessages: number;
  /** Raft thesis §9.6: campaign only after a PreVote round shows a quorum would vote. */
  readonly preVote: boolean;
  /** The leader steps down when a quorum was not heard from within an election timeout; voters with a live leader ignore votes. */
  readonly checkQuorum: boolean;
  /**
   * The leader sends a new commit index at once to followers that have no entries to receive (etcd's behaviour).
   * When false the commit index travels with the next append or heartbeat instead (hashicorp's), at most
   * `heartbeatTimeoutTicks` later: two messages fewer per write when writes are sparse, and followers apply later.
   * The leader's own commit and apply, and so a client's latency, do not change.
   */
  readonly broadcastCommit: boolean;
  /**
   * Two followers that time out within one message delay of each other both win the PreVote round, become
   * candidates, vote for themselves and split the vote (another election timeout lost). With this on, a
   * pre-candidate whose round is at most `heartbeatTimeoutTicks` old grants another pre-candidate's PreVote only
   * when that one ranks higher (a more up-to-date log, or the same log and a lower id) or has already refused its
   * own, so only one of them goes on. Later rivals are granted as before. Needs preVote; has no effect on safety
   * (a PreVote binds nobody).
   */
  readonly preVoteTieBreak: boolean;
  readonly random: Random;
}

export type RaftConfigInput = Partial<RaftConfig> & Pick<RaftConfig, 'id' | 'random'>;

export const defaultRaftConfig = Object.freeze({
  electionTimeoutTicks: 10,
  heartbeatTimeoutTicks: 1,
  maxSizePerMessageBytes: 1024 * 1024,
  maxInflightMessages: 256,
  maxUncommittedEntriesBytes: 64 * 1024 * 1024,
  maxPendingProposals: 8192,
  maxPendingReads: 4096,
  maxCommittedSizePerReadyBytes: 1024 * 1024,
  maxQueuedMessages: 65536,
  preVote: true,
  checkQuorum: true,
  broadcastCommit: true,
  preVoteTieBreak: true,
});

/** Fills defaults and validates; throws InvalidRequestError on a bad value. */
export function resolveRaftConfig(input: RaftConfigInput): RaftConfig {
  const cfg: RaftConfig = Object.freeze({ ...defaultRaftConfig, ...input });
  requirePositive('id', cfg.id);
  requirePositive('electionTimeoutTicks', cfg.electionTimeoutTicks);
  requirePositive('heartbeatTimeoutTicks', cfg.heartbeatTimeoutTicks);
  requirePositive('maxSizePerMessageBytes', cfg.maxSizePerMessageBytes);
  requirePositive('maxInflightMessages', cfg.maxInflightMessages);
  requirePositive('maxUncommittedEntriesBytes', cfg.maxUncommittedEntriesBytes);
  requirePositive('maxPendingProposals', cfg.maxPendingProposals);
  requirePositive('maxPendingReads', cfg.maxPendingReads);
  requirePositive('maxCommittedSizePerReadyBytes', cfg.maxCommittedSizePerReadyBytes);
  requirePositive('maxQueuedMessages', cfg.maxQueuedMessages);
  if (cfg.heartbeatTimeoutTicks >= cfg.electionTimeoutTicks) {
    throw new InvalidRequestError(
      `heartbeatTimeoutTicks ${cfg.heartbeatTimeoutTicks} must be < electionTimeoutTicks ${cfg.electionTimeoutTicks}`,
    );
  }
  return cfg;
}

function requirePositive(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new InvalidRequestError(`${name} must be a positive safe integer, got ${value}`);
  }
}
