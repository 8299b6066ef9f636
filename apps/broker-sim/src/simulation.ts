// The set of simulated brokers of this process and its control API (HTTP JSON on the service port):
//   GET  /brokers                                  every broker's id, group, role, epoch, fenced, offsets
//   POST /brokers/<group>/<id>/kill|pause|resume|restart
//   GET  /ha/<group>/<masterId>?slave=<id>&ack=<offset>   the simulated HA channel (see ha.ts)
// <id> is the broker id the controller assigned, or `r<replicaIndex>` (usable before registration).
import { join } from 'node:path';
import { connectBrokerService, createNatsConnector, type NatsConnector } from '@regent/broker-agent';
import type { HttpHandler } from '@regent/service-kit';
import type { Logger } from 'pino';
import { Gauge, type Registry } from 'prom-client';
import type { SimConfig } from './config.js';
import { createHaPeers, encodeHaReply } from './ha.js';
import { SimBroker } from './sim-broker.js';

export interface Simulation {
  readonly brokers: readonly SimBroker[];
  start(): Promise<void>;
  stop(): Promise<void>;
  readonly handler: HttpHandler;
  health(): Record<string, unknown>;
}

/** `address` is this process's "host:port" (the brokers register it; slaves fetch HA data from it). */
export function createSimulation(
  config: SimConfig,
  deps: { logger: Logger; metrics: Registry; address: string },
): Simulation {
  const brokers: SimBroker[] = [];
  const ha = createHaPeers(deps.address, (group, masterId, request) =>
    brokers.find((b) => b.spec.group === group && b.brokerId === masterId)?.serveHa(request),
  );
  const connectNats: NatsConnector | undefined =
    config.nats.length === 0
      ? undefined
      : createNatsConnector({
          servers: config.nats,
          user: config.natsUser || undefined,
          pass: config.natsPass || undefined,
          token: config.natsToken || undefined,
          name: 'broker-sim',
        });
  const brokerDeps = {
    config,
    logger: deps.logger,
    ha,
    connectGateway: () => connectBrokerService({ baseUrl: config.gateway, token: config.token }),
    connectNats,
  };
  for (const [group, replicaIndex] of layout(config)) {
    const zone = config.zones.length === 0 ? '' : config.zones[replicaIndex % config.zones.length]!;
    const dir = join(config.dataDir, config.cluster, group, `r${replicaIndex}`);
    brokers.push(new SimBroker({ group, replicaIndex, dir, address: deps.address, zone }, brokerDeps));
  }
  registerMetrics(deps.metrics, brokers);
  return {
    brokers,
    start: async () => {
      await Promise.all(brokers.map((b) => b.start()));
    },
    stop: async () => {
      await Promise.all(brokers.map((b) => b.stop()));
    },
    handler: (req, res) => route(brokers, req, res),
    health: () => ({
      brokers: brokers.length,
      running: brokers.filter((b) => b.state === 'running').length,
      masters: brokers.filter((b) => b.status()?.role === 'master' && !b.status()?.fenced).length,
    }),
  };
}

function layout(config: SimConfig): [string, number][] {
  if (config.single) return [[config.group, config.replicaIndex]];
  const out: [string, number][] = [];
  for (let g = 0; g < config.groups; g++) {
    for (let r = 0; r < config.replicas; r++) out.push([`${config.groupPrefix}${g}`, r]);
  }
  return out;
}

type Req = Parameters<HttpHandler>[0];
type Res = Parameters<HttpHandler>[1];

