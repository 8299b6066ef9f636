import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StateFormatError } from '../cursor.js';
import { createStateFile, STATE_FILE_NAME } from './state-file.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'regent-push-state-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('state file', () => {
  it('has no position before the first save', async () => {
    expect(await createStateFile(join(dir, 'missing')).load()).toBeUndefined();
  });

  it('saves atomically (no temporary file left) and loads what was saved last', async () => {
    const store = createStateFile(join(dir, 'nested'));
    await store.save({ index: 10n, position: 2 });
    await store.save({ index: 12n });
    expect(await store.load()).toEqual({ index: 12n });
    expect(await readdir(join(dir, 'nested'))).toEqual([STATE_FILE_NAME]);
    expect(JSON.parse(await readFile(store.path, 'utf8'))).toEqual({ version: 1, index: '12' });
  });

  it('reports a damaged file as a format error', async () => {
    const store = createStateFile(dir);
    await writeFile(store.path, '{"version":1,"ind');
    await expect(store.load()).rejects.toThrow(StateFormatError);
  });
});
