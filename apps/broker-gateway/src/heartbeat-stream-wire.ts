// A lean HTTP/2 path for BrokerService.HeartbeatStream, the gateway's hottest call (every broker, every heartbeat):
// the gRPC and Connect streaming protocols in their binary, uncompressed form, served without the Connect router.
// Through the router each message passes a dozen async-generator stages each way, which cost several times the
// heartbeat's own work and made the gateway the ceiling of how many brokers one gateway can carry. The bytes on the
// wire are the router's: a client cannot tell the two apart. Every other form of the call (JSON, gRPC-Web, HTTP/1.1,
// compressed, with a deadline) falls through to the router, so all protocols keep working.
//
// What the router's interceptors do is done here too: authentication (auth.ts), the request id, and the calls'
// metrics and logs (call-context.ts). The stream's semantics are HeartbeatStreamSession's, shared with the router.
import type * as http from 'node:http';
import type * as http2 from 'node:http2';
import { fromBinary, toBinary } from '@bufbuild/protobuf';
import { Code, ConnectError } from '@connectrpc/connect';
import { createEndStreamSerialization, endStreamFlag } from '@connectrpc/connect/protocol-connect';
import { setTrailerStatus } from '@connectrpc/connect/protocol-grpc';
import {
  BrokerService,
  type HeartbeatStreamRequest,
  HeartbeatStreamRequestSchema,
  HeartbeatStreamResponseSchema,
} from '@regent/proto/broker';
import { EnvelopeReader, encodeEnvelope, type HttpHandler, REQUEST_ID_HEADER } from '@regent/service-kit';
import type { Logger } from 'pino';
import { type Authenticator, requirePrincipalCluster } from './auth.js';
import { beginCall, type ObservedCall } from './call-context.js';
import { HeartbeatStreamSession } from './heartbeat-stream.js';
import { type ServiceDeps, shuttingDownError } from './services.js';

type AnyRequest = http.IncomingMessage | http2.Http2ServerRequest;
type AnyResponse = http.ServerResponse | http2.Http2ServerResponse;
type Protocol = 'grpc' | 'connect';

const method = BrokerService.method.heartbeatStream;
const path = `/${BrokerService.typeName}/${method.name}`;
const rpc = `${BrokerService.name}/${method.name}`;
/** Length-prefixed message header: 1 flag byte, 4 length bytes (big endian). */
const compressedFlag = 0b0000_0001;
const endStream = createEndStreamSerialization({});

export interface HeartbeatStreamWireOptions {
  readonly deps: ServiceDeps;
  readonly authenticator: Authenticator;
  readonly logger: Logger;
  /** Largest request message accepted (RESOURCE_EXHAUSTED beyond it, as the router's readMaxBytes). */
  readonly readMaxBytes: number;
}

export interface HeartbeatStreamHandler extends HttpHandler {
  /** Streams this path has taken (the rest went to the router). */
  readonly served: () => number;
  /** Streams open on this path. */
  readonly open: () => number;
}

function identity(encoding: string | string[] | undefined): boolean {
  return encoding === undefined || encoding === 'identity';
}

/** The protocol when this path can serve the request; undefined sends it to the router. */
function protocolOf(req: AnyRequest): Protocol | undefined {
  if (req.httpVersionMajor !== 2 || req.method !== 'POST' || req.url !== path) return undefined;
  const headers = req.headers;
  // A deadline on a heartbeat stream is rare; the router enforces it.
  if (headers['grpc-timeout'] !== undefined || headers['connect-timeout-ms'] !== undefined) return undefined;
  const type = headers['content-type']?.toLowerCase();
  if (type === 'application/grpc' || type === 'application/grpc+proto') {
    return identity(headers['grpc-encoding']) ? 'grpc' : undefined;
  }
  if (type === 'application/connect+proto') {
    return identity(headers['connect-content-encoding']) ? 'connect' : undefined;
  }
  return undefined;
}

export function createHeartbeatStreamHandler(options: HeartbeatStreamWireOptions): HeartbeatStreamHandler {
  const open = new Set<WireStream>();
  let served = 0;
  // Draining ends every stream with UNAVAILABLE (and, since the gateway is draining, no suspicion).
  options.deps.draining.addEventListener(
    'abort',
    () => {
      for (const stream of [...open]) stream.fail(shuttingDownError());
    },
    { once: true },
  );
  const handler = (req: AnyRequest, res: AnyResponse): boolean => {
    const protocol = protocolOf(req);
    if (protocol === undefined) return false;
    served += 1;
    const stream = new WireStream(
      options,
      protocol,
      req as http2.Http2ServerRequest,
      res as http2.Http2ServerResponse,
      () => open.delete(stream),
    );
    open.add(stream);
    stream.start();
    return true;
  };
  return Object.assign(handler, { served: () => served, open: () => open.size });
}

/** One stream on the wire: the envelope reader, the session, and the single way out (`#finish`). */
class WireStream {
  readonly #options: HeartbeatStreamWireOptions;
  readonly #protocol: Protocol;
  readonly #req: http2.Http2ServerRequest;
  readonly #res: http2.Http2ServerResponse;
  readonly #onFinished: () => void;
  readonly #observed: ObservedCall;
  #session: HeartbeatStreamSession | undefined;
  /** Splits the request body into envelopes (a partly received message waits in it). */
  readonly #reader: EnvelopeReader;
  #requestEnded = false;
  #finished = false;

