// The ElectionPolicyService handlers: each request goes to the pure policy engine; its typed errors become Connect
// INVALID_ARGUMENT with a controller condition, and every decision is counted, timed and logged at debug.
import { create } from '@bufbuild/protobuf';
import { Code, ConnectError, type ConnectRouter } from '@connectrpc/connect';
import {
  createElectionPolicy,
  type ElectionPolicy,
  InvalidPolicyError,
  PolicyInputError,
  type PolicyName,
  policyName,
} from '@regent/election';
import { connectErrorOf } from '@regent/proto';
import { ControllerCondition } from '@regent/proto/common';
import {
  ElectionPolicyService,
  type ElectRequest,
  type ElectResponse,
  type ValidatePolicyRequest,
  type ValidatePolicyResponse,
  ValidatePolicyResponseSchema,
} from '@regent/proto/election';
import type { Logger } from 'pino';
import { Counter, Histogram, type Registry } from 'prom-client';

export interface ElectionPolicyRoutesOptions {
  readonly logger: Logger;
  /** Registry the service's metrics are registered in (once per registry). */
  readonly metrics: Registry;
  /** The policy engine; a new one with its own compiled-rule cache when absent. */
  readonly policy?: ElectionPolicy;
}

/** How an election ended, the `result` label of `regent_policy_decisions_total`. */
export type DecisionResult = 'chosen' | 'none' | 'master_kept';

/** Why a request failed, the `reason` label of `regent_policy_errors_total`. */
export type ErrorReason = 'invalid_argument' | 'invalid_policy' | 'internal';

interface PolicyMetrics {
  readonly decisions: Counter<'policy' | 'result'>;
  readonly decisionSeconds: Histogram<'policy'>;
  readonly errors: Counter<'reason'>;
}

/**
 * Decisions take microseconds for the built-in policies and up to milliseconds for rules over 64 candidates;
 * the buckets span 10 µs to 100 ms.
 */
const decisionSecondsBuckets = [
  1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 1e-1,
];

function registerMetrics(registry: Registry): PolicyMetrics {
  return {
    decisions: new Counter({
      name: 'regent_policy_decisions_total',
      help: 'Elections decided, by policy and result (chosen, none, master_kept).',
      labelNames: ['policy', 'result'],
      registers: [registry],
    }),
    decisionSeconds: new Histogram({
      name: 'regent_policy_decision_seconds',
      help: 'Time to decide one election, in seconds, by policy.',
      labelNames: ['policy'],
      buckets: decisionSecondsBuckets,
      registers: [registry],
    }),
    errors: new Counter({
      name: 'regent_policy_errors_total',
      help: 'Failed Elect and ValidatePolicy requests, by reason (invalid_argument, invalid_policy, internal).',
      labelNames: ['reason'],
      registers: [registry],
    }),
  };
}

function decisionResult(response: ElectResponse): DecisionResult {
  if (response.chosenBrokerId === undefined) return 'none';
  return response.masterKept ? 'master_kept' : 'chosen';
}

/**
 * The Connect error for a policy engine error: `InvalidPolicyError` is INVALID_POLICY with the first problem's
 * field and every problem in the message, `PolicyInputError` is INVALID_ARGUMENT with its field. Anything else
 * (an `AssertionError`) is a bug in the engine: INTERNAL, so the caller falls back to its built-in policy.
 */
function toPolicyConnectError(error: unknown): { reason: ErrorReason; error: ConnectError } {
  if (error instanceof InvalidPolicyError) {
    const message = error.problems.map((p) => `${p.field}: ${p.message}`).join('; ');
    return {
      reason: 'invalid_policy',
      error: connectErrorOf(ControllerCondition.INVALID_POLICY, message, { field: error.field }),
    };
  }
  if (error instanceof PolicyInputError) {
    return {
      reason: 'invalid_argument',
      error: connectErrorOf(ControllerCondition.INVALID_ARGUMENT, error.message, { field: error.field }),
    };
  }
  const message = error instanceof Error ? error.message : String(error);
  return {
    reason: 'internal',
    error: new ConnectError(`policy engine failed: ${message}`, Code.Internal, undefined, undefined, error),
  };
}

/** Registers ElectionPolicyService (Elect, ValidatePolicy) on a Connect router. */
export function createElectionPolicyRoutes(
  options: ElectionPolicyRoutesOptions,
): (router: ConnectRouter) => void {
  const policy = options.policy ?? createElectionPolicy();
  const metrics = registerMetrics(options.metrics);
  const logger = options.logger;

  function fail(error: unknown, rpc: string): never {
    const mapped = toPolicyConnectError(error);
    metrics.errors.inc({ reason: mapped.reason });
    if (mapped.reason === 'internal') logger.error({ err: error, rpc }, 'policy engine failed');
    else logger.debug({ rpc, reason: mapped.reason, message: mapped.error.rawMessage }, 'request refused');
    throw mapped.error;
  }

  function logDecision(request: ElectRequest, response: ElectResponse, result: DecisionResult): void {
    if (!logger.isLevelEnabled('debug')) return;
    logger.debug(
      {
        cluster: request.clusterName,
        brokerName: request.brokerName,
        policy: response.policyName,
        result,
        chosenBrokerId: response.chosenBrokerId?.toString(),
        unclean: response.unclean,
        explanation: response.explanation,
      },
      'election decided',
    );
  }

  function elect(request: ElectRequest): ElectResponse {
    const name: PolicyName = policyName(request.policy);
    const stopTimer = metrics.decisionSeconds.startTimer({ policy: name });
    let response: ElectResponse;
    try {
      response = policy.decide(request);
    } catch (error) {
      fail(error, 'Elect');
    }
    stopTimer();
    const result = decisionResult(response);
    metrics.decisions.inc({ policy: name, result });
    logDecision(request, response, result);
    return response;
  }

  function validatePolicy(request: ValidatePolicyRequest): ValidatePolicyResponse {
    try {
      return create(ValidatePolicyResponseSchema, { problems: policy.validatePolicy(request.policy) });
    } catch (error) {
      fail(error, 'ValidatePolicy');
    }
  }

  return (router) => {
    router.service(ElectionPolicyService, { elect, validatePolicy });
  };
}
