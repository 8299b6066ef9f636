// A real Regent system for end-to-end tests: consensus nodes, gateways, the election-policy service and
// notification-push as child processes on free loopback ports, each with its own data folder.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Client, createClient, type Interceptor } from '@connectrpc/connect';
import { createConnectTransport, createGrpcTransport } from '@connectrpc/connect-node';
import { AdminService } from '@regent/proto/admin';
import { BrokerService } from '@regent/proto/broker';
import { ConsensusService } from '@regent/proto/consensus';
import { freePort, type ManagedProcess, spawnTs, waitFor, waitForHttpOk } from '@regent/testing';
import { BrokerSim, type BrokerSimOptions } from './broker-sim.js';

export const ADMIN_TOKEN = 'e2e-admin';
export const BROKER_TOKEN = 'e2e-broker';
export const CLUSTER = 'e2e';

export interface SystemOptions {
  readonly consensusNodes?: number;
  readonly gateways?: number;
  readonly policy?: boolean;
  /** Start notification-push against this NATS URL (broker-sim processes subscribe to it too). */
  readonly natsUrl?: string;
  readonly consensusArgs?: readonly string[];
  readonly brokerTokens?: string;
  /** Extra gateway flags (e.g. `--max-in-flight 8`). */
  readonly gatewayArgs?: readonly string[];
  /** Extra notification-push flags (e.g. `--nats-user u --nats-pass p`). */
  readonly pushArgs?: readonly string[];
  /** Node.js flags for the consensus node processes (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`). */
  readonly consensusNodeOptions?: readonly string[];
  /** Node.js flags for the gateway processes. */
  readonly gatewayNodeOptions?: readonly string[];
}

interface Node {
  readonly id: number;
  readonly port: number;
  readonly dataDir: string;
  proc: ManagedProcess;
}

export class System {
  readonly root: string;
  readonly nodes: Node[] = [];
  readonly gateways: { port: number; proc: ManagedProcess }[] = [];
  policy: { port: number; proc: ManagedProcess } | undefined;
  push: { port: number; proc: ManagedProcess; dataDir: string } | undefined;
  readonly brokerSims: BrokerSim[] = [];
  #peers = '';
  #brokerSimsStarted = 0;

  private constructor(private readonly options: SystemOptions) {
    this.root = mkdtempSync(join(tmpdir(), 'regent-e2e-'));
  }

  static async start(options: SystemOptions = {}): Promise<System> {
    const system = new System(options);
    try {
      await system.#start();
    } catch (error) {
      await system.stop();
      throw error;
    }
    return system;
  }

  get consensusAddresses(): string[] {
    return this.nodes.map((n) => `127.0.0.1:${n.port}`);
  }

  async #start(): Promise<void> {
    const o = this.options;
    if (o.policy) {
      const port = await freePort();
      this.policy = {
        port,
        proc: spawnTs('policy', 'apps/election-policy/src/main.ts', ['--port', String(port)]),
      };
    }
    const count = o.consensusNodes ?? 3;
    for (let id = 1; id <= count; id++) {
      this.nodes.push({
        id,
        port: await freePort(),
        dataDir: join(this.root, `consensus-${id}`),
        proc: undefined as never,
      });
    }
    this.#peers = this.nodes.map((n) => `${n.id}=127.0.0.1:${n.port}`).join(',');
    for (const node of this.nodes) node.proc = this.#spawnNode(node);
    for (let i = 0; i < (o.gateways ?? 1); i++) {
      const port = await freePort();
      const proc = spawnTs(
        `gateway-${i}`,
        'apps/broker-gateway/src/main.ts',
        [
          '--port',
          String(port),
          '--consensus',
          this.consensusAddresses.join(','),
          '--admin-tokens',
          ADMIN_TOKEN,
          '--broker-tokens',
          o.brokerTokens ?? `${CLUSTER}=${BROKER_TOKEN}`,
          ...(o.gatewayArgs ?? []),
        ],
        { nodeOptions: o.gatewayNodeOptions },
      );
      this.gateways.push({ port, proc });
    }
    if (o.natsUrl !== undefined) {
      const port = await freePort();
      const dataDir = join(this.root, 'push');
      this.push = { port, proc: this.#spawnPush(port, dataDir, o.natsUrl), dataDir };
    }
    const urls = [
      ...this.nodes.map((n) => `http://127.0.0.1:${n.port}/healthz`),
      ...this.gateways.map((g) => `http://127.0.0.1:${g.port}/healthz`),
      ...(this.policy ? [`http://127.0.0.1:${this.policy.port}/healthz`] : []),
      ...(this.push ? [`http://127.0.0.1:${this.push.port}/healthz`] : []),
    ];
    await Promise.all(urls.map((u) => waitForHttpOk(u, 60_000)));
    await this.waitForLeader();
    await Promise.all(this.gateways.map((g) => waitForHttpOk(`http://127.0.0.1:${g.port}/readyz`, 30_000)));
  }

