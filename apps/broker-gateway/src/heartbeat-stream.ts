// One broker's HeartbeatStream on this gateway, whichever server path carries it (the Connect router or the lean
// HTTP/2 path in heartbeat-stream-wire.ts): each message is validated, checked against the caller's clusters, must
// name the stream's broker, and goes to the batcher; the stream's end is a suspicion when it was the broker's newest
// stream here and the gateway is not draining.
import { create } from '@bufbuild/protobuf';
import {
  type HeartbeatStreamRequest,
  type HeartbeatStreamResponse,
  HeartbeatStreamResponseSchema,
} from '@regent/proto/broker';
import { type BrokerHeartbeat, ControllerCondition } from '@regent/proto/common';
import { StreamSuspicionSchema } from '@regent/proto/consensus';
import type { Logger } from 'pino';
import { check, type ServiceDeps, shuttingDownError } from './services.js';
import type { BrokerKey, StreamRef } from './stream-registry.js';
import { validateHeartbeat, violationError } from './validation.js';

/** Refuses (PERMISSION_DENIED) unless the caller may act on the cluster. */
export type ClusterCheck = (clusterName: string) => void;

export function effectiveTimeoutMs(deps: ServiceDeps, heartbeat: BrokerHeartbeat): bigint {
  return heartbeat.heartbeatTimeoutMs === 0n ? deps.defaultHeartbeatTimeoutMs : heartbeat.heartbeatTimeoutMs;
}

/** A validated heartbeat whose cluster the caller may act on. */
export function acceptedHeartbeat(
  heartbeat: BrokerHeartbeat | undefined,
  requireCluster: ClusterCheck,
): BrokerHeartbeat {
  check(validateHeartbeat(heartbeat));
  const accepted = heartbeat as BrokerHeartbeat;
  requireCluster(accepted.clusterName);
  return accepted;
}

function sameBroker(key: BrokerKey, heartbeat: BrokerHeartbeat): boolean {
  return (
    key.clusterName === heartbeat.clusterName &&
    key.brokerName === heartbeat.brokerName &&
    key.brokerId === heartbeat.brokerId
  );
}

/**
 * Every message must name the broker of the first one (else INVALID_ARGUMENT, and the caller ends the stream).
 * `open` takes a heartbeat-stream slot; `end` must follow exactly once, however the stream ends.
 */
export class HeartbeatStreamSession {
  readonly #deps: ServiceDeps;
  readonly #requireCluster: ClusterCheck;
  readonly #logger: Logger;
  readonly #stream: StreamRef;
  #broker: BrokerKey | undefined;
  #acceptedCount = 0n;
  #ended = false;

  private constructor(deps: ServiceDeps, requireCluster: ClusterCheck, logger: Logger) {
    this.#deps = deps;
    this.#requireCluster = requireCluster;
    this.#logger = logger;
    const openedSequence = deps.nextHeartbeatSequence();
    this.#stream = { streamId: `${deps.gatewayId}/${openedSequence}`, openedSequence };
  }

  /** Opens a stream: UNAVAILABLE while draining, OVERLOADED when --heartbeat-streams-max are open. */
  static open(deps: ServiceDeps, requireCluster: ClusterCheck, logger: Logger): HeartbeatStreamSession {
    if (deps.draining.aborted) throw shuttingDownError();
    deps.heartbeatStreams.acquire();
    deps.metrics.activeStreams.inc();
    return new HeartbeatStreamSession(deps, requireCluster, logger);
  }

  /** Accepts one message into the batcher and returns its ack; throws the ConnectError that ends the stream. */
  accept(message: HeartbeatStreamRequest): HeartbeatStreamResponse {
    const accepted = acceptedHeartbeat(message.heartbeat, this.#requireCluster);
    const broker = this.#broker ?? {
      clusterName: accepted.clusterName,
      brokerName: accepted.brokerName,
      brokerId: accepted.brokerId as bigint,
    };
    if (!sameBroker(broker, accepted)) {
      throw violationError({
        field: 'heartbeat',
        message: `every message of a stream must name broker ${broker.clusterName}/${broker.brokerName}/${broker.brokerId}`,
        condition: ControllerCondition.INVALID_ARGUMENT,
      });
    }
    this.#broker = broker;
    // On every message: after a newer stream of the broker closed, this one is the newest again.
    this.#deps.streams.observe(broker, this.#stream);
    this.#deps.batcher.add(accepted, this.#stream.openedSequence);
    this.#acceptedCount += 1n;
    return create(HeartbeatStreamResponseSchema, {
      acceptedCount: this.#acceptedCount,
      effectiveTimeoutMs: effectiveTimeoutMs(this.#deps, accepted),
    });
  }

  /** Releases the slot; reports the suspicion when due. Idempotent. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    const deps = this.#deps;
    deps.metrics.activeStreams.dec();
    deps.heartbeatStreams.release();
    const broker = this.#broker;
    if (broker === undefined) return;
    const newest = deps.streams.close(broker, this.#stream);
    // A draining gateway cuts its own streams; the brokers reconnect elsewhere, so that is no sign of a crash.
    if (!newest || deps.draining.aborted) return;
    deps.batcher.suspect(
      create(StreamSuspicionSchema, {
        ...broker,
        streamId: this.#stream.streamId,
        streamOpenedSequence: this.#stream.openedSequence,
      }),
    );
    this.#logger.debug({ streamId: this.#stream.streamId }, 'heartbeat stream broke: suspicion sent');
  }
}
