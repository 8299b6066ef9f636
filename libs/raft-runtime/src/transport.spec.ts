// The peer transport against a real server that goes away and comes back: messages arrive in order, a broken
// connection is reported (onUnreachable) and replaced, and nothing throws after the connection died (the chaos
// run once found a ping fired at a destroyed session, which ended the process).
import * as net from 'node:net';
import type { RaftMessage } from '@regent/proto/raft';
import type { Message } from '@regent/raft';
import type { RunningServer } from '@regent/service-kit';
import { freePort, waitFor } from '@regent/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { startRecordingServer } from './recording-server.test-support.js';
import { createConnectPeerTransport, type PeerTransport } from './transport.js';

const append = (term: number): Message => ({
  type: 'AppendEntries',
  from: 1,
  to: 2,
  term,
  prevLogIndex: 0,
  prevLogTerm: 0,
  entries: [],
  leaderCommit: 0,
  readContext: 0,
});

let server: RunningServer | undefined;
let transport: PeerTransport | undefined;
afterEach(async () => {
  await transport?.close();
  await server?.close();
  transport = undefined;
  server = undefined;
});

async function serve(port: number, received: RaftMessage[]): Promise<RunningServer> {
  return (await startRecordingServer({ port, received })).server;
}

/** A transport from node 1 to node 2 at `port` that records unreachable reports and reconnects quickly. */
function connect(port: number, unreachable: number[]): PeerTransport {
  return createConnectPeerTransport({
    group: 'g',
    selfId: 1,
    peers: new Map([[2, `127.0.0.1:${port}`]]),
    events: { onUnreachable: (peer) => unreachable.push(peer), onSnapshotSent: () => {} },
    reconnectMinMs: 10,
    reconnectMaxMs: 50,
  });
}

describe('createConnectPeerTransport', () => {
  it('delivers in order, reports a dead peer, survives its ping timer, and reconnects', async () => {
    const port = await freePort();
    const received: RaftMessage[] = [];
    server = await serve(port, received);
    const unreachable: number[] = [];
    transport = connect(port, unreachable);
    for (let term = 1; term <= 100; term++) transport.send([append(term)]);
    await waitFor(() => received.length === 100, { what: '100 messages' });
    expect(received.map((m) => Number(m.term))).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));

    await server.close();
    server = undefined;
    // Reconnect attempts against the closed port, spanning more than one ping interval (1 s): an exception from a
    // timer of a dead connection would fail the run as unhandled.
    const gone = performance.now();
    await waitFor(() => unreachable.length >= 3 && performance.now() - gone > 1_500, {
      what: 'reconnect attempts over more than a ping interval',
    });

    server = await serve(port, received);
    await waitFor(
      () => {
        transport!.send([append(1000)]);
        return received.some((m) => Number(m.term) === 1000);
      },
      { what: 'a message after the peer came back' },
    );
    expect(transport.droppedCount()).toBe(0);
  }, 20_000);

  it('drops a connection to a peer that accepts TCP but never answers (ping timeout), and keeps trying', async () => {
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.resume();
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as net.AddressInfo).port;
    const unreachable: number[] = [];
    try {
      transport = connect(port, unreachable);
      transport.send([append(1)]);
      await waitFor(() => unreachable.length >= 2, { what: 'two ping timeouts', timeoutMs: 15_000 });
      expect(sockets.size).toBeGreaterThanOrEqual(2);
    } finally {
      await transport?.close();
      transport = undefined;
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  }, 20_000);
});
