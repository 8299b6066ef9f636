// The lean HeartbeatStream path against the Connect router: binary Connect and gRPC streams over HTTP/2 take the
// lean path, every other form goes through the router, and a broker sees the same acks, the same errors (code and
// ControllerError detail), the same suspicions and the same call metrics either way. Also the wire-level refusals
// only a hand-made client can provoke (a compressed message without an encoding, a cut-off message).
import * as http2 from 'node:http2';
import { create, toBinary } from '@bufbuild/protobuf';
import { type Client, Code, ConnectError, createClient, type Interceptor } from '@connectrpc/connect';
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from '@connectrpc/connect-node';
import { readControllerError } from '@regent/proto';
import {
  BrokerService,
  type HeartbeatStreamRequest,
  HeartbeatStreamRequestSchema,
  type HeartbeatStreamResponse,
} from '@regent/proto/broker';
import { ControllerCondition } from '@regent/proto/common';
import { waitFor } from '@regent/testing';
import { type Harness, startHarness, tokens } from './testing/harness.js';
import { clusterA, heartbeatOf } from './testing/rpc-samples.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function harness(options: Parameters<typeof startHarness>[0] = {}): Promise<Harness> {
  h = await startHarness(options);
  return h;
}

type Kind = 'connect' | 'grpc' | 'connect-json' | 'grpc-web' | 'connect-deadline';
const lean: readonly Kind[] = ['connect', 'grpc'];
const routed: readonly Kind[] = ['connect-json', 'grpc-web', 'connect-deadline'];

function client(t: Harness, kind: Kind, token: string = tokens.brokerA): Client<typeof BrokerService> {
  const auth: Interceptor = (next) => (req) => {
    req.header.set('authorization', `Bearer ${token}`);
    return next(req);
  };
  const baseUrl = t.url;
  const interceptors = [auth];
  switch (kind) {
    case 'grpc':
      return createClient(BrokerService, createGrpcTransport({ baseUrl, interceptors }));
    case 'grpc-web':
      return createClient(BrokerService, createGrpcWebTransport({ baseUrl, httpVersion: '2', interceptors }));
    case 'connect-json':
      return createClient(
        BrokerService,
        createConnectTransport({ baseUrl, httpVersion: '2', useBinaryFormat: false, interceptors }),
      );
    default:
      return createClient(BrokerService, createConnectTransport({ baseUrl, httpVersion: '2', interceptors }));
  }
}

/** A heartbeat stream the test drives message by message. */
function openStream(c: Client<typeof BrokerService>, kind: Kind, headers: Record<string, string> = {}) {
  const pending: HeartbeatStreamRequest[] = [];
  let wake: (() => void) | undefined;
  let ended = false;
  const input = async function* (): AsyncGenerator<HeartbeatStreamRequest> {
    for (;;) {
      const next = pending.shift();
      if (next !== undefined) yield next;
      else if (ended) return;
      else await new Promise<void>((resolve) => (wake = resolve));
    }
  };
  const responseHeaders: Headers[] = [];
  const responses = c
    .heartbeatStream(input(), {
      headers,
      onHeader: (header) => responseHeaders.push(header),
      ...(kind === 'connect-deadline' ? { timeoutMs: 60_000 } : {}),
    })
    [Symbol.asyncIterator]();
  return {
    responseHeaders,
    send(heartbeat: object): Promise<IteratorResult<HeartbeatStreamResponse>> {
      pending.push(create(HeartbeatStreamRequestSchema, { heartbeat }));
      wake?.();
      return responses.next();
    },
    end(): Promise<IteratorResult<HeartbeatStreamResponse>> {
      ended = true;
      wake?.();
      return responses.next();
    },
  };
}

function failure(promise: Promise<unknown>): Promise<ConnectError | undefined> {
  return promise.then(
    () => undefined,
    (e: unknown) => ConnectError.from(e),
  );
}