async function route(brokers: readonly SimBroker[], req: Req, res: Res): Promise<boolean> {
  const url = new URL(req.url ?? '/', 'http://sim');
  const parts = url.pathname
    .split('/')
    .filter((p) => p !== '')
    .map(decodeURIComponent);
  if (parts[0] === 'brokers' && parts.length === 1) {
    if (req.method !== 'GET') return send(res, 405, { error: 'use GET' });
    return send(res, 200, { brokers: brokers.map((b) => b.view()) });
  }
  if (parts[0] === 'brokers' && parts.length === 4) {
    if (req.method !== 'POST') return send(res, 405, { error: 'use POST' });
    const broker = findBroker(brokers, parts[1]!, parts[2]!);
    if (broker === undefined) return send(res, 404, { error: `no broker ${parts[1]}/${parts[2]}` });
    const action = parts[3];
    if (action === 'kill') broker.kill();
    else if (action === 'pause') broker.pause();
    else if (action === 'resume') broker.resume();
    else if (action === 'restart') await broker.restart();
    else return send(res, 404, { error: `unknown action ${action}` });
    return send(res, 200, broker.view());
  }
  if (parts[0] === 'ha' && parts.length === 3 && req.method === 'GET')
    return serveHa(brokers, parts, url, res);
  return false;
}

function serveHa(brokers: readonly SimBroker[], parts: string[], url: URL, res: Res): boolean {
  const slave = url.searchParams.get('slave') ?? '';
  const ack = url.searchParams.get('ack') ?? '';
  if (!/^\d+$/.test(parts[2]!) || !/^\d+$/.test(slave) || !/^-?\d+$/.test(ack)) {
    return send(res, 400, { error: 'bad HA request' });
  }
  const master = BigInt(parts[2]!);
  const reply = brokers
    .find((b) => b.spec.group === parts[1] && b.brokerId === master)
    ?.serveHa({ slaveBrokerId: BigInt(slave), ackOffset: BigInt(ack) });
  return reply === undefined
    ? send(res, 503, { error: 'not a running master here' })
    : send(res, 200, encodeHaReply(reply));
}

function findBroker(brokers: readonly SimBroker[], group: string, id: string): SimBroker | undefined {
  const byIndex = /^r(\d+)$/.exec(id);
  if (byIndex !== null)
    return brokers.find((b) => b.spec.group === group && b.spec.replicaIndex === Number(byIndex[1]));
  if (!/^\d+$/.test(id)) return undefined;
  return brokers.find((b) => b.spec.group === group && b.brokerId === BigInt(id));
}

function send(res: Res, status: number, body: unknown): true {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
  return true;
}

function registerMetrics(registry: Registry, brokers: readonly SimBroker[]): void {
  const labelNames = ['group', 'replica'] as const;
  const gauge = (name: string, help: string, read: (b: SimBroker) => number): void => {
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        for (const b of brokers)
          this.set({ group: b.spec.group, replica: String(b.spec.replicaIndex) }, read(b));
      },
    });
  };
  const roleCode = { unknown: 0, slave: 1, master: 2 } as const;
  gauge(
    'regent_broker_sim_role',
    'Role: 0 unknown, 1 slave, 2 master',
    (b) => roleCode[b.status()?.role ?? 'unknown'],
  );
  gauge('regent_broker_sim_fenced', '1 while the broker must not serve', (b) =>
    (b.status()?.fenced ?? true) ? 1 : 0,
  );
  gauge('regent_broker_sim_running', '1 while the broker runs (not killed, paused or stopped)', (b) =>
    b.state === 'running' ? 1 : 0,
  );
  gauge(
    'regent_broker_sim_master_epoch',
    'masterEpoch the broker holds',
    (b) => b.status()?.masterEpoch ?? 0,
  );
  gauge('regent_broker_sim_max_offset_bytes', 'Simulated commit-log max offset', (b) =>
    Number(b.view().maxOffset),
  );
  gauge('regent_broker_sim_confirm_offset_bytes', 'Simulated confirm offset', (b) =>
    Number(b.view().confirmOffset),
  );
  gauge(
    'regent_broker_sim_stale_news_ignored',
    'Role news ignored for a lower masterEpoch (total)',
    (b) => b.status()?.counters.staleIgnored ?? 0,
  );
  gauge(
    'regent_broker_sim_heartbeat_stream_breaks',
    'Heartbeat stream breaks (total)',
    (b) => b.status()?.heartbeat.streamBreakCount ?? 0,
  );
  gauge(
    'regent_broker_sim_role_changes',
    'Role changes applied (total)',
    (b) => b.status()?.counters.roleChanges ?? 0,
  );
}
