// One TCP port serving HTTP/1.1 and h2c (prior knowledge) side by side: Connect, gRPC, gRPC-Web and JSON RPCs, plus
// /healthz, /readyz and /metrics. The first bytes of a connection decide: the HTTP/2 preface starts with "PRI".
import * as http from 'node:http';
import * as http2 from 'node:http2';
import * as net from 'node:net';
import type { ConnectRouter, Interceptor } from '@connectrpc/connect';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';

type AnyRequest = http.IncomingMessage | http2.Http2ServerRequest;
type AnyResponse = http.ServerResponse | http2.Http2ServerResponse;

/** Extra HTTP handler tried before RPC routing; returns true when it answered. */
export type HttpHandler = (req: AnyRequest, res: AnyResponse) => boolean | Promise<boolean>;

export interface ServerOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly logger: Logger;
  readonly metrics: Registry;
  readonly routes?: (router: ConnectRouter) => void;
  readonly interceptors?: Interceptor[];
  /** Liveness: the process works. */
  readonly health?: () => Record<string, unknown>;
  /** Readiness: the process can serve its purpose (e.g. knows a leader). */
  readonly ready?: () => { ready: boolean; detail?: Record<string, unknown> };
  readonly handlers?: readonly HttpHandler[];
  /** Connect read/write limits per message (bytes). */
  readonly readMaxBytes?: number;
  readonly writeMaxBytes?: number;
}

export interface RunningServer {
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

const MESSAGE_BYTES_MAX = 4 * 1024 * 1024;

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const rpc = connectNodeAdapter({
    routes: options.routes ?? (() => {}),
    interceptors: options.interceptors,
    readMaxBytes: options.readMaxBytes ?? MESSAGE_BYTES_MAX,
    writeMaxBytes: options.writeMaxBytes ?? MESSAGE_BYTES_MAX,
  });
  const handler = (req: AnyRequest, res: AnyResponse): void => {
    void route(options, rpc, req, res).catch((error: unknown) => {
      options.logger.error({ err: error, url: req.url }, 'http handler failed');
      if (!res.headersSent) {
        res.statusCode = 500;
        res.end();
      }
    });
  };
  const h1 = http.createServer(handler as http.RequestListener);
  h1.keepAliveTimeout = 65_000;
  const h2 = http2.createServer({ maxSessionMemory: 64 }, handler as never);
  const sockets = new Set<net.Socket>();
  const sessions = new Set<http2.Http2Session>();
  h2.on('session', (session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
  });
  const tcp = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    // Until HTTP/1.1 or HTTP/2 owns the socket nothing else listens for its errors, and an unhandled 'error'
    // (a peer's reset before its first byte) would end the process.
    socket.on('error', () => socket.destroy());
    socket.setNoDelay(true);
    socket.once('readable', () => {
      const head: Buffer | null = socket.read();
      if (head === null) {
        socket.destroy();
        return;
      }
      socket.unshift(head);
      (head.subarray(0, 3).toString('latin1') === 'PRI' ? h2 : h1).emit('connection', socket);
    });
  });
  await new Promise<void>((resolve, reject) => {
    tcp.once('error', reject);
    tcp.listen(options.port, options.host, () => resolve());
  });
  const address = tcp.address() as net.AddressInfo;
  let closed: Promise<void> | undefined;
  return {
    port: address.port,
    url: `http://${options.host}:${address.port}`,
    close: () => {
      closed ??= (async () => {
        const done = new Promise<void>((resolve) => tcp.close(() => resolve()));
        for (const session of sessions) session.close();
        h1.closeIdleConnections();
        await Promise.race([done, delay(300)]);
        for (const socket of sockets) socket.destroy();
        h1.close();
        h2.close();
        await done;
      })();
      return closed;
    },
  };
}

async function route(
  options: ServerOptions,
  rpc: (req: AnyRequest, res: AnyResponse) => void,
  req: AnyRequest,
  res: AnyResponse,
): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (req.method === 'GET' && path === '/healthz') {
    return json(res, 200, { status: 'ok', ...(options.health?.() ?? {}) });
  }
  if (req.method === 'GET' && path === '/readyz') {
    const r = options.ready?.() ?? { ready: true };
    return json(res, r.ready ? 200 : 503, { ready: r.ready, ...(r.detail ?? {}) });
  }
  if (req.method === 'GET' && path === '/metrics') {
    const body = await options.metrics.metrics();
    res.writeHead(200, { 'content-type': options.metrics.contentType });
    res.end(body);
    return;
  }
  for (const h of options.handlers ?? []) {
    if (await h(req, res)) return;
  }
  rpc(req, res);
}

function json(res: AnyResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
