import { decodeConfChange, encodeConfChange, maxConfChangeContextBytes } from './conf-change-codec.js';
import { InvalidConfChangeError } from './errors.js';
import { type ConfChange, ConfChangeType } from './types.js';

describe('ConfChange entry data: protobuf regent.raft.v1.ConfChange', () => {
  test('encodes the proto wire format (field 1 type, 2 node_id, 3 context)', () => {
    const bytes = encodeConfChange({ type: ConfChangeType.AddVoter, nodeId: 300, context: 'a:1' });
    // 08 01 | 10 ac 02 | 1a 03 'a' ':' '1'
    expect([...bytes]).toEqual([0x08, 0x01, 0x10, 0xac, 0x02, 0x1a, 0x03, 0x61, 0x3a, 0x31]);
  });

  test.each<ConfChange>([
    { type: ConfChangeType.AddVoter, nodeId: 1, context: '127.0.0.1:7001|127.0.0.1:8001' },
    { type: ConfChangeType.RemoveNode, nodeId: 2 ** 40, context: '' },
    { type: ConfChangeType.AddLearner, nodeId: Number.MAX_SAFE_INTEGER, context: 'ü' },
    { type: ConfChangeType.PromoteLearner, nodeId: 9, context: '' },
  ])('round-trips %o', (change) => {
    expect(decodeConfChange(encodeConfChange(change))).toEqual(change);
  });

  test('skips unknown fields', () => {
    // field 7 varint 5, then type and node id.
    expect(decodeConfChange(Uint8Array.from([0x38, 0x05, 0x08, 0x02, 0x10, 0x03]))).toEqual({
      type: ConfChangeType.RemoveNode,
      nodeId: 3,
      context: '',
    });
  });

  test.each([
    { name: 'unknown type', bytes: [0x08, 0x09] },
    { name: 'missing type', bytes: [0x10, 0x01] },
    { name: 'truncated varint', bytes: [0x08, 0x81] },
    { name: 'string past the end', bytes: [0x08, 0x01, 0x1a, 0x05, 0x61] },
    { name: 'invalid UTF-8', bytes: [0x08, 0x01, 0x1a, 0x01, 0xff] },
    { name: 'group wire type', bytes: [0x0b] },
  ])('rejects $name', ({ bytes }) => {
    expect(() => decodeConfChange(Uint8Array.from(bytes))).toThrow(InvalidConfChangeError);
  });

  test('bounds the context', () => {
    const context = 'x'.repeat(maxConfChangeContextBytes + 1);
    expect(() => encodeConfChange({ type: ConfChangeType.AddVoter, nodeId: 1, context })).toThrow(
      InvalidConfChangeError,
    );
  });
});
