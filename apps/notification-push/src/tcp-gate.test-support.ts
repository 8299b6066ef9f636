// A loopback TCP relay the test can shut: while shut, new connections are refused (accepted and closed at
// once) and open ones are cut. It lets a test decide exactly when a client may reach a restarted server.
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface TcpGate {
  readonly port: number;
  readonly url: string;
  isOpen(): boolean;
  open(): void;
  /** Refuses new connections and cuts the open ones. */
  shut(): void;
  close(): Promise<void>;
}

export async function startTcpGate(targetPort: number, scheme = 'nats'): Promise<TcpGate> {
  let open = true;
  const pairs = new Set<[Socket, Socket]>();
  const server: Server = createServer((client) => {
    if (!open) {
      client.destroy();
      return;
    }
    const upstream = connect(targetPort, '127.0.0.1');
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    const cut = (): void => {
      client.destroy();
      upstream.destroy();
      pairs.delete(pair);
    };
    client.on('error', cut).on('close', cut);
    upstream.on('error', cut).on('close', cut);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const cutAll = (): void => {
    for (const [a, b] of [...pairs]) {
      a.destroy();
      b.destroy();
    }
    pairs.clear();
  };
  return {
    port,
    url: `${scheme}://127.0.0.1:${port}`,
    isOpen: () => open,
    open: () => {
      open = true;
    },
    shut: () => {
      open = false;
      cutAll();
    },
    close: async () => {
      open = false;
      cutAll();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
