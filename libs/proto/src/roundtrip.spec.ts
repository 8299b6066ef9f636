// Binary and JSON round trips of every top-level message of every Regent API, each populated generically with
// non-default values in every field (nested messages one level deep, the first case of each oneof).
import {
  create,
  type DescField,
  type DescMessage,
  equals,
  fromBinary,
  fromJson,
  ScalarType,
  toBinary,
  toJson,
} from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { file_regent_admin_v1_admin } from './gen/regent/admin/v1/admin_pb.js';
import { file_regent_broker_v1_broker } from './gen/regent/broker/v1/broker_pb.js';
import { file_regent_common_v1_common } from './gen/regent/common/v1/common_pb.js';
import { file_regent_consensus_v1_consensus } from './gen/regent/consensus/v1/consensus_pb.js';
import { file_regent_election_v1_election } from './gen/regent/election/v1/election_pb.js';
import { file_regent_notify_v1_notify } from './gen/regent/notify/v1/notify_pb.js';
import { file_regent_raft_v1_raft } from './gen/regent/raft/v1/raft_pb.js';
import { file_regent_state_v1_state } from './gen/regent/state/v1/state_pb.js';

const files = [
  file_regent_admin_v1_admin,
  file_regent_broker_v1_broker,
  file_regent_common_v1_common,
  file_regent_consensus_v1_consensus,
  file_regent_election_v1_election,
  file_regent_notify_v1_notify,
  file_regent_raft_v1_raft,
  file_regent_state_v1_state,
];

function scalarSample(type: ScalarType): unknown {
  switch (type) {
    case ScalarType.STRING:
      return 'broker-a';
    case ScalarType.BOOL:
      return true;
    case ScalarType.BYTES:
      return new Uint8Array([1, 2, 3]);
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return -9007199254740993n; // beyond 2^53: must survive JSON as a string
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return 18446744073709551615n;
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT:
      return 1.5;
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return 4000000000;
    default:
      return -7;
  }
}

function sampleField(field: DescField, depth: number): unknown {
  switch (field.fieldKind) {
    case 'scalar':
      return scalarSample(field.scalar);
    case 'enum':
      return field.enum.values[1]?.number ?? 0;
    case 'message':
      return depth > 1 ? create(field.message) : populate(field.message, depth + 1);
    case 'list':
      if (field.listKind === 'scalar') return [scalarSample(field.scalar), scalarSample(field.scalar)];
      if (field.listKind === 'enum') return [field.enum.values[1]?.number ?? 0];
      return depth > 1 ? [] : [populate(field.message, depth + 1)];
    case 'map': {
      const key = field.mapKey === ScalarType.STRING ? 'k' : field.mapKey === ScalarType.BOOL ? 'true' : '42';
      const value =
        field.mapKind === 'scalar'
          ? scalarSample(field.scalar)
          : field.mapKind === 'enum'
            ? (field.enum.values[1]?.number ?? 0)
            : depth > 1
              ? create(field.message)
              : populate(field.message, depth + 1);
      return { [key]: value };
    }
  }
}

function populate(desc: DescMessage, depth = 0): ReturnType<typeof create> {
  const init: Record<string, unknown> = {};
  for (const field of desc.fields) {
    if (field.oneof !== undefined) continue;
    init[field.localName] = sampleField(field, depth);
  }
  for (const oneof of desc.oneofs) {
    const first = oneof.fields[0]!;
    init[oneof.localName] = { case: first.localName, value: sampleField(first, depth) };
  }
  return create(desc, init as never);
}

const messages = files.flatMap((f) => f.messages);

describe('generated messages', () => {
  it('covers every API package', () => {
    expect(messages.length).toBeGreaterThan(80);
  });

  it.each(messages.map((m) => [m.typeName, m] as const))(
    '%s round-trips through binary and JSON',
    (_, desc) => {
      const message = populate(desc);
      const binary = toBinary(desc, message);
      expect(equals(desc, fromBinary(desc, binary), message)).toBe(true);
      const json = toJson(desc, message);
      expect(equals(desc, fromJson(desc, json), message)).toBe(true);
      expect(equals(desc, fromJson(desc, JSON.parse(JSON.stringify(json))), message)).toBe(true);
    },
  );

  it('writes 64-bit integers as decimal strings in JSON', () => {
    const desc = messages.find((m) => m.typeName === 'regent.broker.v1.GetNextBrokerIdResponse')!;
    const json = toJson(desc, create(desc, { nextBrokerId: 9007199254740993n } as never)) as Record<
      string,
      unknown
    >;
    expect(json.nextBrokerId).toBe('9007199254740993');
  });
});
