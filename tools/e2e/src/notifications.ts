// A NATS observer of Regent role-change notifications for tests and benchmarks: decodes every
// RoleChangeNotification on a subject (pattern) with its local receipt time, survives a nats-server restart, and can
// publish a hand-made notification (to check that brokers gate on the epoch).
import { create, fromBinary, type MessageInitShape, toBinary } from '@bufbuild/protobuf';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { type RoleChangeNotification, RoleChangeNotificationSchema } from '@regent/proto/notify';
import { waitFor } from '@regent/testing';

export interface ReceivedNotification {
  readonly subject: string;
  readonly notification: RoleChangeNotification;
  /** Local wall clock at receipt, unix ms (same clock as the other processes on this host). */
  readonly receivedAtMs: number;
  /** `performance.timeOrigin + performance.now()` at receipt: sub-millisecond, for latency maths. */
  readonly receivedAtPreciseMs: number;
}

/** Bound on the notifications kept: a test or a benchmark sees far fewer. */
const RECEIVED_MAX = 100_000;

export interface NotificationObserver {
  readonly received: readonly ReceivedNotification[];
  readonly nc: NatsConnection;
  /** Undecodable messages seen. */
  readonly invalid: number;
  /** Reconnects after a lost connection. */
  readonly reconnects: number;
  /** Waits for a notification after index `from` of `received` that satisfies `match`. */
  next(
    from: number,
    match: (n: RoleChangeNotification) => boolean,
    options?: { timeoutMs?: number; what?: string },
  ): Promise<ReceivedNotification>;
  /** Publishes a notification (as a pusher would) and flushes it to the server. */
  publish(subject: string, init: MessageInitShape<typeof RoleChangeNotificationSchema>): Promise<void>;
  /** Waits until the connection is back after a server restart and the subscription is live again. */
  resubscribed(reconnectsBefore: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** The subject a group's notifications go to (notification-push's default prefix). */
export function roleSubjectOf(cluster: string, group: string, prefix = 'regent'): string {
  return `${prefix}.${cluster}.${group}.role`;
}

/** Credentials of a NATS server started with --user/--pass or --auth. */
export interface NatsCredentials {
  readonly user?: string;
  readonly pass?: string;
  readonly token?: string;
}

export async function observeNotifications(
  url: string,
  subject = 'regent.>',
  credentials: NatsCredentials = {},
): Promise<NotificationObserver> {
  const nc = await connect({
    servers: url,
    ...credentials,
    reconnect: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 50,
    reconnectJitter: 0,
    name: 'regent-e2e-observer',
  });
  const received: ReceivedNotification[] = [];
  let invalid = 0;
  let reconnects = 0;
  void (async () => {
    for await (const status of nc.status()) if (status.type === 'reconnect') reconnects++;
  })();
  nc.subscribe(subject, {
    callback: (error, msg) => {
      const receivedAtPreciseMs = performance.timeOrigin + performance.now();
      if (error !== null) return;
      let notification: RoleChangeNotification;
      try {
        notification = fromBinary(RoleChangeNotificationSchema, msg.data);
      } catch {
        invalid++;
        return;
      }
      if (received.length >= RECEIVED_MAX) received.shift();
      received.push({ subject: msg.subject, notification, receivedAtMs: Date.now(), receivedAtPreciseMs });
    },
  });
  await nc.flush();
  return {
    received,
    nc,
    get invalid() {
      return invalid;
    },
    get reconnects() {
      return reconnects;
    },
    next: (from, match, options = {}) =>
      waitFor(() => received.slice(from).find((r) => match(r.notification)), {
        timeoutMs: options.timeoutMs ?? 20_000,
        intervalMs: 5,
        what: options.what ?? 'a matching notification',
      }),
    publish: async (to, init) => {
      const message = create(RoleChangeNotificationSchema, init);
      const h = headers();
      h.set('Content-Type', 'application/x-protobuf');
      h.set('Regent-Master-Epoch', String(message.masterEpoch));
      nc.publish(to, toBinary(RoleChangeNotificationSchema, message), { headers: h });
      await nc.flush();
    },
    resubscribed: async (reconnectsBefore, timeoutMs = 20_000) => {
      await waitFor(() => reconnects > reconnectsBefore, {
        timeoutMs,
        what: 'the NATS observer to reconnect',
      });
      // The SUB is re-sent on reconnect; a round trip after it proves the server has it.
      await nc.flush();
    },
    close: async () => {
      await nc.close();
    },
  };
}
