import { runControllerSimulation, ControllerSimulationError } from '../src/testing/simulation.ts';
const from = Number(process.argv[2] ?? 1), to = Number(process.argv[3] ?? 20);
const rules = JSON.parse(process.argv[4] ?? '{}');
const t0 = performance.now();
let fails = 0;
const totals: Record<string, number> = {};
for (let s = from; s <= to; s++) {
  try {
    const r = runControllerSimulation({ seed: s, rules });
    for (const [k, v] of Object.entries(r.counts)) totals[k] = (totals[k] ?? 0) + v;
  } catch (e) {
    fails++;
    console.log('SEED', s, e instanceof ControllerSimulationError ? e.message.slice(0, 600) : (e as Error).stack);
  }
}
console.log('fails', fails, 'of', to - from + 1, 'ms', Math.round(performance.now() - t0));
console.log(JSON.stringify(totals));
