// The shape of one controller simulation run, drawn from its seed, and the executor rules the simulated leader
// follows (all on: the consensus app's rules; a rule turned off is a deliberately broken executor, used to show
// that the simulation's checks catch it).
import { createSeededRandom } from '@regent/raft/testing';
import { type ControllerLimits, defaultControllerLimits } from '../limits.js';

/** Simulated milliseconds per simulation step. */
export const stepMs = 10;
/** Simulated milliseconds per Raft tick. */
export const tickMs = 50;
/** Raft election timeout, in ticks (so 500–1000 ms). */
export const electionTimeoutTicks = 10;
/** How often a serving leader scans for inactive masters (RocketMQ `scanNotActiveBrokerInterval`, shortened). */
export const scanIntervalMs = 1_000;
/** The unix time the simulated clock starts at (only recorded in audit records). */
export const unixEpochMs = 1_700_000_000_000;
/** The cluster every simulated broker group belongs to. */
export const simClusterName = 'sim';

export interface ControllerSimulationPlan {
  readonly nodeCount: number;
  readonly groupCount: number;
  /** Simulated time with faults (drops, partitions, crashes, broker deaths), then the faults heal. */
  readonly faultMs: number;
  readonly dropRate: number;
  readonly duplicateRate: number;
  /** Message delays are 1..maxDelaySteps steps, so messages overtake each other. */
  readonly maxDelaySteps: number;
  /** Chance that a node crashes somewhere inside one Ready (losing what it had not persisted). */
  readonly crashRate: number;
  /** Chance per step that a new network partition starts (and twice that that one heals). */
  readonly partitionRate: number;
  /** Chance per step that the leader hands leadership to another voter. */
  readonly transferRate: number;
  /** Snapshot (encodeSnapshot) and compact after this many applied entries; 0: never. */
  readonly snapshotEvery: number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  /** Chance per step that a live broker dies. */
  readonly brokerDeathRate: number;
  /** Chance that a dying broker's gateway reports its broken heartbeat stream (a suspicion). */
  readonly suspicionRate: number;
  readonly heartbeatIntervalMs: number;
  readonly heartbeatTimeoutMs: number;
  /** The policy service answers after 0..policyDelayMaxMs; beyond the deadline the leader decides locally. */
  readonly policyDelayMaxMs: number;
  /** Chance that the policy service answers with an arbitrary (often invalid) decision. */
  readonly bogusPolicyRate: number;
  /** Chance that a master sends AlterSyncStateSet with a deliberately stale epoch. */
  readonly staleAlterRate: number;
  /** Mean time between admin operations. */
  readonly adminIntervalMs: number;
  /** The admin toggles enableElectUncleanMaster now and then. */
  readonly uncleanToggles: boolean;
  /** The replicated state's limits (equal on every node); a small audit trail exercises its trimming. */
  readonly limits: ControllerLimits;
}

export function planFor(seed: number): ControllerSimulationPlan {
  const rand = createSeededRandom(seed ^ 0xc0ffee);
  const calm = rand.chance(0.1);
  return {
    nodeCount: rand.pick([3, 3, 3, 5, 5]),
    groupCount: rand.pick([2, 3, 3, 4]),
    faultMs: 15_000 + rand.nextInt(15_000),
    dropRate: calm ? 0 : rand.pick([0, 0.01, 0.05, 0.15]),
    duplicateRate: calm ? 0 : rand.pick([0, 0.01, 0.05]),
    maxDelaySteps: rand.pick([1, 2, 4, 8]),
    crashRate: calm ? 0 : rand.pick([0, 0.002, 0.006]),
    partitionRate: calm ? 0 : rand.pick([0, 0.0005, 0.002]),
    transferRate: calm ? 0 : rand.pick([0, 0.0005]),
    snapshotEvery: rand.pick([0, 4, 16]),
    preVote: rand.chance(0.85),
    checkQuorum: rand.chance(0.85),
    brokerDeathRate: rand.pick([0.0002, 0.0006, 0.0015]),
    suspicionRate: rand.pick([0, 0.5, 0.9]),
    heartbeatIntervalMs: rand.pick([300, 500, 1_000]),
    heartbeatTimeoutMs: rand.pick([2_000, 3_000]),
    policyDelayMaxMs: rand.pick([20, 150, 450]),
    bogusPolicyRate: rand.pick([0, 0.1, 0.3]),
    staleAlterRate: rand.pick([0.1, 0.3]),
    adminIntervalMs: rand.pick([800, 2_000]),
    uncleanToggles: rand.chance(0.3),
    limits: rand.chance(0.3)
      ? { ...defaultControllerLimits, auditRecordsPerGroupMax: 3 }
      : defaultControllerLimits,
  };
}

/**
 * What the simulated leader does; every rule on is the consensus app's executor. Turning one off breaks the
 * executor on purpose (the simulation must then fail).
 */
export interface ExecutorRules {
  /** Validate requests against the applied state plus this leader's proposed-but-unapplied entries. */
  readonly speculativeState: boolean;
  /** Answer a write with the reply recorded at apply (off: answer at propose time, before commit). */
  readonly answerAfterApply: boolean;
  /** Serve only once the leader applied everything up to its own no-op. */
  readonly leaderBarrier: boolean;
  /** Answer reads after a ReadIndex round, from the applied state. */
  readonly readIndex: boolean;
  /**
   * Answer an election that ends without an event (MASTER_STILL_EXIST) only after a ReadIndex round, once the
   * applied state covers the state it was decided on and still gives the same answer. The consensus app does not
   * (it answers from the speculative state at once: a reply about uncommitted entries, and a stale read on a
   * deposed leader); `simulatedRules` turns it on, `appRules` keeps the app's behaviour.
   */
  readonly confirmElectionReads: boolean;
}

/** The consensus app's executor as it is (apps/consensus/src/controller/executor.ts). */
export const appRules: ExecutorRules = Object.freeze({
  speculativeState: true,
  answerAfterApply: true,
  leaderBarrier: true,
  readIndex: true,
  confirmElectionReads: false,
});

/** The app's rules with the fix for the election-read bug the simulation found (see `confirmElectionReads`). */
export const simulatedRules: ExecutorRules = Object.freeze({ ...appRules, confirmElectionReads: true });
