// Typed, validated process configuration from flags, environment variables and an optional JSON file.
// Precedence: flag > environment > file > default. Unknown flags and invalid values are errors (exit code 2).
import { readFileSync } from 'node:fs';

export type OptionKind = 'string' | 'int' | 'bool' | 'list';

interface OptionBase<K extends OptionKind, T> {
  readonly kind: K;
  readonly description: string;
  readonly default?: T;
  /** Environment variable name; defaults to PREFIX_UPPER_SNAKE of the key. */
  readonly env?: string;
  readonly required?: boolean;
  /** Returns an error message when the value is invalid. */
  readonly validate?: (value: T) => string | undefined;
}

export type StringOption = OptionBase<'string', string>;
export type IntOption = OptionBase<'int', number> & { readonly min?: number; readonly max?: number };
export type BoolOption = OptionBase<'bool', boolean>;
export type ListOption = OptionBase<'list', readonly string[]>;
export type Option = StringOption | IntOption | BoolOption | ListOption;

export type Schema = Record<string, Option>;

type ValueOf<O> = O extends IntOption
  ? number
  : O extends BoolOption
    ? boolean
    : O extends ListOption
      ? readonly string[]
      : string;

export type ConfigOf<S extends Schema> = { readonly [K in keyof S]: ValueOf<S[K]> };

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export interface ParseOptions {
  readonly argv?: readonly string[];
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Prefix for environment variables, e.g. "REGENT_CONSENSUS". */
  readonly envPrefix: string;
  /** Program name and one-line summary for --help. */
  readonly program: string;
  readonly summary: string;
}

export interface ParseResult<S extends Schema> {
  readonly config?: ConfigOf<S>;
  readonly help?: string;
}

export const option = {
  string: (o: Omit<StringOption, 'kind'>): StringOption => ({ kind: 'string', ...o }),
  int: (o: Omit<IntOption, 'kind'>): IntOption => ({ kind: 'int', ...o }),
  bool: (o: Omit<BoolOption, 'kind'>): BoolOption => ({ kind: 'bool', ...o }),
  list: (o: Omit<ListOption, 'kind'>): ListOption => ({ kind: 'list', ...o }),
};

const kebab = (key: string): string => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
const snake = (key: string): string => kebab(key).replace(/-/g, '_').toUpperCase();

function envName(prefix: string, key: string, o: Option): string {
  return o.env ?? `${prefix}_${snake(key)}`;
}

/** Renders --help text for a schema. */
export function helpText<S extends Schema>(schema: S, options: ParseOptions): string {
  const lines = [`Usage: ${options.program} [options]`, '', options.summary, '', 'Options:'];
  for (const [key, o] of Object.entries(schema)) {
    const flag = `--${kebab(key)}${o.kind === 'bool' ? '' : ' <value>'}`;
    const def =
      o.default === undefined ? (o.required ? ' (required)' : '') : ` (default: ${formatValue(o.default)})`;
    lines.push(`  ${flag.padEnd(34)} ${o.description}${def}`);
    lines.push(`  ${''.padEnd(34)} env ${envName(options.envPrefix, key, o)}`);
  }
  lines.push(`  ${'--config <file>'.padEnd(34)} JSON file with any of the options above (camelCase keys)`);
  lines.push(`  ${'--help'.padEnd(34)} show this text`);
  return lines.join('\n');
}

function formatValue(v: unknown): string {
  return Array.isArray(v) ? v.join(',') : String(v);
}

function convert(key: string, o: Option, raw: unknown, source: string): unknown {
  const where = `${source} ${key}`;
  switch (o.kind) {
    case 'string':
      if (typeof raw !== 'string') throw new ConfigError(`${where}: expected a string`);
      return raw;
    case 'int': {
      const n =
        typeof raw === 'number' ? raw : typeof raw === 'string' && /^-?\d+$/.test(raw) ? Number(raw) : NaN;
      if (!Number.isSafeInteger(n))
        throw new ConfigError(`${where}: expected an integer, got ${JSON.stringify(raw)}`);
      if (o.min !== undefined && n < o.min)
        throw new ConfigError(`${where}: ${n} is below the minimum ${o.min}`);
      if (o.max !== undefined && n > o.max)
        throw new ConfigError(`${where}: ${n} is above the maximum ${o.max}`);
      return n;
    }
    case 'bool':
      if (typeof raw === 'boolean') return raw;
      if (raw === 'true' || raw === '1' || raw === '') return true;
      if (raw === 'false' || raw === '0') return false;
      throw new ConfigError(`${where}: expected true or false, got ${JSON.stringify(raw)}`);
    case 'list':
      if (Array.isArray(raw) && raw.every((x) => typeof x === 'string')) return raw;
      if (typeof raw === 'string') return raw === '' ? [] : raw.split(',').map((s) => s.trim());
      throw new ConfigError(`${where}: expected a comma-separated list`);
  }
}

