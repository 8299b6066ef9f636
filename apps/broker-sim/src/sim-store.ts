// A simulated commit log: just its max offset, confirm offset and epoch cache, checkpointed to
// `<dir>/sim-store.json` every flush period. A crash (kill, or kill -9 of a --single process) loses what was written
// since the last checkpoint, as an unflushed page cache would.
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EpochCache, type StoreView } from '@regent/broker-agent';

const STORE_FILE = 'sim-store.json';

export class SimStore implements StoreView {
  maxOffsetValue = 0n;
  confirmOffsetValue = 0n;
  epochs: EpochCache = EpochCache.empty;

  maxOffset(): bigint {
    return this.maxOffsetValue;
  }

  confirmOffset(): bigint {
    return this.confirmOffsetValue;
  }

  lastEpoch(): number {
    return this.epochs.lastEpoch;
  }

  /**
   * A new master term (RocketMQ `changeToMaster`): drop epochs ≥ the new one and start it at the max offset. Re-entering
   * the epoch already held (a restarted master) keeps it. An empty previous term cannot get its own entry (the start
   * offset must grow), so the older entry keeps covering it, as in RocketMQ.
   */
  beginMasterEpoch(epoch: number): void {
    if (this.epochs.lastEpoch === epoch) return;
    const kept = this.epochs.truncateFromEpoch(epoch);
    const result = kept.append(epoch, this.maxOffsetValue);
    this.epochs = result.ok ? result.cache : kept;
  }

  /** Cuts the log at `offset` (slave handshake); epochs starting at or after the cut hold no data and go too. */
  truncate(offset: bigint): void {
    if (offset < this.maxOffsetValue) this.maxOffsetValue = offset;
    if (this.confirmOffsetValue > this.maxOffsetValue) this.confirmOffsetValue = this.maxOffsetValue;
    this.epochs = this.epochs.truncateFromOffset(this.maxOffsetValue);
  }

  static async load(dir: string): Promise<SimStore> {
    const store = new SimStore();
    let text: string;
    try {
      text = await readFile(join(dir, STORE_FILE), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return store;
      throw error;
    }
    const saved = JSON.parse(text) as { maxOffset: string; epochs: string };
    store.maxOffsetValue = BigInt(saved.maxOffset);
    store.epochs = EpochCache.parse(saved.epochs);
    return store;
  }

  async flush(dir: string): Promise<void> {
    const text = JSON.stringify({ maxOffset: this.maxOffsetValue.toString(), epochs: this.epochs.format() });
    const staging = join(dir, `${STORE_FILE}.partial`);
    await writeFile(staging, text);
    await rename(staging, join(dir, STORE_FILE));
  }
}
