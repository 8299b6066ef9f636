// The kv machine's Put command (`regent.consensus.v1.PutRequest`) in the log, without protobuf-es reflection:
// the bytes toBinary writes, and what fromBinary reads. protobuf-es stays the fallback for every input the fast
// path does not take (kv-codec.spec.ts compares the two).
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { PutRequestSchema } from '@regent/proto/consensus';
import {
  bytesFieldSize,
  FAST_PATH_MISS,
  uintFieldSize,
  utf8Encode,
  WireReader,
  WireWriter,
} from '@regent/raft-runtime';

export interface PutCommand {
  readonly key: string;
  readonly value: Uint8Array;
  readonly clientId: string;
  /** A uint64: the whole range is kept (a bigint). */
  readonly sequence: bigint;
}

/** `toBinary(PutRequestSchema, …)` of the same fields. */
export function encodePutCommand(put: PutCommand): Uint8Array {
  if (put.sequence < 0n || put.sequence > BigInt(Number.MAX_SAFE_INTEGER)) {
    // Rare (a client's sequence beyond 2^53) or invalid: protobuf-es writes it or refuses it.
    return toBinary(PutRequestSchema, create(PutRequestSchema, put));
  }
  const key = utf8Encode(put.key);
  const clientId = utf8Encode(put.clientId);
  const sequence = Number(put.sequence);
  // Its own exact buffer, not a pooled one: the entry lives in the log, and its value in the kv state, for long.
  const w = new WireWriter(
    new Uint8Array(
      bytesFieldSize(1, key.byteLength) +
        bytesFieldSize(2, put.value.byteLength) +
        bytesFieldSize(3, clientId.byteLength) +
        uintFieldSize(4, sequence),
    ),
  );
  w.bytesField(1, key);
  w.bytesField(2, put.value);
  w.bytesField(3, clientId);
  w.uintField(4, sequence);
  return w.finish();
}

/**
 * `fromBinary(PutRequestSchema, data)`: throws as it does on malformed data. `value` is a view into `data`, as
 * protobuf-es gives it; whoever keeps it decides whether to copy it (kv-machine.ts).
 */
export function decodePutCommand(data: Uint8Array): PutCommand {
  try {
    return decodeFast(data);
  } catch (error) {
    if (error !== FAST_PATH_MISS) throw error;
  }
  const put = fromBinary(PutRequestSchema, data);
  return { key: put.key, value: put.value, clientId: put.clientId, sequence: put.sequence };
}

const TAG_KEY = (1 << 3) | 2;
const TAG_VALUE = (2 << 3) | 2;
const TAG_CLIENT_ID = (3 << 3) | 2;
const TAG_SEQUENCE = 4 << 3;

/** Fields in any order, each at most once (a repeated one, or an unknown one, misses). */
function decodeFast(data: Uint8Array): PutCommand {
  const r = new WireReader(data);
  const end = data.byteLength;
  let key = '';
  let value: Uint8Array | undefined;
  let clientId = '';
  let sequence = 0n;
  let seen = 0;
  while (r.pos < end) {
    const tag = r.uint53(end);
    const bit = tag < 64 ? 1 << (tag >>> 3) : 0;
    if (bit === 0 || (seen & bit) !== 0) throw FAST_PATH_MISS;
    seen |= bit;
    if (tag === TAG_KEY) key = r.string(end);
    else if (tag === TAG_VALUE) value = r.bytesView(end);
    else if (tag === TAG_CLIENT_ID) clientId = r.string(end);
    else if (tag === TAG_SEQUENCE) sequence = r.uint64(end);
    else throw FAST_PATH_MISS;
  }
  return { key, value: value ?? new Uint8Array(0), clientId, sequence };
}
