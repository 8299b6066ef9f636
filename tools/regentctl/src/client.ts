// The AdminService client: Connect protocol (binary) over HTTP/1.1 to one gateway, with the admin bearer token on
// every call. The gateway finds the Raft leader and retries on it, so the CLI talks to any gateway.
import { type Client, createClient, type Interceptor } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-node';
import { AdminService } from '@regent/proto/admin';

export type AdminClient = Client<typeof AdminService>;

/** The largest reply we read: the audit trail or a resync of many groups can be a few MiB. */
export const READ_BYTES_MAX = 32 * 1024 * 1024;
/** The largest request we send; the biggest is a config update of at most 64 keys. */
export const WRITE_BYTES_MAX = 1024 * 1024;

export interface AdminClientOptions {
  /** Base URL, e.g. "http://127.0.0.1:7200". */
  readonly baseUrl: string;
  /** The admin token; sent as `authorization: Bearer <token>` when set. */
  readonly token?: string;
}

export function createAdminClient(options: AdminClientOptions): AdminClient {
  const interceptors: Interceptor[] = [];
  const token = options.token;
  if (token !== undefined && token !== '') {
    interceptors.push((next) => (req) => {
      req.header.set('authorization', `Bearer ${token}`);
      return next(req);
    });
  }
  const transport = createConnectTransport({
    baseUrl: options.baseUrl,
    httpVersion: '1.1',
    // A fresh connection per call: a CLI makes a handful of calls, and a pooled socket that the gateway closed
    // meanwhile (a restart during `watch`) would fail the next call with EPIPE instead of reconnecting.
    nodeOptions: { agent: false },
    useBinaryFormat: true,
    interceptors,
    readMaxBytes: READ_BYTES_MAX,
    writeMaxBytes: WRITE_BYTES_MAX,
  });
  return createClient(AdminService, transport);
}
