// BrokerService: each RPC is validated, checked against the caller's clusters, and forwarded as the matching
// ControllerCommand to the consensus leader; heartbeats go to the batcher instead, and a heartbeat stream's break
// is reported as a suspicion when it was the broker's newest stream on this gateway (heartbeat-stream.ts).
import { create } from '@bufbuild/protobuf';
import type { HandlerContext, ServiceImpl } from '@connectrpc/connect';
import {
  type BrokerService,
  GetControllerMetadataResponseSchema,
  type HeartbeatRequest,
  type HeartbeatResponse,
  HeartbeatResponseSchema,
  type HeartbeatStreamRequest,
  type HeartbeatStreamResponse,
} from '@regent/proto/broker';
import type { ControllerMetadata } from '@regent/proto/common';
import { requireCluster } from './auth.js';
import { callContextOf } from './call-context.js';
import type { CommandCase, CommandValue, ReplyValue } from './forwarder.js';
import { acceptedHeartbeat, effectiveTimeoutMs, HeartbeatStreamSession } from './heartbeat-stream.js';
import { untilAborted } from './iterables.js';
import { check, forwarded, type ServiceDeps, shuttingDownError } from './services.js';
import {
  type Violation,
  validateAlterSyncStateSet,
  validateApplyBrokerId,
  validateElectMaster,
  validateGetNextBrokerId,
  validateGetReplicaInfo,
  validateGetSyncStateData,
  validateRegisterBroker,
} from './validation.js';

type BrokerImpl = ServiceImpl<typeof BrokerService>;

/** A forwarded RPC whose request names a cluster: validate, authorize the cluster, forward, map the reply. */
function commandRpc<C extends CommandCase>(
  deps: ServiceDeps,
  commandCase: C,
  validate: (request: CommandValue<C>) => Violation | undefined,
  clusterOf: (request: CommandValue<C>) => string,
): (request: CommandValue<C>, ctx: HandlerContext) => Promise<ReplyValue<C>> {
  return async (request, ctx) => {
    check(validate(request));
    requireCluster(ctx, clusterOf(request));
    return forwarded(deps, ctx, (scope) => deps.forwarder.command(commandCase, request, scope));
  };
}

const cluster = (request: { clusterName: string }): string => request.clusterName;

export function createBrokerService(deps: ServiceDeps): BrokerImpl {
  return {
    getNextBrokerId: commandRpc(deps, 'getNextBrokerId', validateGetNextBrokerId, cluster),
    applyBrokerId: commandRpc(deps, 'applyBrokerId', validateApplyBrokerId, cluster),
    registerBroker: commandRpc(deps, 'registerBroker', validateRegisterBroker, cluster),
    electMaster: commandRpc(deps, 'electMaster', validateElectMaster, cluster),
    alterSyncStateSet: commandRpc(deps, 'alterSyncStateSet', validateAlterSyncStateSet, cluster),
    getReplicaInfo: commandRpc(deps, 'getReplicaInfo', validateGetReplicaInfo, cluster),
    getSyncStateData: commandRpc(deps, 'getSyncStateData', validateGetSyncStateData, cluster),
    getControllerMetadata: async (_request, ctx) =>
      create(GetControllerMetadataResponseSchema, { metadata: await controllerMetadata(deps, ctx) }),
    heartbeat: (request, ctx) => heartbeat(deps, request, ctx),
    heartbeatStream: (requests, ctx) => heartbeatStream(deps, requests, ctx),
  };
}

/** Any node's Status metadata (the leader's when known), as RocketMQ's GET_METADATA_INFO. */
export async function controllerMetadata(
  deps: ServiceDeps,
  ctx: HandlerContext,
): Promise<ControllerMetadata | undefined> {
  return forwarded(deps, ctx, (scope) =>
    deps.forwarder.onAnyNode(scope, async (client, address, options) => {
      const status = await client.status({}, options);
      if (status.metadata !== undefined) deps.nodes.learn(status.metadata, address);
      return status.metadata;
    }),
  );
}

/** One-way like RocketMQ's BROKER_HEARTBEAT: answered once the heartbeat is in a batch. */
function heartbeat(deps: ServiceDeps, request: HeartbeatRequest, ctx: HandlerContext): HeartbeatResponse {
  const accepted = acceptedHeartbeat(request.heartbeat, (cluster) => requireCluster(ctx, cluster));
  // Sequence 0 marks a unary heartbeat: it proves the broker alive but takes no part in ordering its streams.
  deps.batcher.add(accepted, 0n);
  return create(HeartbeatResponseSchema, { effectiveTimeoutMs: effectiveTimeoutMs(deps, accepted) });
}

/**
 * A broker's heartbeat stream through the Connect router (see HeartbeatStreamSession). When the gateway starts
 * draining, the stream ends with UNAVAILABLE.
 */
async function* heartbeatStream(
  deps: ServiceDeps,
  requests: AsyncIterable<HeartbeatStreamRequest>,
  ctx: HandlerContext,
): AsyncGenerator<HeartbeatStreamResponse> {
  const session = HeartbeatStreamSession.open(
    deps,
    (cluster) => requireCluster(ctx, cluster),
    callContextOf(ctx).logger,
  );
  try {
    for await (const message of untilAborted(requests, deps.draining)) yield session.accept(message);
    if (deps.draining.aborted) throw shuttingDownError();
  } finally {
    session.end();
  }
}
