// The lean Stream handler against real clients: the Connect client's own client stream, and raw envelopes for the
// cases a well-behaved client never produces (compressed, oversize, truncated, another group).
import * as http2 from 'node:http2';
import { create, toBinary } from '@bufbuild/protobuf';
import { Code, ConnectError, createClient } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-node';
import { type RaftMessage, RaftService, type StreamRequest, StreamRequestSchema } from '@regent/proto/raft';
import { EnvelopeReader, encodeEnvelope, FLAG_COMPRESSED, type RunningServer } from '@regent/service-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { messageToWire } from './codec.js';
import { startRecordingServer } from './recording-server.test-support.js';

let server: RunningServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const heartbeat = (term: number): RaftMessage =>
  messageToWire({
    type: 'AppendEntries',
    from: 1,
    to: 2,
    term,
    prevLogIndex: 0,
    prevLogTerm: 0,
    entries: [],
    leaderCommit: 0,
    readContext: 0,
  });

async function start(readMaxBytes = 1 << 20) {
  const recording = await startRecordingServer({ readMaxBytes });
  server = recording.server;
  return { received: recording.received, url: server.url, leanCount: recording.leanCount };
}

async function* batches(...requests: StreamRequest[]): AsyncGenerator<StreamRequest> {
  yield* requests;
}

/** Posts raw bytes as a Connect client stream; returns the status and the envelopes of the answer. */
function rawStream(
  url: string,
  body: Buffer,
): Promise<{ status: number; envelopes: { flags: number; text: string }[] }> {
  const session = http2.connect(url);
  return new Promise((resolve, reject) => {
    const req = session.request({
      ':method': 'POST',
      ':path': '/regent.raft.v1.RaftService/Stream',
      'content-type': 'application/connect+proto',
    });
    let status = 0;
    const reader = new EnvelopeReader(1 << 20);
    const envelopes: { flags: number; text: string }[] = [];
    req.on('response', (h) => {
      status = Number(h[':status']);
    });
    req.on('data', (chunk: Buffer) => {
      for (const e of reader.push(chunk)) envelopes.push({ flags: e.flags, text: e.payload.toString() });
    });
    req.on('end', () => {
      session.close();
      resolve({ status, envelopes });
    });
    req.on('error', reject);
    req.end(body);
  });
}

const batch = (group: string, ...messages: RaftMessage[]): Buffer =>
  encodeEnvelope(0, toBinary(StreamRequestSchema, create(StreamRequestSchema, { group, messages })));

describe('createRaftStreamHandler', () => {
  it("reads the Connect client's stream itself and delivers every batch in order", async () => {
    const { received, url, leanCount } = await start();
    const client = createClient(
      RaftService,
      createConnectTransport({ baseUrl: url, httpVersion: '2', useBinaryFormat: true }),
    );
    const response = await client.stream(
      batches(
        create(StreamRequestSchema, { group: 'g', messages: [heartbeat(1), heartbeat(2)] }),
        create(StreamRequestSchema, { group: 'g', messages: [heartbeat(3)] }),
      ),
    );
    expect(leanCount()).toBe(1);
    expect(response.acceptedCount).toBe(3n);
    expect(received.map((m) => Number(m.term))).toEqual([1, 2, 3]);
  });

  it('ends the stream with FailedPrecondition for another group, as the router does', async () => {
    const { received, url } = await start();
    const lean = createClient(RaftService, createConnectTransport({ baseUrl: url, httpVersion: '2' }));
    const routed = createClient(
      RaftService,
      createConnectTransport({ baseUrl: url, httpVersion: '2', useBinaryFormat: false }),
    );
    const request = create(StreamRequestSchema, { group: 'other', messages: [heartbeat(1)] });
    const viaLean = await lean.stream(batches(request)).catch((e: unknown) => ConnectError.from(e));
    const viaRouter = await routed.stream(batches(request)).catch((e: unknown) => ConnectError.from(e));
    expect((viaLean as ConnectError).code).toBe(Code.FailedPrecondition);
    expect((viaLean as ConnectError).code).toBe((viaRouter as ConnectError).code);
    expect((viaLean as ConnectError).rawMessage).toBe((viaRouter as ConnectError).rawMessage);
    expect(received).toEqual([]);
  });

  it('refuses compressed, oversize, undecodable and truncated envelopes with a clear end-of-stream error', async () => {
    const { received, url } = await start(64);
    const compressed = await rawStream(url, encodeEnvelope(FLAG_COMPRESSED, Buffer.from('x')));
    expect(compressed.status).toBe(200);
    expect(JSON.parse(compressed.envelopes.at(-1)!.text)).toMatchObject({
      error: { code: 'invalid_argument' },
    });
    const oversize = await rawStream(url, encodeEnvelope(0, Buffer.alloc(65)));
    expect(oversize.envelopes.at(-1)!.text).toContain('over the limit of 64');
    const garbage = await rawStream(url, encodeEnvelope(0, Buffer.from([0xff, 0xff, 0xff])));
    expect(JSON.parse(garbage.envelopes.at(-1)!.text)).toMatchObject({ error: { code: 'invalid_argument' } });
    const truncated = await rawStream(url, batch('g', heartbeat(1)).subarray(0, 8));
    expect(truncated.envelopes.at(-1)!.text).toContain('stream ended inside a message');
    expect(received).toEqual([]);
    // A good batch after all that still works.
    const good = await rawStream(url, batch('g', heartbeat(7)));
    expect(good.envelopes).toHaveLength(2);
    expect(received).toHaveLength(1);
  });
});
