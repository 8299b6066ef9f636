import { Ledger } from '../src/testing/sim-ledger.ts';
import { encodeSnapshot } from '../src/snapshot.ts';
let calls = 0, bytes = 0;
const orig = (Ledger.prototype as any).sameState;
(Ledger.prototype as any).sameState = function (s: string, st: any, i: number) { calls++; bytes += encodeSnapshot(st).length; return orig.call(this, s, st, i); };
const { runControllerSimulation } = await import('../src/testing/simulation.ts');
for (let s = 1; s <= 3; s++) { calls = 0; bytes = 0; const r = runControllerSimulation({ seed: s }); console.log(s, calls, Math.round(bytes / calls), r.counts.entries, r.nodeCrashes); }
