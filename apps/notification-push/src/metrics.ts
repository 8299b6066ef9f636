// The pusher's Prometheus metrics (registered on the registry the app serves at /metrics).
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface PushMetrics {
  readonly published: Counter<'reason'>;
  readonly publishFailures: Counter;
  readonly lastPublishedIndex: Gauge;
  readonly watchReconnects: Counter;
  readonly pending: Gauge;
  readonly commitToPublishSeconds: Histogram;
  readonly skipped: Counter<'cause'>;
  readonly watchPauses: Counter;
}

export function createPushMetrics(registry: Registry): PushMetrics {
  const registers = [registry];
  return {
    published: new Counter({
      name: 'regent_notify_published_total',
      help: 'Role-change notifications confirmed by NATS, by reason',
      labelNames: ['reason'],
      registers,
    }),
    publishFailures: new Counter({
      name: 'regent_notify_publish_failures_total',
      help: 'Publish attempts (batches) that NATS did not confirm; each is retried',
      registers,
    }),
    lastPublishedIndex: new Gauge({
      name: 'regent_notify_last_published_index',
      help: 'Raft index up to which every committed event was published or needed no notification',
      registers,
    }),
    watchReconnects: new Counter({
      name: 'regent_notify_watch_reconnects_total',
      help: 'Watch streams re-opened after a break, an end or a failed leader lookup',
      registers,
    }),
    pending: new Gauge({
      name: 'regent_notify_pending',
      help: 'Notifications read from the watch and not yet confirmed by NATS',
      registers,
    }),
    commitToPublishSeconds: new Histogram({
      name: 'regent_notify_commit_to_publish_seconds',
      help: 'From the election decision (or, when unknown, from receipt of the event) to the NATS confirmation',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    }),
    skipped: new Counter({
      name: 'regent_notify_skipped_total',
      help: 'Events that should notify but could not (inconsistent group state or a name invalid in a subject)',
      labelNames: ['cause'],
      registers,
    }),
    watchPauses: new Counter({
      name: 'regent_notify_watch_pauses_total',
      help: 'Times the watch was cancelled because the pending buffer was full (re-requested once it drained)',
      registers,
    }),
  };
}
