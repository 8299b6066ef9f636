import * as http2 from 'node:http2';
import { create, toBinary } from '@bufbuild/protobuf';
import { Code, ConnectError, createClient } from '@connectrpc/connect';
import { createConnectTransport, createGrpcTransport } from '@connectrpc/connect-node';
import { connectErrorOf, readControllerError } from '@regent/proto';
import { ControllerCondition, NodeRefSchema } from '@regent/proto/common';
import { KvService, type PutRequest, PutRequestSchema } from '@regent/proto/consensus';
import { afterEach, describe, expect, it } from 'vitest';
import { leanUnaryHandler } from './lean-unary.js';
import { createLogger, createMetricsRegistry } from './observability.js';
import { type RunningServer, startServer } from './server.js';

let server: RunningServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** A Put that echoes the value's length as the index, and fails on chosen keys. */
async function put(request: PutRequest, timeoutMs: number | undefined) {
  if (request.key === 'not-leader') {
    throw connectErrorOf(ControllerCondition.NOT_LEADER, 'ask node 2', {
      leader: create(NodeRefSchema, { nodeId: 2n, address: '127.0.0.1:9' }),
    });
  }
  if (request.key === 'crash') throw new Error('boom');
  if (request.key === 'deadline') return { index: BigInt(timeoutMs ?? 0) };
  return { index: BigInt(request.value.byteLength) };
}

async function start(readMaxBytes = 1024) {
  const lean = leanUnaryHandler({
    method: KvService.method.put,
    readMaxBytes,
    handle: async (req, ctx) => create(KvService.method.put.output, await put(req, ctx.timeoutMs)),
  });
  server = await startServer({
    host: '127.0.0.1',
    port: 0,
    logger: createLogger('test', 'silent'),
    metrics: createMetricsRegistry('test'),
    handlers: [lean],
    routes: (router) =>
      router.service(KvService, {
        put: (req, ctx) => put(req, ctx.timeoutMs()),
        get: () => ({ found: false, value: new Uint8Array(), index: 0n }),
      }),
  });
  return { lean, url: server.url };
}

describe('leanUnaryHandler', () => {
  it('answers Connect binary unary calls itself and leaves JSON and gRPC to the router', async () => {
    const { lean, url } = await start();
    const binary = createClient(
      KvService,
      createConnectTransport({ baseUrl: url, httpVersion: '2', useBinaryFormat: true }),
    );
    const json = createClient(
      KvService,
      createConnectTransport({ baseUrl: url, httpVersion: '1.1', useBinaryFormat: false }),
    );
    const grpc = createClient(KvService, createGrpcTransport({ baseUrl: url }));
    const request = { key: 'k', value: new Uint8Array(7) };
    expect((await binary.put(request)).index).toBe(7n);
    expect(lean.served()).toBe(1);
    expect((await json.put(request)).index).toBe(7n);
    expect((await grpc.put(request)).index).toBe(7n);
    expect(lean.served()).toBe(1);
    const http1Binary = createClient(
      KvService,
      createConnectTransport({ baseUrl: url, httpVersion: '1.1', useBinaryFormat: true }),
    );
    expect((await http1Binary.put(request)).index).toBe(7n);
    expect(lean.served()).toBe(2);
  });

  it('sends errors as the router does: code, message and the ControllerError detail', async () => {
    const { lean, url } = await start();
    const client = createClient(
      KvService,
      createConnectTransport({ baseUrl: url, httpVersion: '2', useBinaryFormat: true }),
    );
    const error = await client.put({ key: 'not-leader' }).catch((e: unknown) => ConnectError.from(e));
    expect(lean.served()).toBe(1);
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).code).toBe(Code.Unavailable);
    expect(readControllerError(error)).toMatchObject({
      condition: ControllerCondition.NOT_LEADER,
      leader: { nodeId: 2n, address: '127.0.0.1:9' },
    });
    const crash = await client.put({ key: 'crash' }).catch((e: unknown) => ConnectError.from(e));
    const json = createClient(
      KvService,
      createConnectTransport({ baseUrl: url, httpVersion: '1.1', useBinaryFormat: false }),
    );
    const routed = await json.put({ key: 'crash' }).catch((e: unknown) => ConnectError.from(e));
    expect(lean.served()).toBe(2);
    expect((crash as ConnectError).code).toBe(Code.Internal);
    expect((crash as ConnectError).code).toBe((routed as ConnectError).code);
    expect((crash as ConnectError).rawMessage).toBe((routed as ConnectError).rawMessage);
  });

  it("passes the caller's deadline to the handler", async () => {
    const { url } = await start();
    const client = createClient(
      KvService,
      createConnectTransport({ baseUrl: url, httpVersion: '2', useBinaryFormat: true }),
    );
    expect((await client.put({ key: 'deadline' }, { timeoutMs: 1234 })).index).toBe(1234n);
    expect((await client.put({ key: 'deadline' })).index).toBe(0n);
  });

  it('refuses a body over readMaxBytes (ResourceExhausted) and an undecodable one (InvalidArgument)', async () => {
    const { lean, url } = await start(64);
    const client = createClient(
      KvService,
      createConnectTransport({ baseUrl: url, httpVersion: '2', useBinaryFormat: true }),
    );
    const big = await client
      .put({ key: 'k', value: new Uint8Array(100) })
      .catch((e: unknown) => ConnectError.from(e));
    expect((big as ConnectError).code).toBe(Code.ResourceExhausted);
    const raw = await rawPost(url, Buffer.from([0xff, 0xff, 0xff]));
    expect(raw.status).toBe(400);
    expect(JSON.parse(raw.body)).toMatchObject({ code: 'invalid_argument' });
    expect(lean.served()).toBe(2);
    const ok = await rawPost(url, toBinary(PutRequestSchema, create(PutRequestSchema, { key: 'k' })));
    expect(ok.status).toBe(200);
  });
});

function rawPost(url: string, body: Uint8Array): Promise<{ status: number; body: string }> {
  const session = http2.connect(url);
  return new Promise((resolve, reject) => {
    const req = session.request({
      ':method': 'POST',
      ':path': '/regent.consensus.v1.KvService/Put',
      'content-type': 'application/proto',
    });
    let status = 0;
    let data = '';
    req.on('response', (headers) => {
      status = Number(headers[':status']);
    });
    req.on('data', (chunk: Buffer) => {
      data += chunk.toString();
    });
    req.on('end', () => {
      session.close();
      resolve({ status, body: data });
    });
    req.on('error', reject);
    req.end(body);
  });
}
