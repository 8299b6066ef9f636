// Runs the CLI in-process with captured streams.
import { run } from '../cli.js';

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunCliOptions {
  readonly env?: Record<string, string | undefined>;
  readonly signal?: AbortSignal;
  /** Pretend stderr is a terminal (shows the progress spinner). */
  readonly tty?: boolean;
  /** Called with every stdout write (for streaming commands). */
  readonly onStdout?: (text: string) => void;
}

export async function runCli(argv: readonly string[], options: RunCliOptions = {}): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const code = await run(argv, {
    stdout: {
      write: (s: string) => {
        stdout += s;
        options.onStdout?.(s);
        return true;
      },
    },
    stderr: { isTTY: options.tty ?? false, write: (s: string) => (stderr += s) },
    env: options.env ?? {},
    signal: options.signal,
  });
  return { code, stdout, stderr };
}
