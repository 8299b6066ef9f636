// The position in a small JSON file, replaced atomically: write a temporary file, fsync it, rename it over the
// old one, fsync the directory. A crash leaves the old or the new position, never a torn one.
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type Cursor, decodeCursor, encodeCursor } from '../cursor.js';
import type { StateStore } from '../ports.js';

export const STATE_FILE_NAME = 'notification-push.state.json';

export interface StateFile extends StateStore {
  readonly path: string;
}

export function createStateFile(dataDir: string): StateFile {
  const path = join(dataDir, STATE_FILE_NAME);
  const tempPath = `${path}.${process.pid}.tmp`;
  return {
    path,
    load: async () => {
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw error;
      }
      return decodeCursor(text);
    },
    save: async (cursor: Cursor) => {
      await mkdir(dataDir, { recursive: true });
      const file = await open(tempPath, 'w', 0o644);
      try {
        await file.writeFile(encodeCursor(cursor), 'utf8');
        await file.sync();
      } finally {
        await file.close();
      }
      try {
        await rename(tempPath, path);
      } catch (error) {
        await rm(tempPath, { force: true });
        throw error;
      }
      await syncDirectory(dataDir);
    },
  };
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
