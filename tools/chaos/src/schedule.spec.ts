// The fault plan: a pure function of the seed, within its bounds.
import { describe, expect, it } from 'vitest';
import { type Fault, planFaults, type Topology } from './schedule.js';

const topology: Topology = {
  nodes: [1, 2, 3],
  gateways: 2,
  brokers: ['broker-a/1', 'broker-a/2', 'broker-b/1'],
};

function overlapping(plan: readonly Fault[], at: number): Fault[] {
  return plan.filter((f) => f.atMs <= at && at < f.atMs + f.durationMs);
}

describe('planFaults', () => {
  it('gives the same plan for the same seed and another for another seed', () => {
    const a = planFaults(topology, { seed: 42, durationMs: 120_000 });
    expect(planFaults(topology, { seed: 42, durationMs: 120_000 })).toEqual(a);
    expect(planFaults(topology, { seed: 43, durationMs: 120_000 })).not.toEqual(a);
    expect(a.length).toBeGreaterThan(10);
  });

  it('keeps every fault inside the phase, on distinct targets, at most two at once', () => {
    for (let seed = 1; seed <= 30; seed++) {
      const plan = planFaults(topology, { seed, durationMs: 90_000 });
      for (const f of plan) {
        expect(f.atMs + f.durationMs).toBeLessThanOrEqual(90_000);
        const active = overlapping(plan, f.atMs);
        expect(active.length).toBeLessThanOrEqual(2);
        expect(new Set(active.map((x) => x.target)).size).toBe(active.length);
        const nodesDown = active.filter(
          (x) =>
            x.kind === 'isolate-node' ||
            x.kind === 'disk-loss' ||
            (x.target.startsWith('consensus-') && (x.kind === 'kill' || x.kind === 'pause')),
        );
        expect(nodesDown.length).toBeLessThanOrEqual(1);
      }
    }
  });

  it('covers the whole fault menu over a few seeds', () => {
    const kinds = new Set<string>();
    for (let seed = 1; seed <= 20; seed++)
      for (const f of planFaults(topology, { seed, durationMs: 120_000 })) kinds.add(f.kind);
    expect([...kinds].sort()).toEqual(
      [
        'broker-isolate',
        'broker-kill',
        'broker-pause',
        'clients-cut',
        'clock-jump',
        'delay',
        'disk-loss',
        'isolate-node',
        'kill',
        'master-isolate',
        'master-kill',
        'one-way',
        'pause',
        'policy-delay',
        'reply-loss',
        'resets',
      ].sort(),
    );
  });

  it('puts a power failure (disk-loss) of a consensus node into every --quick plan', () => {
    const tails = new Set<string>();
    for (let seed = 1; seed <= 50; seed++) {
      const plan = planFaults(topology, { seed, durationMs: 75_000 });
      const losses = plan.filter((f) => f.kind === 'disk-loss');
      expect(losses.length, `seed ${seed}`).toBeGreaterThan(0);
      for (const f of losses) {
        expect(['consensus-1', 'consensus-2', 'consensus-3']).toContain(f.target);
        tails.add(f.tail!);
        if (f.tail === 'torn') {
          expect(f.keptFraction).toBeGreaterThanOrEqual(0);
          expect(f.keptFraction).toBeLessThan(1);
        } else expect(f.keptFraction).toBeUndefined();
      }
    }
    expect([...tails].sort()).toEqual(['cut', 'torn', 'zeroed']);
  });
});
