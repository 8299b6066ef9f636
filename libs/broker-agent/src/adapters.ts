// Production adapters for the agent's ports: a Connect client of the gateway over its own HTTP/2 connection, and a
// NATS connection that retries forever. Each broker gets its own connection, so `abort()` closes exactly its TCP
// connection (the gateway then sees its heartbeat stream break, as after a crash).
import type { Interceptor } from '@connectrpc/connect';
import { createClient } from '@connectrpc/connect';
import { createConnectTransport, Http2SessionManager } from '@connectrpc/connect-node';
import { connect } from '@nats-io/transport-node';
import { BrokerService } from '@regent/proto/broker';
import type { BrokerServiceClient, NatsConnector } from './ports.js';

/** Connect message limit in both directions; every BrokerService message is far smaller. */
const MESSAGE_BYTES_MAX = 4 * 1024 * 1024;

export interface BrokerServiceConnectionOptions {
  /** The gateway, e.g. "http://127.0.0.1:7000" (h2c). */
  readonly baseUrl: string;
  /** Sent as `authorization: Bearer <token>` when set. */
  readonly token?: string;
}

export interface BrokerServiceConnection {
  readonly client: BrokerServiceClient;
  /** Closes the HTTP/2 connection and every call on it at once. A later call opens a new connection. */
  abort(): void;
}

export function connectBrokerService(options: BrokerServiceConnectionOptions): BrokerServiceConnection {
  const sessionManager = new Http2SessionManager(options.baseUrl, {
    // Detect a dead gateway connection within a few seconds even when no stream is open.
    pingIntervalMs: 5_000,
    pingTimeoutMs: 2_000,
  });
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
    httpVersion: '2',
    sessionManager,
    interceptors,
    readMaxBytes: MESSAGE_BYTES_MAX,
    writeMaxBytes: MESSAGE_BYTES_MAX,
  });
  return { client: createClient(BrokerService, transport), abort: () => sessionManager.abort() };
}

export interface NatsConnectorOptions {
  readonly servers: string | readonly string[];
  readonly user?: string;
  readonly pass?: string;
  readonly token?: string;
  /** Client name shown by the server's monitoring. */
  readonly name?: string;
  /** Wait between reconnect attempts; default 250 ms (notifications matter only while fresh). */
  readonly reconnectTimeWaitMs?: number;
}

/** A connector that retries the first connect and every reconnect forever (polling covers the gaps). */
export function createNatsConnector(options: NatsConnectorOptions): NatsConnector {
  return () =>
    connect({
      servers: typeof options.servers === 'string' ? options.servers : [...options.servers],
      user: options.user,
      pass: options.pass,
      token: options.token,
      name: options.name,
      reconnect: true,
      maxReconnectAttempts: -1,
      waitOnFirstConnect: true,
      reconnectTimeWait: options.reconnectTimeWaitMs ?? 250,
      reconnectJitter: 50,
      pingInterval: 10_000,
      maxPingOut: 3,
    });
}

/** The NATS subject of a group's role changes: `<prefix>.<cluster>.<brokerName>.role`. */
export function roleSubject(prefix: string, clusterName: string, brokerName: string): string {
  return `${prefix}.${clusterName}.${brokerName}.role`;
}
