// A fault-injecting TCP proxy on loopback (in the spirit of etcd's pkg/proxy): every link of the system under test
// (Raft peer i→j, client→consensus node, broker→gateway, consensus→policy) runs through one, and the nemesis sets
// its faults. Faults act on bytes of a TCP stream, so:
// - a partition (blackhole) drops the bytes of one or both directions while the connections stay open, as a real
//   partition stalls them; on heal, every connection that lost bytes is reset, because its byte stream has a hole;
// - "loss" is a connection reset (with a probability per forwarded chunk) or a stall (a short blackhole, then the
//   reset) — TCP never delivers a stream with a gap;
// - delay holds each chunk for a fixed time plus uniform jitter, keeping order within a direction;
// - duplication does not exist inside TCP; it is exercised at the RPC level (see README.md).
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { Rng } from './random.js';

/** `up` is client → target, `down` is target → client. */
export type Direction = 'up' | 'down';

export interface LinkFault {
  /** Drop the bytes of these directions. */
  readonly blackhole?: 'both' | Direction;
  /** Fixed delay of every chunk, ms. */
  readonly delayMs?: number;
  /** Extra uniform delay in [0, jitterMs], ms. */
  readonly jitterMs?: number;
  /** Probability that forwarding one chunk resets the connection instead. */
  readonly resetProbability?: number;
}

export interface ProxyStats {
  readonly connectionsAccepted: number;
  readonly connectionsOpen: number;
  readonly connectionsRefused: number;
  readonly bytesForwarded: number;
  readonly bytesDropped: number;
  readonly resets: number;
}

export interface FaultProxyOptions {
  readonly name: string;
  readonly targetPort: number;
  readonly rng: Rng;
  /** Most connections open at once; more are refused (closed at once). */
  readonly connectionsMax?: number;
  /** Most bytes held for delay per direction of one connection; beyond it the source is paused. */
  readonly heldBytesMax?: number;
}

interface Held {
  readonly releaseAtMs: number;
  readonly chunk: Buffer;
}

interface Pipe {
  readonly direction: Direction;
  readonly from: Socket;
  readonly to: Socket;
  readonly held: Held[];
  heldBytes: number;
  lastReleaseAtMs: number;
  timer: NodeJS.Timeout | undefined;
}

interface Connection {
  readonly client: Socket;
  readonly upstream: Socket;
  readonly pipes: readonly [Pipe, Pipe];
  /** True once a byte of this connection was dropped: its stream is broken and is reset on heal. */
  lostBytes: boolean;
  closed: boolean;
}

const CONNECTIONS_MAX = 256;
const HELD_BYTES_MAX = 8 * 1024 * 1024;

export class FaultProxy {
  readonly name: string;
  #fault: LinkFault = {};
  readonly #connections = new Set<Connection>();
  #accepted = 0;
  #refused = 0;
  #forwarded = 0;
  #dropped = 0;
  #resets = 0;
  #closed = false;

  private constructor(
    private readonly options: FaultProxyOptions,
    private readonly server: Server,
    readonly port: number,
  ) {
    this.name = options.name;
  }

