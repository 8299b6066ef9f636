// Raw RPC requests for fuzz and security tests: Connect unary, gRPC and gRPC-Web calls built byte by byte and sent
// over HTTP/1.1 or h2c, so malformed bodies, wrong frame prefixes and odd headers reach the server as written. Each
// answer is reduced to an outcome: a Connect error code string, "ok", or a description of what was not an RPC answer.
import * as http from 'node:http';
import * as http2 from 'node:http2';

export type WireProtocol = 'connect-proto' | 'connect-json' | 'grpc' | 'grpc-web';
export type HttpVersion = '1.1' | '2';

/** What came back, reduced to what the tests judge. */
export interface WireOutcome {
  /** "ok", a Connect code string ("invalid_argument", …), or "http-<status>" for an answer that is no RPC error. */
  readonly code: string;
  readonly httpStatus: number;
  readonly message: string;
  /** The ControllerError detail's base64 value, when the Connect JSON error carried one (unary Connect only). */
  readonly details: readonly { type: string; value: string }[];
}

export interface WireRequest {
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array;
  /** Sent before the body is cut off and the connection dropped (an aborted upload); no answer is awaited. */
  readonly abortAfterBytes?: number;
}

/** gRPC status numbers by Connect code string. */
const grpcCodes = [
  'ok',
  'canceled',
  'unknown',
  'invalid_argument',
  'deadline_exceeded',
  'not_found',
  'already_exists',
  'permission_denied',
  'resource_exhausted',
  'failed_precondition',
  'aborted',
  'out_of_range',
  'unimplemented',
  'internal',
  'unavailable',
  'data_loss',
  'unauthenticated',
] as const;

/** The Connect code string ("invalid_argument") of a numeric code (Connect and gRPC share the numbers). */
export function codeString(code: number): string {
  return grpcCodes[code] ?? `code-${code}`;
}

/** A gRPC length-prefixed frame; `declaredBytes` may lie about the payload's length. */
export function grpcFrame(
  payload: Uint8Array,
  options: { flags?: number; declaredBytes?: number } = {},
): Uint8Array {
  const frame = new Uint8Array(5 + payload.byteLength);
  const view = new DataView(frame.buffer);
  view.setUint8(0, options.flags ?? 0);
  view.setUint32(1, options.declaredBytes ?? payload.byteLength, false);
  frame.set(payload, 5);
  return frame;
}

/** The headers of a call in `protocol` (without the body), with an optional bearer token. */
export function protocolHeaders(protocol: WireProtocol, token: string | undefined): Record<string, string> {
  const auth: Record<string, string> = token === undefined ? {} : { authorization: `Bearer ${token}` };
  switch (protocol) {
    case 'connect-proto':
      return { 'content-type': 'application/proto', 'connect-protocol-version': '1', ...auth };
    case 'connect-json':
      return { 'content-type': 'application/json', 'connect-protocol-version': '1', ...auth };
    case 'grpc':
      return { 'content-type': 'application/grpc+proto', te: 'trailers', ...auth };
    case 'grpc-web':
      return { 'content-type': 'application/grpc-web+proto', 'x-grpc-web': '1', ...auth };
  }
}

/** Sends requests to one server over HTTP/1.1 (a connection per request) or one shared h2c session. */
export class WireClient {
  #session: http2.ClientHttp2Session | undefined;

  constructor(
    readonly baseUrl: string,
    readonly timeoutMs = 10_000,
  ) {}

  async send(protocol: WireProtocol, version: HttpVersion, request: WireRequest): Promise<WireOutcome> {
    const raw = version === '2' ? await this.#h2(request) : await this.#h1(request);
    return outcomeOf(protocol, raw);
  }

  close(): void {
    this.#session?.close();
    this.#session = undefined;
  }

