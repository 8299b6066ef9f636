// The bus adapter: one NATS connection, kept up forever (the client reconnects by itself; when it gives up,
// e.g. after repeated authorization errors, a new connection is made). A publish is confirmed by a flush round
// trip, so "published" means the server has the messages.
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { type OutgoingMessage, type Publisher, PublishUnavailableError } from '../ports.js';
import { Backoff, type BackoffOptions, sleep } from '../timing.js';

export interface NatsPublisherOptions {
  /** Server URLs, e.g. "nats://127.0.0.1:4222". */
  readonly servers: readonly string[];
  readonly user?: string;
  readonly pass?: string;
  readonly token?: string;
  readonly logger: Logger;
  /** Client name shown by the server's monitoring. */
  readonly name?: string;
  /** Bound on one publish round trip, ms; default 2000. */
  readonly publishTimeoutMs?: number;
  /** Bound on one connection handshake, ms; default 2000. */
  readonly connectTimeoutMs?: number;
  /** Between connection attempts; default 100 ms doubling to 2 s. */
  readonly reconnectBackoff?: BackoffOptions;
}

export interface NatsPublisher extends Publisher {
  /** Closes the connection and stops reconnecting (idempotent). */
  close(): Promise<void>;
}

const CLOSE_TIMEOUT_MS = 2_000;

export function createNatsPublisher(options: NatsPublisherOptions): NatsPublisher {
  return new NatsBus(options);
}

class NatsBus implements NatsPublisher {
  readonly #options: NatsPublisherOptions;
  readonly #log: Logger;
  readonly #closing = new AbortController();
  readonly #publishTimeoutMs: number;
  readonly #backoff: BackoffOptions;
  readonly #reconnectDelay: ReconnectDelay;
  #nc: NatsConnection | undefined;
  #connected = false;
  #lastFailure: string | undefined;
  #loop: Promise<void>;

  constructor(options: NatsPublisherOptions) {
    this.#options = options;
    this.#log = options.logger;
    this.#publishTimeoutMs = options.publishTimeoutMs ?? 2_000;
    this.#backoff = options.reconnectBackoff ?? { initialMs: 100, maxMs: 2_000 };
    this.#reconnectDelay = new ReconnectDelay(this.#backoff);
    this.#loop = this.#connectLoop();
  }

  connected(): boolean {
    return this.#connected && this.#nc !== undefined && !this.#nc.isClosed();
  }

