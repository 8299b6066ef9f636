// The heartbeat load in a process of its own, so its event loop (and its CPU) is apart from the benchmark's and
// can be measured: `HeartbeatGenerator.fork()` in the benchmark, this file's main when run as the child. The two
// talk over the IPC channel, one request at a time.
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { HeartbeatLoad, type HeartbeatLoadOptions, type LoadSummary } from './heartbeat-load.js';

type Request =
  | { readonly op: 'start'; readonly options: WireOptions }
  | { readonly op: 'reset' }
  | { readonly op: 'summary' }
  | { readonly op: 'stop' };

type Reply =
  | { readonly ok: true; readonly summary?: LoadSummary }
  | { readonly ok: false; readonly error: string };

/** Options as they cross the IPC channel (JSON: broker ids as decimal strings). */
interface WireOptions extends Omit<HeartbeatLoadOptions, 'brokers'> {
  readonly brokers: readonly {
    clusterName: string;
    brokerName: string;
    brokerId: string;
    brokerAddress: string;
  }[];
}

export class HeartbeatGenerator {
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(readonly child: ChildProcess) {}

  static fork(): HeartbeatGenerator {
    const child = fork(fileURLToPath(import.meta.url), [], {
      execArgv: ['--conditions=@regent/source', '--import', 'tsx', '--no-warnings'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    return new HeartbeatGenerator(child);
  }

  start(options: HeartbeatLoadOptions): Promise<void> {
    const brokers = options.brokers.map((b) => ({ ...b, brokerId: b.brokerId.toString() }));
    return this.#call({ op: 'start', options: { ...options, brokers } }).then(() => undefined);
  }

  resetSamples(): Promise<void> {
    return this.#call({ op: 'reset' }).then(() => undefined);
  }

  async summary(): Promise<LoadSummary> {
    const reply = await this.#call({ op: 'summary' });
    if (reply.summary === undefined) throw new Error('generator sent no summary');
    return reply.summary;
  }

  /** Ends the streams and the process. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    await this.#call({ op: 'stop' }).catch(() => undefined);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }

  #call(request: Request): Promise<Extract<Reply, { ok: true }>> {
    const call = this.#queue.then(
      () =>
        new Promise<Extract<Reply, { ok: true }>>((resolve, reject) => {
          const onExit = (): void => reject(new Error('the heartbeat generator exited'));
          this.child.once('exit', onExit);
          this.child.once('message', (reply: Reply) => {
            this.child.off('exit', onExit);
            if (reply.ok) resolve(reply);
            else reject(new Error(`heartbeat generator: ${reply.error}`));
          });
          this.child.send(request);
        }),
    );
    this.#queue = call.catch(() => undefined);
    return call;
  }
}

async function main(): Promise<void> {
  let load: HeartbeatLoad | undefined;
  const reply = (message: Reply): void => {
    process.send?.(message);
  };
  process.on('message', (request: Request) => {
    void (async () => {
      try {
        switch (request.op) {
          case 'start': {
            const brokers = request.options.brokers.map((b) => ({ ...b, brokerId: BigInt(b.brokerId) }));
            load = new HeartbeatLoad({ ...request.options, brokers });
            load.start();
            return reply({ ok: true });
          }
          case 'reset':
            load?.resetSamples();
            return reply({ ok: true });
          case 'summary':
            if (load === undefined) throw new Error('not started');
            return reply({ ok: true, summary: load.summary() });
          case 'stop':
            await load?.stop();
            reply({ ok: true });
            process.disconnect();
            return;
        }
      } catch (error) {
        reply({ ok: false, error: error instanceof Error ? error.message : String(error) });
      }
    })();
  });
  // The benchmark went away: stop at once.
  process.on('disconnect', () => process.exit(0));
}

if (process.send !== undefined && process.argv[1] === fileURLToPath(import.meta.url)) await main();
