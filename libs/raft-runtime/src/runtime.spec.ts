// Three RaftRuntimes in one process over real sockets (Connect over HTTP/2) and real files: replication,
// linearizable reads, and a new leader after the old one stops.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bootstrapSnapshot, type Entry } from '@regent/raft';
import { openFileStorage } from '@regent/raft-storage';
import { createLogger, createMetricsRegistry, type RunningServer, startServer } from '@regent/service-kit';
import { freePort, waitFor } from '@regent/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RaftRuntime, type StateMachine } from './runtime.js';
import { createRaftServiceRoutes, createRaftStreamHandler } from './service.js';
import { createConnectPeerTransport } from './transport.js';

interface TestNode {
  id: number;
  runtime: RaftRuntime;
  server: RunningServer;
  applied: string[];
}

const root = mkdtempSync(join(tmpdir(), 'raft-runtime-'));
const nodes: TestNode[] = [];

function listMachine(applied: string[]): StateMachine {
  return {
    apply: (entry: Entry) => {
      applied.push(new TextDecoder().decode(entry.data));
      return applied.length;
    },
    snapshot: () => new TextEncoder().encode(JSON.stringify(applied)),
    restore: (data) => {
      applied.splice(
        0,
        applied.length,
        ...(data.byteLength === 0 ? [] : (JSON.parse(new TextDecoder().decode(data)) as string[])),
      );
    },
  };
}

let seed = 1;
beforeAll(async () => {
  const ports = [await freePort(), await freePort(), await freePort()];
  const addresses = new Map(ports.map((p, i) => [i + 1, `127.0.0.1:${p}`]));
  for (const [id, address] of addresses) {
    const applied: string[] = [];
    const machine = listMachine(applied);
    const storage = openFileStorage({
      dir: join(root, `n${id}`),
      bootstrap: bootstrapSnapshot({ voters: [1, 2, 3], addresses, data: machine.snapshot() }),
    });
    const s = seed++;
    let x = s;
    const runtime = new RaftRuntime({
      raft: {
        id,
        random: {
          nextInt: (n) => {
            x = (x * 1103515245 + 12345) % 2 ** 31;
            return x % n;
          },
        },
        electionTimeoutTicks: 10,
      },
      storage,
      stateMachine: machine,
      tickMs: 10,
      createTransport: (events) =>
        createConnectPeerTransport({ group: 't', selfId: id, peers: new Map(), events }),
    });
    const server = await startServer({
      host: '127.0.0.1',
      port: Number(address.split(':')[1]),
      logger: createLogger('t', 'silent'),
      metrics: createMetricsRegistry('t'),
      routes: createRaftServiceRoutes({ group: 't', runtime: () => runtime }),
      // Node 1 reads peer streams through the Connect router, the others through the lean handler: the two
      // must be interchangeable on the wire.
      handlers:
        id === 1
          ? []
          : [createRaftStreamHandler({ group: 't', runtime: () => runtime, readMaxBytes: 1 << 26 })],
    });
    nodes.push({ id, runtime, server, applied });
  }
  for (const n of nodes) n.runtime.start();
});

afterAll(async () => {
  for (const n of nodes) {
    await n.runtime.stop();
    await n.server.close();
  }
  rmSync(root, { recursive: true, force: true });
});

const leaderOf = (candidates: TestNode[]): TestNode | undefined =>
  candidates.find((n) => n.runtime.isLeader && n.runtime.node.basicStatus().leaderBarrierCommitted);

describe('RaftRuntime over Connect', () => {
  it('elects a leader and replicates proposals to every node in order', async () => {
    const leader = await waitFor(() => leaderOf(nodes), { what: 'a leader' });
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => leader.runtime.propose(new TextEncoder().encode(`v${i}`)).applied),
    );
    expect(results).toHaveLength(50);
    await waitFor(() => nodes.every((n) => n.applied.length === 50), {
      what: 'all nodes applied 50 entries',
    });
    for (const n of nodes) expect(n.applied).toEqual(Array.from({ length: 50 }, (_, i) => `v${i}`));
    const readIndex = await leader.runtime.readBarrier();
    expect(readIndex).toBeGreaterThanOrEqual(52); // bootstrap snapshot (1) + no-op + 50 entries
  });

  it('refuses proposals on followers and elects a new leader when the old one stops', async () => {
    const leader = await waitFor(() => leaderOf(nodes), { what: 'a leader' });
    const follower = nodes.find((n) => n !== leader)!;
    expect(() => follower.runtime.propose(new Uint8Array([1]))).toThrow(/not the leader/);
    await leader.runtime.stop();
    await leader.server.close();
    const rest = nodes.filter((n) => n !== leader);
    const next = await waitFor(() => leaderOf(rest), { what: 'a new leader', timeoutMs: 15_000 });
    await next.runtime.propose(new TextEncoder().encode('after')).applied;
    await waitFor(() => rest.every((n) => n.applied.at(-1) === 'after'), {
      what: 'the survivors applied it',
    });
  });
});
