// A spinner on stderr while a slow call runs (elections, leadership transfer, snapshots, membership changes).
// Only on a terminal: in a pipe or a log file it writes nothing, so scripts see clean stderr.

export interface ProgressStream {
  readonly isTTY?: boolean;
  write(text: string): unknown;
}

export type Progress = <T>(label: string, work: Promise<T>) => Promise<T>;

const FRAMES = ['|', '/', '-', '\\'];
/** Fast enough to look alive, slow enough not to flood a remote terminal. */
const FRAME_INTERVAL_MS = 120;

export function createProgress(stream: ProgressStream): Progress {
  return async (label, work) => {
    if (stream.isTTY !== true) return work;
    let frame = 0;
    const draw = (): void => {
      stream.write(`\r${FRAMES[frame++ % FRAMES.length]} ${label}`);
    };
    draw();
    const timer = setInterval(draw, FRAME_INTERVAL_MS);
    timer.unref();
    try {
      return await work;
    } finally {
      clearInterval(timer);
      stream.write('\r\x1b[K');
    }
  };
}
