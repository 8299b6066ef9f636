import { runControllerSimulation, ControllerSimulationError } from '../src/testing/simulation.ts';
const seed = Number(process.argv[2]); const n = Number(process.argv[3] ?? 80);
const rules = JSON.parse(process.argv[4] ?? '{}');
try { runControllerSimulation({ seed, trace: true, rules }); console.log('passed'); }
catch (e) { if (e instanceof ControllerSimulationError) { console.log(e.trace.slice(-n).join('\n')); console.log(e.message); } else throw e; }
