// KvService.PutStream in process: the pipeline's bounds and answers, and the lean Connect-binary path and the
// router's paths (Connect JSON, gRPC) giving callers the same answers. Real HTTP/2 on loopback; the put behind the
// stream is a stand-in whose puts settle when the test says.
import { create, toBinary } from '@bufbuild/protobuf';
import { Code, ConnectError, createClient, type Transport } from '@connectrpc/connect';
import { createConnectTransport, createGrpcTransport } from '@connectrpc/connect-node';
import { connectErrorOf } from '@regent/proto';
import { ControllerCondition, NodeRefSchema } from '@regent/proto/common';
import {
  KvService,
  type PutRequest,
  type PutStreamRequest,
  PutStreamRequestSchema,
  type PutStreamResponse,
} from '@regent/proto/consensus';
import {
  createLogger,
  createMetricsRegistry,
  EnvelopeReader,
  type RunningServer,
  startServer,
} from '@regent/service-kit';
import { waitFor } from '@regent/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { leanPutStreamHandler, PutPipeline, routerPutStream } from './kv-put-stream.js';

/** Puts that settle when `settle(key)` is called (or at once for keys starting with "now"). */
function heldPuts() {
  const held = new Map<string, { resolve: () => void; reject: (e: unknown) => void }>();
  const calls: string[] = [];
  let index = 0n;
  const put = (request: PutRequest): Promise<{ index: bigint }> => {
    calls.push(request.key);
    if (request.key === 'not-leader') {
      return Promise.reject(
        connectErrorOf(ControllerCondition.NOT_LEADER, 'ask node 2', {
          leader: create(NodeRefSchema, { nodeId: 2n, address: '127.0.0.1:9' }),
        }),
      );
    }
    if (request.key.startsWith('now')) return Promise.resolve({ index: ++index });
    return new Promise((resolve, reject) => {
      held.set(request.key, { resolve: () => resolve({ index: ++index }), reject });
    });
  };
  const settle = (key: string): void => {
    const h = held.get(key);
    if (h === undefined) throw new Error(`no held put ${key}`);
    held.delete(key);
    h.resolve();
  };
  return { put, settle, calls, held };
}

function request(id: bigint, key: string): PutStreamRequest {
  return create(PutStreamRequestSchema, { id, put: { key, value: new Uint8Array([1, 2, 3]) } });
}

function summary(r: PutStreamResponse): string {
  return r.result.case === 'put'
    ? `${r.id}:ok@${r.result.value.index}`
    : `${r.id}:${Code[r.result.value?.code ?? 0]}`;
}

describe('PutPipeline', () => {
  it('answers each put once, as it settles, and counts the puts in flight', async () => {
    const { put, settle } = heldPuts();
    const answers: PutStreamResponse[] = [];
    const pipeline = new PutPipeline(put, (a) => answers.push(a));
    pipeline.submit(request(1n, 'a'));
    pipeline.submit(request(2n, 'b'));
    pipeline.submit(request(3n, 'now'));
    expect(pipeline.inFlight).toBe(3);
    settle('b');
    await new Promise((r) => setImmediate(r));
    settle('a');
    await new Promise((r) => setImmediate(r));
    expect(answers.map(summary)).toEqual(['3:ok@1', '2:ok@2', '1:ok@3']);
    expect(pipeline.inFlight).toBe(0);
  });

  it('answers RESOURCE_EXHAUSTED beyond its bound and INVALID_ARGUMENT without a put; refuses a duplicate id', () => {
    const { put, calls } = heldPuts();
    const answers: PutStreamResponse[] = [];
    const pipeline = new PutPipeline(put, (a) => answers.push(a), 2);
    pipeline.submit(request(1n, 'a'));
    pipeline.submit(request(2n, 'b'));
    pipeline.submit(request(3n, 'c'));
    pipeline.submit(create(PutStreamRequestSchema, { id: 4n }));
    expect(() => pipeline.submit(request(1n, 'again'))).toThrow(/put id 1 is already in flight/);
    expect(answers.map(summary)).toEqual(['3:ResourceExhausted', '4:InvalidArgument']);
    expect(calls).toEqual(['a', 'b']);
    expect(pipeline.inFlight).toBe(2);
  });
});

