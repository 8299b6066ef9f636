// The agent's ports: everything it does to the outside world goes through one of these interfaces, and tests
// inject fakes through the same ones.
import type { Client } from '@connectrpc/connect';
import type { NatsConnection } from '@nats-io/transport-node';
import type { BrokerService } from '@regent/proto/broker';

/** A Connect client of the gateway's BrokerService (see `connectBrokerService` for the HTTP/2 adapter). */
export type BrokerServiceClient = Client<typeof BrokerService>;

/** Opens the NATS connection the agent subscribes on (see `createNatsConnector`). Called once per `start()`. */
export type NatsConnector = () => Promise<NatsConnection>;

/**
 * What the agent reads from the broker's store for every heartbeat. The embedding broker owns the commit log and
 * the epoch cache; the agent only reports them.
 */
export interface StoreView {
  /** The commit log's max physical offset; -1n when unknown. */
  maxOffset(): bigint;
  /** The confirm offset (what the SyncStateSet acknowledged); -1n when unknown. */
  confirmOffset(): bigint;
  /** The newest epoch in the local epoch cache; -1 when the cache is empty. */
  lastEpoch(): number;
}

/** The subset of a pino logger the agent uses. */
export interface AgentLogger {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export const silentLogger: AgentLogger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
};
