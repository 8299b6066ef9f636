// Asks the election-policy service for a decision within a deadline; when it does not answer (down, slow, or
// an error), decides with the in-process default policy and says so (`fallback: true`).
import { create } from '@bufbuild/protobuf';
import { createClient } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-node';
import { decide } from '@regent/election';
import {
  ElectionPolicyService,
  type ElectRequest,
  ElectRequestSchema,
  type ElectResponse,
} from '@regent/proto/election';
import type { Logger } from 'pino';

export interface PolicyDecision {
  readonly decision: ElectResponse;
  readonly fallback: boolean;
}

export interface PolicyClient {
  decide(request: ElectRequest, deadlineMs: number): Promise<PolicyDecision>;
  /** The in-process policy (also used when a remote decision is invalid). */
  decideLocally(request: ElectRequest): ElectResponse;
}

export function createPolicyClient(address: string, logger: Logger): PolicyClient {
  const client =
    address === ''
      ? undefined
      : createClient(
          ElectionPolicyService,
          createConnectTransport({ baseUrl: `http://${address}`, httpVersion: '2', useBinaryFormat: true }),
        );
  // The fallback is RocketMQ's default policy, whatever policy is configured: it needs no operator input.
  const decideDefault = (request: ElectRequest): ElectResponse =>
    decide(create(ElectRequestSchema, { ...request, policy: undefined }));
  return {
    decideLocally: decideDefault,
    decide: async (request, deadlineMs) => {
      if (client === undefined) return { decision: decide(request), fallback: false };
      try {
        const decision = await client.elect(request, { timeoutMs: deadlineMs });
        return { decision, fallback: false };
      } catch (error) {
        logger.warn(
          { err: error, group: request.brokerName, deadlineMs },
          'election-policy service did not answer; deciding with the in-process default policy',
        );
        return { decision: decideDefault(request), fallback: true };
      }
    },
  };
}
