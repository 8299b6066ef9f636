// Clients of a ProcessCluster: a ClusterClient that follows NOT_LEADER hints and retries retriable failures, and a
// SessionWriter that gives each put the next sequence number of its client session.

import { readControllerError } from '@regent/proto';
import { ControllerCondition } from '@regent/proto/common';
import type { GetResponse, PutResponse } from '@regent/proto/consensus';
import type { ProcessCluster } from './process-cluster.js';
import { CALL_TIMEOUT_MS, isRetriable, OPERATION_DEADLINE_MS, RETRY_PAUSE_MS } from './retry.js';

/** Sends one Put to node `node` (throws ConnectError-compatible errors). */
export type PutCall = (
  node: number,
  request: { key: string; value: Uint8Array; clientId: string; sequence: bigint },
) => Promise<PutResponse>;

/** Counts of what a ClusterClient saw while retrying. */
export interface ClientStats {
  notLeader: number;
  unavailable: number;
  other: number;
}

/**
 * Sends KV calls to the leader it believes in; on NOT_LEADER it moves to the hinted leader, on a dead or slow node
 * to the next one. Retries for at most OPERATION_DEADLINE_MS per operation, then throws the last error.
 */
export class ClusterClient {
  readonly stats: ClientStats = { notLeader: 0, unavailable: 0, other: 0 };
  #target: number | undefined;
  #rotation = 0;

  readonly #putCall: PutCall;

  /** `options.put` replaces how a Put reaches a node (e.g. a leaner HTTP/2 client in benchmarks). */
  constructor(
    private readonly cluster: ProcessCluster,
    options: { put?: PutCall } = {},
  ) {
    this.#putCall =
      options.put ?? ((node, request) => cluster.kv(node).put(request, { timeoutMs: CALL_TIMEOUT_MS }));
  }

  /** The node the next call goes to first. */
  get target(): number | undefined {
    return this.#target;
  }

  async put(
    key: string,
    value: Uint8Array,
    session?: { clientId: string; sequence: bigint },
  ): Promise<PutResponse> {
    const request = { key, value, clientId: session?.clientId ?? '', sequence: session?.sequence ?? 0n };
    return this.#call((node) => this.#putCall(node, request));
  }

  async get(key: string): Promise<GetResponse> {
    return this.#call((node) => this.cluster.kv(node).get({ key }, { timeoutMs: CALL_TIMEOUT_MS }));
  }

  async #call<T>(call: (node: number) => Promise<T>): Promise<T> {
    const deadline = Date.now() + OPERATION_DEADLINE_MS;
    for (;;) {
      const target = this.#pick();
      try {
        return await call(target);
      } catch (error) {
        if (!isRetriable(error) || Date.now() > deadline) throw error;
        this.#onFailure(error);
      }
      await new Promise((r) => setTimeout(r, RETRY_PAUSE_MS));
    }
  }

  #pick(): number {
    if (this.#target !== undefined && this.cluster.node(this.#target).process !== undefined)
      return this.#target;
    const running = this.cluster.runningIds();
    if (running.length === 0) throw new Error('no node is running');
    this.#target = running[this.#rotation++ % running.length]!;
    return this.#target;
  }

  #onFailure(error: unknown): void {
    const detail = readControllerError(error);
    if (detail?.condition === ControllerCondition.NOT_LEADER) {
      this.stats.notLeader++;
      const hinted = detail.leader === undefined ? 0 : Number(detail.leader.nodeId);
      // No hint: ask another node. A hint at the node that refused is a leader whose first entry has not
      // committed yet: ask it again.
      this.#target = hinted !== 0 ? hinted : undefined;
      return;
    }
    if (detail === undefined) this.stats.unavailable++;
    else this.stats.other++;
    if (detail === undefined || detail.condition !== ControllerCondition.OVERLOADED) this.#target = undefined;
  }
}

/** A client session: each put gets the next sequence number and is retried with it until acknowledged. */
export class SessionWriter {
  #sequence = 0n;

  constructor(
    private readonly client: ClusterClient,
    readonly clientId: string,
  ) {}

  async put(key: string, value: Uint8Array): Promise<PutResponse> {
    this.#sequence++;
    return this.client.put(key, value, { clientId: this.clientId, sequence: this.#sequence });
  }
}
