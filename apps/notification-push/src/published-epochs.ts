// The epochs last handed to the bus per broker group (keyed by brokerName, unique in the controller), so that a
// Resync publishes only the groups that moved on. Bounded: one entry per live group, removed groups dropped,
// and a hard cap beyond which the least recently updated group is forgotten (it is then republished by the
// next Resync: a harmless duplicate, since brokers gate on masterEpoch).
import { assert } from './assert.js';
import { type GroupEpochs, isNewer } from './notification.js';

export class PublishedEpochs {
  readonly #byGroup = new Map<string, GroupEpochs>();

  constructor(readonly groupsMax: number) {
    assert(
      Number.isSafeInteger(groupsMax) && groupsMax > 0,
      `groupsMax ${groupsMax} must be a positive integer`,
    );
  }

  get size(): number {
    return this.#byGroup.size;
  }

  get(brokerName: string): GroupEpochs | undefined {
    return this.#byGroup.get(brokerName);
  }

  /** True when `epochs` is newer than what was recorded for the group (or nothing was). */
  isNewer(brokerName: string, epochs: GroupEpochs): boolean {
    const known = this.#byGroup.get(brokerName);
    return known === undefined || isNewer(epochs, known);
  }

  record(brokerName: string, epochs: GroupEpochs): void {
    this.#byGroup.delete(brokerName);
    this.#byGroup.set(brokerName, epochs);
    if (this.#byGroup.size > this.groupsMax) {
      const oldest = this.#byGroup.keys().next().value as string;
      this.#byGroup.delete(oldest);
    }
    assert(
      this.#byGroup.size <= this.groupsMax,
      `published epochs ${this.#byGroup.size} > ${this.groupsMax}`,
    );
  }

  remove(brokerName: string): void {
    this.#byGroup.delete(brokerName);
  }

  /** Forgets every group not in `live` (a Resync lists every group that exists). */
  retainOnly(live: ReadonlySet<string>): void {
    for (const name of [...this.#byGroup.keys()]) if (!live.has(name)) this.#byGroup.delete(name);
  }
}
