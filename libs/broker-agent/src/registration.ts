// Persistent broker-id negotiation and registration, exactly as RocketMQ 5.1.1+ `ReplicasManager.register()`
// (reference §3.2): INITIAL → temp file → ApplyBrokerId with the check code → identity file → delete temp →
// RegisterBroker. The state is confirmed from disk on every attempt, so a crash between any two steps resumes
// where it stopped, and the controller's check-code idempotence makes a re-apply harmless.
// `registerWithRetry` repeats attempts with backoff until one succeeds, the agent ends, or a refusal is permanent.
import { randomInt } from 'node:crypto';
import { Code, ConnectError } from '@connectrpc/connect';
import { readControllerError } from '@regent/proto';
import type { RegisterBrokerResponse } from '@regent/proto/broker';
import { ControllerCondition } from '@regent/proto/common';
import { createBackoff } from './backoff.js';
import { type Clock, type Random, sleep } from './clock.js';
import type { Settings } from './config.js';
import { RegistrationRejectedError } from './errors.js';
import {
  type BrokerIdentity,
  formatIdentity,
  formatTempIdentity,
  IDENTITY_FILE_NAME,
  readIdentityFiles,
  removeFileDurably,
  TEMP_IDENTITY_FILE_NAME,
  type TempBrokerIdentity,
  writeFileDurably,
} from './identity-files.js';
import type { AgentLogger, BrokerServiceClient } from './ports.js';

/** The points between registration steps; `RegistrationHooks.afterStep` runs at each (crash injection). */
export const REGISTRATION_STEPS = [
  'next-id-fetched',
  'temp-identity-staged',
  'temp-identity-written',
  'broker-id-applied',
  'identity-staged',
  'identity-written',
  'temp-identity-deleted',
  'broker-registered',
] as const;
export type RegistrationStep = (typeof REGISTRATION_STEPS)[number];

export interface RegistrationHooks {
  /** Runs after `step` completed. Throwing simulates a crash there: registration stops with that error. */
  afterStep?(step: RegistrationStep): void;
}

export interface RegistrationParams {
  readonly clusterName: string;
  readonly brokerName: string;
  /** "host:port"; goes into the check code and into RegisterBroker. */
  readonly brokerAddress: string;
  readonly dataDir: string;
  readonly rpcTimeoutMs: number;
  /**
   * When RegisterBroker answers BROKER_NEED_TO_BE_REGISTERED for the id in the identity file (the group or the id
   * was cleaned), delete the identity file so the next attempt negotiates a new id. RocketMQ keeps failing until
   * an operator deletes the file; Regent's controller expects the agent to start over.
   */
  readonly restartWhenForgotten: boolean;
}

export interface RegistrationDeps {
  readonly client: BrokerServiceClient;
  readonly clock: Clock;
  readonly hooks?: RegistrationHooks;
  /** Aborted when the agent stops: calls are cancelled and no further step runs (a write in progress completes). */
  readonly signal?: AbortSignal;
}

export interface Registered {
  readonly identity: BrokerIdentity;
  readonly reply: RegisterBrokerResponse;
}

/**
 * Runs one registration attempt. Resolves when registered; rejects with `RegistrationRejectedError` on a definitive
 * controller refusal, with the `ConnectError` of a failed call (retry: the files keep the progress), with
 * `IdentityMismatchError`/`IdentityFileError` (permanent), or with whatever a hook throws.
 */
export async function registerBroker(
  params: RegistrationParams,
  deps: RegistrationDeps,
): Promise<Registered> {
  const step = (s: RegistrationStep): void => {
    deps.hooks?.afterStep?.(s);
    deps.signal?.throwIfAborted();
  };
  deps.signal?.throwIfAborted();
  const files = await readIdentityFiles(params.dataDir, params);
  let identity = files.identity;
  if (identity === undefined) {
    const temp = files.temp ?? (await createTempIdentity(params, deps, step));
    identity = await applyBrokerId(params, deps, temp, step);
  } else if (files.temp !== undefined) {
    // Crashed after writing the identity file and before deleting the temp one.
    await removeFileDurably(params.dataDir, TEMP_IDENTITY_FILE_NAME);
    step('temp-identity-deleted');
  }
  const reply = await registerIdentity(params, deps, identity);
  step('broker-registered');
  return { identity, reply };
}

