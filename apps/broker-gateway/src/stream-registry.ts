// Which heartbeat stream on this gateway is each broker's newest. Only the close of a broker's newest stream is a
// suspicion: an older stream that closes after a newer one opened says nothing about the broker (RocketMQ issue
// #11045, where a stale channel's close event evicted a broker that had already reconnected). Streams are ordered by
// the gateway sequence at which they opened. Entries exist only for open streams, so the map is bounded by them.

export interface BrokerKey {
  readonly clusterName: string;
  readonly brokerName: string;
  readonly brokerId: bigint;
}

export interface StreamRef {
  readonly streamId: string;
  readonly openedSequence: bigint;
}

/** Names length-prefixed, so no two brokers share a key; built for every heartbeat, hence plain concatenation. */
export function brokerKeyString(key: BrokerKey): string {
  return `${key.clusterName.length}:${key.clusterName}${key.brokerName.length}:${key.brokerName}${key.brokerId}`;
}

export class StreamRegistry {
  private readonly newest = new Map<string, StreamRef>();

  /** Records that `stream` carried a heartbeat of `broker`; it becomes the newest unless a later-opened one is. */
  observe(broker: BrokerKey, stream: StreamRef): void {
    const key = brokerKeyString(broker);
    const current = this.newest.get(key);
    if (current === undefined || current.openedSequence < stream.openedSequence) this.newest.set(key, stream);
  }

  /** Records that `stream` ended; true when it was the broker's newest stream (the close is a suspicion). */
  close(broker: BrokerKey, stream: StreamRef): boolean {
    const key = brokerKeyString(broker);
    if (this.newest.get(key)?.streamId !== stream.streamId) return false;
    this.newest.delete(key);
    return true;
  }

  get size(): number {
    return this.newest.size;
  }
}
