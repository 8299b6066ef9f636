// Heartbeats through a served gateway: the unary call and the bidi stream reach every consensus node with gateway
// sequences; a stream's break is a suspicion sent at once (unless an older stream closes after a newer one opened,
// RocketMQ #11045); a down or stuck node does not hold up the others; draining the gateway is no suspicion.
import { create } from '@bufbuild/protobuf';
import { type Client, Code, ConnectError } from '@connectrpc/connect';
import { readControllerError } from '@regent/proto';
import type { BrokerService, HeartbeatStreamRequest, HeartbeatStreamResponse } from '@regent/proto/broker';
import { HeartbeatStreamRequestSchema } from '@regent/proto/broker';
import { ControllerCondition } from '@regent/proto/common';
import type { StreamSuspicion } from '@regent/proto/consensus';
import { waitFor } from '@regent/testing';
import { untilAborted } from './testing/fake-consensus.js';
import { type Harness, startHarness, tokens } from './testing/harness.js';
import { clusterA, heartbeatOf } from './testing/rpc-samples.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function harness(options: Parameters<typeof startHarness>[0] = {}): Promise<Harness> {
  h = await startHarness(options);
  return h;
}

/** A heartbeat stream the test drives message by message. */
function openStream(client: Client<typeof BrokerService>) {
  const pending: HeartbeatStreamRequest[] = [];
  let wake: (() => void) | undefined;
  let ended = false;
  const input = async function* (): AsyncGenerator<HeartbeatStreamRequest> {
    for (;;) {
      const next = pending.shift();
      if (next !== undefined) yield next;
      else if (ended) return;
      else await new Promise<void>((resolve) => (wake = resolve));
    }
  };
  const controller = new AbortController();
  const responses = client.heartbeatStream(input(), { signal: controller.signal })[Symbol.asyncIterator]();
  return {
    send(heartbeat: ReturnType<typeof heartbeatOf>): Promise<IteratorResult<HeartbeatStreamResponse>> {
      pending.push(create(HeartbeatStreamRequestSchema, { heartbeat }));
      wake?.();
      return responses.next();
    },
    /** Ends the request side cleanly. */
    end(): Promise<IteratorResult<HeartbeatStreamResponse>> {
      ended = true;
      wake?.();
      return responses.next();
    },
    /** The broker process goes away (the stream is reset). */
    abort(): void {
      controller.abort();
    },
  };
}

function suspicionsAt(node: Harness['cluster']['nodes'][number]): StreamSuspicion[] {
  return node.reports.flatMap((r) => r.request.suspicions);
}

function sequencesAt(node: Harness['cluster']['nodes'][number]): bigint[] {
  return node.reports.flatMap((r) => r.request.heartbeatSequences);
}