  constructor(
    options: HeartbeatStreamWireOptions,
    protocol: Protocol,
    req: http2.Http2ServerRequest,
    res: http2.Http2ServerResponse,
    onFinished: () => void,
  ) {
    this.#options = options;
    this.#protocol = protocol;
    this.#req = req;
    this.#res = res;
    this.#onFinished = onFinished;
    this.#reader = new EnvelopeReader(options.readMaxBytes);
    const requestId = req.headers[REQUEST_ID_HEADER];
    this.#observed = beginCall(
      options.logger,
      options.deps.metrics,
      rpc,
      typeof requestId === 'string' ? requestId : undefined,
    );
  }

  start(): void {
    const req = this.#req;
    const res = this.#res;
    res.writeHead(200, {
      'content-type': this.#protocol === 'grpc' ? 'application/grpc+proto' : 'application/connect+proto',
      [REQUEST_ID_HEADER]: this.#observed.call.requestId,
    });
    // The caller went away (reset or connection lost) before the stream was finished: a break.
    res.on('close', () => this.#finish(new ConnectError('the caller went away', Code.Canceled), false));
    req.on('data', (chunk: Buffer) => this.#onData(chunk));
    req.on('end', () => this.#onRequestEnd());
    try {
      const principal = this.#options.authenticator.principalOf(headerValue(req.headers.authorization));
      this.#session = HeartbeatStreamSession.open(
        this.#options.deps,
        (cluster) => requirePrincipalCluster(principal, cluster),
        this.#observed.call.logger,
      );
    } catch (error) {
      this.fail(error);
    }
  }

  /** Ends the stream with `error` (a ConnectError, or anything else as INTERNAL). */
  fail(error: unknown): void {
    this.#finish(
      error instanceof ConnectError
        ? error
        : new ConnectError('internal error', Code.Internal, undefined, undefined, error),
      true,
    );
  }

  #onData(chunk: Buffer): void {
    if (this.#finished) return; // the rest of a refused stream is read and dropped
    let envelopes: { flags: number; payload: Buffer }[];
    try {
      envelopes = this.#reader.push(chunk);
    } catch {
      this.fail(
        new ConnectError(
          `message size is larger than configured readMaxBytes ${this.#options.readMaxBytes}`,
          Code.ResourceExhausted,
        ),
      );
      return;
    }
    for (const e of envelopes) {
      if (this.#finished) return;
      this.#onMessage(e.flags, e.payload);
    }
  }

  #onMessage(flags: number, bytes: Uint8Array): void {
    const session = this.#session;
    if (session === undefined) return;
    try {
      const ack = session.accept(parseMessage(this.#protocol, flags, bytes));
      const written = this.#res.write(encodeEnvelope(0, toBinary(HeartbeatStreamResponseSchema, ack)));
      // Acks are not read: stop reading heartbeats until they are (HTTP/2 flow control reaches the broker).
      if (!written) {
        this.#req.pause();
        this.#res.once('drain', () => this.#req.resume());
      }
    } catch (error) {
      this.fail(error);
    }
  }

  #onRequestEnd(): void {
    this.#requestEnded = true;
    if (this.#finished) return;
    if (this.#reader.bufferedBytes > 0) {
      this.fail(new ConnectError('protocol error: incomplete envelope', Code.InvalidArgument));
      return;
    }
    this.#finish(undefined, true);
  }

  /** The one way out: ends the session, answers (when the caller is still there), counts the call. */
  #finish(error: ConnectError | undefined, answer: boolean): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#session?.end();
    this.#onFinished();
    if (answer) this.#answer(error);
    // Whatever the caller still sends on a finished stream is read and dropped.
    if (!this.#requestEnded) this.#req.resume();
    this.#observed.finish(error);
  }

  #answer(error: ConnectError | undefined): void {
    const res = this.#res;
    if (res.writableEnded || res.destroyed) return;
    if (this.#protocol === 'connect') {
      res.end(encodeEnvelope(endStreamFlag, endStream.serialize({ metadata: new Headers(), error })));
      return;
    }
    const trailers: Record<string, string> = {};
    setTrailerStatus(new Headers(), error).forEach((value, key) => {
      trailers[key] = value;
    });
    res.addTrailers(trailers);
    res.end();
  }
}

function headerValue(value: string | string[] | undefined): string | null {
  return typeof value === 'string' ? value : null;
}

/** The request message of one envelope, refused as the router refuses it. */
function parseMessage(protocol: Protocol, flags: number, bytes: Uint8Array): HeartbeatStreamRequest {
  if ((flags & compressedFlag) === compressedFlag) {
    throw new ConnectError('received compressed envelope, but do not know how to decompress', Code.Internal);
  }
  if (protocol === 'connect' && (flags & endStreamFlag) === endStreamFlag) {
    throw new ConnectError('unexpected end flag', Code.InvalidArgument);
  }
  try {
    return fromBinary(HeartbeatStreamRequestSchema, bytes);
  } catch (error) {
    throw new ConnectError(
      `parse binary: ${error instanceof Error ? error.message : String(error)}`,
      Code.Internal,
    );
  }
}
