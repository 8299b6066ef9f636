// The replicated controller configuration: a closed set of keys with typed, validated values. RocketMQ keeps its
// controller config per node and refuses blacklisted keys with NO_PERMISSION; Regent replicates the keys that
// change election behaviour (so every node decides alike) and refuses the same blacklist with
// CONFIG_KEY_FORBIDDEN.
import { controllerError } from '@regent/proto';
import { ControllerCondition, type ControllerError } from '@regent/proto/common';
import type { ControllerState } from './state.js';

interface BooleanKey {
  readonly kind: 'boolean';
  readonly defaultValue: boolean;
}

interface IntegerKey {
  readonly kind: 'integer';
  readonly defaultValue: number;
  readonly min: number;
  readonly max: number;
}

type ConfigKey = BooleanKey | IntegerKey;

/** The replicated keys, their types, bounds and defaults. */
export const configKeys = Object.freeze({
  /** Allow a master from outside the SyncStateSet when no in-sync replica is alive (RocketMQ default false). */
  enableElectUncleanMaster: { kind: 'boolean', defaultValue: false },
  /** How long the leader waits for the election-policy service before deciding with the in-process default. */
  electionPolicyDeadlineMs: { kind: 'integer', defaultValue: 300, min: 10, max: 60_000 },
  /** Controller-triggered election attempts per inactive master (RocketMQ `electMasterMaxRetryCount`). */
  electMasterMaxRetryCount: { kind: 'integer', defaultValue: 3, min: 1, max: 10 },
  /** Publish role changes to brokers (RocketMQ `notifyBrokerRoleChanged`). */
  notifyBrokerRoleChanged: { kind: 'boolean', defaultValue: true },
} satisfies Record<string, ConfigKey>);

export type ConfigKeyName = keyof typeof configKeys;

/** Keys UpdateControllerConfig refuses: RocketMQ's fixed blacklist plus its `configBlackList` default. */
export const forbiddenConfigKeys: readonly string[] = Object.freeze([
  'configBlackList',
  'configStorePath',
  'rocketmqHome',
]);

/** The typed effective configuration. */
export interface ControllerConfig {
  readonly enableElectUncleanMaster: boolean;
  readonly electionPolicyDeadlineMs: number;
  readonly electMasterMaxRetryCount: number;
  readonly notifyBrokerRoleChanged: boolean;
}

function isConfigKey(key: string): key is ConfigKeyName {
  return Object.hasOwn(configKeys, key);
}

function canonicalDefault(spec: ConfigKey): string {
  return String(spec.defaultValue);
}

/**
 * The canonical form of a value for a key, or the error that refuses it. Booleans are case-insensitive
 * ("TRUE" → "true"); integers are plain decimals within the key's bounds.
 */
export function validateConfigEntry(
  key: string,
  value: string,
): { canonical: string } | { error: ControllerError } {
  if (forbiddenConfigKeys.includes(key)) {
    return {
      error: controllerError(ControllerCondition.CONFIG_KEY_FORBIDDEN, `${key} may not be changed remotely`, {
        field: `entries[${key}]`,
      }),
    };
  }
  if (!isConfigKey(key)) {
    return {
      error: controllerError(ControllerCondition.INVALID_ARGUMENT, `unknown config key ${key}`, {
        field: `entries[${key}]`,
      }),
    };
  }
  const spec: ConfigKey = configKeys[key];
  const field = `entries[${key}]`;
  if (spec.kind === 'boolean') {
    const lower = value.trim().toLowerCase();
    if (lower === 'true' || lower === 'false') return { canonical: lower };
    return {
      error: controllerError(
        ControllerCondition.INVALID_ARGUMENT,
        `${key} must be true or false, got "${value}"`,
        { field },
      ),
    };
  }
  const trimmed = value.trim();
  if (!/^-?[0-9]{1,10}$/.test(trimmed)) {
    return {
      error: controllerError(
        ControllerCondition.INVALID_ARGUMENT,
        `${key} must be an integer, got "${value}"`,
        { field },
      ),
    };
  }
  const parsed = Number(trimmed);
  if (parsed < spec.min || parsed > spec.max) {
    return {
      error: controllerError(
        ControllerCondition.INVALID_ARGUMENT,
        `${key} must be within [${spec.min}, ${spec.max}], got ${parsed}`,
        { field },
      ),
    };
  }
  return { canonical: String(parsed) };
}

/** Every replicated key with its effective value (set, else default), keys ascending. */
export function effectiveConfigEntries(state: ControllerState): Record<string, string> {
  const entries: Record<string, string> = {};
  for (const key of Object.keys(configKeys).sort()) {
    const spec: ConfigKey = configKeys[key as ConfigKeyName];
    entries[key] = state.config.get(key) ?? canonicalDefault(spec);
  }
  return entries;
}

/** The typed effective configuration. */
export function controllerConfigOf(state: ControllerState): ControllerConfig {
  const entries = effectiveConfigEntries(state);
  return {
    enableElectUncleanMaster: entries.enableElectUncleanMaster === 'true',
    electionPolicyDeadlineMs: Number(entries.electionPolicyDeadlineMs),
    electMasterMaxRetryCount: Number(entries.electMasterMaxRetryCount),
    notifyBrokerRoleChanged: entries.notifyBrokerRoleChanged === 'true',
  };
}
