// A consensus node's error relayed to the caller keeps its code, message and details but not the node's response
// headers: copied into the caller's response, the node's content-length broke every relayed error under gRPC
// (the client saw INTERNAL "Stream closed with error code NGHTTP2_PROTOCOL_ERROR"). Found by the e2e RPC fuzzer.
import { Code, ConnectError, createClient, type Interceptor } from '@connectrpc/connect';
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from '@connectrpc/connect-node';
import { AdminService, MembershipChange } from '@regent/proto/admin';
import { waitFor } from '@regent/testing';
import { relayed } from './forwarder.js';
import { type Harness, startHarness, tokens } from './testing/harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const admin: Interceptor = (next) => (req) => {
  req.header.set('authorization', `Bearer ${tokens.admin}`);
  return next(req);
};

describe('relayed consensus errors', () => {
  it('drop the node response headers and keep code, message, details and cause', () => {
    const upstream = new ConnectError('connection reset', Code.Unavailable, {
      'content-length': '73',
      'content-type': 'application/json',
    });
    const relay = relayed(upstream) as ConnectError;
    expect(relay.code).toBe(Code.Unavailable);
    expect(relay.rawMessage).toBe('connection reset');
    expect([...relay.metadata.keys()]).toEqual([]);
    expect(relay.cause).toBe(upstream);
    const other = new Error('not a ConnectError');
    expect(relayed(other)).toBe(other);
  });

  for (const protocol of ['grpc', 'grpc-web', 'connect'] as const) {
    it(`reach a ${protocol} caller with the node's code and message`, async () => {
      h = await startHarness();
      const harness = h;
      await waitFor(() => harness.gateway.ready().ready, { what: 'a known leader' });
      const options = { baseUrl: harness.url, interceptors: [admin] };
      const transport =
        protocol === 'grpc'
          ? createGrpcTransport(options)
          : protocol === 'grpc-web'
            ? createGrpcWebTransport({ ...options, httpVersion: '1.1' })
            : createConnectTransport({ ...options, httpVersion: '2' });
      // ChangeMembership is not retried after an ambiguous failure: the node's UNAVAILABLE is relayed as it is.
      harness.cluster.nodes[0]!.membershipFailures = 1;
      const error = await createClient(AdminService, transport)
        .changeMembership({ change: MembershipChange.REMOVE_NODE, nodeId: 3n })
        .then(
          () => undefined,
          (e: unknown) => ConnectError.from(e),
        );
      expect(error?.code).toBe(Code.Unavailable);
      expect(error?.rawMessage).toBe('connection reset');
    });
  }
});
