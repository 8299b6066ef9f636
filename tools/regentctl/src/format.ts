// Plain-text rendering for terminals: aligned tables, key/value blocks, durations and byte sizes. No colour, so the
// output reads the same in a pipe, a log file and a terminal. Every string from the server passes `clean` first, so
// a hostile or broken value cannot move the cursor or clear the screen.

export type Align = 'left' | 'right';

export interface TableOptions {
  /** Per-column alignment; columns not listed are left-aligned. */
  readonly align?: readonly Align[];
  /** Spaces between columns. */
  readonly gapChars?: number;
}

/** Replaces control characters (newlines, escape sequences, …) with spaces. */
export function clean(text: string): string {
  return text.replace(/\p{Cc}/gu, ' ');
}

/**
 * Renders rows under a header row with every column as wide as its widest cell. Lines carry no trailing spaces
 * and end with a newline; an empty `rows` still prints the header.
 */
export function formatTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  options: TableOptions = {},
): string {
  const gap = ' '.repeat(options.gapChars ?? 2);
  const cells = [headers, ...rows].map((row) => headers.map((_, i) => clean(row[i] ?? '')));
  const widths = headers.map((_, i) => Math.max(...cells.map((row) => [...row[i]!].length)));
  const lines = cells.map((row) =>
    row
      .map((cell, i) => {
        const pad = ' '.repeat(widths[i]! - [...cell].length);
        return options.align?.[i] === 'right' ? pad + cell : cell + pad;
      })
      .join(gap)
      .trimEnd(),
  );
  return `${lines.join('\n')}\n`;
}

/** Renders `key  value` lines with the values aligned. */
export function formatFields(fields: readonly (readonly [string, string])[]): string {
  const width = Math.max(0, ...fields.map(([key]) => [...key].length));
  return fields
    .map(([key, value]) => `${clean(key).padEnd(width)}  ${clean(value)}`.trimEnd() + '\n')
    .join('');
}

/** A duration in milliseconds for humans: "850ms", "3.2s", "4m05s", "2h07m", "3d04h". */
export function formatDurationMs(ms: bigint | number): string {
  const n = Number(ms);
  if (!Number.isFinite(n) || n < 0) return '-';
  if (n < 1000) return `${Math.round(n)}ms`;
  if (n < 60_000) return `${(n / 1000).toFixed(1)}s`;
  const s = Math.floor(n / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m${pad2(s % 60)}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${pad2(Math.floor(s / 60) % 60)}m`;
  return `${Math.floor(s / 86_400)}d${pad2(Math.floor(s / 3600) % 24)}h`;
}

/** A byte count for humans: "512 B", "12.3 KiB", "4.0 MiB". */
export function formatBytes(bytes: bigint | number): string {
  const n = Number(bytes);
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${n} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** Broker ids as "1,2,3", or "-" for none. */
export function formatIds(ids: readonly (bigint | number)[]): string {
  return ids.length === 0 ? '-' : ids.map(String).join(',');
}

/** An enum value's name in lower kebab case ("MASTER_STILL_EXIST" → "master-still-exist"). */
export function enumLabel(names: Record<number, string>, value: number): string {
  const name = names[value];
  return name === undefined ? String(value) : name.toLowerCase().replace(/_/g, '-');
}

/** "yes" / "no". */
export function yesNo(value: boolean): string {
  return value ? 'yes' : 'no';
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}
