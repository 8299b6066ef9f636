// The controller state machine as a consensus-node module: the replicated machine, the leader's executor and
// scans, the soft liveness table fed by gateways, and ConsensusService Submit / ReportHeartbeats / Watch.

import { create } from '@bufbuild/protobuf';
import { Code, ConnectError } from '@connectrpc/connect';
import { LivenessTable } from '@regent/controller';
import { toConnectError } from '@regent/proto';
import { ControllerCondition } from '@regent/proto/common';
import {
  ConsensusService,
  type ControllerCommand,
  type ReportHeartbeatsRequest,
  type ReportHeartbeatsResponse,
  ReportHeartbeatsResponseSchema,
  type SubmitRequest,
  type SubmitResponse,
  SubmitResponseSchema,
} from '@regent/proto/consensus';
import { leanUnaryHandler } from '@regent/service-kit';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { ConsensusConfig } from '../config.js';
import type { StateMachineModule } from '../module.js';
import type { RaftNodeHandle } from '../raft-node.js';
import { ControllerExecutor } from './executor.js';
import { createControllerMachine } from './machine.js';
import { createControllerMetrics } from './metrics.js';
import { createPolicyClient } from './policy-client.js';
import { Scanner } from './scanner.js';

/**
 * Largest ReportHeartbeats request, as the router takes it (main.ts): a full gateway batch of heartbeats with
 * labels is tens of MiB.
 */
function reportBytesMax(config: ConsensusConfig): number {
  return Math.max(config.readMaxBytes, 64 * 1024 * 1024);
}

export function createControllerModule(options: {
  config: ConsensusConfig;
  logger: Logger;
  registry: Registry;
}): StateMachineModule {
  const { config, logger } = options;
  const machine = createControllerMachine();
  const liveness = new LivenessTable({
    createdAtMs: Date.now(),
    defaultHeartbeatTimeoutMs: config.heartbeatTimeoutMs,
    graceMs: config.restartGraceMs,
  });
  const metrics = createControllerMetrics(options.registry, () => liveness);
  const policy = createPolicyClient(config.policyAddress, logger);
  let executor: ControllerExecutor | undefined;
  let scanner: Scanner | undefined;
  const requireExecutor = (): ControllerExecutor => {
    if (executor === undefined) throw new ConnectError('node is starting', Code.Unavailable);
    return executor;
  };

  /** ConsensusService.Submit, shared by the Connect router and the lean unary path. */
  const submit = async (req: SubmitRequest, timeoutMs: number | undefined): Promise<SubmitResponse> => {
    const command = req.command;
    const type = command?.command.case;
    if (command === undefined || type === undefined) {
      throw new ConnectError('command is required', Code.InvalidArgument);
    }
    const end = metrics.requestSeconds.startTimer({ type });
    try {
      const reply = await requireExecutor().submit(
        req.clientId,
        req.sequence,
        command as ControllerCommand,
        timeoutMs ?? config.requestTimeoutMs,
      );
      const status = reply.reply.case === 'error' ? ControllerCondition[reply.reply.value.condition] : 'ok';
      metrics.requests.inc({ type, status: status ?? 'error' });
      logger.debug({ requestId: req.requestId, type, status }, 'controller request');
      return create(SubmitResponseSchema, { reply, appliedIndex: BigInt(machine.appliedIndex) });
    } catch (error) {
      const mapped = error instanceof ConnectError ? error : toConnectError(error as never);
      metrics.requests.inc({ type, status: Code[mapped.code] ?? 'error' });
      logger.info({ requestId: req.requestId, type, err: mapped.message }, 'controller request failed');
      throw mapped;
    } finally {
      end();
    }
  };

  /** ConsensusService.ReportHeartbeats, shared by the Connect router and the lean unary path. */
  const reportHeartbeats = (req: ReportHeartbeatsRequest): ReportHeartbeatsResponse => {
    const result = liveness.report(req, Date.now());
    metrics.heartbeats.inc({ result: 'accepted' }, result.acceptedCount);
    if (result.rejectedCount > 0) metrics.heartbeats.inc({ result: 'rejected' }, result.rejectedCount);
    if (req.suspicions.length > 0) {
      metrics.suspicions.inc({ outcome: 'applied' }, result.suspected.length);
      metrics.suspicions.inc({ outcome: 'ignored' }, req.suspicions.length - result.suspected.length);
    }
    // A broken stream of a master is a crash signal: scan now instead of waiting for the interval.
    if (result.suspected.length > 0) scanner?.scanNow();
    return create(ReportHeartbeatsResponseSchema, {
      acceptedCount: result.acceptedCount,
      rejectedCount: result.rejectedCount,
    });
  };

  return {
    stateMachine: machine,
    attach: (node: RaftNodeHandle) => {
      executor = new ControllerExecutor({ machine, node, liveness, policy, metrics, logger });
      scanner = new Scanner({ executor, liveness, intervalMs: config.scanIntervalMs, metrics, logger });
      scanner.start();
    },
    consensus: {
      submit: (req, ctx) => submit(req, ctx.timeoutMs()),
      reportHeartbeats: (req) => reportHeartbeats(req),
      watch: async function* (req, ctx) {
        const from =
          req.fromIndex > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(req.fromIndex);
        try {
          yield* machine.watch.watch(from, ctx.signal);
        } catch (error) {
          if (error instanceof Error && error.name === 'WatcherTooSlowError') {
            throw new ConnectError(error.message, Code.ResourceExhausted);
          }
          throw error;
        }
      },
    },
    handlers: () => [
      leanUnaryHandler({
        method: ConsensusService.method.submit,
        readMaxBytes: config.readMaxBytes,
        handle: (req, ctx) => submit(req, ctx.timeoutMs),
      }),
      // Every gateway sends every batch of heartbeats to every node, tens of times a second.
      leanUnaryHandler({
        method: ConsensusService.method.reportHeartbeats,
        readMaxBytes: reportBytesMax(config),
        handle: async (req) => reportHeartbeats(req),
      }),
    ],
    readyDetail: () => ({ serving: executor?.serving ?? false, watchers: machine.watch.subscriberCount }),
    stop: async () => {
      scanner?.stop();
    },
  };
}
