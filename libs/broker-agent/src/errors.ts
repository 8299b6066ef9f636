// Typed errors of the broker agent. Operating errors (a controller refusal, a peer down) are retried or reported;
// these classes name the ones a caller must tell apart.
import { ControllerCondition } from '@regent/proto/common';

/** The agent's configuration is invalid (a name that cannot be a file field or a NATS subject token, ...). */
export class BrokerAgentConfigError extends Error {
  override readonly name = 'BrokerAgentConfigError';
}

/**
 * An identity file names another cluster or broker group than the configuration (RocketMQ: "registration fails
 * permanently until the operator fixes it"). Permanent: the agent refuses to start.
 */
export class IdentityMismatchError extends Error {
  override readonly name = 'IdentityMismatchError';
  constructor(
    readonly file: string,
    readonly expected: { readonly clusterName: string; readonly brokerName: string },
    readonly found: { readonly clusterName: string; readonly brokerName: string },
  ) {
    super(
      `${file} belongs to ${found.clusterName}/${found.brokerName}, ` +
        `but this broker is configured as ${expected.clusterName}/${expected.brokerName}`,
    );
  }
}

/** An identity file exists but cannot be parsed. Permanent: an operator must look at it. */
export class IdentityFileError extends Error {
  override readonly name = 'IdentityFileError';
  constructor(
    readonly file: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}: ${message}`, options);
  }
}

/**
 * The controller refused a registration step with a definitive answer. `permanent` is true when retrying cannot
 * help (CLUSTER_MISMATCH, INVALID_ARGUMENT, bad credentials); otherwise the next attempt starts over (for
 * BROKER_ID_INVALID: from a fresh GetNextBrokerId, like RocketMQ).
 */
export class RegistrationRejectedError extends Error {
  override readonly name = 'RegistrationRejectedError';
  constructor(
    readonly step: string,
    readonly condition: ControllerCondition,
    readonly permanent: boolean,
    options?: { cause?: unknown },
  ) {
    super(`${step} refused: ${ControllerCondition[condition] ?? condition}`, options);
  }
}
