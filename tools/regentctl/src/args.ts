// Parsers for command-line values. Each throws commander's InvalidArgumentError, which commander reports with the
// option's name and which ends the run with exit code 2.
import { InvalidArgumentError } from 'commander';

const INT64_MAX = (1n << 63n) - 1n;
const UINT64_MAX = (1n << 64n) - 1n;
const UINT32_MAX = 2 ** 32 - 1;
/** UpdateControllerConfig accepts at most this many keys per call (admin.proto). */
export const CONFIG_ENTRIES_MAX = 64;
/** The longest --timeout-ms we accept: one hour. */
export const TIMEOUT_MS_MAX = 3_600_000;

function decimal(value: string, what: string, max: bigint, min: bigint): bigint {
  if (!/^\d{1,20}$/.test(value)) throw new InvalidArgumentError(`${what} must be a non-negative integer.`);
  const n = BigInt(value);
  if (n < min || n > max) throw new InvalidArgumentError(`${what} must be between ${min} and ${max}.`);
  return n;
}

/** A broker id (int64, ≥ 1; RocketMQ's master id 0 is not a Regent broker id). */
export function parseBrokerId(value: string): bigint {
  return decimal(value.trim(), 'a broker id', INT64_MAX, 1n);
}

/** A comma-separated list of broker ids, each once. */
export function parseBrokerIds(value: string): bigint[] {
  const ids = value
    .split(/[,;]/)
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(parseBrokerId);
  if (ids.length === 0) throw new InvalidArgumentError('expected at least one broker id, e.g. 1,2.');
  if (new Set(ids).size !== ids.length) throw new InvalidArgumentError('a broker id is listed twice.');
  return ids;
}

/** A Raft node id (uint64, ≥ 1). */
export function parseNodeId(value: string): bigint {
  return decimal(value.trim(), 'a node id', UINT64_MAX, 1n);
}

/** A log index (uint64, 0 allowed). */
export function parseIndex(value: string): bigint {
  return decimal(value.trim(), 'an index', UINT64_MAX, 0n);
}

/** A non-negative byte count (int64). */
export function parseBytes(value: string): bigint {
  return decimal(value.trim(), 'a byte count', INT64_MAX, 0n);
}

/** A positive count that fits uint32. */
export function parseCount(value: string): number {
  return Number(decimal(value.trim(), 'a count', BigInt(UINT32_MAX), 1n));
}

/** --timeout-ms: 1 ms … one hour. */
export function parseTimeoutMs(value: string): number {
  return Number(decimal(value.trim(), 'a timeout in milliseconds', BigInt(TIMEOUT_MS_MAX), 1n));
}

/** "host:port" (a name, IPv4 or bracketed IPv6, port 1..65535). */
export function parseHostPort(value: string): string {
  const m = /^([A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\]):(\d{1,5})$/.exec(value.trim());
  const port = m === null ? 0 : Number(m[2]);
  if (m === null || port < 1 || port > 65_535) throw new InvalidArgumentError('expected host:port.');
  return value.trim();
}

/** A comma-separated list of non-empty names. */
export function parseNameList(value: string): string[] {
  const names = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (names.length === 0) throw new InvalidArgumentError('expected a comma-separated list, e.g. a,b.');
  return names;
}

/** The gateway's base URL from "host:port" or "http(s)://host:port[/path]". */
export function gatewayUrl(value: string): string {
  const withScheme = /^https?:\/\//.test(value) ? value : `http://${value}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new InvalidArgumentError(`expected host:port or an http(s) URL, got ${JSON.stringify(value)}.`);
  }
  if (url.hostname === '' || url.search !== '' || url.hash !== '') {
    throw new InvalidArgumentError(`expected host:port or an http(s) URL, got ${JSON.stringify(value)}.`);
  }
  return url.href.replace(/\/$/, '');
}

/** `key=value` pairs (a value may itself contain "="); keys unique, at most CONFIG_ENTRIES_MAX. */
export function parseAssignments(pairs: readonly string[]): Record<string, string> {
  if (pairs.length === 0) throw new InvalidArgumentError('expected at least one key=value.');
  if (pairs.length > CONFIG_ENTRIES_MAX) {
    throw new InvalidArgumentError(`at most ${CONFIG_ENTRIES_MAX} keys per call, got ${pairs.length}.`);
  }
  const entries = new Map<string, string>();
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    const key = eq === -1 ? '' : pair.slice(0, eq).trim();
    if (key === '') throw new InvalidArgumentError(`expected key=value, got ${JSON.stringify(pair)}.`);
    if (entries.has(key)) throw new InvalidArgumentError(`key ${key} is given twice.`);
    entries.set(key, pair.slice(eq + 1));
  }
  // fromEntries defines own properties, so a key such as "__proto__" stays a plain key.
  return Object.fromEntries(entries);
}
