// Structured JSON logs (pino) and a Prometheus registry with process, event-loop and app metrics.
import { randomUUID } from 'node:crypto';
import { type Logger, pino } from 'pino';
import { collectDefaultMetrics, Registry } from 'prom-client';

export function createLogger(app: string, level: string = process.env.REGENT_LOG_LEVEL ?? 'info'): Logger {
  return pino({ name: app, level, base: { app, pid: process.pid } });
}

/** A registry with Node's default metrics (incl. event-loop delay histograms) labelled with the app name. */
export function createMetricsRegistry(app: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ app });
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 10 });
  return registry;
}

/** The header carrying a request id from gateway to consensus and into every log line about the request. */
export const REQUEST_ID_HEADER = 'regent-request-id';

export function newRequestId(): string {
  return randomUUID();
}