let server: RunningServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(put: (r: PutRequest) => Promise<{ index: bigint }>) {
  const lean = leanPutStreamHandler(put, 1024);
  let leanServed = 0;
  server = await startServer({
    host: '127.0.0.1',
    port: 0,
    logger: createLogger('test', 'silent'),
    metrics: createMetricsRegistry('test'),
    handlers: [
      (req, res) => {
        const served = lean(req, res);
        if (served) leanServed++;
        return served;
      },
    ],
    routes: (router) =>
      router.service(KvService, {
        put: async () => ({ index: 0n }),
        get: () => ({ found: false, value: new Uint8Array(), index: 0n }),
        putStream: (requests) => routerPutStream(requests, put),
      }),
  });
  const url = server.url;
  return {
    leanServed: () => leanServed,
    transports: {
      'Connect binary (lean)': createConnectTransport({
        baseUrl: url,
        httpVersion: '2',
        useBinaryFormat: true,
      }),
      'Connect JSON (router)': createConnectTransport({
        baseUrl: url,
        httpVersion: '2',
        useBinaryFormat: false,
      }),
      'gRPC (router)': createGrpcTransport({ baseUrl: url }),
    } satisfies Record<string, Transport>,
  };
}

/** An input stream the test feeds and ends. */
function feed() {
  const queue: PutStreamRequest[] = [];
  let ended = false;
  let wake: (() => void) | undefined;
  async function* input(): AsyncIterable<PutStreamRequest> {
    for (;;) {
      while (queue.length > 0) yield queue.shift()!;
      if (ended) return;
      await new Promise<void>((r) => {
        wake = r;
      });
    }
  }
  return {
    input: input(),
    send: (...requests: PutStreamRequest[]) => {
      queue.push(...requests);
      wake?.();
    },
    end: () => {
      ended = true;
      wake?.();
    },
  };
}

