// Finds a reachable NATS server, or starts a local nats-server, or explains how to get one.
import { existsSync } from 'node:fs';
import { createConnection } from 'node:net';

export const NATS_INSTALL_HINT = [
  'No NATS server is reachable and no nats-server binary was found.',
  'Install one of:',
  '  Debian/Ubuntu:  sudo apt-get install -y nats-server',
  '  macOS:          brew install nats-server',
  '  any platform:   download a release from https://github.com/nats-io/nats-server/releases and put it on PATH',
  'or point Regent at an existing server with --nats nats://host:4222.',
].join('\n');

/** True when something accepts TCP connections at host:port within `timeoutMs`. */
export function reachable(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** The nats-server binary to start, if one is installed. */
export function findNatsServer(pathEnv = process.env.PATH ?? ''): string | undefined {
  const candidates = [
    process.env.NATS_SERVER_BIN,
    ...pathEnv.split(':').map((d) => `${d}/nats-server`),
    '/usr/sbin/nats-server',
  ];
  return candidates.find((c): c is string => c !== undefined && c !== '' && existsSync(c));
}

export function parseNatsUrl(url: string): { host: string; port: number } {
  const m = /^nats:\/\/([^:/]+):(\d+)$/.exec(url);
  if (m === null) throw new Error(`--nats must look like nats://host:port, got ${url}`);
  return { host: m[1]!, port: Number(m[2]) };
}
