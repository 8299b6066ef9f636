// A lean heartbeat load: many brokers' BrokerService.HeartbeatStream calls spoken as gRPC directly over node:http2
// sessions, each broker's message encoded once. The Connect client costs more CPU per message than the gateway's
// handling of it on this 2-core machine, so a benchmark driving it would measure its own client.
//
// What is measured: for every heartbeat, the time from just before its frame is written to the HTTP/2 stream until
// its ack (the stream's next response message) has been read — the gateway's handling (decode, validation, batcher,
// ack) plus both sockets and this process's own event-loop delay in reading the ack. How late each heartbeat left
// against its schedule is measured separately (`sendLagMs`): a late send is this process's fault, not the gateway's.
import * as http2 from 'node:http2';
import * as net from 'node:net';
import { create, toBinary } from '@bufbuild/protobuf';
import { HeartbeatStreamRequestSchema } from '@regent/proto/broker';

const HEARTBEAT_STREAM_PATH = '/regent.broker.v1.BrokerService/HeartbeatStream';
/** gRPC length-prefixed message header: 1 flag byte, 4 length bytes (big endian). */
const ENVELOPE_HEADER_BYTES = 5;
/** Largest ack accepted; an ack is a few bytes. */
const ACK_BYTES_MAX = 64 * 1024;
/** Scheduler resolution: each tick sends the brokers whose phase fell into it. */
const TICK_MS = 5;
/** Latency samples kept (a uniform reservoir beyond it). */
const SAMPLES_MAX = 2_000_000;

export interface LoadBroker {
  readonly clusterName: string;
  readonly brokerName: string;
  readonly brokerId: bigint;
  readonly brokerAddress: string;
}

export interface HeartbeatLoadOptions {
  /** http://host:port of the gateway. */
  readonly gatewayUrl: string;
  readonly token: string;
  readonly brokers: readonly LoadBroker[];
  /** HTTP/2 connections the streams are spread over (round robin). */
  readonly connections: number;
  readonly intervalMs: number;
  readonly heartbeatTimeoutMs: number;
}

export interface LoadSummary {
  readonly heartbeats: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly maxMs: number;
  readonly sendLagP99Ms: number;
  readonly sendLagMaxMs: number;
  /** Streams that ended with an error while the load ran. */
  readonly streamFailures: number;
}

/** Uniform reservoir of latency samples (seeded LCG, no Math.random) with the exact maximum. */
class Samples {
  values = new Float64Array(1024);
  length = 0;
  seen = 0;
  max = 0;
  #state = 0x2545f491;

  add(value: number): void {
    this.seen++;
    if (value > this.max) this.max = value;
    if (this.length < SAMPLES_MAX) {
      if (this.length === this.values.length) {
        const grown = new Float64Array(Math.min(SAMPLES_MAX, this.values.length * 2));
        grown.set(this.values);
        this.values = grown;
      }
      this.values[this.length++] = value;
      return;
    }
    this.#state = (Math.imul(this.#state, 1_664_525) + 1_013_904_223) >>> 0;
    const slot = this.#state % this.seen;
    if (slot < SAMPLES_MAX) this.values[slot] = value;
  }

  quantile(q: number, sorted: Float64Array): number {
    if (sorted.length === 0) return Number.NaN;
    return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
  }

  sorted(): Float64Array {
    return this.values.slice(0, this.length).sort();
  }
}

/** One broker's stream: its encoded request frame and the send times of unacknowledged heartbeats (FIFO). */
class BrokerStream {
  stream: http2.ClientHttp2Stream | undefined;
  /** Send times (performance.now()) of heartbeats not yet acknowledged, oldest first. */
  readonly sentAt: number[] = [];
  /** Bytes of a partly received ack. */
  pending: Buffer | undefined;
  failed = false;

  constructor(readonly frame: Buffer) {}
}

export class HeartbeatLoad {
  readonly #options: HeartbeatLoadOptions;
  readonly #streams: BrokerStream[];
  readonly #sessions: http2.ClientHttp2Session[] = [];
  #latency = new Samples();
  #sendLag = new Samples();
  #failures = 0;
  #timer: NodeJS.Timeout | undefined;
  #startedMs = 0;
  #nextTick = 0;
  #stopping = false;

  constructor(options: HeartbeatLoadOptions) {
    this.#options = options;
    this.#streams = options.brokers.map((broker) => new BrokerStream(frameOf(broker, options)));
  }

  /** Opens every stream (no heartbeat yet) and starts sending on schedule. */
  start(): void {
    const { connections, gatewayUrl } = this.#options;
    const url = new URL(gatewayUrl);
    for (let i = 0; i < connections; i++) {
      const session = http2.connect(gatewayUrl, {
        createConnection: () => net.connect({ host: url.hostname, port: Number(url.port), noDelay: true }),
      });
      session.on('error', () => {});
      this.#sessions.push(session);
    }
    for (const [index, broker] of this.#streams.entries()) {
      this.#open(broker, this.#sessions[index % connections]!);
    }
    this.#startedMs = performance.now();
    this.#nextTick = 0;
    this.#timer = setInterval(() => this.#tick(), TICK_MS);
  }

  /** Forgets the samples so far (call when the measurement starts). */
  resetSamples(): void {
    this.#latency = new Samples();
    this.#sendLag = new Samples();
    this.#failures = 0;
  }

