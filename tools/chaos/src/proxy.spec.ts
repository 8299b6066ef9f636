// The fault-injecting proxy over real loopback sockets: forwarding, blackholes (both ways and one way), resets,
// and delay that keeps order.
import { connect, createServer, type Server, type Socket } from 'node:net';
import { waitFor } from '@regent/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FaultProxy } from './proxy.js';
import { createRng } from './random.js';

let server: Server;
let serverPort: number;
/** Bytes the server received, per connection in accept order. */
let received: string[];
let proxy: FaultProxy;
const clients: Socket[] = [];

beforeEach(async () => {
  received = [];
  // An echo server that also records what it got.
  server = createServer((socket) => {
    const index = received.push('') - 1;
    socket.on('data', (chunk) => {
      received[index] += chunk.toString();
      socket.write(chunk);
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  serverPort = (server.address() as { port: number }).port;
  proxy = await FaultProxy.start({ name: 'test', targetPort: serverPort, rng: createRng(1) });
});

afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  await proxy.close();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

interface TestClient {
  readonly socket: Socket;
  data(): string;
  closed(): boolean;
}

async function open(): Promise<TestClient> {
  const socket = connect(proxy.port, '127.0.0.1');
  clients.push(socket);
  let data = '';
  let closed = false;
  socket.on('data', (chunk) => {
    data += chunk.toString();
  });
  socket.on('error', () => {});
  socket.on('close', () => {
    closed = true;
  });
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  return { socket, data: () => data, closed: () => closed };
}

describe('FaultProxy', () => {
  it('forwards both ways', async () => {
    const c = await open();
    c.socket.write('hello');
    await waitFor(() => c.data() === 'hello', { what: 'the echo' });
    expect(proxy.stats().bytesForwarded).toBe(10);
  });

  it('drops the bytes of a blackholed link and resets its broken connections on heal', async () => {
    const c = await open();
    c.socket.write('a');
    await waitFor(() => c.data() === 'a', { what: 'the first echo' });
    proxy.setFault({ blackhole: 'both' });
    c.socket.write('lost');
    await waitFor(() => proxy.stats().bytesDropped === 4, { what: 'the dropped bytes' });
    proxy.heal();
    await waitFor(() => c.closed(), { what: 'the reset of the broken connection' });
    expect(received[0]).toBe('a');
    const fresh = await open();
    fresh.socket.write('b');
    await waitFor(() => fresh.data() === 'b', { what: 'an echo on a new connection' });
  });

  it('loses only the replies when the down direction is blackholed', async () => {
    const c = await open();
    proxy.setFault({ blackhole: 'down' });
    c.socket.write('request');
    await waitFor(() => received[0] === 'request', { what: 'the request at the server' });
    await waitFor(() => proxy.stats().bytesDropped === 7, { what: 'the dropped reply' });
    expect(c.data()).toBe('');
  });

  it('resets a connection with the configured probability', async () => {
    const c = await open();
    proxy.setFault({ resetProbability: 1 });
    c.socket.write('x');
    await waitFor(() => c.closed(), { what: 'the reset' });
    expect(proxy.stats().resets).toBe(1);
  });

  it('delays chunks and keeps their order', async () => {
    const c = await open();
    proxy.setFault({ delayMs: 20, jitterMs: 30 });
    for (const part of ['1', '2', '3', '4', '5']) c.socket.write(part);
    await waitFor(() => c.data().length === 5, { what: 'every delayed chunk' });
    expect(c.data()).toBe('12345');
  });
});