export type RegistrationRetrySettings = Pick<
  Settings,
  | 'clusterName'
  | 'brokerName'
  | 'brokerAddress'
  | 'dataDir'
  | 'rpcTimeoutMs'
  | 'restartRegistrationWhenForgotten'
  | 'registerRetryMinMs'
  | 'registerRetryMaxMs'
>;

export interface RegistrationRetryDeps extends RegistrationDeps {
  readonly random: Random;
  readonly logger: AgentLogger;
  readonly counters: { registrationAttempts: number };
  /** Resolves when the agent ends: cuts a backoff sleep short. */
  readonly stopSignal: Promise<void>;
  readonly terminated: () => boolean;
  /** Runs at once on success, before the result is returned. */
  readonly onRegistered: (identity: BrokerIdentity) => void;
  /** Runs at once on a permanent refusal; the result is then undefined. */
  readonly onRefused: (error: RegistrationRejectedError) => void;
}

/**
 * Registration attempts until one succeeds: a failed call or a retryable refusal is retried with backoff. Resolves
 * undefined once the agent ended or after a permanent refusal; rejects with any other error (a bug, a hook's crash,
 * an identity file error).
 */
export async function registerWithRetry(
  s: RegistrationRetrySettings,
  deps: RegistrationRetryDeps,
): Promise<Registered | undefined> {
  const backoff = createBackoff({ minMs: s.registerRetryMinMs, maxMs: s.registerRetryMaxMs }, deps.random);
  while (!deps.terminated()) {
    deps.counters.registrationAttempts++;
    try {
      const registered = await registerBroker(
        {
          clusterName: s.clusterName,
          brokerName: s.brokerName,
          brokerAddress: s.brokerAddress,
          dataDir: s.dataDir,
          rpcTimeoutMs: s.rpcTimeoutMs,
          restartWhenForgotten: s.restartRegistrationWhenForgotten,
        },
        { client: deps.client, clock: deps.clock, hooks: deps.hooks, signal: deps.signal },
      );
      if (deps.terminated()) return undefined;
      deps.onRegistered(registered.identity);
      return registered;
    } catch (error) {
      if (deps.terminated()) return undefined;
      if (error instanceof RegistrationRejectedError && error.permanent) {
        deps.onRefused(error);
        return undefined;
      }
      if (!(error instanceof ConnectError) && !(error instanceof RegistrationRejectedError)) throw error;
      deps.logger.warn({ err: error }, 'registration attempt failed; retrying');
      await sleep(deps.clock, backoff.next(), deps.stopSignal);
    }
  }
  return undefined;
}

async function createTempIdentity(
  params: RegistrationParams,
  deps: RegistrationDeps,
  step: (s: RegistrationStep) => void,
): Promise<TempBrokerIdentity> {
  const { nextBrokerId } = await deps.client.getNextBrokerId(
    { clusterName: params.clusterName, brokerName: params.brokerName },
    { timeoutMs: params.rpcTimeoutMs, signal: deps.signal },
  );
  step('next-id-fetched');
  const temp: TempBrokerIdentity = {
    clusterName: params.clusterName,
    brokerName: params.brokerName,
    brokerId: nextBrokerId,
    // RocketMQ's "<address>;<ms>" plus six random digits: replicas sharing an address (several brokers in one
    // process) that apply in the same millisecond must not look like retries of each other.
    registerCheckCode: `${params.brokerAddress};${deps.clock.nowMs()}${String(randomInt(0, 1_000_000)).padStart(6, '0')}`,
  };
  await writeFileDurably(params.dataDir, TEMP_IDENTITY_FILE_NAME, formatTempIdentity(temp), () =>
    step('temp-identity-staged'),
  );
  step('temp-identity-written');
  return temp;
}

