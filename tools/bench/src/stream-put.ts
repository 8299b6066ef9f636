// A pipelined KvService.PutStream client for the Raft benchmarks: every writer's puts share one Connect binary
// bidirectional stream per node (or `streams` of them, round robin), written straight onto node:http2. Puts made
// in one event-loop turn leave in one write; answers are matched by id. Errors come back as ConnectErrors with the
// ControllerError detail, like a unary Put's, so NOT_LEADER hints and the session writers' retries work unchanged.
import * as http2 from 'node:http2';
import * as net from 'node:net';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { Code, ConnectError } from '@connectrpc/connect';
import type { ProcessCluster, PutCall } from '@regent/consensus/testing';
import { ControllerErrorSchema } from '@regent/proto/common';
import {
  KvService,
  type PutResponse,
  PutStreamRequestSchema,
  PutStreamResponseSchema,
} from '@regent/proto/consensus';
import { EnvelopeReader, encodeEnvelope, FLAG_END_STREAM } from '@regent/service-kit';

const PATH = `/${KvService.typeName}/${KvService.method.putStream.name}`;
/** A put unanswered for longer fails (DeadlineExceeded) and is retried by the caller. */
const CALL_TIMEOUT_MS = 2_000;
/** How often unanswered puts are checked against CALL_TIMEOUT_MS. */
const SWEEP_MS = 100;
/** Largest answer accepted. */
const ANSWER_BYTES_MAX = 1024 * 1024;

interface Waiter {
  readonly resolve: (response: PutResponse) => void;
  readonly reject: (error: ConnectError) => void;
  readonly sentAt: number;
}

/** One HTTP/2 session and its PutStream to one node. */
class PutStreamConnection {
  readonly #session: http2.ClientHttp2Session;
  readonly #stream: http2.ClientHttp2Stream;
  readonly #waiters = new Map<bigint, Waiter>();
  readonly #outbox: Buffer[] = [];
  readonly #sweep: NodeJS.Timeout;
  #nextId = 1n;
  #flushScheduled = false;
  #failed: ConnectError | undefined;

  constructor(
    readonly node: number,
    address: string,
  ) {
    const colon = address.lastIndexOf(':');
    const host = address.slice(0, colon);
    const port = Number(address.slice(colon + 1));
    this.#session = http2.connect(`http://${address}`, {
      createConnection: () => net.connect({ host, port, noDelay: true }),
    });
    this.#session.on('error', (error) => this.#fail(Code.Unavailable, error.message));
    this.#session.on('close', () => this.#fail(Code.Unavailable, 'connection closed'));
    this.#stream = this.#session.request({
      ':method': 'POST',
      ':path': PATH,
      'content-type': 'application/connect+proto',
      'connect-protocol-version': '1',
    });
    const reader = new EnvelopeReader(ANSWER_BYTES_MAX);
    this.#stream.on('data', (chunk: Buffer) => {
      try {
        for (const envelope of reader.push(chunk)) this.#onEnvelope(envelope.flags, envelope.payload);
      } catch (error) {
        this.#fail(Code.Internal, `bad answer: ${String(error)}`);
      }
    });
    this.#stream.on('error', (error) => this.#fail(Code.Unavailable, error.message));
    // A stream that ends without an end-stream message: the node went away. Its puts may or may not have been
    // applied; the session writers retry them, and their sessions apply each at most once.
    this.#stream.on('close', () => this.#fail(Code.Unavailable, 'stream closed'));
    this.#sweep = setInterval(() => this.#expire(), SWEEP_MS);
  }

  get failed(): boolean {
    return this.#failed !== undefined;
  }

  put(request: Parameters<PutCall>[1]): Promise<PutResponse> {
    if (this.#failed !== undefined) return Promise.reject(this.#failed);
    const id = this.#nextId++;
    const body = toBinary(PutStreamRequestSchema, create(PutStreamRequestSchema, { id, put: request }));
    this.#outbox.push(encodeEnvelope(0, body));
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      // After the current turn's callbacks and promise reactions: the puts they make leave together.
      process.nextTick(() => this.#flush());
    }
    return new Promise((resolve, reject) => {
      this.#waiters.set(id, { resolve, reject, sentAt: performance.now() });
    });
  }

  close(): void {
    this.#fail(Code.Canceled, 'client closed');
    this.#session.destroy();
  }

  #flush(): void {
    this.#flushScheduled = false;
    if (this.#failed !== undefined || this.#outbox.length === 0) return;
    const chunk = this.#outbox.length === 1 ? this.#outbox[0]! : Buffer.concat(this.#outbox);
    this.#outbox.length = 0;
    this.#stream.write(chunk);
  }

  #onEnvelope(flags: number, payload: Buffer): void {
    if ((flags & FLAG_END_STREAM) !== 0) {
      const end = JSON.parse(new TextDecoder().decode(payload)) as { error?: { message?: string } };
      this.#fail(Code.Unavailable, `stream ended: ${end.error?.message ?? 'by the node'}`);
      return;
    }
    const answer = fromBinary(PutStreamResponseSchema, payload);
    const waiter = this.#waiters.get(answer.id);
    if (waiter === undefined) return; // timed out already
    this.#waiters.delete(answer.id);
    const result = answer.result;
    if (result.case === 'put') {
      waiter.resolve(result.value);
      return;
    }
    const e = result.value;
    const details = e?.detail === undefined ? [] : [{ desc: ControllerErrorSchema, value: e.detail }];
    waiter.reject(
      new ConnectError(
        `node ${this.node}: ${e?.message ?? 'no result'}`,
        e?.code ?? Code.Unknown,
        undefined,
        details,
      ),
    );
  }

  #expire(): void {
    const now = performance.now();
    for (const [id, waiter] of this.#waiters) {
      if (now - waiter.sentAt < CALL_TIMEOUT_MS) break; // in send order: the rest are younger
      this.#waiters.delete(id);
      waiter.reject(
        new ConnectError(`node ${this.node}: no answer within ${CALL_TIMEOUT_MS} ms`, Code.DeadlineExceeded),
      );
    }
  }

  #fail(code: Code, message: string): void {
    if (this.#failed !== undefined) return;
    this.#failed = new ConnectError(`node ${this.node}: ${message}`, code);
    clearInterval(this.#sweep);
    for (const waiter of this.#waiters.values()) waiter.reject(this.#failed);
    this.#waiters.clear();
    this.#outbox.length = 0;
    this.#session.destroy();
  }
}

/** `streams` PutStreams per node (round robin), opened on first use and replaced when they fail. */
export class StreamPutClient {
  readonly #connections = new Map<number, (PutStreamConnection | undefined)[]>();
  #next = 0;

  constructor(
    private readonly cluster: ProcessCluster,
    private readonly streamsPerNode = 1,
  ) {}

  /** The PutCall to hand to `cluster.client({ put })`. */
  readonly put: PutCall = (node, request) => this.#connection(node).put(request);

  #connection(node: number): PutStreamConnection {
    let pool = this.#connections.get(node);
    if (pool === undefined) {
      pool = Array.from({ length: this.streamsPerNode }, () => undefined);
      this.#connections.set(node, pool);
    }
    const slot = this.#next++ % pool.length;
    const existing = pool[slot];
    if (existing !== undefined && !existing.failed) return existing;
    const connection = new PutStreamConnection(node, this.cluster.node(node).address);
    pool[slot] = connection;
    return connection;
  }

  close(): void {
    for (const pool of this.#connections.values()) for (const connection of pool) connection?.close();
    this.#connections.clear();
  }
}
