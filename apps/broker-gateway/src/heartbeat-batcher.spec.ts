// Heartbeat batching and fan-out with an in-memory sender per node: batch bounds, the interval, every node getting
// every batch, a stuck node not holding up the others, drop-oldest with counting, and suspicions sent at once.
import { create, fromBinary } from '@bufbuild/protobuf';
import { Code, ConnectError } from '@connectrpc/connect';
import { BrokerHeartbeatSchema } from '@regent/proto/common';
import {
  type ReportHeartbeatsRequest,
  ReportHeartbeatsRequestSchema,
  StreamSuspicionSchema,
} from '@regent/proto/consensus';
import { createLogger } from '@regent/service-kit';
import { waitFor } from '@regent/testing';
import { Registry } from 'prom-client';
import { HeartbeatBatcher, type HeartbeatBatcherOptions, type ReportSender } from './heartbeat-batcher.js';
import { type GatewayMetrics, registerGatewayMetrics } from './metrics.js';

const heartbeat = (brokerId: number) =>
  create(BrokerHeartbeatSchema, {
    clusterName: 'c',
    brokerName: 'b',
    brokerAddress: '10.0.0.1:10911',
    brokerId: BigInt(brokerId),
  });
const suspicion = (brokerId: number) =>
  create(StreamSuspicionSchema, {
    clusterName: 'c',
    brokerName: 'b',
    brokerId: BigInt(brokerId),
    streamId: `s${brokerId}`,
  });

interface Delivery {
  readonly request: ReportHeartbeatsRequest;
  readonly signal: AbortSignal;
  resolve(): void;
  reject(error: Error): void;
}

/** A sender per node that records every request; `auto` nodes answer at once, others wait for the test. */
function fakeSender(auto: readonly string[]) {
  const deliveries = new Map<string, Delivery[]>();
  const send: ReportSender = (address, encoded, options) =>
    new Promise<void>((resolvePromise, rejectPromise) => {
      const request = fromBinary(ReportHeartbeatsRequestSchema, encoded);
      const onAbort = (): void => reject(new ConnectError('stopped', Code.Canceled));
      const resolve = (): void => {
        options.signal.removeEventListener('abort', onAbort);
        resolvePromise();
      };
      const reject = (error: Error): void => {
        options.signal.removeEventListener('abort', onAbort);
        rejectPromise(error);
      };
      const list = deliveries.get(address) ?? [];
      list.push({ request, signal: options.signal, resolve, reject });
      deliveries.set(address, list);
      options.signal.addEventListener('abort', onAbort);
      if (auto.includes(address)) resolve();
    });
  const of = (address: string) => deliveries.get(address) ?? [];
  const ids = (address: string) =>
    of(address).flatMap((d) => d.request.heartbeats.map((h) => Number(h.brokerId)));
  return { send, of, ids };
}

let metrics: GatewayMetrics;
let registry: Registry;
beforeEach(() => {
  registry = new Registry();
  metrics = registerGatewayMetrics(registry);
});

async function counter(name: string, labels: Record<string, string> = {}): Promise<number> {
  const { values } = await registry.getSingleMetric(name)!.get();
  return values.find((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want))?.value ?? 0;
}

function batcher(send: ReportSender, overrides: Partial<HeartbeatBatcherOptions> = {}): HeartbeatBatcher {
  return new HeartbeatBatcher({
    gatewayId: 'gw-1',
    nodes: () => ['n1', 'n2', 'n3'],
    send,
    batchMax: 3,
    intervalMs: 60_000, // never fires within a test unless a test sets it
    queueBatchesMax: 2,
    sendTimeoutMs: 1000,
    backoff: { minMs: 1, maxMs: 5 },
    metrics,
    logger: createLogger('batcher-test', 'silent'),
    ...overrides,
  });
}

