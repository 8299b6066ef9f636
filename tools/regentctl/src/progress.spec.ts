import { describe, expect, it } from 'vitest';
import { createProgress } from './progress.js';

describe('createProgress', () => {
  it('writes nothing when stderr is not a terminal', async () => {
    let written = '';
    const progress = createProgress({ isTTY: false, write: (s: string) => (written += s) });
    await expect(progress('electing', Promise.resolve(42))).resolves.toBe(42);
    expect(written).toBe('');
  });

  it('draws a frame at once on a terminal and clears the line when the work settles', async () => {
    let written = '';
    const progress = createProgress({ isTTY: true, write: (s: string) => (written += s) });
    let finish: (v: string) => void = () => {};
    const pending = progress('transferring', new Promise<string>((resolve) => (finish = resolve)));
    expect(written).toBe('\r| transferring');
    finish('done');
    await expect(pending).resolves.toBe('done');
    expect(written.endsWith('\r\x1b[K')).toBe(true);
  });

  it('clears the line when the work fails', async () => {
    let written = '';
    const progress = createProgress({ isTTY: true, write: (s: string) => (written += s) });
    await expect(progress('snapshot', Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(written.endsWith('\r\x1b[K')).toBe(true);
  });
});
