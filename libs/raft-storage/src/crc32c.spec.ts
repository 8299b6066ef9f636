import { describe, expect, it } from 'vitest';
import { crc32c } from './crc32c.js';

const ascii = (text: string): Uint8Array => new TextEncoder().encode(text);

describe('crc32c', () => {
  it.each([
    // RFC 3720 (iSCSI) B.4 test vectors and the common "123456789" check value.
    ['123456789', ascii('123456789'), 0xe3069283],
    ['32 zero bytes', new Uint8Array(32), 0x8a9136aa],
    ['32 bytes of 0xff', new Uint8Array(32).fill(0xff), 0x62a8ab43],
    ['32 incrementing bytes', Uint8Array.from({ length: 32 }, (_, i) => i), 0x46dd794e],
    ['32 decrementing bytes', Uint8Array.from({ length: 32 }, (_, i) => 31 - i), 0x113fdb5c],
    ['empty', new Uint8Array(0), 0],
  ])('%s', (_, bytes, expected) => {
    expect(crc32c(bytes)).toBe(expected);
  });

  it('continues a running checksum and honours start/end', () => {
    const bytes = ascii('the quick brown fox jumps over the lazy dog, twice over');
    for (const split of [0, 1, 7, 8, 9, 30, bytes.length]) {
      expect(crc32c(bytes, split, bytes.length, crc32c(bytes, 0, split))).toBe(crc32c(bytes));
    }
    expect(crc32c(bytes, 4, 13)).toBe(crc32c(bytes.slice(4, 13)));
  });
});