describe('HeartbeatBatcher', () => {
  test('a full batch goes to every node at once, with the gateway id and each heartbeat sequence', async () => {
    const nodes = fakeSender(['n1', 'n2', 'n3']);
    const b = batcher(nodes.send);
    b.add(heartbeat(1), 101n);
    b.add(heartbeat(2), 101n);
    expect(nodes.of('n1')).toHaveLength(0);
    b.add(heartbeat(3), 205n);
    for (const node of ['n1', 'n2', 'n3']) {
      expect(nodes.of(node)).toHaveLength(1);
      const { request } = nodes.of(node)[0]!;
      expect(request.gatewayId).toBe('gw-1');
      expect(request.heartbeats.map((h) => h.brokerId)).toEqual([1n, 2n, 3n]);
      expect(request.heartbeatSequences).toEqual([101n, 101n, 205n]);
    }
    expect(await counter('regent_gateway_heartbeats_total')).toBe(3);
    await b.close(100);
  });

  test('a partial batch is sent when the interval passes', async () => {
    const nodes = fakeSender(['n1', 'n2', 'n3']);
    const b = batcher(nodes.send, { intervalMs: 5 });
    b.add(heartbeat(1), 1n);
    await waitFor(() => nodes.of('n1').length === 1 && nodes.of('n3').length === 1, {
      what: 'the interval flush',
    });
    expect(nodes.ids('n2')).toEqual([1]);
    await waitFor(
      async () =>
        (await counter('regent_gateway_heartbeat_batches_total', { node: 'n3', result: 'ok' })) === 1,
    );
    await b.close(100);
  });

  test('a suspicion is sent at once, with what is pending', async () => {
    const nodes = fakeSender(['n1', 'n2', 'n3']);
    const b = batcher(nodes.send);
    b.add(heartbeat(1), 1n);
    b.suspect(suspicion(7));
    for (const node of ['n1', 'n2', 'n3']) {
      const [delivery] = nodes.of(node);
      expect(delivery?.request.heartbeats).toHaveLength(1);
      expect(delivery?.request.suspicions.map((s) => s.streamId)).toEqual(['s7']);
    }
    await b.close(100);
  });

  test('a stuck node does not hold up the others; its queue drops the oldest batches, counted', async () => {
    const nodes = fakeSender(['n1', 'n3']); // n2 never answers by itself
    const b = batcher(nodes.send, { batchMax: 1, queueBatchesMax: 2 });
    for (let id = 1; id <= 6; id++) {
      b.add(heartbeat(id), BigInt(id));
      await waitFor(() => nodes.ids('n1').length === id && nodes.ids('n3').length === id, {
        what: `batch ${id}`,
      });
    }
    expect(nodes.ids('n1')).toEqual([1, 2, 3, 4, 5, 6]);
    expect(nodes.ids('n3')).toEqual([1, 2, 3, 4, 5, 6]);
    // n2 has batch 1 in flight; 2..6 queued in a queue of 2: 2, 3 and 4 were dropped.
    expect(nodes.ids('n2')).toEqual([1]);
    expect(await counter('regent_gateway_heartbeat_dropped_total')).toBe(3);
    expect(await counter('regent_gateway_heartbeat_batches_total', { node: 'n2', result: 'dropped' })).toBe(
      3,
    );
    nodes.of('n2')[0]!.resolve();
    await waitFor(() => nodes.of('n2').length === 2, { what: 'n2 to get its queue' });
    // The queued batches 5 and 6 follow in order (one request each: batchMax is 1).
    expect(nodes.of('n2')[1]!.request.heartbeats.map((h) => h.brokerId)).toEqual([5n]);
    nodes.of('n2')[1]!.resolve();
    await waitFor(() => nodes.of('n2').length === 3);
    expect(nodes.ids('n2')).toEqual([1, 5, 6]);
    nodes.of('n2')[2]!.resolve();
    await b.close(100);
  });

  test("a stuck node's full queue is compacted to the newest heartbeat of each broker's stream, not dropped", async () => {
    const nodes = fakeSender(['n1', 'n3']);
    const b = batcher(nodes.send, { batchMax: 2, queueBatchesMax: 2 });
    const beat = (id: number, offset: number) =>
      create(BrokerHeartbeatSchema, { ...heartbeat(id), maxOffset: BigInt(offset) });
    b.add(beat(9, 0), 9n);
    b.flush(); // in flight on n2, which does not answer
    for (let round = 1; round <= 6; round++) {
      b.add(beat(1, round), 1n);
      b.add(beat(2, round), 2n); // a full batch: flushed
    }
    expect(await counter('regent_gateway_heartbeat_dropped_total')).toBe(0);
    // Rounds 1..4 were superseded in the queue (rounds 3..6 each overflowed it and compacted it), on all 3 nodes:
    // the adds ran in one go, so none had taken more than its first request yet.
    expect(await counter('regent_gateway_heartbeat_superseded_total')).toBe(3 * 8);
    nodes.of('n2')[0]!.resolve();
    await waitFor(() => nodes.of('n2').length === 2, { what: 'n2 to get its queue' });
    nodes.of('n2')[1]!.resolve();
    await waitFor(() => nodes.of('n2').length === 3, { what: 'the rest of the queue' });
    const offsets = (n: number) =>
      nodes.of('n2')[n]!.request.heartbeats.map((h) => [Number(h.brokerId), Number(h.maxOffset)]);
    expect(offsets(1)).toEqual([
      [1, 5],
      [2, 5],
    ]);
    expect(offsets(2)).toEqual([
      [1, 6],
      [2, 6],
    ]);
    expect(nodes.of('n2')[2]!.request.heartbeatSequences).toEqual([1n, 2n]);
    nodes.of('n2')[2]!.resolve();
    await b.close(100);
  });

  test('queued batches are coalesced into one request up to batchMax heartbeats', async () => {
    const nodes = fakeSender(['n1', 'n3']);
    const b = batcher(nodes.send, { batchMax: 4, queueBatchesMax: 10 });
    for (let id = 1; id <= 4; id++) b.add(heartbeat(id), 1n); // batch 1 in flight on n2
    for (let id = 5; id <= 6; id++) b.add(heartbeat(id), 1n);
    b.flush();
    for (let id = 7; id <= 8; id++) b.add(heartbeat(id), 1n);
    b.flush();
    b.add(heartbeat(9), 1n);
    b.flush();
    nodes.of('n2')[0]!.resolve();
    await waitFor(() => nodes.of('n2').length === 2);
    expect(nodes.of('n2')[1]!.request.heartbeats.map((h) => Number(h.brokerId))).toEqual([5, 6, 7, 8]);
    nodes.of('n2')[1]!.resolve();
    await waitFor(() => nodes.of('n2').length === 3);
    expect(nodes.ids('n2')).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    nodes.of('n2')[2]!.resolve();
    await b.close(100);
  });

  test('the suspicions of a dropped batch are kept and sent with the next request', async () => {
    const nodes = fakeSender(['n1', 'n3']);
    const b = batcher(nodes.send, { batchMax: 1, queueBatchesMax: 1 });
    b.add(heartbeat(1), 1n); // in flight on n2
    b.suspect(suspicion(2)); // queued
    b.add(heartbeat(3), 3n); // drops the suspicion's batch; its suspicion is carried
    expect(await counter('regent_gateway_heartbeat_batches_total', { node: 'n2', result: 'dropped' })).toBe(
      1,
    );
    nodes.of('n2')[0]!.resolve();
    await waitFor(() => nodes.of('n2').length === 2);
    const { request } = nodes.of('n2')[1]!;
    expect(request.heartbeats.map((h) => h.brokerId)).toEqual([3n]);
    expect(request.suspicions.map((s) => s.streamId)).toEqual(['s2']);
    nodes.of('n2')[1]!.resolve();
    await b.close(100);
  });

  test('a failed delivery is counted and its suspicions are retried; heartbeats are not', async () => {
    const nodes = fakeSender(['n1', 'n3']);
    const b = batcher(nodes.send);
    b.add(heartbeat(1), 1n);
    b.suspect(suspicion(9));
    nodes.of('n2')[0]!.reject(new ConnectError('connection refused', Code.Unavailable));
    await waitFor(() => nodes.of('n2').length === 2, { what: 'the retry of the suspicion' });
    const retry = nodes.of('n2')[1]!.request;
    expect(retry.heartbeats).toHaveLength(0);
    expect(retry.suspicions.map((s) => s.streamId)).toEqual(['s9']);
    expect(await counter('regent_gateway_heartbeat_batches_total', { node: 'n2', result: 'error' })).toBe(1);
    nodes.of('n2')[1]!.resolve();
    await waitFor(
      async () =>
        (await counter('regent_gateway_heartbeat_batches_total', { node: 'n2', result: 'ok' })) === 1,
    );
    await b.close(100);
  });

  test('close sends what is pending and waits for delivery; a stuck node is abandoned after the grace', async () => {
    const nodes = fakeSender(['n1', 'n3']);
    const b = batcher(nodes.send);
    b.add(heartbeat(1), 1n);
    await b.close(20);
    expect(nodes.ids('n1')).toEqual([1]);
    expect(nodes.ids('n3')).toEqual([1]);
    expect(nodes.of('n2')[0]!.signal.aborted).toBe(true);
    b.add(heartbeat(2), 2n);
    expect(nodes.ids('n1')).toEqual([1]);
  });

  test('nodes come from the node list at each flush', async () => {
    const nodes = fakeSender(['n1', 'n2', 'n4']);
    let list = ['n1', 'n2'];
    const b = batcher(nodes.send, { nodes: () => list, batchMax: 1 });
    b.add(heartbeat(1), 1n);
    list = ['n1', 'n4'];
    b.add(heartbeat(2), 2n);
    await waitFor(() => nodes.ids('n1').length === 2 && nodes.ids('n4').length === 1);
    expect(nodes.ids('n1')).toEqual([1, 2]);
    expect(nodes.ids('n2')).toEqual([1]);
    expect(nodes.ids('n4')).toEqual([2]);
    await b.close(100);
  });
});