async function applyBrokerId(
  params: RegistrationParams,
  deps: RegistrationDeps,
  temp: TempBrokerIdentity,
  step: (s: RegistrationStep) => void,
): Promise<BrokerIdentity> {
  try {
    await deps.client.applyBrokerId(
      {
        clusterName: temp.clusterName,
        brokerName: temp.brokerName,
        appliedBrokerId: temp.brokerId,
        registerCheckCode: temp.registerCheckCode,
      },
      { timeoutMs: params.rpcTimeoutMs, signal: deps.signal },
    );
  } catch (error) {
    const refusal = definitiveRefusal('ApplyBrokerId', error);
    // Only a definitive refusal may drop the claim: after a timeout the controller may have applied it, and a new
    // id would leave two ids taken by this broker. RocketMQ deletes the temp file on any failure.
    if (refusal !== undefined) await removeFileDurably(params.dataDir, TEMP_IDENTITY_FILE_NAME);
    throw refusal ?? error;
  }
  step('broker-id-applied');
  const identity: BrokerIdentity = {
    clusterName: temp.clusterName,
    brokerName: temp.brokerName,
    brokerId: temp.brokerId,
  };
  await writeFileDurably(params.dataDir, IDENTITY_FILE_NAME, formatIdentity(identity), () =>
    step('identity-staged'),
  );
  step('identity-written');
  await removeFileDurably(params.dataDir, TEMP_IDENTITY_FILE_NAME);
  step('temp-identity-deleted');
  return identity;
}

async function registerIdentity(
  params: RegistrationParams,
  deps: RegistrationDeps,
  identity: BrokerIdentity,
): Promise<RegisterBrokerResponse> {
  try {
    return await deps.client.registerBroker(
      {
        clusterName: identity.clusterName,
        brokerName: identity.brokerName,
        brokerId: identity.brokerId,
        brokerAddress: params.brokerAddress,
      },
      { timeoutMs: params.rpcTimeoutMs, signal: deps.signal },
    );
  } catch (error) {
    const refusal = definitiveRefusal('RegisterBroker', error);
    if (
      refusal?.condition === ControllerCondition.BROKER_NEED_TO_BE_REGISTERED &&
      params.restartWhenForgotten
    ) {
      await removeFileDurably(params.dataDir, IDENTITY_FILE_NAME);
    }
    throw refusal ?? error;
  }
}

/** Conditions after which retrying the same request cannot succeed. */
const PERMANENT_CONDITIONS: ReadonlySet<ControllerCondition> = new Set([
  ControllerCondition.CLUSTER_MISMATCH,
  ControllerCondition.INVALID_ARGUMENT,
  ControllerCondition.INVALID_REQUEST,
]);
/** Conditions that refuse this attempt definitively; the next attempt starts over. */
const RESTART_CONDITIONS: ReadonlySet<ControllerCondition> = new Set([
  ControllerCondition.BROKER_ID_INVALID,
  ControllerCondition.BROKER_NEED_TO_BE_REGISTERED,
]);
const PERMANENT_CODES: ReadonlySet<Code> = new Set([
  Code.Unauthenticated,
  Code.PermissionDenied,
  Code.InvalidArgument,
  Code.Unimplemented,
]);

/** The typed refusal carried by `error`, or undefined for a transient failure (retry with the same files). */
export function definitiveRefusal(stepName: string, error: unknown): RegistrationRejectedError | undefined {
  if (!(error instanceof ConnectError)) return undefined;
  const condition = readControllerError(error)?.condition ?? ControllerCondition.UNSPECIFIED;
  if (PERMANENT_CONDITIONS.has(condition) || PERMANENT_CODES.has(error.code)) {
    return new RegistrationRejectedError(stepName, condition, true, { cause: error });
  }
  if (RESTART_CONDITIONS.has(condition)) {
    return new RegistrationRejectedError(stepName, condition, false, { cause: error });
  }
  return undefined;
}