describe('PutStream over HTTP/2', () => {
  for (const name of ['Connect binary (lean)', 'Connect JSON (router)', 'gRPC (router)'] as const) {
    it(`${name}: answers out of order with ids and errors, and ends after the caller ends and all are answered`, async () => {
      const puts = heldPuts();
      const { transports, leanServed } = await start(puts.put);
      const client = createClient(KvService, transports[name]);
      const f = feed();
      const answers: PutStreamResponse[] = [];
      const done = (async () => {
        for await (const a of client.putStream(f.input)) answers.push(a);
      })();
      f.send(request(10n, 'slow'), request(11n, 'now-1'), request(12n, 'not-leader'));
      await waitFor(() => answers.length === 2, { what: 'two answers' });
      f.send(request(13n, 'now-2'));
      f.end();
      await waitFor(() => answers.length === 3, { what: 'three answers' });
      expect(puts.held.size).toBe(1);
      puts.settle('slow');
      await done;
      expect(answers.map(summary)).toEqual(['11:ok@1', '12:Unavailable', '13:ok@2', '10:ok@3']);
      const error = answers[1]!.result;
      expect(error.case === 'error' && error.value.detail?.condition).toBe(ControllerCondition.NOT_LEADER);
      expect(error.case === 'error' && error.value.detail?.leader?.address).toBe('127.0.0.1:9');
      expect(leanServed()).toBe(name.includes('lean') ? 1 : 0);
    });
  }

  it('a duplicate id in flight ends the stream with INVALID_ARGUMENT (lean and router alike)', async () => {
    const puts = heldPuts();
    const { transports } = await start(puts.put);
    for (const name of ['Connect binary (lean)', 'gRPC (router)'] as const) {
      const client = createClient(KvService, transports[name]);
      const f = feed();
      f.send(request(1n, `held-${name}`), request(1n, 'again'));
      f.end();
      const failure = await (async () => {
        for await (const _ of client.putStream(f.input)) {
          // no answer is expected before the failure
        }
      })().then(
        () => undefined,
        (e: unknown) => ConnectError.from(e),
      );
      expect(failure?.code, name).toBe(Code.InvalidArgument);
      expect(failure?.rawMessage, name).toMatch(/put id 1 is already in flight/);
    }
  });

  it('lean: a message that is not a PutStreamRequest ends the stream with INVALID_ARGUMENT', async () => {
    const puts = heldPuts();
    const { transports } = await start(puts.put);
    // A raw call through the transport's stream method with bytes that do not parse: field 2 with a bad length.
    const bad = new Uint8Array([0x12, 0x7f]);
    const client = createClient(KvService, transports['Connect binary (lean)']);
    const f = feed();
    f.send(request(1n, 'now'));
    f.end();
    // Sanity: a good stream works on this server.
    const answers: PutStreamResponse[] = [];
    for await (const a of client.putStream(f.input)) answers.push(a);
    expect(answers.map(summary)).toEqual(['1:ok@1']);
    const http2 = await import('node:http2');
    const session = http2.connect(server!.url);
    try {
      const stream = session.request({
        ':method': 'POST',
        ':path': '/regent.consensus.v1.KvService/PutStream',
        'content-type': 'application/connect+proto',
        'connect-protocol-version': '1',
      });
      const head = Buffer.alloc(5);
      head.writeUInt32BE(bad.byteLength, 1);
      stream.end(Buffer.concat([head, bad]));
      const chunks: Buffer[] = [];
      for await (const chunk of stream) chunks.push(chunk as Buffer);
      const body = Buffer.concat(chunks);
      expect(body[0]).toBe(0x02); // the end-stream envelope, and nothing before it
      const end = JSON.parse(body.subarray(5).toString()) as { error: { code: string; message: string } };
      expect(end.error.code).toBe('invalid_argument');
      expect(end.error.message).toMatch(/^parse binary/);
      expect(puts.calls).toEqual(['now']);
    } finally {
      session.close();
    }
    // The request type still encodes as expected (guards the hand-made bytes above against schema drift).
    expect(toBinary(PutStreamRequestSchema, request(1n, 'k')).at(0)).toBe(0x08);
  });
  it('lean: stops reading requests while the caller does not read its answers, and answers all once it does', async () => {
    const puts = heldPuts();
    await start(puts.put);
    const count = 100_000;
    const envelopes = Array.from({ length: count }, (_, i) => {
      const body = toBinary(PutStreamRequestSchema, request(BigInt(i), `now-${i}`));
      const head = Buffer.alloc(5);
      head.writeUInt32BE(body.byteLength, 1);
      return Buffer.concat([head, body]);
    });
    const http2 = await import('node:http2');
    const session = http2.connect(server!.url);
    const warnings: string[] = [];
    const onWarning = (w: Error): void => {
      warnings.push(w.name);
    };
    process.on('warning', onWarning);
    try {
      const stream = session.request({
        ':method': 'POST',
        ':path': '/regent.consensus.v1.KvService/PutStream',
        'content-type': 'application/connect+proto',
        'connect-protocol-version': '1',
      });
      stream.pause(); // answers are not read
      stream.end(Buffer.concat(envelopes));
      // Reading stops (the count of puts started settles) well before every request is read.
      let whilePaused = -1;
      for (let i = 0; i < 50 && puts.calls.length !== whilePaused; i++) {
        whilePaused = puts.calls.length;
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(puts.calls.length).toBe(whilePaused);
      expect(whilePaused).toBeGreaterThan(0);
      expect(whilePaused).toBeLessThan(count);
      const reader = new EnvelopeReader(1024);
      let answered = 0;
      let endOfStream = 0;
      for await (const chunk of stream) {
        for (const envelope of reader.push(chunk as Buffer)) {
          if (envelope.flags === 0) answered += 1;
          else endOfStream += 1;
        }
      }
      expect(answered).toBe(count);
      expect(endOfStream).toBe(1);
      expect(puts.calls.length).toBe(count);
      expect(warnings).toEqual([]);
    } finally {
      process.off('warning', onWarning);
      session.close();
    }
  });
});
