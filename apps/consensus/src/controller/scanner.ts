// Leader-only liveness scans: every scan interval (and at once when a stream break marks a broker dead), find
// groups whose master is inactive while a member lives and elect, at most one election per group at a time,
// with a bounded number of attempts per detection. Stopped whenever this node is not serving.
import { controllerConfigOf, findInactiveMasters, type LivenessTable } from '@regent/controller';
import type { Logger } from 'pino';
import type { ControllerExecutor } from './executor.js';
import type { ControllerMetrics } from './metrics.js';

export interface ScannerOptions {
  readonly executor: ControllerExecutor;
  readonly liveness: LivenessTable;
  readonly intervalMs: number;
  readonly metrics: ControllerMetrics;
  readonly logger: Logger;
}

export class Scanner {
  #timer: NodeJS.Timeout | undefined;
  readonly #electing = new Set<string>();
  #lastPrune = 0;

  constructor(private readonly o: ScannerOptions) {}

  start(): void {
    this.#timer = setInterval(() => this.scanNow(), this.o.intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** Runs one scan if this node is serving (leader, barrier applied). */
  scanNow(): void {
    const now = Date.now();
    if (now - this.#lastPrune > 5000) {
      this.#lastPrune = now;
      this.o.liveness.removeExpired(now);
    }
    if (!this.o.executor.serving) return;
    this.o.metrics.scans.inc();
    const state = this.o.executor.currentState();
    for (const inactive of findInactiveMasters(state, this.o.liveness.view(now))) {
      if (this.#electing.has(inactive.brokerName)) continue;
      this.#electing.add(inactive.brokerName);
      const attempts = Math.max(1, controllerConfigOf(state).electMasterMaxRetryCount);
      void this.#elect(inactive.brokerName, attempts).finally(() =>
        this.#electing.delete(inactive.brokerName),
      );
    }
  }

  async #elect(brokerName: string, attempts: number): Promise<void> {
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        const reply = await this.o.executor.electForInactiveMaster(brokerName);
        const outcome = reply.reply.case === 'error' ? reply.reply.value.message : 'ok';
        this.o.logger.info({ group: brokerName, attempt, outcome }, 'controller-triggered election');
        if (reply.reply.case !== 'error') return;
      } catch (error) {
        this.o.logger.warn(
          { err: error, group: brokerName, attempt },
          'controller-triggered election failed',
        );
        if (!this.o.executor.serving) return;
      }
    }
  }
}
