// AdminService (admin token only, checked by the interceptor): controller commands are forwarded like the broker's;
// status comes from any or every node; membership and leadership changes go to the leader; a snapshot goes to the
// leader or the named node; WatchEvents proxies a node's Watch stream with resume.
import { create } from '@bufbuild/protobuf';
import type { HandlerContext, ServiceImpl } from '@connectrpc/connect';
import {
  type AdminService,
  type ChangeMembershipRequest,
  type ChangeMembershipResponse,
  ChangeMembershipResponseSchema,
  type GetClusterStatusResponse,
  GetClusterStatusResponseSchema,
  GetControllerMetadataResponseSchema,
  type NodeStatus,
  NodeStatusSchema,
  type TransferLeadershipRequest,
  type TransferLeadershipResponse,
  TransferLeadershipResponseSchema,
  type TriggerSnapshotRequest,
  type TriggerSnapshotResponse,
  TriggerSnapshotResponseSchema,
  type WatchEventsRequest,
  type WatchEventsResponse,
} from '@regent/proto/admin';
import { ControllerCondition } from '@regent/proto/common';
import type { StatusResponse } from '@regent/proto/consensus';
import { controllerMetadata } from './broker-service.js';
import { callContextOf } from './call-context.js';
import type { CommandCase, CommandValue, ReplyValue } from './forwarder.js';
import { check, forwarded, type ServiceDeps, shuttingDownError } from './services.js';
import { anySignal } from './timing.js';
import {
  type Violation,
  validateAdminElectMaster,
  validateAdminGetSyncStateData,
  validateChangeMembership,
  validateCleanBrokerData,
  validateGetBrokerLiveness,
  validateGetElectionAudit,
  validateGetElectionPolicy,
  validateSetElectionPolicy,
  validateUpdateControllerConfig,
  violationError,
} from './validation.js';
import { proxyWatch } from './watch-proxy.js';

type AdminImpl = ServiceImpl<typeof AdminService>;

const noFields = (): undefined => undefined;

/** A forwarded controller command (the admin role was checked by the interceptor). */
function commandRpc<C extends CommandCase>(
  deps: ServiceDeps,
  commandCase: C,
  validate: (request: CommandValue<C>) => Violation | undefined,
): (request: CommandValue<C>, ctx: HandlerContext) => Promise<ReplyValue<C>> {
  return async (request, ctx) => {
    check(validate(request));
    return forwarded(deps, ctx, (scope) => deps.forwarder.command(commandCase, request, scope));
  };
}

export function createAdminService(deps: ServiceDeps): AdminImpl {
  return {
    getControllerMetadata: async (_request, ctx) =>
      create(GetControllerMetadataResponseSchema, { metadata: await controllerMetadata(deps, ctx) }),
    getClusterStatus: (_request, ctx) => clusterStatus(deps, ctx),
    getSyncStateData: commandRpc(deps, 'adminGetSyncStateData', validateAdminGetSyncStateData),
    getBrokerLiveness: commandRpc(deps, 'getBrokerLiveness', validateGetBrokerLiveness),
    electMaster: commandRpc(deps, 'adminElectMaster', validateAdminElectMaster),
    cleanBrokerData: commandRpc(deps, 'cleanBrokerData', validateCleanBrokerData),
    getControllerConfig: commandRpc(deps, 'getControllerConfig', noFields),
    updateControllerConfig: commandRpc(deps, 'updateControllerConfig', validateUpdateControllerConfig),
    getElectionPolicy: commandRpc(deps, 'getElectionPolicy', validateGetElectionPolicy),
    setElectionPolicy: commandRpc(deps, 'setElectionPolicy', validateSetElectionPolicy),
    getElectionAudit: commandRpc(deps, 'getElectionAudit', validateGetElectionAudit),
    changeMembership: (request, ctx) => changeMembership(deps, request, ctx),
    transferLeadership: (request, ctx) => transferLeadership(deps, request, ctx),
    triggerSnapshot: (request, ctx) => triggerSnapshot(deps, request, ctx),
    watchEvents: (request, ctx) => watchEvents(deps, request, ctx),
  };
}