  #h2Session(): http2.ClientHttp2Session {
    if (this.#session === undefined || this.#session.closed || this.#session.destroyed) {
      const session = http2.connect(this.baseUrl);
      session.on('error', () => {
        // A broken session is replaced on the next request; the request that saw it reports the failure.
      });
      this.#session = session;
    }
    return this.#session;
  }

  #h2(request: WireRequest): Promise<RawAnswer> {
    return new Promise((resolve) => {
      const stream = this.#h2Session().request({
        ':method': 'POST',
        ':path': request.path,
        ...request.headers,
      });
      const chunks: Buffer[] = [];
      let headers: http2.IncomingHttpHeaders = {};
      let trailers: http2.IncomingHttpHeaders = {};
      let settled = false;
      const settle = (answer: RawAnswer): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(answer);
        // A server may answer before it read the whole upload (an oversize body): stop sending.
        if (!stream.closed) stream.close(http2.constants.NGHTTP2_CANCEL);
      };
      const timer = setTimeout(
        () => settle({ failure: `no answer within ${this.timeoutMs} ms` }),
        this.timeoutMs,
      );
      stream.on('response', (h) => {
        headers = h;
      });
      stream.on('trailers', (t) => {
        trailers = t;
      });
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('error', (error) => settle({ failure: `stream error: ${error.message}` }));
      const answered = (): void => {
        const status = Number(headers[':status'] ?? 0);
        if (status === 0) {
          settle({ failure: `stream closed without an answer (rst ${stream.rstCode})` });
          return;
        }
        settle({
          status,
          headers: flatten(headers),
          trailers: flatten(trailers),
          body: Buffer.concat(chunks),
        });
      };
      // The answer is complete when the server ends its side, whether or not the upload finished.
      stream.on('end', answered);
      stream.on('close', answered);
      if (request.abortAfterBytes !== undefined) {
        stream.write(request.body.subarray(0, request.abortAfterBytes));
        setImmediate(() => settle({ failure: 'aborted by the client' }));
        return;
      }
      stream.end(request.body);
    });
  }

  #h1(request: WireRequest): Promise<RawAnswer> {
    return new Promise((resolve) => {
      const url = new URL(request.path, this.baseUrl);
      const req = http.request(url, {
        method: 'POST',
        agent: false,
        headers: { ...request.headers, 'content-length': String(request.body.byteLength) },
      });
      let settled = false;
      let responded = false;
      const settle = (answer: RawAnswer): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(answer);
      };
      const timer = setTimeout(() => {
        req.destroy();
        settle({ failure: `no answer within ${this.timeoutMs} ms` });
      }, this.timeoutMs);
      req.on('error', (error) => {
        // A server that answers before reading the whole upload (an oversize body) closes the connection; the
        // write then fails with EPIPE or ECONNRESET, possibly before the answer is parsed: give it a moment.
        if (responded) return;
        setTimeout(() => {
          if (!responded) settle({ failure: `request error: ${error.message}` });
        }, 1000);
      });
      req.on('response', (res) => {
        responded = true;
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', (error) => settle({ failure: `response error: ${error.message}` }));
        const done = (): void =>
          settle({
            status: res.statusCode ?? 0,
            headers: flatten(res.headers),
            trailers: flatten(res.trailers),
            body: Buffer.concat(chunks),
          });
        res.on('end', done);
        res.on('close', done);
      });
      if (request.abortAfterBytes !== undefined) {
        req.write(request.body.subarray(0, request.abortAfterBytes));
        setImmediate(() => {
          req.destroy();
          settle({ failure: 'aborted by the client' });
        });
        return;
      }
      req.end(request.body);
    });
  }
}

type RawAnswer =
  | { readonly failure: string }
  | {
      readonly status: number;
      readonly headers: Record<string, string>;
      readonly trailers: Record<string, string>;
      readonly body: Buffer;
    };

function flatten(headers: http.IncomingHttpHeaders | http2.IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers)) {
    if (value !== undefined) out[key] = Array.isArray(value) ? value.join(', ') : String(value);
  }
  return out;
}

function outcomeOf(protocol: WireProtocol, raw: RawAnswer): WireOutcome {
  if ('failure' in raw)
    return { code: `failure: ${raw.failure}`, httpStatus: 0, message: raw.failure, details: [] };
  if (protocol === 'connect-proto' || protocol === 'connect-json') return connectOutcome(raw);
  if (protocol === 'grpc') {
    const status = raw.trailers['grpc-status'] ?? raw.headers['grpc-status'];
    const message = raw.trailers['grpc-message'] ?? raw.headers['grpc-message'] ?? '';
    return grpcOutcome(raw.status, status, decodeURIComponent(message));
  }
  const trailer = grpcWebTrailer(raw.body);
  return grpcOutcome(
    raw.status,
    trailer['grpc-status'] ?? raw.headers['grpc-status'],
    decodeURIComponent(trailer['grpc-message'] ?? raw.headers['grpc-message'] ?? ''),
  );
}

function connectOutcome(raw: { status: number; headers: Record<string, string>; body: Buffer }): WireOutcome {
  if (raw.status === 200) return { code: 'ok', httpStatus: 200, message: '', details: [] };
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.body.toString('utf8'));
  } catch {
    return {
      code: `http-${raw.status}`,
      httpStatus: raw.status,
      message: raw.body.toString('utf8'),
      details: [],
    };
  }
  const error = parsed as { code?: unknown; message?: unknown; details?: unknown };
  if (typeof error.code !== 'string') {
    return {
      code: `http-${raw.status}`,
      httpStatus: raw.status,
      message: JSON.stringify(parsed),
      details: [],
    };
  }
  const details = Array.isArray(error.details)
    ? (error.details as { type?: unknown; value?: unknown }[]).map((d) => ({
        type: String(d.type),
        value: String(d.value),
      }))
    : [];
  return { code: error.code, httpStatus: raw.status, message: String(error.message ?? ''), details };
}

function grpcOutcome(httpStatus: number, status: string | undefined, message: string): WireOutcome {
  if (status === undefined) return { code: `http-${httpStatus}`, httpStatus, message, details: [] };
  const code = grpcCodes[Number(status)] ?? `grpc-${status}`;
  return { code, httpStatus, message, details: [] };
}

/** The trailer frame (flag 0x80) of a gRPC-Web body as header pairs. */
function grpcWebTrailer(body: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let offset = 0;
  while (offset + 5 <= body.byteLength) {
    const flags = body[offset]!;
    const length = body.readUInt32BE(offset + 1);
    const payload = body.subarray(offset + 5, offset + 5 + length);
    offset += 5 + length;
    if ((flags & 0x80) === 0) continue;
    for (const line of payload.toString('utf8').split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon > 0) out[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
  }
  return out;
}
