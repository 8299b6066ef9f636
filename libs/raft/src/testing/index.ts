// @regent/raft/testing: in-memory storage, a scripted cluster and the deterministic simulator, for tests here
// and in other libs.

export { bytes, Cluster, type ClusterNode, type ClusterOptions, text } from './cluster.js';
export { MemoryStorage } from './memory-storage.js';
export { createSeededRandom, fixedRandom, type SeededRandom } from './random.js';
export {
  checkSeed,
  checkSeedWithReplayHint,
  leaderBoundTicks,
  planFor,
  runSeeds,
  runSimulation,
  type SeedTotals,
  SimulationError,
  type SimulationOptions,
  type SimulationPlan,
  type SimulationResult,
  seedChunks,
} from './simulator.js';
