// Controller metrics: at least what RocketMQ's controller exports (role is in raft-node.ts; active brokers per
// group, request totals and latency by type and status, election totals by result) plus heartbeat counters.
import type { LivenessTable } from '@regent/controller';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface ControllerMetrics {
  readonly requests: Counter<'type' | 'status'>;
  readonly requestSeconds: Histogram<'type'>;
  readonly elections: Counter<'trigger' | 'result'>;
  readonly heartbeats: Counter<'result'>;
  readonly suspicions: Counter<'outcome'>;
  readonly scans: Counter;
}

export function createControllerMetrics(
  registry: Registry,
  liveness: () => LivenessTable,
): ControllerMetrics {
  const activeBrokers = new Gauge({
    name: 'regent_controller_active_brokers',
    help: 'Live brokers per cluster and group in this node’s liveness table (RocketMQ active_broker_num)',
    labelNames: ['cluster', 'group'],
    registers: [registry],
    collect() {
      activeBrokers.reset();
      const view = liveness().view(Date.now());
      const counts = new Map<string, { cluster: string; group: string; n: number }>();
      for (const r of view.list()) {
        const key = `${r.clusterName}/${r.brokerName}`;
        const entry = counts.get(key) ?? { cluster: r.clusterName, group: r.brokerName, n: 0 };
        if (view.isAlive(r.clusterName, r.brokerName, r.brokerId)) entry.n++;
        counts.set(key, entry);
      }
      for (const c of counts.values()) activeBrokers.set({ cluster: c.cluster, group: c.group }, c.n);
    },
  });
  return {
    requests: new Counter({
      name: 'regent_controller_requests_total',
      help: 'Controller requests by type and status (ok or the condition name)',
      labelNames: ['type', 'status'],
      registers: [registry],
    }),
    requestSeconds: new Histogram({
      name: 'regent_controller_request_seconds',
      help: 'Controller request latency on the leader by type',
      labelNames: ['type'],
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    elections: new Counter({
      name: 'regent_controller_elections_total',
      help: 'Elections by trigger and result (elected, electMaster = kept or refused, error, stale, *_fallback)',
      labelNames: ['trigger', 'result'],
      registers: [registry],
    }),
    heartbeats: new Counter({
      name: 'regent_controller_heartbeats_total',
      help: 'Broker heartbeats received from gateways by result',
      labelNames: ['result'],
      registers: [registry],
    }),
    suspicions: new Counter({
      name: 'regent_controller_stream_suspicions_total',
      help: 'Heartbeat-stream break reports by outcome (applied marks the broker dead at once)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    scans: new Counter({
      name: 'regent_controller_scans_total',
      help: 'Leader liveness scans run',
      registers: [registry],
    }),
  };
}
