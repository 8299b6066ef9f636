// Hand-written SVG bar charts for the benchmark report (no plotting dependency): one series of bars, or groups of
// bars with a legend, with value labels and optional dashed target lines. Pure: strings in, a string out.

export interface Bar {
  readonly label: string;
  readonly value: number;
}

export interface BarGroup {
  readonly label: string;
  /** One value per series (NaN: no bar). */
  readonly values: readonly number[];
}

export interface TargetLine {
  readonly value: number;
  readonly label: string;
}

export interface ChartOptions {
  readonly title: string;
  /** The y axis unit, e.g. "ms" or "ops/s". */
  readonly unit: string;
  readonly targets?: readonly TargetLine[];
}

const WIDTH = 640;
const HEIGHT = 320;
const MARGIN = { top: 40, right: 24, bottom: 56, left: 72 };
const COLORS = ['#3b6ea8', '#9a9a9a', '#d08c3c', '#5a9e6f', '#8e5ea2'];

export function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A short number: 3 significant digits, thousands separated. */
export function formatValue(value: number): string {
  if (!Number.isFinite(value)) return '–';
  const abs = Math.abs(value);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : 2;
  return value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

/** A "nice" axis maximum (1, 2, 2.5 or 5 times a power of ten) at or above `value`. */
export function niceMax(value: number): number {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

/** A chart of one bar per label. */
export function barChart(bars: readonly Bar[], options: ChartOptions): string {
  return groupedBarChart(
    bars.map((b) => ({ label: b.label, values: [b.value] })),
    [],
    options,
  );
}

/** Groups of bars, one per series; `series` names the legend (empty: no legend). */
export function groupedBarChart(
  groups: readonly BarGroup[],
  series: readonly string[],
  options: ChartOptions,
): string {
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const values = groups.flatMap((g) => g.values).filter(Number.isFinite);
  const targets = (options.targets ?? []).filter((t) => Number.isFinite(t.value));
  const yMax = niceMax(Math.max(0, ...values, ...targets.map((t) => t.value)) * 1.08);
  const y = (v: number): number => MARGIN.top + plotHeight - (Math.max(0, v) / yMax) * plotHeight;
  const seriesCount = Math.max(1, ...groups.map((g) => g.values.length));
  const slot = plotWidth / Math.max(1, groups.length);
  const barWidth = Math.min(64, (slot * 0.7) / seriesCount);
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`,
    `<text x="${WIDTH / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(options.title)}</text>`,
  );
  for (let i = 0; i <= 4; i++) {
    const v = (yMax * i) / 4;
    const yy = y(v).toFixed(1);
    out.push(
      `<line x1="${MARGIN.left}" y1="${yy}" x2="${WIDTH - MARGIN.right}" y2="${yy}" stroke="#e4e4e4"/>`,
      `<text x="${MARGIN.left - 6}" y="${yy}" text-anchor="end" dominant-baseline="middle">${escapeXml(formatValue(v))}</text>`,
    );
  }
  out.push(
    `<text transform="translate(16 ${MARGIN.top + plotHeight / 2}) rotate(-90)" text-anchor="middle">${escapeXml(options.unit)}</text>`,
    `<line x1="${MARGIN.left}" y1="${y(0)}" x2="${WIDTH - MARGIN.right}" y2="${y(0)}" stroke="#333"/>`,
  );
  groups.forEach((group, g) => {
    const center = MARGIN.left + slot * (g + 0.5);
    const start = center - (barWidth * group.values.length) / 2;
    group.values.forEach((value, s) => {
      if (!Number.isFinite(value)) return;
      const x = start + s * barWidth;
      const top = y(value);
      out.push(
        `<rect x="${x.toFixed(1)}" y="${top.toFixed(1)}" width="${(barWidth - 2).toFixed(1)}" height="${(y(0) - top).toFixed(1)}" fill="${COLORS[s % COLORS.length]}"/>`,
        `<text x="${(x + barWidth / 2 - 1).toFixed(1)}" y="${(top - 4).toFixed(1)}" text-anchor="middle" font-size="11">${escapeXml(formatValue(value))}</text>`,
      );
    });
    out.push(
      `<text x="${center.toFixed(1)}" y="${(y(0) + 18).toFixed(1)}" text-anchor="middle">${escapeXml(group.label)}</text>`,
    );
  });
  for (const target of targets) {
    const yy = y(target.value).toFixed(1);
    out.push(
      `<line x1="${MARGIN.left}" y1="${yy}" x2="${WIDTH - MARGIN.right}" y2="${yy}" stroke="#c0392b" stroke-dasharray="6 4"/>`,
      `<text x="${WIDTH - MARGIN.right}" y="${(Number(yy) - 5).toFixed(1)}" text-anchor="end" fill="#c0392b" font-size="11">${escapeXml(target.label)}</text>`,
    );
  }
  series.forEach((name, s) => {
    const x = MARGIN.left + s * 150;
    const yy = HEIGHT - 14;
    out.push(
      `<rect x="${x}" y="${yy - 10}" width="12" height="12" fill="${COLORS[s % COLORS.length]}"/>`,
      `<text x="${x + 18}" y="${yy}">${escapeXml(name)}</text>`,
    );
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
