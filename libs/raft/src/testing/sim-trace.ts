// The simulator's bounded trace of one run and its one failure: a SimulationError carries the seed, the
// simulated time and the trace's tail, so that a failing seed can be read and replayed.

export class SimulationError extends Error {
  override readonly name = 'SimulationError';
  constructor(
    readonly seed: number,
    readonly time: number,
    detail: string,
    readonly trace: readonly string[],
  ) {
    super(`seed ${seed} failed at time ${time}: ${detail}`);
  }
}

const traceLimit = 400;

/** Records trace lines (only when tracing; the last `traceLimit` kept) and fails the run on a broken check. */
export class SimTrace {
  /** Each line starts with the simulated time it was recorded at. */
  readonly lines: string[] = [];

  constructor(
    private readonly seed: number,
    private readonly tracing: boolean,
    /** The simulated time, in units. */
    private readonly now: () => number,
  ) {}

  /** `detail` is a function when building it is costly (it runs only on failure). */
  require(condition: boolean, detail: string | (() => string)): asserts condition {
    if (condition) return;
    const text = typeof detail === 'string' ? detail : detail();
    throw new SimulationError(this.seed, this.now(), text, this.lines);
  }

  add(line: string): void {
    if (!this.tracing) return;
    this.lines.push(`t=${this.now()} ${line}`);
    if (this.lines.length > traceLimit) this.lines.shift();
  }
}
