// Real-process test harness: start Regent apps and nats-server as child processes on loopback, wait for
// conditions with deadlines, and stop them (SIGTERM, or SIGKILL for crash tests).
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const WORKSPACE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** Waits until `condition` returns a truthy value, polling every `intervalMs`; throws after `timeoutMs`. */
export async function waitFor<T>(
  condition: () => T | Promise<T>,
  options: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<NonNullable<T>> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await condition();
      if (value) return value as NonNullable<T>;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${options.what ?? 'condition'}${why}`);
    }
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 25));
  }
}

/** A free TCP port on 127.0.0.1 (best effort: the port is released before returning). */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolvePort(port));
    });
  });
}

export interface ManagedProcess {
  readonly name: string;
  readonly child: ChildProcess;
  /** Everything the process wrote so far (bounded to the last 256 KiB). */
  output(): string;
  /** Resolves with the exit code (or signal name). */
  readonly exited: Promise<number | string>;
  /** SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<number | string>;
  /** SIGKILL (crash). */
  kill(): Promise<number | string>;
  pause(): void;
  resume(): void;
}

const OUTPUT_BYTES_MAX = 256 * 1024;

export function spawnProcess(
  name: string,
  command: string,
  args: readonly string[],
  options: { env?: Record<string, string>; cwd?: string; echo?: boolean } = {},
): ManagedProcess {
  const child = spawn(command, args, {
    cwd: options.cwd ?? WORKSPACE_ROOT,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const collect = (chunk: Buffer): void => {
    out += chunk.toString();
    if (out.length > OUTPUT_BYTES_MAX) out = out.slice(-OUTPUT_BYTES_MAX);
    if (options.echo) process.stderr.write(`[${name}] ${chunk.toString()}`);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<number | string>((resolveExit) => {
    child.once('exit', (code, signal) => resolveExit(code ?? signal ?? -1));
  });
  const alive = (): boolean => child.exitCode === null && child.signalCode === null;
  return {
    name,
    child,
    output: () => out,
    exited,
    stop: async (graceMs = 5000) => {
      if (alive()) {
        child.kill('SIGCONT');
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        const code = await exited;
        clearTimeout(timer);
        return code;
      }
      return exited;
    },
    kill: async () => {
      if (alive()) child.kill('SIGKILL');
      return exited;
    },
    pause: () => {
      child.kill('SIGSTOP');
    },
    resume: () => {
      child.kill('SIGCONT');
    },
  };
}

/**
 * Starts a TypeScript entry point of the workspace from source (no build needed). `nodeOptions` are Node.js flags
 * placed before the entry point (e.g. `--cpu-prof`, which NODE_OPTIONS refuses).
 */
export function spawnTs(
  name: string,
  entry: string,
  args: readonly string[],
  options: { env?: Record<string, string>; echo?: boolean; nodeOptions?: readonly string[] } = {},
): ManagedProcess {
  const file = join(WORKSPACE_ROOT, entry);
  if (!existsSync(file)) throw new Error(`no such entry point ${file}`);
  const { nodeOptions = [], ...rest } = options;
  return spawnProcess(
    name,
    process.execPath,
    [...nodeOptions, '--conditions=@regent/source', '--import', 'tsx', '--no-warnings', file, ...args],
    { ...rest, env: { REGENT_LOG_LEVEL: 'warn', ...options.env } },
  );
}

/** Polls GET url until it answers 200. */
export async function waitForHttpOk(url: string, timeoutMs = 20_000): Promise<void> {
  await waitFor(
    async () => {
      const res = await fetch(url);
      return res.status === 200;
    },
    { timeoutMs, what: `200 from ${url}` },
  );
}

export interface NatsServer {
  readonly url: string;
  readonly port: number;
  readonly process: ManagedProcess;
  stop(): Promise<void>;
  /** Stops and starts again on the same port. */
  restart(): Promise<NatsServer>;
}

export const NATS_SERVER_BIN = process.env.NATS_SERVER_BIN ?? '/usr/sbin/nats-server';

/** Starts a private nats-server on loopback (a random port unless given). */
export async function startNatsServer(
  options: { port?: number; user?: string; pass?: string; token?: string } = {},
): Promise<NatsServer> {
  const port = options.port ?? (await freePort());
  const args = ['-a', '127.0.0.1', '-p', String(port), '-m', '0'];
  if (options.user !== undefined) args.push('--user', options.user, '--pass', options.pass ?? '');
  if (options.token !== undefined) args.push('--auth', options.token);
  const proc = spawnProcess(`nats-${port}`, NATS_SERVER_BIN, args);
  await waitFor(() => proc.output().includes('Server is ready'), {
    timeoutMs: 10_000,
    what: 'nats-server ready',
  });
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    process: proc,
    stop: async () => {
      await proc.stop();
    },
    restart: async () => {
      await proc.stop();
      return startNatsServer({ ...options, port });
    },
  };
}
