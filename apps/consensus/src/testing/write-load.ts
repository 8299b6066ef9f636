// Write loads over a ProcessCluster through session writers: a closed loop that runs until stopped, a fixed set of
// keys, and a check that reads every acknowledged key back.
import { waitFor } from '@regent/testing';
import { SessionWriter } from './cluster-client.js';
import type { ProcessCluster } from './process-cluster.js';
import { WAIT_DEADLINE_MS } from './retry.js';

/** Writers of one write load, at most. */
const WRITERS_MAX = 256;

export interface WriteLoad {
  /** Every acknowledged write: key → value. */
  readonly acked: Map<string, Uint8Array>;
  ackedCount(): number;
  /** Resolves once `count` more writes than now were acknowledged. */
  waitForMoreAcks(count: number, timeoutMs?: number): Promise<void>;
  /** Stops the writers after their current write; rejects if a writer failed. */
  stop(): Promise<void>;
}

/** `writers` concurrent sessions, each writing its own keys one at a time (a bounded closed loop). */
export function startWriteLoad(
  cluster: ProcessCluster,
  options: { writers: number; prefix: string; valueBytes?: number },
): WriteLoad {
  if (options.writers < 1 || options.writers > WRITERS_MAX)
    throw new RangeError(`writers ${options.writers}`);
  const acked = new Map<string, Uint8Array>();
  let running = true;
  const loops = Array.from({ length: options.writers }, async (_, w) => {
    const writer = new SessionWriter(cluster.client(), `${options.prefix}-writer-${w}`);
    for (let n = 1; running; n++) {
      const key = `${options.prefix}/${w}/${n}`;
      const value = valueFor(key, options.valueBytes ?? 32);
      await writer.put(key, value);
      acked.set(key, value);
    }
  });
  const all = Promise.all(loops);
  all.catch(() => {
    running = false;
  });
  return {
    acked,
    ackedCount: () => acked.size,
    waitForMoreAcks: async (count, timeoutMs = WAIT_DEADLINE_MS) => {
      const target = acked.size + count;
      await Promise.race([
        waitFor(() => acked.size >= target, { timeoutMs, what: `${count} more acknowledged writes` }),
        all.then(() => {
          throw new Error('writers stopped');
        }),
      ]);
    },
    stop: async () => {
      running = false;
      await all;
    },
  };
}

/** A deterministic value of `bytes` bytes for `key` (so a value read back can be checked against its key). */
export function valueFor(key: string, bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  const seed = new TextEncoder().encode(key);
  for (let i = 0; i < bytes; i++) out[i] = seed[i % seed.length]! ^ (i & 0xff);
  return out;
}

/**
 * Writes keys `${prefix}/0` … `${prefix}/${count - 1}` (values from `valueFor`) through `writers` concurrent
 * sessions; resolves with key → value once all are acknowledged.
 */
export async function writeKeys(
  cluster: ProcessCluster,
  prefix: string,
  count: number,
  options: { writers?: number; valueBytes?: number } = {},
): Promise<Map<string, Uint8Array>> {
  const writers = Math.min(options.writers ?? 8, WRITERS_MAX);
  const written = new Map<string, Uint8Array>();
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      const writer = new SessionWriter(cluster.client(), `${prefix}-keys-${w}`);
      for (let i = w; i < count; i += writers) {
        const key = `${prefix}/${i}`;
        const value = valueFor(key, options.valueBytes ?? 32);
        await writer.put(key, value);
        written.set(key, value);
      }
    }),
  );
  return written;
}

/** Reads every key through `read` (a few at a time); resolves with the keys whose value is missing or differs. */
export async function missingOrWrong(
  expected: ReadonlyMap<string, Uint8Array>,
  read: (key: string) => Promise<{ found: boolean; value: Uint8Array }>,
  readers = 16,
): Promise<string[]> {
  const keys = [...expected.keys()];
  const bad: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: readers }, async () => {
      while (next < keys.length) {
        const key = keys[next++]!;
        const got = await read(key);
        if (!got.found || Buffer.compare(got.value, expected.get(key)!) !== 0) bad.push(key);
      }
    }),
  );
  return bad;
}