/** Every node's Status at once; a node that does not answer is listed with role "unreachable" and the error. */
async function clusterStatus(deps: ServiceDeps, ctx: HandlerContext): Promise<GetClusterStatusResponse> {
  const results = await forwarded(deps, ctx, (scope) =>
    deps.forwarder.onEveryNode(scope, (client, _address, options) => client.status({}, options)),
  );
  const nodes = results.map(({ address, value, error }) => nodeStatus(deps, address, value, error?.message));
  return create(GetClusterStatusResponseSchema, { nodes });
}

function nodeStatus(
  deps: ServiceDeps,
  address: string,
  response: StatusResponse | undefined,
  error?: string,
): NodeStatus {
  if (response?.metadata !== undefined) deps.nodes.learn(response.metadata, address);
  const status = response?.status;
  if (status !== undefined)
    return create(NodeStatusSchema, { ...status, address: status.address || address });
  return create(NodeStatusSchema, {
    nodeId: deps.nodes.nodeIdOf(address),
    address,
    role: 'unreachable',
    error: error ?? 'the node answered without a status',
  });
}

/** Sessionless and not idempotent: retried only when the previous attempt surely did not run. */
async function changeMembership(
  deps: ServiceDeps,
  request: ChangeMembershipRequest,
  ctx: HandlerContext,
): Promise<ChangeMembershipResponse> {
  check(validateChangeMembership(request));
  const response = await forwarded(deps, ctx, (scope) =>
    deps.forwarder.onLeader(scope, 'definite', (client, _address, options) =>
      client.changeMembership({ request }, options),
    ),
  );
  void deps.nodes.discover();
  return response.response ?? create(ChangeMembershipResponseSchema);
}

/** Retried only when the previous attempt surely did not run; the cached leader is dropped afterwards. */
async function transferLeadership(
  deps: ServiceDeps,
  request: TransferLeadershipRequest,
  ctx: HandlerContext,
): Promise<TransferLeadershipResponse> {
  const response = await forwarded(deps, ctx, (scope) =>
    deps.forwarder.onLeader(scope, 'definite', (client, _address, options) =>
      client.transferLeadership({ request }, options),
    ),
  );
  deps.nodes.forgetLeader();
  void deps.nodes.discover();
  return response.response ?? create(TransferLeadershipResponseSchema);
}

/** node_id 0: the leader (retried like a read, a snapshot is idempotent); otherwise that node, once. */
async function triggerSnapshot(
  deps: ServiceDeps,
  request: TriggerSnapshotRequest,
  ctx: HandlerContext,
): Promise<TriggerSnapshotResponse> {
  const response = await forwarded(deps, ctx, async (scope) => {
    if (request.nodeId === 0n) {
      return deps.forwarder.onLeader(scope, 'any', (client, _address, options) =>
        client.triggerSnapshot({ request }, options),
      );
    }
    if (deps.nodes.addressOf(request.nodeId) === undefined) await deps.nodes.discover(scope.deadline.signal);
    const address = deps.nodes.addressOf(request.nodeId);
    if (address === undefined) {
      throw violationError({
        field: 'node_id',
        message: `no consensus node ${request.nodeId} in the membership`,
        condition: ControllerCondition.INVALID_ARGUMENT,
      });
    }
    return deps.forwarder.onNode(address, scope, (client, _address, options) =>
      client.triggerSnapshot({ request }, options),
    );
  });
  return response.response ?? create(TriggerSnapshotResponseSchema);
}

async function* watchEvents(
  deps: ServiceDeps,
  request: WatchEventsRequest,
  ctx: HandlerContext,
): AsyncGenerator<WatchEventsResponse> {
  if (deps.draining.aborted) throw shuttingDownError();
  deps.watchStreams.acquire();
  deps.metrics.activeStreams.inc();
  const { logger, requestId } = callContextOf(ctx);
  const stop = anySignal([ctx.signal, deps.draining]);
  try {
    yield* proxyWatch(request.fromIndex, stop.signal, {
      nodes: deps.nodes,
      backoff: deps.watchBackoff,
      retriesMax: deps.watchRetriesMax,
      logger,
      requestId,
    });
    if (deps.draining.aborted) throw shuttingDownError();
  } finally {
    stop.dispose();
    deps.metrics.activeStreams.dec();
    deps.watchStreams.release();
  }
}
