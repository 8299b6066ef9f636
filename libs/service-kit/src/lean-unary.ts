// A lean server path for a hot unary RPC: the Connect protocol's unary binary form (POST, `application/proto`,
// uncompressed) answered without the Connect router. The router costs several times more CPU per call than the
// work behind our hottest RPCs (an AbortController, a DOMException and a handler context per call; web-header
// conversion), which made it the ceiling of a replicated write. The bytes on the wire are the same as the router's:
// a client cannot tell the two apart. Every other form of the same RPC (JSON, gRPC, gRPC-Web, compressed, GET) falls
// through to the router, so all protocols keep working and interceptors still see those.
import type * as http from 'node:http';
import type * as http2 from 'node:http2';
import {
  type DescMessage,
  type DescMethodUnary,
  fromBinary,
  type MessageShape,
  toBinary,
} from '@bufbuild/protobuf';
import { Code, ConnectError } from '@connectrpc/connect';
import { codeToHttpStatus, errorToJsonBytes, parseTimeout } from '@connectrpc/connect/protocol-connect';
import type { HttpHandler } from './server.js';

type AnyRequest = http.IncomingMessage | http2.Http2ServerRequest;
type AnyResponse = http.ServerResponse | http2.Http2ServerResponse;

export interface LeanUnaryContext {
  /** The caller's deadline (`connect-timeout-ms`), if it sent one. */
  readonly timeoutMs: number | undefined;
}

export interface LeanUnaryOptions<I extends DescMessage, O extends DescMessage> {
  readonly method: DescMethodUnary<I, O>;
  readonly handle: (request: MessageShape<I>, context: LeanUnaryContext) => Promise<MessageShape<O>>;
  /** Largest request body accepted (ResourceExhausted beyond it, as the router's readMaxBytes). */
  readonly readMaxBytes: number;
  /** Called with the error of every failed call (after it was answered). */
  readonly onError?: (error: ConnectError) => void;
}

/** Counts of calls the lean path answered, for tests and metrics. */
export interface LeanUnaryHandler extends HttpHandler {
  readonly served: () => number;
}

export function leanUnaryHandler<I extends DescMessage, O extends DescMessage>(
  options: LeanUnaryOptions<I, O>,
): LeanUnaryHandler {
  const path = `/${options.method.parent.typeName}/${options.method.name}`;
  let served = 0;
  const handler = (req: AnyRequest, res: AnyResponse): boolean => {
    if (req.method !== 'POST' || req.url !== path) return false;
    const headers = req.headers;
    if (headers['content-type'] !== 'application/proto') return false;
    const encoding = headers['content-encoding'];
    if (encoding !== undefined && encoding !== 'identity') return false;
    served++;
    void serve(options, req, res, headers['connect-timeout-ms']);
    return true;
  };
  return Object.assign(handler, { served: () => served });
}

async function serve<I extends DescMessage, O extends DescMessage>(
  options: LeanUnaryOptions<I, O>,
  req: AnyRequest,
  res: AnyResponse,
  timeoutHeader: string | string[] | undefined,
): Promise<void> {
  try {
    const timeout = parseTimeout(typeof timeoutHeader === 'string' ? timeoutHeader : null, 2 ** 31 - 1);
    if (timeout.error !== undefined) throw timeout.error;
    const body = await readBody(req, options.readMaxBytes);
    let request: MessageShape<I>;
    try {
      request = fromBinary(options.method.input, body);
    } catch (error) {
      throw new ConnectError(`parse binary: ${(error as Error).message}`, Code.InvalidArgument);
    }
    const response = await options.handle(request, { timeoutMs: timeout.timeoutMs });
    const bytes = toBinary(options.method.output, response);
    res.writeHead(200, { 'content-type': 'application/proto', 'content-length': bytes.byteLength });
    res.end(bytes);
  } catch (error) {
    // As the router: a ConnectError goes out as it is; anything else hides its message.
    const connectError =
      error instanceof ConnectError
        ? error
        : new ConnectError('internal error', Code.Internal, undefined, undefined, error);
    if (!res.headersSent && !res.destroyed) {
      const bytes = errorToJsonBytes(connectError, {});
      res.writeHead(codeToHttpStatus(connectError.code), {
        'content-type': 'application/json',
        'content-length': bytes.byteLength,
      });
      res.end(bytes);
    }
    options.onError?.(connectError);
  }
}

function readBody(req: AnyRequest, maxBytes: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    req.on('data', (chunk: Buffer) => {
      bytes += chunk.byteLength;
      if (bytes > maxBytes) {
        reject(new ConnectError(`message larger than ${maxBytes} bytes`, Code.ResourceExhausted));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    req.on('error', (error) => reject(new ConnectError(error.message, Code.Canceled)));
    req.on('aborted', () => reject(new ConnectError('client closed the request', Code.Canceled)));
  });
}