  summary(): LoadSummary {
    const latency = this.#latency.sorted();
    const lag = this.#sendLag.sorted();
    return {
      heartbeats: this.#latency.seen,
      p50Ms: round(this.#latency.quantile(0.5, latency)),
      p99Ms: round(this.#latency.quantile(0.99, latency)),
      p999Ms: round(this.#latency.quantile(0.999, latency)),
      maxMs: round(this.#latency.max),
      sendLagP99Ms: round(this.#sendLag.quantile(0.99, lag)),
      sendLagMaxMs: round(this.#sendLag.max),
      streamFailures: this.#failures,
    };
  }

  /** Stops sending, ends every stream (the broker goes away cleanly) and closes the connections. */
  async stop(): Promise<void> {
    this.#stopping = true;
    clearInterval(this.#timer);
    for (const broker of this.#streams) broker.stream?.end();
    await Promise.all(
      this.#sessions.map(
        (session) =>
          new Promise<void>((resolve) => {
            const timer = setTimeout(() => {
              session.destroy();
              resolve();
            }, 2000);
            session.close(() => {
              clearTimeout(timer);
              resolve();
            });
          }),
      ),
    );
  }

  #open(broker: BrokerStream, session: http2.ClientHttp2Session): void {
    const stream = session.request({
      ':method': 'POST',
      ':path': HEARTBEAT_STREAM_PATH,
      'content-type': 'application/grpc+proto',
      te: 'trailers',
      'grpc-accept-encoding': 'identity',
      authorization: `Bearer ${this.#options.token}`,
    });
    broker.stream = stream;
    stream.on('data', (chunk: Buffer) => this.#onData(broker, chunk));
    const fail = (): void => {
      if (broker.failed || this.#stopping) return;
      broker.failed = true;
      this.#failures++;
    };
    stream.on('response', (headers) => {
      // A trailers-only response (an error before any message) carries grpc-status in the headers.
      const status = headers['grpc-status'];
      if (headers[':status'] !== 200 || (status !== undefined && status !== '0')) fail();
    });
    stream.on('trailers', (trailers) => {
      if (trailers['grpc-status'] !== '0') fail();
    });
    stream.on('error', fail);
    stream.on('close', () => {
      if (!this.#stopping) fail();
    });
  }

  /** Sends the heartbeats of every tick that is due; the brokers' phases are spread evenly over the interval. */
  #tick(): void {
    const { intervalMs } = this.#options;
    const count = this.#streams.length;
    const ticksPerInterval = Math.max(1, Math.round(intervalMs / TICK_MS));
    const now = performance.now();
    const dueTick = Math.floor((now - this.#startedMs) / TICK_MS);
    for (; this.#nextTick <= dueTick; this.#nextTick++) {
      const slot = this.#nextTick % ticksPerInterval;
      const scheduledMs = this.#startedMs + this.#nextTick * TICK_MS;
      const from = Math.floor((slot * count) / ticksPerInterval);
      const to = Math.floor(((slot + 1) * count) / ticksPerInterval);
      for (let i = from; i < to; i++) this.#send(this.#streams[i]!, scheduledMs);
    }
  }

  #send(broker: BrokerStream, scheduledMs: number): void {
    const stream = broker.stream;
    if (stream === undefined || broker.failed || stream.destroyed) return;
    const now = performance.now();
    this.#sendLag.add(now - scheduledMs);
    broker.sentAt.push(now);
    stream.write(broker.frame);
  }

  #onData(broker: BrokerStream, chunk: Buffer): void {
    let data = broker.pending === undefined ? chunk : Buffer.concat([broker.pending, chunk]);
    broker.pending = undefined;
    const now = performance.now();
    while (data.length >= ENVELOPE_HEADER_BYTES) {
      const length = data.readUInt32BE(1);
      if (length > ACK_BYTES_MAX) {
        broker.stream?.close(http2.constants.NGHTTP2_PROTOCOL_ERROR);
        return;
      }
      if (data.length < ENVELOPE_HEADER_BYTES + length) break;
      data = data.subarray(ENVELOPE_HEADER_BYTES + length);
      const sentAt = broker.sentAt.shift();
      if (sentAt !== undefined) this.#latency.add(now - sentAt);
    }
    if (data.length > 0) broker.pending = Buffer.from(data);
  }
}

/** The broker's heartbeat as one gRPC message frame (uncompressed). */
function frameOf(broker: LoadBroker, options: HeartbeatLoadOptions): Buffer {
  const message = toBinary(
    HeartbeatStreamRequestSchema,
    create(HeartbeatStreamRequestSchema, {
      heartbeat: {
        clusterName: broker.clusterName,
        brokerName: broker.brokerName,
        brokerAddress: broker.brokerAddress,
        brokerId: broker.brokerId,
        epoch: 1,
        maxOffset: 1000n,
        confirmOffset: 1000n,
        heartbeatTimeoutMs: BigInt(options.heartbeatTimeoutMs),
      },
    }),
  );
  const frame = Buffer.alloc(ENVELOPE_HEADER_BYTES + message.byteLength);
  frame.writeUInt8(0, 0);
  frame.writeUInt32BE(message.byteLength, 1);
  frame.set(message, ENVELOPE_HEADER_BYTES);
  return frame;
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}