describe('unary Heartbeat', () => {
  test('reaches every node in a batch with the gateway id; unary heartbeats carry sequence 0 (no stream)', async () => {
    const t = await harness();
    const broker = t.broker(tokens.brokerA);
    const first = await broker.heartbeat({ heartbeat: heartbeatOf(clusterA, 1n) });
    const second = await broker.heartbeat({
      heartbeat: { ...heartbeatOf(clusterA, 2n), heartbeatTimeoutMs: 3000n },
    });
    expect(first.effectiveTimeoutMs).toBe(10_000n); // the controller default for a heartbeat without one
    expect(second.effectiveTimeoutMs).toBe(3000n);
    for (const node of t.cluster.nodes) {
      await waitFor(() => node.heartbeatsReceived() === 2, {
        what: `both heartbeats at node ${node.nodeId}`,
      });
      expect(node.reports.every((r) => r.request.gatewayId === 'gw-test')).toBe(true);
      expect(sequencesAt(node)).toEqual([0n, 0n]);
    }
    expect(await t.metric('regent_gateway_heartbeats_total')).toBe(2);
  });

  test("a heartbeat without broker_id is refused (INVALID_ARGUMENT, RocketMQ's INVALID_REQUEST) and not sent", async () => {
    const t = await harness();
    const error = await t
      .broker(tokens.brokerA)
      .heartbeat({ heartbeat: { ...heartbeatOf(clusterA), brokerId: undefined } })
      .then(
        () => undefined,
        (e: unknown) => ConnectError.from(e),
      );
    expect(error?.code).toBe(Code.InvalidArgument);
    expect(readControllerError(error)).toMatchObject({
      condition: ControllerCondition.INVALID_REQUEST,
      field: 'heartbeat.broker_id',
    });
    await t.broker(tokens.brokerA).heartbeat({ heartbeat: heartbeatOf(clusterA) });
    await waitFor(() => t.cluster.nodes[0]!.heartbeatsReceived() > 0);
    expect(t.cluster.nodes[0]!.heartbeatsReceived()).toBe(1);
  });

  test('a down node and a stuck node do not hold up the others', async () => {
    // A queue of 2 batches of 1 heartbeat: compaction cannot repack them, so the queue overflows and drops.
    const t = await harness({ tuning: { heartbeatQueueBatchesMax: 2 }, config: { heartbeatBatchMax: 1 } });
    const [healthy, stuck, down] = t.cluster.nodes;
    stuck!.onReport = (_request, ctx) => untilAborted(ctx.signal);
    await down!.stop();
    const broker = t.broker(tokens.brokerA);
    for (let id = 1n; id <= 20n; id++) {
      await broker.heartbeat({ heartbeat: heartbeatOf(clusterA, id) });
      await waitFor(() => healthy!.heartbeatsReceived() === Number(id), {
        what: `heartbeat ${id} at the healthy node`,
      });
    }
    expect(stuck!.reports).toHaveLength(1); // one request in flight, the rest queued or dropped
    await waitFor(async () => (await t.metric('regent_gateway_heartbeat_dropped_total')) > 0, {
      what: 'drops',
    });
    await waitFor(
      async () =>
        (await t.metric('regent_gateway_heartbeat_batches_total', { node: down!.address, result: 'error' })) >
        0,
    );
    // Each heartbeat went alone (the test waited for it), so the healthy node answered 20 requests.
    await waitFor(
      async () =>
        (await t.metric('regent_gateway_heartbeat_batches_total', {
          node: healthy!.address,
          result: 'ok',
        })) === 20,
      { what: '20 delivered batches at the healthy node' },
    );
  });
});