  async publish(messages: readonly OutgoingMessage[]): Promise<void> {
    const nc = this.#nc;
    // Never hand messages to the client's reconnect buffer: an unconfirmed publish is retried by the caller.
    if (nc === undefined || !this.connected()) throw new PublishUnavailableError('not connected to NATS');
    try {
      for (const message of messages) {
        const h = headers();
        for (const [key, value] of Object.entries(message.headers)) h.set(key, value);
        nc.publish(message.subject, message.payload, { headers: h });
      }
    } catch (error) {
      throw new PublishUnavailableError(`NATS refused a publish: ${(error as Error).message}`, {
        cause: error,
      });
    }
    await confirm(nc, this.#publishTimeoutMs);
  }

  close(): Promise<void> {
    if (!this.#closing.signal.aborted) {
      this.#closing.abort();
      const nc = this.#nc;
      const connecting = this.#loop;
      this.#loop = (async () => {
        if (nc !== undefined) await Promise.race([nc.close(), sleep(CLOSE_TIMEOUT_MS)]);
        await connecting;
      })();
    }
    return this.#loop;
  }

  async #connectLoop(): Promise<void> {
    const stop = this.#closing.signal;
    const backoff = new Backoff(this.#backoff);
    while (!stop.aborted) {
      let nc: NatsConnection;
      try {
        nc = await connect(this.#connectOptions());
      } catch (error) {
        this.#failed(error);
        await sleep(backoff.next(), stop);
        continue;
      }
      backoff.reset();
      if (stop.aborted) {
        await nc.close();
        return;
      }
      await this.#run(nc);
    }
  }

  /** Serves one connection until it closes for good. */
  async #run(nc: NatsConnection): Promise<void> {
    this.#nc = nc;
    this.#connected = true;
    this.#lastFailure = undefined;
    this.#log.info({ server: nc.getServer() }, 'connected to NATS');
    void this.#watchStatus(nc);
    const error = await nc.closed();
    this.#connected = false;
    this.#nc = undefined;
    if (this.#closing.signal.aborted) return;
    this.#failed(error ?? new Error('connection closed'));
    await sleep(this.#backoff.initialMs, this.#closing.signal);
  }

  async #watchStatus(nc: NatsConnection): Promise<void> {
    for await (const status of nc.status()) {
      switch (status.type) {
        case 'disconnect':
          this.#connected = false;
          this.#log.warn({ server: status.server }, 'disconnected from NATS; reconnecting');
          break;
        case 'reconnect':
          this.#connected = true;
          this.#reconnectDelay.reset();
          this.#log.info({ server: status.server }, 'reconnected to NATS');
          break;
        case 'reconnecting':
          this.#reconnectDelay.grow();
          break;
        case 'error':
          this.#log.error({ err: status.error }, 'NATS error');
          break;
        default:
          break;
      }
    }
  }

  #connectOptions(): Parameters<typeof connect>[0] {
    const o = this.#options;
    return {
      servers: [...o.servers],
      name: o.name ?? 'regent-notification-push',
      ...(o.user !== undefined ? { user: o.user, pass: o.pass ?? '' } : {}),
      ...(o.token !== undefined ? { token: o.token } : {}),
      reconnect: true,
      maxReconnectAttempts: -1,
      reconnectDelayHandler: () => this.#reconnectDelay.current(),
      timeout: o.connectTimeoutMs ?? 2_000,
      // A silent server is noticed within ~30 s (the default, 2 min x 2, is too slow for a control plane).
      pingInterval: 10_000,
      maxPingOut: 3,
    };
  }

  /** Logs a connection failure at error level once per distinct cause (then debug, to keep logs bounded). */
  #failed(error: unknown): void {
    const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    const servers = this.#options.servers;
    if (text !== this.#lastFailure)
      this.#log.error({ err: error, servers }, 'cannot connect to NATS; retrying');
    else this.#log.debug({ err: error, servers }, 'cannot connect to NATS; retrying');
    this.#lastFailure = text;
  }
}

/** The client's own reconnect delay: doubles per dial attempt up to the bound, reset on success. */
class ReconnectDelay {
  #delayMs: number;

  constructor(readonly bounds: BackoffOptions) {
    this.#delayMs = bounds.initialMs;
  }

  current(): number {
    return this.#delayMs;
  }

  grow(): void {
    this.#delayMs = Math.min(this.bounds.maxMs, this.#delayMs * 2);
  }

  reset(): void {
    this.#delayMs = this.bounds.initialMs;
  }
}

/** Resolves once the server answered a PING sent after the messages (so it has them all). */
async function confirm(nc: NatsConnection, timeoutMs: number): Promise<void> {
  const flushed = nc.flush();
  // A flush abandoned by the timeout may still reject later (on disconnect); it must not go unhandled.
  flushed.catch(() => {});
  const controller = new AbortController();
  const timedOut = sleep(timeoutMs, controller.signal).then(() => 'timeout' as const);
  try {
    const result = await Promise.race([flushed.then(() => 'ok' as const), timedOut]);
    if (result === 'timeout')
      throw new PublishUnavailableError(`NATS did not confirm within ${timeoutMs} ms`);
  } catch (error) {
    if (error instanceof PublishUnavailableError) throw error;
    throw new PublishUnavailableError(`NATS did not confirm: ${(error as Error).message}`, { cause: error });
  } finally {
    controller.abort();
  }
}
