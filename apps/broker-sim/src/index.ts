// broker-sim as a library (for tools that embed the simulation instead of spawning it).
export { checkSimConfig, type SimConfig, simConfigSchema, simParseOptions } from './config.js';
export type { HaReply, HaRequest } from './ha.js';
export { type BrokerState, SimBroker, type SimBrokerSpec } from './sim-broker.js';
export { SimStore } from './sim-store.js';
export { createSimulation, type Simulation } from './simulation.js';
