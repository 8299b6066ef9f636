// BrokerService: each RPC is validated, checked against the caller's clusters, and forwarded as the matching
// ControllerCommand to the consensus leader; heartbeats go to the batcher instead, and a heartbeat stream's break
// is reported as a suspicion when it was the broker's newest stream on this gateway.
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
  HeartbeatStreamResponseSchema,
} from '@regent/proto/broker';
import { type BrokerHeartbeat, ControllerCondition, type ControllerMetadata } from '@regent/proto/common';
import { StreamSuspicionSchema } from '@regent/proto/consensus';
import type { Logger } from 'pino';
import { requireCluster } from './auth.js';
import { callContextOf } from './call-context.js';
import type { CommandCase, CommandValue, ReplyValue } from './forwarder.js';
import { untilAborted } from './iterables.js';
import { check, forwarded, type ServiceDeps, shuttingDownError } from './services.js';
import type { BrokerKey, StreamRef } from './stream-registry.js';
import {
  type Violation,
  validateAlterSyncStateSet,
  validateApplyBrokerId,
  validateElectMaster,
  validateGetNextBrokerId,
  validateGetReplicaInfo,
  validateGetSyncStateData,
  validateHeartbeat,
  validateRegisterBroker,
  violationError,
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

function effectiveTimeoutMs(deps: ServiceDeps, heartbeat: BrokerHeartbeat): bigint {
  return heartbeat.heartbeatTimeoutMs === 0n ? deps.defaultHeartbeatTimeoutMs : heartbeat.heartbeatTimeoutMs;
}

/** A validated heartbeat whose cluster the caller may act on. */
function acceptedHeartbeat(heartbeat: BrokerHeartbeat | undefined, ctx: HandlerContext): BrokerHeartbeat {
  check(validateHeartbeat(heartbeat));
  const accepted = heartbeat as BrokerHeartbeat;
  requireCluster(ctx, accepted.clusterName);
  return accepted;
}

/** One-way like RocketMQ's BROKER_HEARTBEAT: answered once the heartbeat is in a batch. */
function heartbeat(deps: ServiceDeps, request: HeartbeatRequest, ctx: HandlerContext): HeartbeatResponse {
  const accepted = acceptedHeartbeat(request.heartbeat, ctx);
  // Sequence 0 marks a unary heartbeat: it proves the broker alive but takes no part in ordering its streams.
  deps.batcher.add(accepted, 0n);
  return create(HeartbeatResponseSchema, { effectiveTimeoutMs: effectiveTimeoutMs(deps, accepted) });
}

function brokerOf(heartbeat: BrokerHeartbeat): BrokerKey {
  return {
    clusterName: heartbeat.clusterName,
    brokerName: heartbeat.brokerName,
    brokerId: heartbeat.brokerId as bigint,
  };
}

function sameBroker(a: BrokerKey, b: BrokerKey): boolean {
  return a.clusterName === b.clusterName && a.brokerName === b.brokerName && a.brokerId === b.brokerId;
}

/**
 * A broker's heartbeat stream. Every message must name the broker of the first one (else INVALID_ARGUMENT and the
 * stream ends). When the stream ends for any reason while the gateway is not draining, and it is the broker's newest
 * stream here, a StreamSuspicion is sent to every node at once.
 */
async function* heartbeatStream(
  deps: ServiceDeps,
  requests: AsyncIterable<HeartbeatStreamRequest>,
  ctx: HandlerContext,
): AsyncGenerator<HeartbeatStreamResponse> {
  if (deps.draining.aborted) throw shuttingDownError();
  deps.heartbeatStreams.acquire();
  deps.metrics.activeStreams.inc();
  const openedSequence = deps.nextHeartbeatSequence();
  const stream: StreamRef = { streamId: `${deps.gatewayId}/${openedSequence}`, openedSequence };
  const { logger } = callContextOf(ctx);
  let broker: BrokerKey | undefined;
  let acceptedCount = 0n;
  try {
    for await (const message of untilAborted(requests, deps.draining)) {
      const accepted = acceptedHeartbeat(message.heartbeat, ctx);
      const sender = brokerOf(accepted);
      broker ??= sender;
      if (!sameBroker(broker, sender)) {
        throw violationError({
          field: 'heartbeat',
          message: `every message of a stream must name broker ${broker.clusterName}/${broker.brokerName}/${broker.brokerId}`,
          condition: ControllerCondition.INVALID_ARGUMENT,
        });
      }
      deps.streams.observe(broker, stream);
      deps.batcher.add(accepted, openedSequence);
      acceptedCount += 1n;
      yield create(HeartbeatStreamResponseSchema, {
        acceptedCount,
        effectiveTimeoutMs: effectiveTimeoutMs(deps, accepted),
      });
    }
    if (deps.draining.aborted) throw shuttingDownError();
  } finally {
    deps.metrics.activeStreams.dec();
    deps.heartbeatStreams.release();
    if (broker !== undefined) streamEnded(deps, broker, stream, logger);
  }
}

function streamEnded(deps: ServiceDeps, broker: BrokerKey, stream: StreamRef, logger: Logger): void {
  const newest = deps.streams.close(broker, stream);
  // A draining gateway cuts its own streams; the brokers reconnect elsewhere, so that is no sign of a crash.
  if (!newest || deps.draining.aborted) return;
  deps.batcher.suspect(
    create(StreamSuspicionSchema, {
      ...broker,
      streamId: stream.streamId,
      streamOpenedSequence: stream.openedSequence,
    }),
  );
  logger.debug({ streamId: stream.streamId }, 'heartbeat stream broke: suspicion sent');
}
