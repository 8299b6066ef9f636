// The system under test as real processes on loopback — a private nats-server, the election-policy service,
// three consensus nodes, two broker gateways and notification-push — with every network link through a
// FaultProxy:
// - Raft i→j: node i dials peer j through its own proxy (`--peer-overrides j=<proxy i→j>`), so each direction of
//   each peer pair can be cut on its own (node i's messages to j travel on i's connection);
// - clients→node j: node j's replicated (advertised) address is its client proxy, so gateways and the pusher reach
//   it through that proxy, also after following NOT_LEADER hints and learned peer lists;
// - consensus→policy: one proxy named by every node's --policy-address;
// - broker→gateway: one proxy per (broker, gateway), created by the workload.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Client, createClient, type Interceptor } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-node';
import { AdminService } from '@regent/proto/admin';
import { BrokerService } from '@regent/proto/broker';
import { ConsensusService } from '@regent/proto/consensus';
import {
  freePort,
  type ManagedProcess,
  type NatsServer,
  spawnTs,
  startNatsServer,
  waitFor,
  waitForHttpOk,
} from '@regent/testing';
import { FaultProxy } from './proxy.js';
import type { Rng } from './random.js';

export const CLUSTER = 'chaos';
export const ADMIN_TOKEN = 'chaos-admin';
export const BROKER_TOKEN = 'chaos-broker';

/** Bytes a chaos client accepts or sends in one message. */
const MESSAGE_BYTES_MAX = 4 * 1024 * 1024;

/**
 * The end of a crashed process's output without its structured (JSON) log lines, cut to the first lines of what
 * it printed last (usually the uncaught error and its stack).
 */
export function crashSummary(output: string, linesMax = 40): string {
  const lines = output.split('\n');
  let start = lines.length;
  while (start > 0 && !lines[start - 1]!.startsWith('{"level"')) start--;
  return lines
    .slice(start, start + linesMax)
    .join('\n')
    .slice(0, 6000);
}

/** A process of the system that the nemesis may kill, pause and restart. */
export class Service {
  #proc: ManagedProcess | undefined;
  #state: 'running' | 'killed' | 'paused' | 'stopped' = 'stopped';
  /** Exits nobody asked for (a crash of the process itself), with the tail of its output. */
  readonly crashes: { readonly atMs: number; readonly code: number | string; readonly output: string }[] = [];

  constructor(
    readonly name: string,
    private readonly spawnProcess: () => ManagedProcess,
    readonly healthUrl: string,
    private readonly nowMs: () => number,
  ) {}

  get state(): string {
    return this.#state;
  }

  get process(): ManagedProcess | undefined {
    return this.#proc;
  }

  start(): void {
    const proc = this.spawnProcess();
    this.#proc = proc;
    this.#state = 'running';
    void proc.exited.then((code) => {
      if (this.#proc === proc && (this.#state === 'running' || this.#state === 'paused')) {
        this.crashes.push({ atMs: this.nowMs(), code, output: crashSummary(proc.output()) });
        this.#state = 'killed';
      }
    });
  }

