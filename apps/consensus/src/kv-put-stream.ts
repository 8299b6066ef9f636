// KvService.PutStream: many puts pipelined on one call. A unary call per put costs an HTTP/2 stream (headers in
// and out, stream state on both ends) — on a 2-core machine that was a third of the leader's CPU per replicated
// write. On one stream a put costs one envelope each way, and the answers settled in one event-loop turn leave in
// one write.
//
// The shared core, PutPipeline, bounds the puts in flight, answers each as it settles (in any order, matched by
// the caller's id) and tells when all are answered. Two ways in: the Connect router (every protocol and codec:
// gRPC, gRPC-Web, Connect, JSON) and a lean handler for the Connect binary form over HTTP/2, read and written
// straight off the stream as the Raft peer stream is.
import type * as http from 'node:http';
import type * as http2 from 'node:http2';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { Code, ConnectError } from '@connectrpc/connect';
import { readControllerError } from '@regent/proto';
import {
  KvService,
  type PutRequest,
  type PutStreamRequest,
  PutStreamRequestSchema,
  type PutStreamResponse,
  PutStreamResponseSchema,
} from '@regent/proto/consensus';
import {
  EnvelopeReader,
  encodeEnvelope,
  endStreamJson,
  FLAG_COMPRESSED,
  FLAG_END_STREAM,
  type HttpHandler,
} from '@regent/service-kit';

/** Puts one stream may have unanswered; a put beyond it is answered RESOURCE_EXHAUSTED (documented in the proto). */
export const PUT_STREAM_IN_FLIGHT_MAX = 4096;

/** One put, validated and proposed; rejects with a ConnectError. */
export type PutFn = (request: PutRequest) => Promise<{ index: bigint }>;

export function errorAnswer(id: bigint, error: unknown): PutStreamResponse {
  const e = ConnectError.from(error);
  return create(PutStreamResponseSchema, {
    id,
    result: {
      case: 'error',
      value: { code: e.code, message: e.rawMessage, detail: readControllerError(e) },
    },
  });
}

/** The puts of one stream: at most `inFlightMax` unanswered; `answer` is called once per put, as it settles. */
export class PutPipeline {
  readonly #pending = new Set<bigint>();

  constructor(
    private readonly put: PutFn,
    private readonly answer: (response: PutStreamResponse) => void,
    private readonly inFlightMax = PUT_STREAM_IN_FLIGHT_MAX,
  ) {}

  get inFlight(): number {
    return this.#pending.size;
  }

  /** Starts one put. Throws (a protocol error that ends the stream) if its id is already in flight. */
  submit(request: PutStreamRequest): void {
    const id = request.id;
    if (this.#pending.has(id)) {
      throw new ConnectError(`put id ${id} is already in flight on this stream`, Code.InvalidArgument);
    }
    if (request.put === undefined) {
      this.answer(errorAnswer(id, new ConnectError('put is required', Code.InvalidArgument)));
      return;
    }
    if (this.#pending.size >= this.inFlightMax) {
      const message = `more than ${this.inFlightMax} puts in flight on one stream`;
      this.answer(errorAnswer(id, new ConnectError(message, Code.ResourceExhausted)));
      return;
    }
    this.#pending.add(id);
    this.put(request.put).then(
      (result) => {
        this.#pending.delete(id);
        this.answer(create(PutStreamResponseSchema, { id, result: { case: 'put', value: result } }));
      },
      (error: unknown) => {
        this.#pending.delete(id);
        this.answer(errorAnswer(id, error));
      },
    );
  }
}

/** The router's PutStream (all protocols): reads requests as they come, yields answers as they settle. */
export async function* routerPutStream(
  requests: AsyncIterable<PutStreamRequest>,
  put: PutFn,
): AsyncIterable<PutStreamResponse> {
  const ready: PutStreamResponse[] = [];
  let wake: (() => void) | undefined;
  let inputDone = false;
  let inputError: unknown;
  const pipeline = new PutPipeline(put, (answer) => {
    ready.push(answer);
    wake?.();
  });
  void (async () => {
    try {
      for await (const request of requests) pipeline.submit(request);
    } catch (error) {
      inputError = error;
    } finally {
      inputDone = true;
      wake?.();
    }
  })();
  for (;;) {
    while (ready.length > 0) yield ready.shift()!;
    if (inputError !== undefined) throw inputError;
    if (inputDone && pipeline.inFlight === 0) return;
    await new Promise<void>((resolve) => {
      wake = resolve;
    });
    wake = undefined;
  }
}