describe('HeartbeatStream', () => {
  test('acks each message with accepted_count; every heartbeat carries the stream sequence', async () => {
    const t = await harness();
    const stream = openStream(t.broker(tokens.brokerA));
    for (let n = 1n; n <= 3n; n++) {
      const ack = await stream.send({ ...heartbeatOf(clusterA), maxOffset: 100n * n });
      expect(ack.value).toMatchObject({ acceptedCount: n, effectiveTimeoutMs: 10_000n });
    }
    for (const node of t.cluster.nodes) {
      await waitFor(() => node.heartbeatsReceived() === 3, {
        what: `three heartbeats at node ${node.nodeId}`,
      });
      expect(new Set(sequencesAt(node)).size).toBe(1);
    }
    expect(await t.metric('regent_gateway_active_streams')).toBe(1);
    stream.abort();
    await waitFor(async () => (await t.metric('regent_gateway_active_streams')) === 0, {
      what: 'the stream to close',
    });
  });

  test('a broken stream is a suspicion at once, to every node, naming the stream and its opening sequence', async () => {
    // A long batch interval: only the immediate flush of a suspicion can deliver it within the test.
    const t = await harness({ config: { heartbeatBatchIntervalMs: 60_000, heartbeatBatchMax: 1 } });
    const stream = openStream(t.broker(tokens.brokerA));
    await stream.send(heartbeatOf(clusterA, 7n));
    await waitFor(() => t.cluster.nodes.every((n) => n.heartbeatsReceived() === 1));
    const openedSequence = sequencesAt(t.cluster.nodes[0]!)[0]!;
    stream.abort();
    for (const node of t.cluster.nodes) {
      await waitFor(() => suspicionsAt(node).length === 1, { what: `the suspicion at node ${node.nodeId}` });
      expect(suspicionsAt(node)[0]).toMatchObject({
        clusterName: clusterA,
        brokerName: 'broker-a',
        brokerId: 7n,
        streamId: `gw-test/${openedSequence}`,
        streamOpenedSequence: openedSequence,
      });
    }
  });

  test('a cleanly ended stream is a suspicion too (the broker stopped heartbeating on it)', async () => {
    const t = await harness();
    const stream = openStream(t.broker(tokens.brokerA));
    await stream.send(heartbeatOf(clusterA));
    expect((await stream.end()).done).toBe(true);
    await waitFor(() => t.cluster.nodes.every((n) => suspicionsAt(n).length === 1), {
      what: 'the suspicions',
    });
  });

  test('an older stream closing after a newer one opened is no suspicion (#11045); the newer one is', async () => {
    const t = await harness();
    const older = openStream(t.broker(tokens.brokerA));
    await older.send(heartbeatOf(clusterA));
    const newer = openStream(t.broker(tokens.brokerA));
    await newer.send(heartbeatOf(clusterA));
    await waitFor(() => t.cluster.nodes.every((n) => n.heartbeatsReceived() === 2));
    const [olderSequence, newerSequence] = sequencesAt(t.cluster.nodes[0]!);
    expect(newerSequence).toBeGreaterThan(olderSequence!);

    older.abort();
    await waitFor(async () => (await t.metric('regent_gateway_active_streams')) === 1, {
      what: 'the older stream to end',
    });
    newer.abort();
    // Suspicions are delivered in order per node, so had the older close been reported, it would come first.
    for (const node of t.cluster.nodes) {
      await waitFor(() => suspicionsAt(node).length > 0, { what: `a suspicion at node ${node.nodeId}` });
      expect(suspicionsAt(node).map((s) => s.streamOpenedSequence)).toEqual([newerSequence]);
    }
  });

  test('a message naming another broker ends the stream with INVALID_ARGUMENT (and the stream’s broker is suspected)', async () => {
    const t = await harness();
    const stream = openStream(t.broker(tokens.brokerA));
    await stream.send(heartbeatOf(clusterA, 1n));
    const error = await stream.send(heartbeatOf(clusterA, 2n)).then(
      () => undefined,
      (e: unknown) => ConnectError.from(e),
    );
    expect(error?.code).toBe(Code.InvalidArgument);
    expect(readControllerError(error)).toMatchObject({
      condition: ControllerCondition.INVALID_ARGUMENT,
      field: 'heartbeat',
    });
    await waitFor(() => t.cluster.nodes.every((n) => suspicionsAt(n).length === 1));
    expect(suspicionsAt(t.cluster.nodes[0]!)[0]!.brokerId).toBe(1n);
    expect(t.cluster.nodes[0]!.heartbeatsReceived()).toBe(1);
  });

  test('a broker token of another cluster is refused on the first message', async () => {
    const t = await harness();
    const stream = openStream(t.broker(tokens.brokerA));
    const error = await stream.send(heartbeatOf('cluster-b')).then(
      () => undefined,
      (e: unknown) => ConnectError.from(e),
    );
    expect(error?.code).toBe(Code.PermissionDenied);
    expect(t.cluster.nodes.every((n) => n.reports.length === 0)).toBe(true);
  });

  test('draining the gateway ends streams with UNAVAILABLE and reports no suspicion', async () => {
    const t = await harness();
    const stream = openStream(t.broker(tokens.brokerA));
    await stream.send(heartbeatOf(clusterA));
    await waitFor(() => t.cluster.nodes.every((n) => n.heartbeatsReceived() === 1));
    t.gateway.drain();
    const error = await stream.end().then(
      () => undefined,
      (e: unknown) => ConnectError.from(e),
    );
    expect(error?.code).toBe(Code.Unavailable);
    await t.gateway.close(); // flushes anything pending
    expect(t.cluster.nodes.flatMap(suspicionsAt)).toEqual([]);
  });
});
