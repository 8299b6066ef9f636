// The data of a ConfChange entry: the protobuf encoding of `regent.raft.v1.ConfChange` (fields 1 type, 2 node_id,
// 3 context), written by hand so the core needs no codec library. Readers may decode it with the generated schema.

import { InvalidConfChangeError } from './errors.js';
import { type ConfChange, ConfChangeType } from './types.js';

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });
/** A context is a short address string; bounded so one change stays small. */
export const maxConfChangeContextBytes = 4096;

export function encodeConfChange(cc: ConfChange): Uint8Array {
  const context = utf8Encoder.encode(cc.context);
  if (context.length > maxConfChangeContextBytes) {
    throw new InvalidConfChangeError(`context is ${context.length} bytes (max ${maxConfChangeContextBytes})`);
  }
  const out: number[] = [];
  pushTag(out, 1, cc.type);
  if (cc.nodeId !== 0) pushTag(out, 2, cc.nodeId);
  if (context.length > 0) {
    out.push((3 << 3) | 2);
    pushVarint(out, context.length);
    for (const b of context) out.push(b);
  }
  return Uint8Array.from(out);
}

/** Decodes a ConfChange entry's data; throws InvalidConfChangeError on malformed bytes. */
export function decodeConfChange(data: Uint8Array): ConfChange {
  const reader = { data, pos: 0 };
  let type = 0;
  let nodeId = 0;
  let context = '';
  while (reader.pos < data.length) {
    const key = readVarint(reader);
    const field = Math.floor(key / 8);
    const wireType = key % 8;
    if (field === 1 && wireType === 0) type = readVarint(reader);
    else if (field === 2 && wireType === 0) nodeId = readVarint(reader);
    else if (field === 3 && wireType === 2) context = readString(reader);
    else skipField(reader, wireType);
  }
  if (!isConfChangeType(type)) throw new InvalidConfChangeError(`unknown change type ${type}`);
  return { type, nodeId, context };
}

function isConfChangeType(type: number): type is ConfChangeType {
  return (
    type === ConfChangeType.AddVoter ||
    type === ConfChangeType.RemoveNode ||
    type === ConfChangeType.AddLearner ||
    type === ConfChangeType.PromoteLearner
  );
}

function pushTag(out: number[], field: number, value: number): void {
  out.push(field << 3);
  pushVarint(out, value);
}

function pushVarint(out: number[], value: number): void {
  if (!Number.isSafeInteger(value) || value < 0)
    throw new InvalidConfChangeError(`varint ${value} out of range`);
  let v = value;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
}

interface Reader {
  readonly data: Uint8Array;
  pos: number;
}

/** Reads an unsigned varint of at most 8 bytes (values below 2^53 as the core's ids require). */
function readVarint(r: Reader): number {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 8; i++) {
    if (r.pos >= r.data.length) throw new InvalidConfChangeError('truncated varint');
    const b = r.data[r.pos++]!;
    value += (b & 0x7f) * scale;
    if (b < 0x80) {
      if (!Number.isSafeInteger(value)) throw new InvalidConfChangeError('varint exceeds 2^53');
      return value;
    }
    scale *= 0x80;
  }
  throw new InvalidConfChangeError('varint longer than 8 bytes');
}

function readString(r: Reader): string {
  const length = readVarint(r);
  if (length > maxConfChangeContextBytes || r.pos + length > r.data.length) {
    throw new InvalidConfChangeError(`bad string length ${length}`);
  }
  const bytes = r.data.subarray(r.pos, r.pos + length);
  r.pos += length;
  try {
    return utf8Decoder.decode(bytes);
  } catch (cause) {
    throw new InvalidConfChangeError(`context is not UTF-8: ${String(cause)}`);
  }
}

function skipField(r: Reader, wireType: number): void {
  if (wireType === 0) readVarint(r);
  else if (wireType === 2) r.pos += readVarint(r);
  else if (wireType === 1) r.pos += 8;
  else if (wireType === 5) r.pos += 4;
  else throw new InvalidConfChangeError(`unsupported wire type ${wireType}`);
  if (r.pos > r.data.length) throw new InvalidConfChangeError('truncated field');
}