  /** kill -9 (also of a paused process). */
  async kill(): Promise<void> {
    if (this.#state !== 'running' && this.#state !== 'paused') return;
    this.#state = 'killed';
    await this.#proc?.kill();
  }

  pause(): void {
    if (this.#state !== 'running') return;
    this.#proc?.pause();
    this.#state = 'paused';
  }

  resume(): void {
    if (this.#state !== 'paused') return;
    this.#proc?.resume();
    this.#state = 'running';
  }

  /** Starts a killed (or crashed) process again with the same flags and data. */
  restart(): void {
    if (this.#state === 'killed') this.start();
  }

  /** Resumes or restarts, whichever applies. */
  heal(): void {
    this.resume();
    this.restart();
  }

  async stop(): Promise<void> {
    const proc = this.#proc;
    this.#state = 'stopped';
    await proc?.stop(3000);
  }

  async waitHealthy(timeoutMs: number): Promise<void> {
    await waitForHttpOk(this.healthUrl, timeoutMs);
  }
}

export interface ConsensusNode {
  readonly id: number;
  readonly port: number;
  readonly dataDir: string;
  /** The node's sync ledger (--chaos-sync-ledger): what of `dataDir` is durable, for the disk-loss fault. */
  readonly syncLedgerPath: string;
  /** The address clients (gateways, pusher) use: this node's client proxy. */
  readonly clientProxy: FaultProxy;
  readonly service: Service;
}

export interface ChaosClusterOptions {
  readonly rng: Rng;
  readonly nowMs: () => number;
  readonly log: (message: string) => void;
  readonly consensusNodes?: number;
  readonly gateways?: number;
  /** Extra flags for every consensus node. */
  readonly consensusArgs?: readonly string[];
}

export class ChaosCluster {
  readonly root: string;
  nats: NatsServer | undefined;
  policy: Service | undefined;
  policyLink: FaultProxy | undefined;
  readonly nodes: ConsensusNode[] = [];
  /** `${from}->${to}` → the proxy node `from` dials node `to` through. */
  readonly raftLinks = new Map<string, FaultProxy>();
  readonly gateways: { readonly index: number; readonly port: number; readonly service: Service }[] = [];
  push: Service | undefined;
  readonly #brokerLinks = new Map<string, FaultProxy>();

  private constructor(private readonly options: ChaosClusterOptions) {
    this.root = mkdtempSync(join(tmpdir(), 'regent-chaos-'));
  }

  static async start(options: ChaosClusterOptions): Promise<ChaosCluster> {
    const cluster = new ChaosCluster(options);
    try {
      await cluster.#start();
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  /** Every process the nemesis may hit. */
  services(): Service[] {
    return [
      ...this.nodes.map((n) => n.service),
      ...this.gateways.map((g) => g.service),
      ...(this.policy ? [this.policy] : []),
      ...(this.push ? [this.push] : []),
    ];
  }

  /** Every proxy (including the brokers' ones created so far). */
  proxies(): FaultProxy[] {
    return [
      ...this.raftLinks.values(),
      ...this.nodes.map((n) => n.clientProxy),
      ...(this.policyLink ? [this.policyLink] : []),
      ...this.#brokerLinks.values(),
    ];
  }

  async #start(): Promise<void> {
    const { rng, log, nowMs } = this.options;
    const nodeCount = this.options.consensusNodes ?? 3;
    this.nats = await startNatsServer();
    log(`nats ${this.nats.url}`);
    const policyPort = await freePort();
    this.policy = new Service(
      'policy',
      () => spawnTs('policy', 'apps/election-policy/src/main.ts', ['--port', String(policyPort)]),
      `http://127.0.0.1:${policyPort}/healthz`,
      nowMs,
    );
    this.policyLink = await FaultProxy.start({
      name: 'consensus→policy',
      targetPort: policyPort,
      rng: rng.fork('policy'),
    });
    const ports = new Map<number, number>();
    for (let id = 1; id <= nodeCount; id++) ports.set(id, await freePort());
    const clientProxies = new Map<number, FaultProxy>();
    for (const [id, port] of ports) {
      clientProxies.set(
        id,
        await FaultProxy.start({
          name: `clients→consensus-${id}`,
          targetPort: port,
          rng: rng.fork(`client-${id}`),
        }),
      );
      for (const [from] of ports) {
        if (from === id) continue;
        const link = await FaultProxy.start({
          name: `raft ${from}→${id}`,
          targetPort: port,
          rng: rng.fork(`raft-${from}-${id}`),
        });
        this.raftLinks.set(`${from}->${id}`, link);
      }
    }
    const peers = [...ports.keys()].map((id) => `${id}=${clientProxies.get(id)!.address}`).join(',');
    for (const [id, port] of ports) {
      const dataDir = join(this.root, `consensus-${id}`);
      const syncLedgerPath = join(this.root, `consensus-${id}.sync-ledger`);
      const overrides = [...ports.keys()]
        .filter((other) => other !== id)
        .map((other) => `${other}=${this.raftLinks.get(`${id}->${other}`)!.address}`)
        .join(',');
      const args = [
        '--node-id',
        String(id),
        '--peers',
        peers,
        '--peer-overrides',
        overrides,
        '--advertise',
        clientProxies.get(id)!.address,
        '--port',
        String(port),
        '--data-dir',
        dataDir,
        '--policy-address',
        this.policyLink.address,
        '--chaos-sync-ledger',
        syncLedgerPath,
        ...(this.options.consensusArgs ?? []),
      ];
      const service = new Service(
        `consensus-${id}`,
        () => spawnTs(`consensus-${id}`, 'apps/consensus/src/main.ts', args),
        `http://127.0.0.1:${port}/healthz`,
        nowMs,
      );
      this.nodes.push({ id, port, dataDir, syncLedgerPath, clientProxy: clientProxies.get(id)!, service });
    }
    const consensusList = this.nodes.map((n) => n.clientProxy.address).join(',');
    for (let index = 0; index < (this.options.gateways ?? 2); index++) {
      const port = await freePort();
      const args = [
        '--port',
        String(port),
        '--consensus',
        consensusList,
        '--gateway-id',
        `chaos-gw-${index}`,
        '--admin-tokens',
        ADMIN_TOKEN,
        '--broker-tokens',
        `${CLUSTER}=${BROKER_TOKEN}`,
      ];
      const service = new Service(
        `gateway-${index}`,
        () => spawnTs(`gateway-${index}`, 'apps/broker-gateway/src/main.ts', args),
        `http://127.0.0.1:${port}/healthz`,
        nowMs,
      );
      this.gateways.push({ index, port, service });
    }
    const pushPort = await freePort();
    const pushArgs = [
      '--port',
      String(pushPort),
      '--consensus',
      consensusList,
      '--nats',
      this.nats.url,
      '--data-dir',
      join(this.root, 'push'),
    ];
    this.push = new Service(
      'push',
      () => spawnTs('push', 'apps/notification-push/src/main.ts', pushArgs),
      `http://127.0.0.1:${pushPort}/healthz`,
      nowMs,
    );
    for (const service of this.services()) service.start();
    await Promise.all(this.services().map((s) => s.waitHealthy(120_000)));
    log('every process is healthy');
    await this.waitForLeader(60_000);
    await Promise.all(this.gateways.map((g) => waitForHttpOk(`http://127.0.0.1:${g.port}/readyz`, 60_000)));
    log('a consensus leader is serving and both gateways are ready');
  }

  /** The id of a leader some live node reports. */
  async waitForLeader(timeoutMs: number): Promise<number> {
    return waitFor(
      async () => {
        for (const node of this.nodes) {
          if (node.service.state !== 'running') continue;
          try {
            const client = createClient(
              ConsensusService,
              createConnectTransport({ baseUrl: `http://127.0.0.1:${node.port}`, httpVersion: '1.1' }),
            );
            const status = await client.status({}, { timeoutMs: 1000 });
            const leader = Number(status.metadata?.leaderId ?? 0n);
            if (leader !== 0) return leader;
          } catch {
            // down or starting
          }
        }
        return 0;
      },
      { timeoutMs, intervalMs: 200, what: 'a consensus leader' },
    );
  }

  /** The proxy broker `broker` reaches gateway `gateway` through (created on first use). */
  async brokerLink(broker: string, gateway: number): Promise<FaultProxy> {
    const key = `${broker}->${gateway}`;
    let link = this.#brokerLinks.get(key);
    if (link === undefined) {
      link = await FaultProxy.start({
        name: `${broker}→gateway-${gateway}`,
        targetPort: this.gateways[gateway]!.port,
        rng: this.options.rng.fork(`broker-${key}`),
      });
      this.#brokerLinks.set(key, link);
    }
    return link;
  }

  brokerLinksOf(broker: string): FaultProxy[] {
    return this.gateways.flatMap((g) => {
      const link = this.#brokerLinks.get(`${broker}->${g.index}`);
      return link === undefined ? [] : [link];
    });
  }

  /** A BrokerService client through `link` (a broker's proxy) or straight to a gateway. */
  brokerClient(target: FaultProxy | number, token = BROKER_TOKEN): Client<typeof BrokerService> {
    return createClient(BrokerService, this.#transport(target, token));
  }

  adminClient(gateway: number): Client<typeof AdminService> {
    return createClient(AdminService, this.#transport(gateway, ADMIN_TOKEN));
  }

  #transport(target: FaultProxy | number, token: string) {
    const auth: Interceptor = (next) => (req) => {
      req.header.set('authorization', `Bearer ${token}`);
      return next(req);
    };
    const port = typeof target === 'number' ? this.gateways[target]!.port : target.port;
    return createConnectTransport({
      baseUrl: `http://127.0.0.1:${port}`,
      httpVersion: '1.1',
      interceptors: [auth],
      readMaxBytes: MESSAGE_BYTES_MAX,
      writeMaxBytes: MESSAGE_BYTES_MAX,
    });
  }

  /** Heals every link, resumes paused and restarts killed processes. */
  healAll(): void {
    for (const proxy of this.proxies()) proxy.heal();
    for (const service of this.services()) service.heal();
  }

  async stop(): Promise<void> {
    await Promise.all(this.services().map((s) => s.stop()));
    await Promise.all(this.proxies().map((p) => p.close()));
    await this.nats?.stop();
    rmSync(this.root, { recursive: true, force: true });
  }

  /** Recent output of every process, for failure reports. */
  logs(charsPerProcess = 3000): string {
    return this.services()
      .map((s) => `--- ${s.name} (${s.state})\n${s.process?.output().slice(-charsPerProcess) ?? ''}`)
      .join('\n');
  }
}
