// A unary call whose request is already encoded: the Connect protocol's unary binary form (POST,
// `application/proto`, uncompressed) over a node's HTTP/2 session. The heartbeat batcher encodes each batch once
// and posts the same bytes to every consensus node; the Connect client would encode the message again per node.
// Failures come back as ConnectErrors, the node's own code and details included.
import * as http2 from 'node:http2';
import { Code, ConnectError } from '@connectrpc/connect';
import { codeFromHttpStatus, errorFromJsonBytes } from '@connectrpc/connect/protocol-connect';
import type { Http2SessionManager } from '@connectrpc/connect-node';

export interface UnaryPostOptions {
  readonly signal: AbortSignal;
  readonly timeoutMs: number;
}

/** Posts `body` to the method at `path` ("/pkg.Service/Method"); resolves with the encoded response message. */
export type UnaryPost = (path: string, body: Uint8Array, options: UnaryPostOptions) => Promise<Uint8Array>;

export function createUnaryPost(sessions: Http2SessionManager, readMaxBytes: number): UnaryPost {
  return async (path, body, options) => {
    if (options.signal.aborted) throw new ConnectError('the call was canceled', Code.Canceled);
    let stream: http2.ClientHttp2Stream;
    try {
      stream = await sessions.request(
        'POST',
        path,
        {
          'content-type': 'application/proto',
          'connect-protocol-version': '1',
          'connect-timeout-ms': String(options.timeoutMs),
        },
        {},
      );
    } catch (error) {
      throw ConnectError.from(error, Code.Unavailable);
    }
    return exchange(sessions, stream, body, options, readMaxBytes);
  };
}

function exchange(
  sessions: Http2SessionManager,
  stream: http2.ClientHttp2Stream,
  body: Uint8Array,
  options: UnaryPostOptions,
  readMaxBytes: number,
): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    let status = 0;
    let bytes = 0;
    const chunks: Buffer[] = [];
    let settled = false;
    const settle = (error: ConnectError | undefined, value?: Uint8Array): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal.removeEventListener('abort', onAbort);
      if (error === undefined) resolve(value as Uint8Array);
      else {
        if (!stream.closed) stream.close(http2.constants.NGHTTP2_CANCEL);
        reject(error);
      }
    };
    const onAbort = (): void => settle(new ConnectError('the call was canceled', Code.Canceled));
    const timer = setTimeout(
      () => settle(new ConnectError(`no answer within ${options.timeoutMs} ms`, Code.DeadlineExceeded)),
      options.timeoutMs,
    );
    options.signal.addEventListener('abort', onAbort, { once: true });
    stream.on('response', (headers) => {
      status = Number(headers[':status']);
    });
    stream.on('data', (chunk: Buffer) => {
      sessions.notifyResponseByteRead(stream);
      bytes += chunk.byteLength;
      if (bytes > readMaxBytes) {
        settle(
          new ConnectError(
            `message size is larger than configured readMaxBytes ${readMaxBytes}`,
            Code.ResourceExhausted,
          ),
        );
        return;
      }
      chunks.push(chunk);
    });
    stream.on('end', () => {
      const payload = Buffer.concat(chunks);
      if (status === 200) {
        settle(undefined, payload);
        return;
      }
      const fallback = new ConnectError(`HTTP ${status}`, codeFromHttpStatus(status));
      try {
        settle(errorFromJsonBytes(payload, undefined, fallback));
      } catch {
        settle(fallback);
      }
    });
    stream.on('error', (error) => settle(ConnectError.from(error, Code.Unavailable)));
    stream.on('close', () => {
      if (!settled) settle(new ConnectError('the stream closed without an answer', Code.Unavailable));
    });
    stream.end(body);
  });
}
