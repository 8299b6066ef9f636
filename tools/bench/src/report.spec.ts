import { describe, expect, it } from 'vitest';
import { barChart, escapeXml, formatValue, groupedBarChart, niceMax } from './report-svg.js';
import { etcdFromIssue, judge, suiteTargets } from './report-targets.js';

describe('report charts', () => {
  it('picks nice axis maxima', () => {
    expect(niceMax(0)).toBe(1);
    expect(niceMax(7)).toBe(10);
    expect(niceMax(120)).toBe(200);
    expect(niceMax(230)).toBe(250);
    expect(niceMax(4100)).toBe(5000);
  });

  it('formats values with few digits', () => {
    expect(formatValue(12_345.6)).toBe('12,346');
    expect(formatValue(12.345)).toBe('12.3');
    expect(formatValue(1.2345)).toBe('1.23');
    expect(formatValue(Number.NaN)).toBe('–');
  });

  it('draws one bar per value, scaled to the axis, with escaped labels and a target line', () => {
    const svg = barChart(
      [
        { label: 'p50', value: 50 },
        { label: 'p99 <&>', value: 100 },
      ],
      { title: 'a "title"', unit: 'ms', targets: [{ value: 80, label: 'target' }] },
    );
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('p99 &#60;&#38;&#62;');
    expect(svg).toContain('a &#34;title&#34;');
    const heights = [
      ...svg.matchAll(/<rect x="[^"]+" y="[^"]+" width="[^"]+" height="([^"]+)" fill="#3b6ea8"/g),
    ].map((m) => Number(m[1]));
    expect(heights).toHaveLength(2);
    expect(heights[1]! / heights[0]!).toBeCloseTo(2, 5);
    expect(svg).toContain('stroke-dasharray');
  });

  it('skips missing values in grouped charts and draws a legend', () => {
    const svg = groupedBarChart(
      [
        { label: 'a', values: [1, Number.NaN] },
        { label: 'b', values: [2, 3] },
      ],
      ['Regent', 'etcd'],
      { title: 't', unit: 'ops/s' },
    );
    expect(
      svg.match(/<rect x="[^"]+" y="[^"]+" width="\d+\.\d" height="[^"]+" fill="#(3b6ea8|9a9a9a)"\/>/g),
    ).toHaveLength(3);
    expect(svg).toContain('>Regent<');
    expect(svg).toContain('>etcd<');
    expect(escapeXml("'")).toBe('&#39;');
  });
});

describe('report targets', () => {
  it('judges each comparison and missing data', () => {
    const t = { run: 'r', metric: 'm', value: 10, unit: 'ms', source: '' };
    expect(judge({ ...t, op: '<=' }, 10)).toBe('pass');
    expect(judge({ ...t, op: '<' }, 10)).toBe('FAIL');
    expect(judge({ ...t, op: '>=' }, 9)).toBe('FAIL');
    expect(judge({ ...t, op: '==' }, 10)).toBe('pass');
    expect(judge({ ...t, op: '<=' }, undefined)).toBe('no data');
    expect(judge({ ...t, op: '<=' }, Number.NaN)).toBe('no data');
  });

  it('sets throughput targets at 3× etcd: measured when available, else the issue figures', () => {
    const target = (etcd: Parameters<typeof suiteTargets>[0], run: string) =>
      suiteTargets(etcd).find((t) => t.run === run && t.metric === 'opsPerSec')!;
    expect(target({}, 'raft-c64').value).toBe(3 * etcdFromIssue.c64.opsPerSec);
    expect(target({}, 'raft-c256').value).toBe(3 * etcdFromIssue.c256.opsPerSecLow);
    expect(target({ c64: 2000, c256: 3000 }, 'raft-c64').value).toBe(6000);
    expect(target({ c64: 2000, c256: 3000 }, 'raft-c256').source).toContain('measured here');
  });
});
