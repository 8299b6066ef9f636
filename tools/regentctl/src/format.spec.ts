import { describe, expect, it } from 'vitest';
import { clean, formatBytes, formatDurationMs, formatFields, formatIds, formatTable } from './format.js';

describe('formatTable', () => {
  it('pads every column to its widest cell and trims trailing spaces', () => {
    const text = formatTable(
      ['ID', 'ADDRESS', 'NOTE'],
      [
        ['1', '127.0.0.1:7101', ''],
        ['12', 'h:1', 'x'],
      ],
    );
    expect(text).toBe(
      ['ID  ADDRESS         NOTE', '1   127.0.0.1:7101', '12  h:1             x', ''].join('\n'),
    );
  });

  it('right-aligns the columns asked for', () => {
    const text = formatTable(
      ['N', 'NAME'],
      [
        ['5', 'a'],
        ['120', 'bb'],
      ],
      { align: ['right'] },
    );
    expect(text.split('\n')).toEqual(['  N  NAME', '  5  a', '120  bb', '']);
  });

  it('prints the header for no rows and measures non-ASCII by code point', () => {
    expect(formatTable(['A', 'B'], [])).toBe('A  B\n');
    expect(formatTable(['X', 'Y'], [['1 → 2', 'z']])).toBe('X      Y\n1 → 2  z\n');
  });

  it('neutralises control characters from the server', () => {
    expect(clean('a\nb\x1b[2Jc\t')).toBe('a b [2Jc ');
    expect(formatTable(['V'], [['evil\x1b[31m']])).toBe('V\nevil [31m\n');
  });
});

describe('small formatters', () => {
  it('aligns fields', () => {
    expect(
      formatFields([
        ['leader', '2'],
        ['term', '7'],
      ]),
    ).toBe('leader  2\nterm    7\n');
  });

  it.each([
    [0, '0ms'],
    [850, '850ms'],
    [1500n, '1.5s'],
    [59_999, '60.0s'],
    [245_000, '4m05s'],
    [7_620_000, '2h07m'],
    [273_600_000, '3d04h'],
    [-1, '-'],
  ])('formats %s ms as %s', (ms, text) => {
    expect(formatDurationMs(ms)).toBe(text);
  });

  it('formats bytes and id lists', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(12_595n)).toBe('12.3 KiB');
    expect(formatBytes(4 * 1024 * 1024)).toBe('4.0 MiB');
    expect(formatIds([1n, 2n, 3n])).toBe('1,2,3');
    expect(formatIds([])).toBe('-');
  });
});
