// The watch source over Connect: finds the consensus leader with Status (asking the last known leader first,
// following a follower's hint once) and streams ConsensusService.Watch from it. HTTP/2 PINGs on the open
// stream notice a silent leader; every break ends the stream and the pusher re-requests from its position.
import { type Client, createClient } from '@connectrpc/connect';
import { createConnectTransport, Http2SessionManager } from '@connectrpc/connect-node';
import { ConsensusService, type StatusResponse, type WatchResponse } from '@regent/proto/consensus';
import type { Logger } from 'pino';
import { NoLeaderError, type WatchOptions, type WatchSource } from '../ports.js';

export interface ConsensusWatchSourceOptions {
  /** Consensus nodes, "host:port" each. */
  readonly nodes: readonly string[];
  readonly logger: Logger;
  /** Bound on one Status call, ms; default 1000. */
  readonly statusTimeoutMs?: number;
  /** Largest Watch message, bytes; default 64 MiB (a Resync carries every group). */
  readonly readMaxBytes?: number;
  /** HTTP/2 PING interval on an open stream, ms; default 5000 (a dead leader is noticed within ~2x this). */
  readonly pingIntervalMs?: number;
}

export interface ConsensusWatchSource extends WatchSource {
  /** Closes every connection (open streams end with an error). */
  close(): void;
}

interface Endpoint {
  readonly client: Client<typeof ConsensusService>;
  readonly sessions: Http2SessionManager;
}

/** Most remembered node connections (the configured nodes plus leaders named by hints). */
const ENDPOINTS_MAX = 32;

export function createConsensusWatchSource(options: ConsensusWatchSourceOptions): ConsensusWatchSource {
  return new ConsensusWatch(options);
}

class ConsensusWatch implements ConsensusWatchSource {
  readonly #options: ConsensusWatchSourceOptions;
  readonly #endpoints = new Map<string, Endpoint>();
  #leader: string | undefined;

  constructor(options: ConsensusWatchSourceOptions) {
    if (options.nodes.length === 0) throw new Error('at least one consensus node is required');
    this.#options = options;
  }

  watch(fromIndex: bigint, options: WatchOptions): AsyncIterable<WatchResponse> {
    return this.#watch(fromIndex, options);
  }

  close(): void {
    for (const endpoint of this.#endpoints.values()) endpoint.sessions.abort();
    this.#endpoints.clear();
  }

  async *#watch(fromIndex: bigint, options: WatchOptions): AsyncGenerator<WatchResponse> {
    const leader = await this.#findLeader(options.signal);
    const stream = this.#endpoint(leader).client.watch({ fromIndex }, { signal: options.signal });
    options.onOpen?.(leader);
    yield* stream;
  }

  async #findLeader(signal: AbortSignal): Promise<string> {
    const last = this.#leader;
    const order =
      last === undefined ? this.#options.nodes : [last, ...this.#options.nodes.filter((n) => n !== last)];
    const problems: string[] = [];
    for (const address of order) {
      const answer = await this.#status(address, signal);
      if (typeof answer === 'string') {
        problems.push(`${address}: ${answer}`);
        continue;
      }
      if (isLeader(answer)) return this.#remember(address);
      const hint = answer.metadata?.leaderAddress ?? '';
      if (hint === '' || hint === address) {
        problems.push(`${address}: knows no leader`);
        continue;
      }
      // Follow the hint once, and only to a node that confirms it leads (a follower's view may be stale).
      const confirmed = await this.#status(hint, signal);
      if (typeof confirmed !== 'string' && isLeader(confirmed)) return this.#remember(hint);
      problems.push(`${address}: hinted leader ${hint} did not confirm`);
    }
    throw new NoLeaderError(`no consensus leader found (${problems.join('; ')})`);
  }

  /** The node's status, or why it could not be had. */
  async #status(address: string, signal: AbortSignal): Promise<StatusResponse | string> {
    try {
      const timeoutMs = this.#options.statusTimeoutMs ?? 1_000;
      return await this.#endpoint(address).client.status({}, { signal, timeoutMs });
    } catch (error) {
      return error instanceof Error ? error.message : String(error);
    }
  }

  #remember(address: string): string {
    if (address !== this.#leader) this.#options.logger.info({ leader: address }, 'consensus leader found');
    this.#leader = address;
    return address;
  }

  #endpoint(address: string): Endpoint {
    const known = this.#endpoints.get(address);
    if (known !== undefined) return known;
    const baseUrl = `http://${address}`;
    const sessions = new Http2SessionManager(baseUrl, {
      pingIntervalMs: this.#options.pingIntervalMs ?? 5_000,
      pingTimeoutMs: this.#options.pingIntervalMs ?? 5_000,
      idleConnectionTimeoutMs: 60_000,
    });
    const transport = createConnectTransport({
      baseUrl,
      httpVersion: '2',
      sessionManager: sessions,
      readMaxBytes: this.#options.readMaxBytes ?? 64 * 1024 * 1024,
      writeMaxBytes: 1024 * 1024,
    });
    const endpoint = { client: createClient(ConsensusService, transport), sessions };
    this.#endpoints.set(address, endpoint);
    this.#evict();
    return endpoint;
  }

  #evict(): void {
    for (const [address, endpoint] of this.#endpoints) {
      if (this.#endpoints.size <= ENDPOINTS_MAX) return;
      if (address === this.#leader || this.#options.nodes.includes(address)) continue;
      endpoint.sessions.abort();
      this.#endpoints.delete(address);
    }
  }
}

function isLeader(response: StatusResponse): boolean {
  return response.metadata?.isLeader === true || response.status?.role === 'leader';
}
