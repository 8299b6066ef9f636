import { describe, expect, it } from 'vitest';
import { parseArgs, quantile } from './machine.js';

describe('bench helpers', () => {
  it('computes nearest-rank quantiles', () => {
    const samples = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(quantile(samples, 0.5)).toBe(50);
    expect(quantile(samples, 0.99)).toBe(99);
    expect(quantile(samples, 1)).toBe(100);
    expect(quantile([], 0.5)).toBeNaN();
  });

  it('parses typed options and rejects unknown ones', () => {
    expect(
      parseArgs(['--concurrency', '64', '--verbose'], { concurrency: 1, verbose: false, name: 'x' }),
    ).toEqual({
      concurrency: 64,
      verbose: true,
      name: 'x',
    });
    expect(() => parseArgs(['--nope', '1'], { concurrency: 1 })).toThrow(/unknown option/);
    expect(() => parseArgs(['--concurrency', 'x'], { concurrency: 1 })).toThrow(/number/);
  });
});