function parseArgv(
  argv: readonly string[],
  schema: Schema,
): { flags: Map<string, string>; file?: string; help: boolean } {
  const byFlag = new Map(Object.keys(schema).map((k) => [kebab(k), k]));
  const flags = new Map<string, string>();
  let file: string | undefined;
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') {
      help = true;
      continue;
    }
    if (!arg.startsWith('--')) throw new ConfigError(`unexpected argument ${JSON.stringify(arg)}`);
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    let value: string | undefined = eq === -1 ? undefined : arg.slice(eq + 1);
    if (name === 'config') {
      file = value ?? argv[++i];
      if (file === undefined) throw new ConfigError('--config needs a file');
      continue;
    }
    const key = byFlag.get(name);
    if (key === undefined) throw new ConfigError(`unknown option --${name} (see --help)`);
    if (value === undefined) {
      const next = argv[i + 1];
      value =
        schema[key]!.kind === 'bool' && (next === undefined || next.startsWith('--')) ? 'true' : argv[++i];
    }
    if (value === undefined) throw new ConfigError(`--${name} needs a value`);
    flags.set(key, value);
  }
  return { flags, file, help };
}

/** Parses and validates configuration; returns `help` text instead when --help was given. */
export function parseConfig<S extends Schema>(schema: S, options: ParseOptions): ParseResult<S> {
  const argv = options.argv ?? process.argv.slice(2);
  const env = options.env ?? process.env;
  const { flags, file, help } = parseArgv(argv, schema);
  if (help) return { help: helpText(schema, options) };
  const fromFile = file === undefined ? {} : readConfigFile(file, schema);
  const out: Record<string, unknown> = {};
  for (const [key, o] of Object.entries(schema)) {
    const envValue = env[envName(options.envPrefix, key, o)];
    let value: unknown;
    if (flags.has(key)) value = convert(key, o, flags.get(key), '--');
    else if (envValue !== undefined)
      value = convert(key, o, envValue, `env ${envName(options.envPrefix, key, o)}:`);
    else if (key in fromFile) value = convert(key, o, fromFile[key], `file ${file}:`);
    else value = o.default;
    if (value === undefined) {
      if (o.required) throw new ConfigError(`missing required option --${kebab(key)}`);
      continue;
    }
    const problem = (o.validate as ((v: unknown) => string | undefined) | undefined)?.(value);
    if (problem !== undefined) throw new ConfigError(`--${kebab(key)}: ${problem}`);
    out[key] = value;
  }
  return { config: Object.freeze(out) as ConfigOf<S> };
}

function readConfigFile(file: string, schema: Schema): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ConfigError(`cannot read config file ${file}: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError(`config file ${file} must hold a JSON object`);
  }
  for (const key of Object.keys(parsed)) {
    if (!(key in schema)) throw new ConfigError(`config file ${file}: unknown key ${key}`);
  }
  return parsed as Record<string, unknown>;
}

/** Parses config or prints help/errors and exits (for `main.ts`). */
export function loadConfigOrExit<S extends Schema>(schema: S, options: ParseOptions): ConfigOf<S> {
  try {
    const result = parseConfig(schema, options);
    if (result.help !== undefined) {
      process.stdout.write(`${result.help}\n`);
      process.exit(0);
    }
    return result.config!;
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${options.program}: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
}

/** Validates "host:port". */
export function validateAddress(value: string): string | undefined {
  const m = /^([A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\]):(\d{1,5})$/.exec(value);
  if (m === null) return `expected host:port, got ${JSON.stringify(value)}`;
  const port = Number(m[2]);
  return port > 0 && port < 65536 ? undefined : `port ${port} out of range`;
}
