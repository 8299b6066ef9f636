// The broker's persisted identity (RocketMQ 5.1.1+ `BrokerMetadata` / `TempBrokerMetadata`):
//   <dataDir>/brokerIdentity       cluster#brokerName#brokerId
//   <dataDir>/brokerIdentity-temp  cluster#brokerName#brokerId#registerCheckCode
// Every write is crash-safe: the text goes to `<file>.partial`, is fsynced, renamed over the file, and the
// directory is fsynced, so a crash leaves either the old file or the new one, never a torn one. A leftover
// `.partial` is ignored and overwritten.
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { IdentityFileError, IdentityMismatchError } from './errors.js';

export const IDENTITY_FILE_NAME = 'brokerIdentity';
export const TEMP_IDENTITY_FILE_NAME = 'brokerIdentity-temp';
const STAGING_SUFFIX = '.partial';
/** Identity files are a few dozen bytes; anything larger is not ours. */
const IDENTITY_FILE_BYTES_MAX = 4096;

/** The identity a broker keeps for its lifetime. `brokerId` ≥ 1. */
export interface BrokerIdentity {
  readonly clusterName: string;
  readonly brokerName: string;
  readonly brokerId: bigint;
}

/** An id being claimed: written before ApplyBrokerId so a crash can re-apply with the same check code. */
export interface TempBrokerIdentity extends BrokerIdentity {
  /** "<brokerAddress>;<unix ms>". */
  readonly registerCheckCode: string;
}

export interface IdentityFiles {
  readonly identity?: BrokerIdentity;
  readonly temp?: TempBrokerIdentity;
}

export function formatIdentity(identity: BrokerIdentity): string {
  return `${identity.clusterName}#${identity.brokerName}#${identity.brokerId}`;
}

export function formatTempIdentity(temp: TempBrokerIdentity): string {
  return `${formatIdentity(temp)}#${temp.registerCheckCode}`;
}

export function parseIdentity(text: string, file: string): BrokerIdentity {
  const parts = text.trim().split('#');
  if (parts.length !== 3) throw new IdentityFileError(file, `expected cluster#brokerName#brokerId`);
  return { clusterName: parts[0]!, brokerName: parts[1]!, brokerId: parseBrokerId(parts[2]!, file) };
}

export function parseTempIdentity(text: string, file: string): TempBrokerIdentity {
  const parts = text.trim().split('#');
  if (parts.length !== 4 || parts[3] === '') {
    throw new IdentityFileError(file, `expected cluster#brokerName#brokerId#registerCheckCode`);
  }
  return {
    clusterName: parts[0]!,
    brokerName: parts[1]!,
    brokerId: parseBrokerId(parts[2]!, file),
    registerCheckCode: parts[3]!,
  };
}

function parseBrokerId(text: string, file: string): bigint {
  if (!/^\d{1,19}$/.test(text) || BigInt(text) < 1n)
    throw new IdentityFileError(file, `bad broker id ${text}`);
  return BigInt(text);
}

/**
 * Reads both identity files and checks them against the configured cluster and group. Throws
 * `IdentityMismatchError` or `IdentityFileError` (both permanent).
 */
export async function readIdentityFiles(
  dataDir: string,
  expected: { readonly clusterName: string; readonly brokerName: string },
): Promise<IdentityFiles> {
  const identityFile = join(dataDir, IDENTITY_FILE_NAME);
  const tempFile = join(dataDir, TEMP_IDENTITY_FILE_NAME);
  const identityText = await readSmallFile(identityFile);
  const tempText = await readSmallFile(tempFile);
  const identity = identityText === undefined ? undefined : parseIdentity(identityText, identityFile);
  const temp = tempText === undefined ? undefined : parseTempIdentity(tempText, tempFile);
  if (identity !== undefined) checkMatches(identityFile, identity, expected);
  if (temp !== undefined) checkMatches(tempFile, temp, expected);
  return { identity, temp };
}

function checkMatches(
  file: string,
  found: BrokerIdentity,
  expected: { readonly clusterName: string; readonly brokerName: string },
): void {
  if (found.clusterName !== expected.clusterName || found.brokerName !== expected.brokerName) {
    throw new IdentityMismatchError(file, expected, found);
  }
}

async function readSmallFile(file: string): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new IdentityFileError(file, 'cannot be read', { cause: error });
  }
  if (text.length > IDENTITY_FILE_BYTES_MAX)
    throw new IdentityFileError(file, `larger than ${IDENTITY_FILE_BYTES_MAX}`);
  return text;
}

/**
 * Writes `text` to `dir/name` crash-safely. `onStaged` runs after the staging file is durable and before the
 * rename (a crash-injection point for tests).
 */
export async function writeFileDurably(
  dir: string,
  name: string,
  text: string,
  onStaged?: () => void,
): Promise<void> {
  await mkdir(dir, { recursive: true });
  const target = join(dir, name);
  const staging = `${target}${STAGING_SUFFIX}`;
  const handle = await open(staging, 'w', 0o644);
  try {
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  onStaged?.();
  await rename(staging, target);
  await syncDirectory(dir);
}

/** Removes `dir/name` (absent is fine) and makes the removal durable. */
export async function removeFileDurably(dir: string, name: string): Promise<void> {
  await rm(join(dir, name), { force: true });
  await syncDirectory(dir);
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
