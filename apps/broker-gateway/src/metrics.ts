// The gateway's Prometheus metrics, registered once per registry.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface GatewayMetrics {
  /** Calls by `rpc` ("BrokerService/Heartbeat") and Connect `code` ("ok", "unavailable", …). */
  readonly requests: Counter<'rpc' | 'code'>;
  readonly requestSeconds: Histogram<'rpc'>;
  /** Heartbeats accepted into a batch (unary and stream). */
  readonly heartbeats: Counter;
  /** Heartbeat batch deliveries by consensus node address and result: ok, error, dropped. */
  readonly heartbeatBatches: Counter<'node' | 'result'>;
  /** Heartbeats (and stream suspicions) dropped because a node's queue was full. */
  readonly heartbeatDropped: Counter;
  /** Heartbeats of a full node queue replaced by a newer one of the same broker and stream (compaction). */
  readonly heartbeatSuperseded: Counter;
  /** Times the cached consensus leader changed to another node. */
  readonly leaderChanges: Counter;
  /** Open HeartbeatStream and WatchEvents streams. */
  readonly activeStreams: Gauge;
}

/** Calls take from well under a millisecond (a refused token) to the request timeout (seconds). */
const requestSecondsBuckets = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

export function registerGatewayMetrics(registry: Registry): GatewayMetrics {
  const registers = [registry];
  return {
    requests: new Counter({
      name: 'regent_gateway_requests_total',
      help: 'Calls served, by rpc and Connect code.',
      labelNames: ['rpc', 'code'],
      registers,
    }),
    requestSeconds: new Histogram({
      name: 'regent_gateway_request_seconds',
      help: 'Call duration in seconds (streams: until the stream ends), by rpc.',
      labelNames: ['rpc'],
      buckets: requestSecondsBuckets,
      registers,
    }),
    heartbeats: new Counter({
      name: 'regent_gateway_heartbeats_total',
      help: 'Broker heartbeats accepted into a batch.',
      registers,
    }),
    heartbeatBatches: new Counter({
      name: 'regent_gateway_heartbeat_batches_total',
      help: 'Heartbeat batch deliveries, by consensus node and result (ok, error, dropped).',
      labelNames: ['node', 'result'],
      registers,
    }),
    heartbeatDropped: new Counter({
      name: 'regent_gateway_heartbeat_dropped_total',
      help: "Heartbeats and stream suspicions dropped because a consensus node's queue was full.",
      registers,
    }),
    heartbeatSuperseded: new Counter({
      name: 'regent_gateway_heartbeat_superseded_total',
      help: "Heartbeats in a full consensus node's queue replaced by a newer one of the same broker and stream.",
      registers,
    }),
    leaderChanges: new Counter({
      name: 'regent_gateway_leader_changes_total',
      help: 'Times the cached consensus leader changed to another node.',
      registers,
    }),
    activeStreams: new Gauge({
      name: 'regent_gateway_active_streams',
      help: 'Open HeartbeatStream and WatchEvents streams.',
      registers,
    }),
  };
}