  /** Listens on a free loopback port (or `port`) and forwards to 127.0.0.1:`targetPort`. */
  static async start(options: FaultProxyOptions, port = 0): Promise<FaultProxy> {
    let proxy: FaultProxy | undefined;
    const server = createServer({ noDelay: true }, (socket) => proxy?.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    proxy = new FaultProxy(options, server, (server.address() as { port: number }).port);
    return proxy;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  get fault(): LinkFault {
    return this.#fault;
  }

  /** Replaces the link's fault (an empty fault forwards everything at once). */
  setFault(fault: LinkFault): void {
    this.#fault = { ...fault };
  }

  /** Clears the fault and resets every connection whose stream lost bytes. */
  heal(): void {
    this.#fault = {};
    this.resetBroken();
  }

  /** Resets every connection whose stream lost bytes, unless a blackhole is still in effect. */
  resetBroken(): void {
    if (this.#fault.blackhole !== undefined) return;
    for (const c of [...this.#connections]) if (c.lostBytes) this.#reset(c);
  }

  /** Resets every open connection. */
  resetAll(): void {
    for (const c of [...this.#connections]) this.#reset(c);
  }

  stats(): ProxyStats {
    return {
      connectionsAccepted: this.#accepted,
      connectionsOpen: this.#connections.size,
      connectionsRefused: this.#refused,
      bytesForwarded: this.#forwarded,
      bytesDropped: this.#dropped,
      resets: this.#resets,
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const c of [...this.#connections]) this.#reset(c);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    if (this.#closed || this.#connections.size >= (this.options.connectionsMax ?? CONNECTIONS_MAX)) {
      this.#refused++;
      client.destroy();
      return;
    }
    this.#accepted++;
    const upstream = connect({ port: this.options.targetPort, host: '127.0.0.1', noDelay: true });
    const pipe = (direction: Direction, from: Socket, to: Socket): Pipe => ({
      direction,
      from,
      to,
      held: [],
      heldBytes: 0,
      lastReleaseAtMs: 0,
      timer: undefined,
    });
    const connection: Connection = {
      client,
      upstream,
      pipes: [pipe('up', client, upstream), pipe('down', upstream, client)],
      lostBytes: false,
      closed: false,
    };
    this.#connections.add(connection);
    for (const p of connection.pipes) {
      p.from.on('data', (chunk: Buffer) => this.#onData(connection, p, chunk));
      p.from.on('end', () => {
        if (p.held.length === 0) p.to.end();
      });
    }
    const close = (): void => this.#close(connection, false);
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
  }

  #blackholed(direction: Direction): boolean {
    const b = this.#fault.blackhole;
    return b === 'both' || b === direction;
  }

  #onData(c: Connection, p: Pipe, chunk: Buffer): void {
    if (c.closed) return;
    if (this.#blackholed(p.direction)) {
      this.#dropped += chunk.length;
      c.lostBytes = true;
      return;
    }
    const resetProbability = this.#fault.resetProbability ?? 0;
    if (resetProbability > 0 && this.options.rng.chance(resetProbability)) {
      this.#reset(c);
      return;
    }
    const delayMs = (this.#fault.delayMs ?? 0) + (this.#fault.jitterMs ?? 0) * this.options.rng.next();
    if (delayMs <= 0 && p.held.length === 0) {
      this.#write(c, p, chunk);
      return;
    }
    const releaseAtMs = Math.max(p.lastReleaseAtMs, Date.now() + delayMs);
    p.lastReleaseAtMs = releaseAtMs;
    p.held.push({ releaseAtMs, chunk });
    p.heldBytes += chunk.length;
    if (p.heldBytes > (this.options.heldBytesMax ?? HELD_BYTES_MAX)) p.from.pause();
    this.#schedule(c, p);
  }

  #schedule(c: Connection, p: Pipe): void {
    if (p.timer !== undefined || p.held.length === 0) return;
    const waitMs = Math.max(0, p.held[0]!.releaseAtMs - Date.now());
    p.timer = setTimeout(() => {
      p.timer = undefined;
      this.#release(c, p);
    }, waitMs);
  }

  #release(c: Connection, p: Pipe): void {
    const now = Date.now();
    while (!c.closed && p.held.length > 0 && p.held[0]!.releaseAtMs <= now) {
      const { chunk } = p.held.shift()!;
      p.heldBytes -= chunk.length;
      this.#write(c, p, chunk);
    }
    if (p.heldBytes <= (this.options.heldBytesMax ?? HELD_BYTES_MAX) && !c.closed) p.from.resume();
    if (p.held.length === 0 && p.from.readableEnded) p.to.end();
    this.#schedule(c, p);
  }

  #write(c: Connection, p: Pipe, chunk: Buffer): void {
    this.#forwarded += chunk.length;
    if (!p.to.write(chunk)) {
      p.from.pause();
      p.to.once('drain', () => {
        if (!c.closed && p.heldBytes <= (this.options.heldBytesMax ?? HELD_BYTES_MAX)) p.from.resume();
      });
    }
  }

  #reset(c: Connection): void {
    if (c.closed) return;
    this.#resets++;
    this.#close(c, true);
  }

  #close(c: Connection, reset: boolean): void {
    if (c.closed) return;
    c.closed = true;
    this.#connections.delete(c);
    for (const p of c.pipes) {
      clearTimeout(p.timer);
      p.held.length = 0;
      p.heldBytes = 0;
    }
    for (const socket of [c.client, c.upstream]) {
      if (reset && typeof socket.resetAndDestroy === 'function' && socket.readyState === 'open') {
        socket.resetAndDestroy();
      } else socket.destroy();
    }
  }
}
