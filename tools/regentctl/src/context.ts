// What a command gets to run with, and what it hands back. Commands never touch `process`: the CLI entry gives
// them the client, the output mode and the streams, so tests run every command in-process.
import type { DescMessage, JsonValue, MessageShape } from '@bufbuild/protobuf';
import { toJson } from '@bufbuild/protobuf';
import type { CallOptions } from '@connectrpc/connect';
import type { Command } from 'commander';
import type { AdminClient } from './client.js';
import type { Progress, ProgressStream } from './progress.js';

/** The process around the CLI: streams, environment and Ctrl-C. */
export interface Io {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: ProgressStream;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Aborted on Ctrl-C. */
  readonly signal?: AbortSignal;
}

export interface CommandContext {
  readonly client: AdminClient;
  /** True with --json: print `Output.json`, else `Output.text`. */
  readonly json: boolean;
  /** Options for every unary call (deadline and Ctrl-C). */
  readonly call: CallOptions;
  /** Aborted on Ctrl-C; streams stop on it. */
  readonly signal: AbortSignal;
  readonly progress: Progress;
  /** Writes to stdout now (for streaming commands). */
  out(text: string): void;
  /** Writes a note to stderr. */
  note(text: string): void;
}

/** A command's result in both forms; JSON follows proto3 JSON (64-bit integers as strings). */
export interface Output {
  readonly json: JsonValue;
  readonly text: string;
}

/** Runs a command body; `undefined` means it already wrote its output (streaming). */
export type Action<A extends unknown[]> = (ctx: CommandContext, ...args: A) => Promise<Output | undefined>;

/** Turns a command body into a commander action handler. */
export type Act = <A extends unknown[]>(action: Action<A>) => (...args: unknown[]) => Promise<void>;

/** A command module adds itself to the program. */
export type Register = (program: Command, act: Act) => void;

/** proto3 JSON of a message with every field present, so scripts see a stable shape. */
export function jsonOf<Desc extends DescMessage>(schema: Desc, message: MessageShape<Desc>): JsonValue {
  return toJson(schema, message, { alwaysEmitImplicit: true });
}
