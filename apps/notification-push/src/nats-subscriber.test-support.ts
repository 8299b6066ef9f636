// A test subscriber on a real nats-server: collects every RoleChangeNotification with its subject and headers,
// and can wait until it is subscribed again after the server restarted.
import { fromBinary } from '@bufbuild/protobuf';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { type RoleChangeNotification, RoleChangeNotificationSchema } from '@regent/proto/notify';
import { waitFor } from '@regent/testing';

export interface Received {
  readonly subject: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly notification: RoleChangeNotification;
}

export interface TestSubscriber {
  readonly received: Received[];
  readonly nc: NatsConnection;
  /** Raft indexes received, in order. */
  indexes(): bigint[];
  /** Resolves once the subscription is live again on a restarted server. */
  resubscribed(): Promise<void>;
  close(): Promise<void>;
}

export async function subscribeNotifications(
  url: string,
  subject = 'regent.>',
  auth: { user?: string; pass?: string } = {},
): Promise<TestSubscriber> {
  const nc = await connect({
    servers: url,
    ...auth,
    reconnect: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 20,
    reconnectJitter: 0,
  });
  const received: Received[] = [];
  let reconnects = 0;
  void (async () => {
    for await (const status of nc.status()) if (status.type === 'reconnect') reconnects++;
  })();
  nc.subscribe(subject, {
    callback: (error, msg) => {
      if (error !== null) return;
      const headers: Record<string, string> = {};
      for (const [key, values] of msg.headers ?? []) headers[key] = values.join(',');
      received.push({
        subject: msg.subject,
        headers,
        notification: fromBinary(RoleChangeNotificationSchema, msg.data),
      });
    },
  });
  await nc.flush();
  let seenReconnects = 0;
  return {
    received,
    nc,
    indexes: () => received.map((r) => r.notification.raftIndex),
    resubscribed: async () => {
      await waitFor(() => reconnects > seenReconnects, { what: 'subscriber reconnected', timeoutMs: 15_000 });
      seenReconnects = reconnects;
      // The SUB is re-sent on reconnect; a round trip after it proves the server has it.
      await nc.flush();
    },
    close: async () => {
      await nc.close();
    },
  };
}
