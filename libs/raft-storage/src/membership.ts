// Binary form of a membership (conf state + addresses), shared by the WAL's bootstrap header and snapshot files.

import type { ConfState, NodeId } from '@regent/raft';
import { type ByteReader, type ByteWriter, DecodeError, readCount } from './binary.js';

export interface Membership {
  readonly confState: ConfState;
  readonly addresses: ReadonlyMap<NodeId, string>;
}

export const EMPTY_MEMBERSHIP: Membership = Object.freeze({
  confState: Object.freeze({ voters: Object.freeze([]), learners: Object.freeze([]) }),
  addresses: new Map<NodeId, string>(),
});

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/**
 * Layout: u32 voterCount, u64 × voterCount, u32 learnerCount, u64 × learnerCount,
 * u32 addressCount, (u64 nodeId, u32 byteLength, UTF-8 bytes) × addressCount.
 */
export function membershipBytes(membership: Membership): number {
  let bytes = 12 + 8 * (membership.confState.voters.length + membership.confState.learners.length);
  for (const address of membership.addresses.values()) bytes += 12 + utf8.encode(address).byteLength;
  return bytes;
}

export function writeMembership(writer: ByteWriter, membership: Membership): void {
  writer.u32(membership.confState.voters.length);
  for (const id of membership.confState.voters) writer.u64(id);
  writer.u32(membership.confState.learners.length);
  for (const id of membership.confState.learners) writer.u64(id);
  writer.u32(membership.addresses.size);
  for (const [id, address] of membership.addresses) {
    const encoded = utf8.encode(address);
    writer.u64(id);
    writer.u32(encoded.byteLength);
    writer.raw(encoded);
  }
}

export function readMembership(reader: ByteReader): Membership {
  const voters = readIds(reader);
  const learners = readIds(reader);
  const addressCount = readCount(reader, 12);
  const addresses = new Map<NodeId, string>();
  for (let i = 0; i < addressCount; i++) {
    const id = reader.u64();
    // A Map would keep the last of two entries silently.
    if (addresses.has(id)) throw new DecodeError(`two addresses for node ${id}`);
    const encoded = reader.copy(reader.u32());
    let address: string;
    try {
      address = utf8Strict.decode(encoded);
    } catch (cause) {
      throw new DecodeError(`address of node ${id} is not UTF-8`, { cause });
    }
    addresses.set(id, address);
  }
  return { confState: { voters, learners }, addresses };
}

function readIds(reader: ByteReader): NodeId[] {
  const count = readCount(reader, 8);
  const ids: NodeId[] = [];
  for (let i = 0; i < count; i++) ids.push(reader.u64());
  return ids;
}