type AnyRequest = http.IncomingMessage | http2.Http2ServerRequest;
type AnyResponse = http.ServerResponse | http2.Http2ServerResponse;

const PATH = `/${KvService.typeName}/${KvService.method.putStream.name}`;
const CONTENT_TYPE = 'application/connect+proto';

/**
 * The lean PutStream: the Connect binary, uncompressed form over HTTP/2 (anything else falls through to the
 * router). Answers settled in one event-loop turn go out in one write; while the caller does not read its answers,
 * reading its requests pauses (so a caller that only writes cannot make the node buffer without bound).
 */
export function leanPutStreamHandler(put: PutFn, readMaxBytes: number): HttpHandler {
  return (req: AnyRequest, res: AnyResponse): boolean => {
    if (req.method !== 'POST' || req.url !== PATH) return false;
    if (req.headers['content-type'] !== CONTENT_TYPE || req.httpVersionMajor !== 2) return false;
    const encoding = req.headers['connect-content-encoding'];
    if (encoding !== undefined && encoding !== 'identity') return false;
    serveLean(put, readMaxBytes, req, res);
    return true;
  };
}

function serveLean(put: PutFn, readMaxBytes: number, req: AnyRequest, res: AnyResponse): void {
  res.writeHead(200, { 'content-type': CONTENT_TYPE });
  const reader = new EnvelopeReader(readMaxBytes);
  const out: Buffer[] = [];
  let flushScheduled = false;
  let paused = false;
  let inputEnded = false;
  let finished = false;

  const finish = (error?: ConnectError): void => {
    if (finished) return;
    finished = true;
    req.removeAllListeners('data');
    out.push(encodeEnvelope(FLAG_END_STREAM, endStreamJson(error)));
    res.end(Buffer.concat(out));
    out.length = 0;
    if (error !== undefined) req.resume();
  };
  const flush = (): void => {
    flushScheduled = false;
    if (finished) return;
    if (inputEnded && pipeline.inFlight === 0) {
      finish();
      return;
    }
    if (out.length === 0) return;
    const chunk = out.length === 1 ? out[0]! : Buffer.concat(out);
    out.length = 0;
    if (!(res as NodeJS.WritableStream).write(chunk) && !paused) {
      paused = true;
      req.pause();
      res.once('drain', () => {
        paused = false;
        req.resume();
      });
    }
  };
  const schedule = (): void => {
    if (flushScheduled) return;
    flushScheduled = true;
    setImmediate(flush);
  };
  const pipeline = new PutPipeline(put, (answer) => {
    if (finished) return;
    out.push(encodeEnvelope(0, toBinary(PutStreamResponseSchema, answer)));
    schedule();
  });

  req.on('data', (chunk: Buffer) => {
    try {
      for (const envelope of reader.push(chunk)) {
        if ((envelope.flags & FLAG_COMPRESSED) !== 0) {
          throw new ConnectError('compressed messages are not accepted', Code.InvalidArgument);
        }
        let request: PutStreamRequest;
        try {
          request = fromBinary(PutStreamRequestSchema, envelope.payload);
        } catch (error) {
          throw new ConnectError(`parse binary: ${(error as Error).message}`, Code.InvalidArgument);
        }
        pipeline.submit(request);
      }
    } catch (error) {
      finish(error instanceof ConnectError ? error : new ConnectError(String(error), Code.InvalidArgument));
    }
  });
  req.on('end', () => {
    inputEnded = true;
    if (reader.bufferedBytes > 0) {
      finish(new ConnectError('stream ended inside a message', Code.InvalidArgument));
      return;
    }
    schedule();
  });
  // The caller went away: answers still settling are dropped (each put's outcome is in the log either way).
  req.on('error', () => {
    finished = true;
  });
  res.on('close', () => {
    finished = true;
  });
}
