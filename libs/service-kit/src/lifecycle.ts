// Graceful shutdown: SIGTERM/SIGINT run the registered steps once, in reverse registration order, within a bound.
import type { Logger } from 'pino';

export interface Shutdown {
  /** Registers a step; steps run last-registered first. */
  add(name: string, step: () => Promise<void> | void): void;
  /** Runs the steps (idempotent). */
  run(reason: string): Promise<void>;
}

export function createShutdown(
  logger: Logger,
  options: { timeoutMs?: number; exit?: boolean } = {},
): Shutdown {
  const steps: { name: string; step: () => Promise<void> | void }[] = [];
  let running: Promise<void> | undefined;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const shutdown: Shutdown = {
    add: (name, step) => {
      steps.push({ name, step });
    },
    run: (reason) => {
      running ??= (async () => {
        logger.info({ reason }, 'shutting down');
        const timer = setTimeout(() => {
          logger.error({ timeoutMs }, 'shutdown timed out; exiting');
          process.exit(1);
        }, timeoutMs);
        timer.unref();
        for (const { name, step } of [...steps].reverse()) {
          try {
            await step();
          } catch (error) {
            logger.error({ err: error, step: name }, 'shutdown step failed');
          }
        }
        clearTimeout(timer);
        logger.info('stopped');
        if (options.exit !== false) process.exit(0);
      })();
      return running;
    },
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => void shutdown.run(signal));
  }
  return shutdown;
}
