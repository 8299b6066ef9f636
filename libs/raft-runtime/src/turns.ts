// Background work in slices: a state machine's snapshot encoded part by part, one part per turn of the event loop,
// so a large state never holds a node's loop (its ticks, heartbeats and replies) for longer than one part.
import { setImmediate as nextTurn } from 'node:timers/promises';

/** Takes the parts one per turn of the event loop (the iterator does its work lazily) and joins them. */
export async function encodeInTurns(parts: Iterable<Uint8Array>): Promise<Uint8Array> {
  const encoded: Uint8Array[] = [];
  for (const part of parts) {
    encoded.push(part);
    await nextTurn();
  }
  return Buffer.concat(encoded);
}
