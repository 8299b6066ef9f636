// Role-change notifications over NATS: connects (retrying with backoff until the agent ends), subscribes to the
// group's role subject, turns each valid notification into a `ReplicaInfo`, and tracks the connection's state.
import { fromBinary } from '@bufbuild/protobuf';
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { type RoleChangeNotification, RoleChangeNotificationSchema } from '@regent/proto/notify';
import { roleSubject } from './adapters.js';
import type { AgentCounters } from './agent-api.js';
import { createBackoff } from './backoff.js';
import { type Clock, type Random, sleep } from './clock.js';
import type { Settings } from './config.js';
import type { AgentLogger, NatsConnector } from './ports.js';
import { type ReplicaInfo, replicaInfoOf } from './role.js';

/** Bound on a graceful NATS drain at stop; a disconnected client is closed instead. */
const NATS_DRAIN_MAX_MS = 1000;

/** Connect attempts back off like registration attempts. */
export type RoleNotificationsSettings = Pick<
  Settings,
  'subjectPrefix' | 'clusterName' | 'brokerName' | 'registerRetryMinMs' | 'registerRetryMaxMs'
>;

export interface RoleNotificationsDeps {
  /** Undefined: no notifications, `run()` returns at once. */
  readonly connect: NatsConnector | undefined;
  readonly clock: Clock;
  readonly random: Random;
  readonly logger: AgentLogger;
  readonly counters: Pick<AgentCounters, 'notificationsReceived' | 'notificationsInvalid' | 'natsReconnects'>;
  /** Resolves when the agent ends: cuts a backoff sleep short. */
  readonly stopSignal: Promise<void>;
  readonly terminated: () => boolean;
  /** A notification for this group; not called once the agent ended. */
  readonly onInfo: (info: ReplicaInfo) => void;
  /** After a reconnect, while the agent runs. */
  readonly onReconnect: () => void;
}

export class RoleNotifications {
  private nc: NatsConnection | undefined;
  private subscription: Subscription | undefined;
  private isConnected = false;

  constructor(
    private readonly s: RoleNotificationsSettings,
    private readonly deps: RoleNotificationsDeps,
  ) {}

  get connected(): boolean {
    return this.isConnected;
  }

  /** Connects, subscribes, then follows the connection's status until it closes. */
  async run(): Promise<void> {
    const connector = this.deps.connect;
    if (connector === undefined) return;
    const backoff = createBackoff(
      { minMs: this.s.registerRetryMinMs, maxMs: this.s.registerRetryMaxMs },
      this.deps.random,
    );
    let nc: NatsConnection | undefined;
    while (nc === undefined && !this.deps.terminated()) {
      try {
        nc = await connector();
      } catch (error) {
        this.deps.logger.warn({ err: error }, 'NATS connect failed; retrying');
        await sleep(this.deps.clock, backoff.next(), this.deps.stopSignal);
      }
    }
    if (nc === undefined) return;
    if (this.deps.terminated()) {
      await nc.close().catch(() => {});
      return;
    }
    this.nc = nc;
    this.isConnected = true;
    const subject = roleSubject(this.s.subjectPrefix, this.s.clusterName, this.s.brokerName);
    this.subscription = nc.subscribe(subject, {
      callback: (error, msg) => {
        this.onMessage(error, msg);
      },
    });
    for await (const status of nc.status()) {
      if (status.type === 'disconnect') this.isConnected = false;
      if (status.type === 'reconnect') {
        this.isConnected = true;
        this.deps.counters.natsReconnects++;
        // Notifications sent while disconnected are lost: ask now instead of at the next period.
        if (!this.deps.terminated()) this.deps.onReconnect();
      }
    }
  }

  unsubscribe(): void {
    this.subscription?.unsubscribe();
  }

  /** Hands the connection over to be drained (`drainOrClose`); undefined when none is open. */
  detach(): NatsConnection | undefined {
    const nc = this.nc;
    this.nc = undefined;
    return nc;
  }

  /** Closes the connection at once, without a drain (abort, a fatal failure). */
  close(): void {
    void this.nc?.close().catch(() => {});
    this.nc = undefined;
  }

  private onMessage(error: Error | null, msg: Msg): void {
    if (error !== null || this.deps.terminated()) return;
    this.deps.counters.notificationsReceived++;
    let n: RoleChangeNotification;
    try {
      n = fromBinary(RoleChangeNotificationSchema, msg.data);
    } catch {
      this.deps.counters.notificationsInvalid++;
      return;
    }
    if (n.clusterName !== this.s.clusterName || n.brokerName !== this.s.brokerName) {
      this.deps.counters.notificationsInvalid++;
      return;
    }
    this.deps.onInfo(replicaInfoOf(n, n.masterBrokerId));
  }
}

/** Drains the connection (flushes, unsubscribes) but does not wait on a disconnected one. */
export async function drainOrClose(nc: NatsConnection, clock: Clock): Promise<void> {
  if (nc.isClosed()) return;
  try {
    await Promise.race([nc.drain(), sleep(clock, NATS_DRAIN_MAX_MS)]);
  } catch {
    // already closing
  }
  if (!nc.isClosed()) await nc.close().catch(() => {});
}
