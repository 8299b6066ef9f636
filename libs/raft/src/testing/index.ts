// @regent/raft/testing: in-memory storage, a scripted cluster and the deterministic simulator, for tests here
// and in other libs.

export { bytes, Cluster, type ClusterNode, type ClusterOptions, text } from './cluster.js';
export { MemoryStorage } from './memory-storage.js';
export { createSeededRandom, fixedRandom, type SeededRandom } from './random.js';
export { leaderBoundTicks, planFor, type SimulationPlan } from './sim-plan.js';
export { checkSeed, checkSeedWithReplayHint, runSeeds, type SeedTotals, seedChunks } from './sim-seeds.js';
export { SimulationError } from './sim-trace.js';
export { runSimulation, type SimulationOptions, type SimulationResult } from './simulator.js';