describe.each([...lean, ...routed])('HeartbeatStream over %s', (kind) => {
  const viaLean = lean.includes(kind) ? 1 : 0;

  test(`acks, suspects on end and counts the call (${viaLean ? 'lean path' : 'router'})`, async () => {
    const t = await harness();
    const stream = openStream(client(t, kind), kind, { 'regent-request-id': 'hb-req-1' });
    for (let n = 1n; n <= 2n; n++) {
      const ack = await stream.send({ ...heartbeatOf(clusterA), maxOffset: 100n * n });
      expect(ack.value).toMatchObject({ acceptedCount: n, effectiveTimeoutMs: 10_000n });
    }
    expect(await t.metric('regent_gateway_active_streams')).toBe(1);
    expect((await stream.end()).done).toBe(true);
    expect(stream.responseHeaders[0]?.get('regent-request-id')).toBe('hb-req-1');
    for (const node of t.cluster.nodes) {
      await waitFor(
        () => node.heartbeatsReceived() === 2 && node.reports.some((r) => r.request.suspicions.length > 0),
        {
          what: `the heartbeats and the suspicion at node ${node.nodeId}`,
        },
      );
    }
    await waitFor(async () => (await t.metric('regent_gateway_active_streams')) === 0);
    expect(
      await t.metric('regent_gateway_requests_total', { rpc: 'BrokerService/HeartbeatStream', code: 'ok' }),
    ).toBe(1);
    expect(t.gateway.heartbeatStreams.served()).toBe(viaLean);
    expect(t.gateway.heartbeatStreams.open()).toBe(0);
  });

  test('a message naming another broker: INVALID_ARGUMENT with the ControllerError detail', async () => {
    const t = await harness();
    const stream = openStream(client(t, kind), kind);
    await stream.send(heartbeatOf(clusterA, 1n));
    const error = await failure(stream.send(heartbeatOf(clusterA, 2n)));
    expect(error?.code).toBe(Code.InvalidArgument);
    expect(readControllerError(error)).toMatchObject({
      condition: ControllerCondition.INVALID_ARGUMENT,
      field: 'heartbeat',
    });
    await waitFor(
      async () =>
        (await t.metric('regent_gateway_requests_total', {
          rpc: 'BrokerService/HeartbeatStream',
          code: 'invalid_argument',
        })) === 1,
    );
  });

  test('an invalid heartbeat, a token of another cluster and an unknown token are refused', async () => {
    const t = await harness();
    const invalid = await failure(
      openStream(client(t, kind), kind).send({ ...heartbeatOf(clusterA), brokerAddress: 'no-port' }),
    );
    expect(invalid?.code).toBe(Code.InvalidArgument);
    expect(readControllerError(invalid)).toMatchObject({ field: 'heartbeat.broker_address' });
    const denied = await failure(openStream(client(t, kind), kind).send(heartbeatOf('cluster-b')));
    expect(denied?.code).toBe(Code.PermissionDenied);
    const unknown = await failure(
      openStream(client(t, kind, tokens.unknown), kind).send(heartbeatOf(clusterA)),
    );
    expect(unknown?.code).toBe(Code.Unauthenticated);
    expect(t.cluster.nodes.every((n) => n.heartbeatsReceived() === 0)).toBe(true);
    await waitFor(async () => (await t.metric('regent_gateway_active_streams')) === 0);
  });

  test('a message over --read-max-bytes: RESOURCE_EXHAUSTED', async () => {
    const t = await harness({ config: { readMaxBytes: 4096 } });
    const error = await failure(
      openStream(client(t, kind), kind).send({ ...heartbeatOf(clusterA), zone: 'z'.repeat(5000) }),
    );
    expect(error?.code).toBe(Code.ResourceExhausted);
  });

  test('draining the gateway: UNAVAILABLE and no suspicion', async () => {
    const t = await harness();
    const stream = openStream(client(t, kind), kind);
    await stream.send(heartbeatOf(clusterA));
    await waitFor(() => t.cluster.nodes.every((n) => n.heartbeatsReceived() === 1));
    t.gateway.drain();
    const error = await failure(stream.end());
    expect(error?.code).toBe(Code.Unavailable);
    await t.gateway.close();
    expect(t.cluster.nodes.flatMap((n) => n.reports.flatMap((r) => r.request.suspicions))).toEqual([]);
  });
});

/** A gRPC HeartbeatStream call written by hand: the frames are the test's. */
async function rawGrpcCall(t: Harness, frames: readonly Buffer[]): Promise<string | undefined> {
  const session = http2.connect(t.url);
  try {
    const stream = session.request({
      ':method': 'POST',
      ':path': '/regent.broker.v1.BrokerService/HeartbeatStream',
      'content-type': 'application/grpc',
      te: 'trailers',
      authorization: `Bearer ${tokens.brokerA}`,
    });
    stream.resume(); // the acks
    const status = new Promise<string | undefined>((resolve) => {
      stream.on('trailers', (trailers) => resolve(trailers['grpc-status'] as string | undefined));
      stream.on('close', () => resolve(undefined));
    });
    for (const frame of frames) stream.write(frame);
    stream.end();
    return await status;
  } finally {
    session.close();
  }
}

function frame(flags: number, message: Uint8Array): Buffer {
  const out = Buffer.alloc(5 + message.byteLength);
  out[0] = flags;
  out.writeUInt32BE(message.byteLength, 1);
  out.set(message, 5);
  return out;
}

describe('the lean path on the wire', () => {
  const message = toBinary(
    HeartbeatStreamRequestSchema,
    create(HeartbeatStreamRequestSchema, { heartbeat: heartbeatOf(clusterA) }),
  );

  test('a message split across writes and two in one write are each acked', async () => {
    const t = await harness();
    const one = frame(0, message);
    const status = await rawGrpcCall(t, [
      one.subarray(0, 3),
      one.subarray(3, 9),
      one.subarray(9),
      Buffer.concat([one, one]),
    ]);
    expect(status).toBe('0');
    expect(t.gateway.heartbeatStreams.served()).toBe(1);
    await waitFor(() => t.cluster.nodes.every((n) => n.heartbeatsReceived() === 3));
  });

  test('a compressed message without an encoding: INTERNAL, as the router answers', async () => {
    const t = await harness();
    const status = await rawGrpcCall(t, [frame(1, message)]);
    expect(status).toBe(String(Code.Internal));
    expect(t.cluster.nodes.every((n) => n.heartbeatsReceived() === 0)).toBe(true);
  });

  test('a request that ends inside a message: INVALID_ARGUMENT after the complete ones', async () => {
    const t = await harness();
    const status = await rawGrpcCall(t, [frame(0, message), frame(0, message).subarray(0, 8)]);
    expect(status).toBe(String(Code.InvalidArgument));
    await waitFor(() => t.cluster.nodes.every((n) => n.heartbeatsReceived() === 1));
  });

  test('bytes that are no HeartbeatStreamRequest: INTERNAL (parse binary), as the router answers', async () => {
    const t = await harness();
    const status = await rawGrpcCall(t, [frame(0, Uint8Array.of(0x0a, 0x05, 0x01))]);
    expect(status).toBe(String(Code.Internal));
  });
});