  #spawnPush(port: number, dataDir: string, natsUrl: string): ManagedProcess {
    return spawnTs('push', 'apps/notification-push/src/main.ts', [
      '--port',
      String(port),
      '--consensus',
      this.consensusAddresses.join(','),
      '--nats',
      natsUrl,
      '--data-dir',
      dataDir,
      ...(this.options.pushArgs ?? []),
    ]);
  }

  /** Stops notification-push gracefully (it saves its position). */
  async stopPush(): Promise<void> {
    await this.push?.proc.stop(3000);
  }

  /** Starts notification-push again on the same port and data dir; resolves when it is healthy. */
  async startPush(): Promise<void> {
    const push = this.push;
    if (push === undefined || this.options.natsUrl === undefined)
      throw new Error('the system runs no notification-push');
    await push.proc.stop(3000);
    push.proc = this.#spawnPush(push.port, push.dataDir, this.options.natsUrl);
    await waitForHttpOk(`http://127.0.0.1:${push.port}/healthz`, 60_000);
  }

  /** Waits until notification-push reports ready (watching the leader and connected to NATS). */
  async waitPushReady(timeoutMs = 30_000): Promise<void> {
    const push = this.push;
    if (push === undefined) throw new Error('the system runs no notification-push');
    await waitForHttpOk(`http://127.0.0.1:${push.port}/readyz`, timeoutMs);
  }

  gatewayUrl(gateway = 0): string {
    return `http://127.0.0.1:${this.gateways[gateway]!.port}`;
  }

  /**
   * Starts a broker-sim process against a gateway of this system, in the cluster CLUSTER, with the broker token,
   * its own data dir under this system's root and, unless `nats` says otherwise, subscribed to the system's NATS.
   * Stopped with the system.
   */
  async startBrokerSim(
    options: Omit<BrokerSimOptions, 'gateway' | 'token' | 'cluster' | 'dataDir'> & {
      readonly gateway?: number;
    },
  ): Promise<BrokerSim> {
    const dataDir = join(this.root, 'brokers', String(++this.#brokerSimsStarted));
    const sim = await BrokerSim.start({
      ...options,
      gateway: this.gatewayUrl(options.gateway ?? 0),
      token: BROKER_TOKEN,
      cluster: CLUSTER,
      dataDir,
      nats: options.nats ?? (this.options.natsUrl === undefined ? [] : [this.options.natsUrl]),
    });
    this.brokerSims.push(sim);
    return sim;
  }

  #spawnNode(node: Node): ManagedProcess {
    const args = [
      '--node-id',
      String(node.id),
      '--peers',
      this.#peers,
      '--port',
      String(node.port),
      '--data-dir',
      node.dataDir,
      ...(this.policy ? ['--policy-address', `127.0.0.1:${this.policy.port}`] : []),
      ...(this.options.consensusArgs ?? []),
    ];
    return spawnTs(`consensus-${node.id}`, 'apps/consensus/src/main.ts', args, {
      nodeOptions: this.options.consensusNodeOptions,
    });
  }

  consensusClient(nodeId: number): Client<typeof ConsensusService> {
    const node = this.nodes.find((n) => n.id === nodeId)!;
    return createClient(
      ConsensusService,
      createConnectTransport({ baseUrl: `http://127.0.0.1:${node.port}`, httpVersion: '2' }),
    );
  }

  /** Waits until some live node reports a leader that is serving; returns its id. */
  async waitForLeader(timeoutMs = 20_000, exclude?: number): Promise<number> {
    return waitFor(
      async () => {
        for (const node of this.nodes) {
          if (node.id === exclude || node.proc.child.exitCode !== null || node.proc.child.signalCode !== null)
            continue;
          try {
            const s = await this.consensusClient(node.id).status({}, { timeoutMs: 500 });
            const leader = Number(s.metadata?.leaderId ?? 0n);
            if (leader !== 0 && leader !== exclude) return leader;
          } catch {
            // node down or starting
          }
        }
        return 0;
      },
      { timeoutMs, what: 'a consensus leader' },
    );
  }

  brokerClient(
    gateway = 0,
    token = BROKER_TOKEN,
    protocol: 'connect' | 'grpc' = 'connect',
  ): Client<typeof BrokerService> {
    return createClient(BrokerService, this.#transport(gateway, token, protocol));
  }

  adminClient(gateway = 0, token = ADMIN_TOKEN): Client<typeof AdminService> {
    return createClient(AdminService, this.#transport(gateway, token, 'connect'));
  }

  #transport(gateway: number, token: string, protocol: 'connect' | 'grpc') {
    const auth: Interceptor = (next) => (req) => {
      if (token !== '') req.header.set('authorization', `Bearer ${token}`);
      return next(req);
    };
    const baseUrl = `http://127.0.0.1:${this.gateways[gateway]!.port}`;
    return protocol === 'grpc'
      ? createGrpcTransport({ baseUrl, interceptors: [auth] })
      : createConnectTransport({ baseUrl, httpVersion: '2', interceptors: [auth] });
  }

  async killNode(id: number): Promise<void> {
    await this.nodes.find((n) => n.id === id)!.proc.kill();
  }

  async restartNode(id: number): Promise<void> {
    const node = this.nodes.find((n) => n.id === id)!;
    await node.proc.kill();
    node.proc = this.#spawnNode(node);
    await waitForHttpOk(`http://127.0.0.1:${node.port}/healthz`, 60_000);
  }

  async stop(): Promise<void> {
    await Promise.all(this.brokerSims.map((s) => s.stop()));
    const all = [
      ...this.gateways.map((g) => g.proc),
      ...(this.push ? [this.push.proc] : []),
      ...this.nodes.map((n) => n.proc).filter(Boolean),
      ...(this.policy ? [this.policy.proc] : []),
    ];
    await Promise.all(all.map((p) => p.stop(3000)));
    rmSync(this.root, { recursive: true, force: true });
  }

  /** Every process's recent output, for failure messages. */
  logs(): string {
    const all = [
      ...this.nodes.map((n) => n.proc),
      ...this.gateways.map((g) => g.proc),
      ...(this.policy ? [this.policy.proc] : []),
      ...(this.push ? [this.push.proc] : []),
      ...this.brokerSims.map((s) => s.proc),
    ];
    return all.map((p) => `--- ${p.name}\n${p.output().slice(-3000)}`).join('\n');
  }
}
