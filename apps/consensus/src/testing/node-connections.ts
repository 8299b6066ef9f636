// The harness's connections to the nodes: one HTTP/2 session per node, shared by the KvService and
// ConsensusService clients over it; dropped with the clients when the node stops.
import { type Client, createClient } from '@connectrpc/connect';
import { createConnectTransport, Http2SessionManager } from '@connectrpc/connect-node';
import { ConsensusService, KvService } from '@regent/proto/consensus';

export class NodeConnections {
  /** host:port of node `id` (throws for an unknown node). */
  readonly #address: (id: number) => string;
  readonly #sessions = new Map<number, Http2SessionManager>();
  /** Clients per node over its session; dropped with the session when the node stops. */
  readonly #kvClients = new Map<number, Client<typeof KvService>>();
  readonly #consensusClients = new Map<number, Client<typeof ConsensusService>>();

  constructor(address: (id: number) => string) {
    this.#address = address;
  }

  /** Closes node `id`'s session and forgets its clients. */
  drop(id: number): void {
    this.#sessions.get(id)?.abort();
    this.#sessions.delete(id);
    this.#kvClients.delete(id);
    this.#consensusClients.delete(id);
  }

  /** Closes every session. */
  dropAll(): void {
    for (const id of [...this.#sessions.keys()]) this.drop(id);
  }

  #session(id: number): Http2SessionManager {
    let session = this.#sessions.get(id);
    if (session === undefined) {
      session = new Http2SessionManager(`http://${this.#address(id)}`, {
        pingIntervalMs: 1_000,
        pingTimeoutMs: 2_000,
      });
      this.#sessions.set(id, session);
    }
    return session;
  }

  #transport(id: number): ReturnType<typeof createConnectTransport> {
    return createConnectTransport({
      baseUrl: `http://${this.#address(id)}`,
      httpVersion: '2',
      useBinaryFormat: true,
      sessionManager: this.#session(id),
      readMaxBytes: 16 * 1024 * 1024,
      writeMaxBytes: 16 * 1024 * 1024,
    });
  }

  kv(id: number): Client<typeof KvService> {
    let client = this.#kvClients.get(id);
    if (client === undefined) {
      client = createClient(KvService, this.#transport(id));
      this.#kvClients.set(id, client);
    }
    return client;
  }

  consensus(id: number): Client<typeof ConsensusService> {
    let client = this.#consensusClients.get(id);
    if (client === undefined) {
      client = createClient(ConsensusService, this.#transport(id));
      this.#consensusClients.set(id, client);
    }
    return client;
  }
}
