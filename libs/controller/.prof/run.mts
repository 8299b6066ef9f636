import { runControllerSimulation } from '../src/testing/simulation.ts';
const t0 = performance.now();
for (let s = 1; s <= 3; s++) {
  const r = runControllerSimulation({ seed: s });
  console.log(s, r.simulatedMs, JSON.stringify(r.counts), Math.round(performance.now() - t0));
}
