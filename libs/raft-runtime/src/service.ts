// The server side of the Raft peer API: decodes batches and feeds them to the runtime. A malformed message is
// dropped (counted) and the rest of the batch still delivered; a batch for another group is refused.
//
// Two ways in: the Connect router (Send, and Stream in every protocol), and a lean handler for the hot path, the
// Connect-protocol binary Stream the peer transport opens, read straight off HTTP/2 without the router's
// per-message machinery, decoding batches with wire-decode.ts instead of protobuf-es. Both speak the same wire
// format.
import type * as http from 'node:http';
import type * as http2 from 'node:http2';
import { create, toBinary } from '@bufbuild/protobuf';
import { Code, ConnectError, type ConnectRouter } from '@connectrpc/connect';
import { type RaftMessage, RaftService, StreamResponseSchema } from '@regent/proto/raft';
import type { Message } from '@regent/raft';
import {
  EnvelopeReader,
  encodeEnvelope,
  endStreamJson,
  FLAG_COMPRESSED,
  FLAG_END_STREAM,
} from '@regent/service-kit';
import type { RaftRuntime } from './runtime.js';
import { type DecodedBatch, decodeStreamBatch } from './wire-decode.js';

export interface RaftServiceOptions {
  readonly group: string;
  readonly runtime: () => RaftRuntime | undefined;
  readonly onBadMessage?: (error: unknown) => void;
  /** Largest number of messages accepted in one batch. */
  readonly batchMessagesMax?: number;
}

/** How one message reaches the runtime: a wire message (receive), or a core one from wire-decode.ts. */
type Feed<M> = (runtime: RaftRuntime, m: M) => void;
const feedWire: Feed<RaftMessage> = (runtime, m) => runtime.receive(m);
const feedCore: Feed<Message> = (runtime, m) => runtime.receiveMessage(m);

/** Feeds one batch to the runtime; returns how many messages it accepted. Throws ConnectError on a bad batch. */
function createDelivery(
  options: RaftServiceOptions,
): <M>(group: string, messages: readonly M[], feed: Feed<M>) => number {
  return (group, messages, feed) => {
    if (group !== options.group) {
      throw new ConnectError(
        `raft group ${JSON.stringify(group)} is not ${options.group}`,
        Code.FailedPrecondition,
      );
    }
    if (messages.length > (options.batchMessagesMax ?? 10_000)) {
      throw new ConnectError(`batch of ${messages.length} messages is too large`, Code.ResourceExhausted);
    }
    const runtime = options.runtime();
    if (runtime === undefined) throw new ConnectError('node is starting', Code.Unavailable);
    let accepted = 0;
    for (const m of messages) {
      try {
        feed(runtime, m);
        accepted++;
      } catch (error) {
        options.onBadMessage?.(error);
      }
    }
    return accepted;
  };
}

export function createRaftServiceRoutes(options: RaftServiceOptions): (router: ConnectRouter) => void {
  const deliver = createDelivery(options);
  return (router) => {
    router.service(RaftService, {
      send: (req) => ({ acceptedCount: deliver(req.group, req.messages, feedWire) }),
      stream: async (requests) => {
        let accepted = 0n;
        for await (const req of requests) accepted += BigInt(deliver(req.group, req.messages, feedWire));
        return { acceptedCount: accepted };
      },
    });
  };
}

type AnyRequest = http.IncomingMessage | http2.Http2ServerRequest;
type AnyResponse = http.ServerResponse | http2.Http2ServerResponse;

const STREAM_PATH = `/${RaftService.typeName}/${RaftService.method.stream.name}`;
const STREAM_CONTENT_TYPE = 'application/connect+proto';

/**
 * The lean Stream handler: answers POSTs of the Connect binary, uncompressed form of RaftService.Stream (returns
 * false for anything else, which then goes to the router). Batches are delivered as their envelopes complete;
 * a refused batch ends the stream with the error, as the router would.
 */
export function createRaftStreamHandler(
  options: RaftServiceOptions & { readonly readMaxBytes: number },
): (req: AnyRequest, res: AnyResponse) => boolean {
  const deliver = createDelivery(options);
  return (req, res) => {
    if (req.method !== 'POST' || req.url !== STREAM_PATH) return false;
    if (req.headers['content-type'] !== STREAM_CONTENT_TYPE) return false;
    const encoding = req.headers['connect-content-encoding'];
    if (encoding !== undefined && encoding !== 'identity') return false;
    const reader = new EnvelopeReader(options.readMaxBytes);
    let accepted = 0n;
    let finished = false;
    const finish = (error: ConnectError | undefined): void => {
      if (finished) return;
      finished = true;
      req.removeAllListeners('data');
      res.writeHead(200, { 'content-type': STREAM_CONTENT_TYPE });
      const answer =
        error === undefined
          ? encodeEnvelope(
              0,
              toBinary(StreamResponseSchema, create(StreamResponseSchema, { acceptedCount: accepted })),
            )
          : Buffer.alloc(0);
      res.end(Buffer.concat([answer, encodeEnvelope(FLAG_END_STREAM, endStreamJson(error))]));
      if (error !== undefined) req.resume();
    };
    req.on('data', (chunk: Buffer) => {
      try {
        for (const envelope of reader.push(chunk)) {
          if ((envelope.flags & FLAG_COMPRESSED) !== 0) {
            throw new ConnectError('compressed messages are not accepted', Code.InvalidArgument);
          }
          let batch: DecodedBatch;
          try {
            batch = decodeStreamBatch(envelope.payload);
          } catch (error) {
            throw new ConnectError(`parse binary: ${(error as Error).message}`, Code.InvalidArgument);
          }
          accepted += BigInt(
            batch.fast
              ? deliver(batch.group, batch.messages, feedCore)
              : deliver(batch.group, batch.messages, feedWire),
          );
        }
      } catch (error) {
        finish(error instanceof ConnectError ? error : new ConnectError(String(error), Code.InvalidArgument));
      }
    });
    req.on('end', () => {
      finish(
        reader.bufferedBytes > 0
          ? new ConnectError('stream ended inside a message', Code.InvalidArgument)
          : undefined,
      );
    });
    req.on('error', () => {
      finished = true;
    });
    return true;
  };
}
