// The shape of one simulator run, drawn from its seed (cluster size, fault rates, client load, Raft options),
// and the fixed time bounds every run shares.

import { createSeededRandom } from './random.js';

/** The shape of one run, drawn from the seed. */
export interface SimulationPlan {
  readonly nodeCount: number;
  readonly faultTicks: number;
  readonly dropRate: number;
  readonly duplicateRate: number;
  readonly maxDelayUnits: number;
  readonly crashRate: number;
  readonly partitionRate: number;
  readonly proposalRate: number;
  readonly readRate: number;
  readonly membershipChanges: boolean;
  /** Snapshot after this many applied entries (0: never). */
  readonly snapshotEvery: number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  /** A leader sends its Ready's messages before persisting when the Ready allows it (as the runtime does). */
  readonly sendBeforePersist: boolean;
  /** RaftConfig.broadcastCommit: followers learn a commit at once, or with the next append or heartbeat. */
  readonly broadcastCommit: boolean;
  /** RaftConfig.preVoteTieBreak: simultaneous pre-candidates yield to the higher-ranked one. */
  readonly preVoteTieBreak: boolean;
}

/** Time units per tick; message delays are counted in units, so messages arrive between and across ticks. */
export const unitsPerTick = 4;
export const electionTimeoutTicks = 10;
/** After the faults heal, a leader must be elected and everything replicated within these bounds. */
export const leaderBoundTicks = 20 * electionTimeoutTicks;
export const convergeBoundTicks = 60 * electionTimeoutTicks;
export const maxNodes = 7;

export function planFor(seed: number): SimulationPlan {
  const rand = createSeededRandom(seed ^ 0x5eed);
  const calm = rand.chance(0.15);
  return {
    nodeCount: rand.pick([1, 3, 3, 3, 5, 5]),
    faultTicks: 150 + rand.nextInt(250),
    dropRate: calm ? 0 : rand.pick([0, 0.02, 0.05, 0.15, 0.3]),
    duplicateRate: calm ? 0 : rand.pick([0, 0.01, 0.05]),
    maxDelayUnits: rand.pick([1, 2, 4, 8, 16]),
    crashRate: calm ? 0 : rand.pick([0, 0.002, 0.01]),
    partitionRate: calm ? 0 : rand.pick([0, 0.005, 0.02]),
    proposalRate: rand.pick([0.05, 0.2, 0.5]),
    readRate: rand.pick([0, 0.02, 0.1]),
    membershipChanges: rand.chance(0.35),
    snapshotEvery: rand.pick([0, 0, 3, 8, 20]),
    preVote: rand.chance(0.85),
    checkQuorum: rand.chance(0.85),
    sendBeforePersist: rand.chance(0.7),
    broadcastCommit: rand.chance(0.5),
    preVoteTieBreak: rand.chance(0.5),
  };
}
