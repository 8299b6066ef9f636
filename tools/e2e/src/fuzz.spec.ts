// RPC fuzzer against a running gateway (3 consensus nodes, 1 gateway with --max-in-flight 8): every public RPC of
// BrokerService and AdminService gets broken fields (typed, over Connect, Connect JSON, gRPC and gRPC-Web), random
// valid reads, malformed JSON, truncated and corrupted binary bodies and gRPC frames over HTTP/1.1 and h2c, bodies
// beyond --read-max-bytes and a burst beyond --max-in-flight. Every answer must be a clear error (a Connect code;
// INVALID_ARGUMENT naming the field for a validation failure), every process must stay up, and nothing may change:
// the controller state and every node's commit index are compared before and after (all cases are invalid or
// harmless by construction, see fuzz-catalog.ts). All randomness comes from one seed, printed on failure;
// REGENT_FUZZ_SEED=<n> replays it.

import { gzipSync } from 'node:zlib';
import {
  create,
  type DescMessage,
  type JsonObject,
  type JsonValue,
  toBinary,
  toJson,
} from '@bufbuild/protobuf';
import {
  type CallOptions,
  type Client,
  ConnectError,
  createClient,
  type Interceptor,
} from '@connectrpc/connect';
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from '@connectrpc/connect-node';
import { readControllerError } from '@regent/proto';
import { ControllerCondition } from '@regent/proto/common';
import { waitFor } from '@regent/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TestBroker } from './broker.js';
import {
  FUZZ_CLUSTER,
  FUZZ_GROUP,
  type Init,
  inputOf,
  methodOf,
  pathOf,
  type RpcSpec,
  rpcSpecs,
  uncoveredMethods,
} from './fuzz-catalog.js';
import {
  controllerEventsBetween,
  healthProblems,
  type ObservedState,
  observeState,
  stateDifferences,
  termsChanged,
} from './observe.js';
import { fuzzSeed, Rng } from './random.js';
import { ADMIN_TOKEN, BROKER_TOKEN, System } from './system.js';
import {
  codeString,
  grpcFrame,
  type HttpVersion,
  protocolHeaders,
  WireClient,
  type WireOutcome,
  type WireProtocol,
} from './wire.js';

const seed = fuzzSeed();
const rng = new Rng(seed);
/** --read-max-bytes (the gateway default) and --max-in-flight of the fuzzed gateway. */
const READ_MAX_BYTES = 1024 * 1024;
const MAX_IN_FLIGHT = 8;
/** Each random phase stops after its case count or its time budget, whichever comes first. */
const PHASE_BUDGET_MS = 45_000;

/** Error codes that are clear answers to a malformed or refused request. */
const clearErrorCodes = new Set([
  'invalid_argument',
  'resource_exhausted',
  'permission_denied',
  'unauthenticated',
  'failed_precondition',
  'not_found',
  'already_exists',
  'unimplemented',
  'out_of_range',
]);

let system: System;
let before: ObservedState;
let wire: WireClient;
const casesRun = new Map<string, number>();
/** Every raw answer's code, for the summary. */
const outcomeTally = new Map<string, number>();

type ClientProtocol = 'connect-h2' | 'connect-json-h1' | 'grpc-h2' | 'grpc-web-h1';
const clientProtocols: readonly ClientProtocol[] = [
  'connect-h2',
  'connect-json-h1',
  'grpc-h2',
  'grpc-web-h1',
];
const clients = new Map<string, Record<string, (request: unknown, options?: CallOptions) => unknown>>();

function clientFor(spec: RpcSpec, protocol: ClientProtocol) {
  const key = `${spec.service.typeName}/${protocol}`;
  let client = clients.get(key);
  if (client === undefined) {
    const token = spec.service.typeName.includes('Admin') ? ADMIN_TOKEN : BROKER_TOKEN;
    const auth: Interceptor = (next) => (req) => {
      req.header.set('authorization', `Bearer ${token}`);
      return next(req);
    };
    const baseUrl = system.gatewayUrl(0);
    const options = { baseUrl, interceptors: [auth] };
    const transport =
      protocol === 'connect-h2'
        ? createConnectTransport({ ...options, httpVersion: '2' })
        : protocol === 'connect-json-h1'
          ? createConnectTransport({ ...options, httpVersion: '1.1', useBinaryFormat: false })
          : protocol === 'grpc-h2'
            ? createGrpcTransport(options)
            : createGrpcWebTransport({ ...options, httpVersion: '1.1' });
    client = createClient(spec.service, transport) as unknown as Client<typeof spec.service> &
      Record<string, (request: unknown, options?: CallOptions) => unknown>;
    clients.set(key, client);
  }
  return client;
}

interface TypedOutcome {
  readonly code: string;
  readonly field?: string;
  readonly condition?: string;
  readonly message?: string;
}

async function* single<T>(message: T): AsyncIterable<T> {
  yield message;
}

/** Calls an RPC through a generated client; a server stream counts as answered at its first message. */
async function callTyped(spec: RpcSpec, protocol: ClientProtocol, init: Init): Promise<TypedOutcome> {
  const method = methodOf(spec);
  const request = create(inputOf(spec), init as never);
  const call = clientFor(spec, protocol)[spec.method]!;
  try {
    if (method.methodKind === 'unary') {
      await call(request, { timeoutMs: 10_000 });
    } else if (method.methodKind === 'server_streaming') {
      const abort = new AbortController();
      // A deadline, not a wait: a stream that sends nothing within 1 s (a watch of an idle state) counts as answered.
      const timer = setTimeout(() => abort.abort(), 1000);
      try {
        for await (const _ of call(request, { signal: abort.signal }) as AsyncIterable<unknown>) break;
      } catch (error) {
        if (!abort.signal.aborted) throw error;
      } finally {
        clearTimeout(timer);
        abort.abort();
      }
    } else {
      for await (const _ of call(single(request), { timeoutMs: 10_000 }) as AsyncIterable<unknown>) break;
    }
    return { code: 'ok' };
  } catch (error) {
    const connectError = ConnectError.from(error);
    const detail = readControllerError(error);
    return {
      code: codeString(connectError.code),
      field: detail?.field,
      condition: detail === undefined ? undefined : ControllerCondition[detail.condition],
      message: connectError.rawMessage.slice(0, 200),
    };
  }
}

function fieldMatches(actual: string | undefined, expected: string): boolean {
  if (actual === undefined) return false;
  if (expected.endsWith('[')) return actual.startsWith(expected);
  return actual === expected || actual.startsWith(`${expected}[`);
}

function count(category: string): void {
  casesRun.set(category, (casesRun.get(category) ?? 0) + 1);
}

function describeInit(init: Init): string {
  const text = JSON.stringify(init, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));
  return text.length > 160 ? `${text.slice(0, 160)}… (${text.length} chars)` : text;
}

/** Runs `cases` cases (or fewer when the budget runs out) and returns the failures, each with the seed. */
async function runCases(
  category: string,
  cases: number,
  one: (index: number) => Promise<string | undefined>,
): Promise<string[]> {
  const failures: string[] = [];
  const deadline = Date.now() + PHASE_BUDGET_MS;
  let ran = 0;
  for (let i = 0; i < cases && Date.now() < deadline; i++) {
    const failure = await one(i);
    ran++;
    count(category);
    if (failure !== undefined) failures.push(`[seed ${seed}, ${category} #${i}] ${failure}`);
    if (i % 50 === 49) {
      const health = await healthProblems(system);
      if (health.length > 0) {
        failures.push(`[seed ${seed}, ${category} after #${i}] unhealthy: ${health.join('; ')}`);
        break;
      }
    }
  }
  process.stderr.write(`[fuzz seed ${seed}] ${category}: ${ran} cases, ${failures.length} failures\n`);
  // The time box must not hollow a phase out: at least half its cases must have run.
  expect(
    ran,
    `[seed ${seed}] ${category}: only ${ran} of ${cases} cases within the budget`,
  ).toBeGreaterThanOrEqual(Math.ceil(cases / 2));
  return failures;
}

function report(failures: readonly string[]): string {
  return `${failures.length} failure(s), seed ${seed} (replay with REGENT_FUZZ_SEED=${seed}):\n${failures.slice(0, 25).join('\n')}`;
}

beforeAll(async () => {
  process.stderr.write(`[fuzz] seed ${seed} (replay with REGENT_FUZZ_SEED=${seed})\n`);
  system = await System.start({
    consensusNodes: 3,
    gateways: 1,
    gatewayArgs: ['--max-in-flight', String(MAX_IN_FLIGHT), '--read-max-bytes', String(READ_MAX_BYTES)],
  });
  wire = new WireClient(system.gatewayUrl(0));
  // State to protect: one registered broker, alive for 10 minutes, elected master of its group.
  const broker = new TestBroker(system.brokerClient(0), FUZZ_CLUSTER, FUZZ_GROUP, '127.0.0.1:30911', 600_000);
  await broker.register();
  await broker.heartbeatOnce();
  await waitFor(
    async () => {
      const live = await system
        .adminClient()
        .getBrokerLiveness({ clusterName: FUZZ_CLUSTER, brokerNames: [FUZZ_GROUP] });
      return live.brokers.length === 1 && live.brokers[0]!.alive;
    },
    { timeoutMs: 10_000, what: 'the fuzz broker alive' },
  );
  const elected = await broker.client.electMaster({
    clusterName: FUZZ_CLUSTER,
    brokerName: FUZZ_GROUP,
    brokerId: broker.brokerId,
  });
  expect(elected.masterBrokerId).toBe(broker.brokerId);
  before = await observeState(system);
}, 180_000);

afterAll(async () => {
  wire?.close();
  if (system !== undefined) {
    const errors = system.gateways[0]!.proc.output()
      .split('\n')
      .filter((line) => /"level":(50|60)/.test(line));
    if (errors.length > 0)
      process.stderr.write(`[fuzz] gateway error logs:\n${errors.slice(0, 10).join('\n')}\n`);
    await system.stop();
  }
  process.stderr.write(`[fuzz seed ${seed}] cases: ${JSON.stringify(Object.fromEntries(casesRun))}\n`);
  process.stderr.write(
    `[fuzz seed ${seed}] raw answers: ${JSON.stringify(Object.fromEntries(outcomeTally))}; INTERNAL for undecodable protobuf: ${internalDecodeFailures}\n`,
  );
});

let lastTerms = '';
afterEach(async () => {
  // Elections under load are expected now and then; logged so a suspicious phase can be found.
  const status = await system.adminClient().getClusterStatus({});
  const terms = status.nodes.map((n) => `${n.nodeId}:${n.term}${n.role === 'leader' ? '*' : ''}`).join(' ');
  if (lastTerms !== '' && terms !== lastTerms) process.stderr.write(`[fuzz] terms ${lastTerms} → ${terms}\n`);
  lastTerms = terms;
});

describe(`RPC fuzz against a running gateway (seed ${seed})`, () => {
  it('covers every public RPC of BrokerService and AdminService', () => {
    expect(uncoveredMethods()).toEqual([]);
  });

  it('refuses every broken field with INVALID_ARGUMENT naming it, over Connect, JSON, gRPC and gRPC-Web', async () => {
    const withMutations = rpcSpecs.filter((s) => s.mutations.length > 0);
    const failures = await runCases('typed-invalid', 320, async () => {
      const spec = rng.pick(withMutations);
      const mutation = rng.pick(spec.mutations);
      const streaming = methodOf(spec).methodKind === 'bidi_streaming';
      const protocol = streaming
        ? rng.pick<ClientProtocol>(['connect-h2', 'grpc-h2'])
        : rng.pick(clientProtocols);
      const init = mutation.apply(spec.base(rng), rng);
      const outcome = await callTyped(spec, protocol, init);
      if (outcome.code === 'invalid_argument' && fieldMatches(outcome.field, mutation.field))
        return undefined;
      return `${spec.method} over ${protocol}, broken ${mutation.field}: got ${JSON.stringify(outcome)} for ${describeInit(init)}`;
    });
    expect(failures, report(failures)).toEqual([]);
  });

  it('gets clear refusals from the consensus leader for requests only it can judge', async () => {
    const failures: string[] = [];
    for (const spec of rpcSpecs) {
      for (const refused of spec.refusedByConsensus ?? []) {
        const protocol = rng.pick(clientProtocols);
        const outcome = await callTyped(spec, protocol, refused.request);
        count('consensus-refused');
        const fieldOk = refused.field === undefined || fieldMatches(outcome.field, refused.field);
        if (!clearErrorCodes.has(outcome.code) || !fieldOk) {
          failures.push(
            `[seed ${seed}] ${spec.method} over ${protocol} ${describeInit(refused.request)}: got ${JSON.stringify(outcome)}` +
              (refused.field === undefined ? '' : ` (expected field ${refused.field})`),
          );
        }
      }
    }
    expect(casesRun.get('consensus-refused')).toBeGreaterThan(5);
    expect(failures, report(failures)).toEqual([]);
  });

  it('answers random valid reads (or refuses them with a controller condition)', async () => {
    const reads = rpcSpecs.filter((s) => s.random !== undefined);
    const failures = await runCases('random-read', 100, async () => {
      const spec = rng.pick(reads);
      const streaming = methodOf(spec).methodKind !== 'unary';
      const protocol = streaming
        ? rng.pick<ClientProtocol>(['connect-h2', 'grpc-h2'])
        : rng.pick(clientProtocols);
      const init = spec.random!(rng);
      const outcome = await callTyped(spec, protocol, init);
      if (outcome.code === 'ok' || clearErrorCodes.has(outcome.code)) return undefined;
      return `${spec.method} over ${protocol}: got ${JSON.stringify(outcome)} for ${describeInit(init)}`;
    });
    expect(failures, report(failures)).toEqual([]);
  });

  it('answers malformed JSON (wrong types, unknown fields, bad int64s, deep nesting, non-JSON) with clear errors', async () => {
    const specs = rpcSpecs.filter(
      (s) =>
        methodOf(s).methodKind === 'unary' &&
        s.method !== 'transferLeadership' &&
        s.method !== 'triggerSnapshot',
    );
    const failures = await runCases('json-junk', 160, async () => {
      const spec = rng.pick(specs);
      // A mutating RPC starts from {}: no JSON junk can add every required field, so it stays invalid.
      const base = spec.kind === 'read' ? spec.random!(rng) : {};
      const baseJson = toJson(inputOf(spec), create(inputOf(spec), base as never)) as JsonObject;
      const { label, body } = jsonJunk(inputOf(spec), baseJson);
      const version: HttpVersion = rng.pick(['1.1', '2']);
      const outcome = await wire.send('connect-json', version, {
        path: pathOf(spec),
        headers: protocolHeaders('connect-json', tokenOf(spec)),
        body,
      });
      return judgeWire(spec, outcome, { label: `${spec.method} JSON ${label}`, version });
    });
    expect(failures, report(failures)).toEqual([]);
  });

  it('answers truncated and corrupted binary bodies and gRPC frames with clear errors (HTTP/1.1 and h2c)', async () => {
    const specs = rpcSpecs.filter((s) => s.corruptBase !== undefined);
    const failures = await runCases('binary-corrupt', 260, async () => {
      const spec = rng.pick(specs);
      const streaming = methodOf(spec).methodKind !== 'unary';
      const protocol: WireProtocol = streaming
        ? rng.pick<WireProtocol>(['grpc', 'grpc-web'])
        : rng.pick<WireProtocol>(['connect-proto', 'grpc', 'grpc-web']);
      // gRPC needs HTTP/2 (answered over HTTP/1.1 with a clear error too); a bidi stream always does.
      const version: HttpVersion = streaming && protocol === 'grpc' ? '2' : rng.pick(['1.1', '2']);
      const bytes = toBinary(inputOf(spec), create(inputOf(spec), spec.corruptBase!(rng) as never));
      const corrupted = corruptBytes(bytes, protocol !== 'connect-proto');
      const framed =
        protocol === 'connect-proto' ? { label: 'body', body: corrupted.body } : corruptFrame(corrupted.body);
      const outcome = await wire.send(protocol, version, {
        path: pathOf(spec),
        headers: protocolHeaders(protocol, tokenOf(spec)),
        body: framed.body,
      });
      return judgeWire(spec, outcome, {
        label: `${spec.method} ${protocol} ${corrupted.label}/${framed.label}`,
        version,
        noMessage: framed.label === 'empty-body' || framed.label === 'trailer-flag',
      });
    });
    expect(failures, report(failures)).toEqual([]);
  });

  it('answers wrong content types, compression and protocol headers with clear errors', async () => {
    const spec = rpcSpecs.find((s) => s.method === 'getReplicaInfo')!;
    const bytes = toBinary(inputOf(spec), create(inputOf(spec), spec.base(rng) as never));
    const auth = `Bearer ${BROKER_TOKEN}`;
    const bidi = rpcSpecs.find((s) => s.method === 'heartbeatStream')!;
    const cases: {
      label: string;
      protocol: WireProtocol;
      headers: Record<string, string>;
      body: Uint8Array;
      okAllowed?: boolean;
    }[] = [
      {
        label: 'text/plain',
        protocol: 'connect-proto',
        headers: { 'content-type': 'text/plain', authorization: auth },
        body: bytes,
      },
      {
        label: 'grpc-web-text (base64 body, not supported)',
        protocol: 'grpc-web',
        headers: { 'content-type': 'application/grpc-web-text', authorization: auth },
        body: new TextEncoder().encode('!!!not base64!!!'),
      },
      {
        label: 'gzip claimed, body not gzip',
        protocol: 'connect-proto',
        headers: { ...protocolHeaders('connect-proto', BROKER_TOKEN), 'content-encoding': 'gzip' },
        body: bytes,
      },
      {
        label: 'unknown content-encoding',
        protocol: 'connect-proto',
        headers: { ...protocolHeaders('connect-proto', BROKER_TOKEN), 'content-encoding': 'zstd-nope' },
        body: bytes,
      },
      {
        label: 'gRPC compressed frame, no grpc-encoding',
        protocol: 'grpc',
        headers: protocolHeaders('grpc', BROKER_TOKEN),
        body: grpcFrame(bytes, { flags: 1 }),
      },
      {
        label: 'gRPC frame gzip-flagged, body not gzip',
        protocol: 'grpc',
        headers: { ...protocolHeaders('grpc', BROKER_TOKEN), 'grpc-encoding': 'gzip' },
        body: grpcFrame(bytes, { flags: 1 }),
      },
      {
        label: 'connect-timeout-ms junk',
        protocol: 'connect-proto',
        headers: { ...protocolHeaders('connect-proto', BROKER_TOKEN), 'connect-timeout-ms': '-5x' },
        body: bytes,
      },
      {
        label: 'grpc-timeout junk',
        protocol: 'grpc',
        headers: { ...protocolHeaders('grpc', BROKER_TOKEN), 'grpc-timeout': '99999999999H' },
        body: grpcFrame(bytes),
      },
      {
        label: 'connect-protocol-version 2',
        protocol: 'connect-proto',
        headers: { ...protocolHeaders('connect-proto', BROKER_TOKEN), 'connect-protocol-version': '2' },
        body: bytes,
        okAllowed: true,
      },
      {
        label: 'unary content type on a bidi stream',
        protocol: 'connect-json',
        headers: protocolHeaders('connect-json', BROKER_TOKEN),
        body: new TextEncoder().encode('{}'),
      },
    ];
    const failures: string[] = [];
    for (const c of cases) {
      for (const version of ['1.1', '2'] as const) {
        const path = c.label.includes('bidi')
          ? '/regent.broker.v1.BrokerService/HeartbeatStream'
          : pathOf(spec);
        const outcome = await wire.send(c.protocol, version, { path, headers: c.headers, body: c.body });
        count('headers');
        // An unsupported media type has no RPC protocol to answer in: HTTP 415 is the clear answer.
        if (outcome.code === 'http-415') continue;
        // connect-es does not require connect-protocol-version (nor check its value): a well-formed read succeeds.
        if (outcome.code === 'ok' && c.okAllowed === true) continue;
        if (
          judgeWire(c.label.includes('bidi') ? bidi : spec, outcome, { label: c.label, version }) ===
          undefined
        )
          continue;
        failures.push(`[seed ${seed}] ${c.label} over HTTP/${version}: ${JSON.stringify(outcome)}`);
      }
    }
    expect(failures, report(failures)).toEqual([]);
  });

  it('refuses bodies beyond --read-max-bytes with RESOURCE_EXHAUSTED and survives aborted uploads', async () => {
    const spec = rpcSpecs.find((s) => s.method === 'getReplicaInfo')!;
    const big = (extra: number) =>
      toBinary(
        inputOf(spec),
        create(inputOf(spec), { clusterName: 'x'.repeat(READ_MAX_BYTES + extra), brokerName: 'a' }),
      );
    const bigJson = new TextEncoder().encode(JSON.stringify({ clusterName: 'x'.repeat(READ_MAX_BYTES + 1) }));
    const bomb = gzipSync(Buffer.alloc(16 * READ_MAX_BYTES));
    const oversize: {
      label: string;
      protocol: WireProtocol;
      headers?: Record<string, string>;
      body: Uint8Array;
    }[] = [
      { label: 'Connect binary read-max + 1', protocol: 'connect-proto', body: big(1) },
      { label: 'Connect JSON read-max + 1', protocol: 'connect-json', body: bigJson },
      { label: 'Connect binary 8 MiB', protocol: 'connect-proto', body: big(7 * READ_MAX_BYTES) },
      { label: 'gRPC frame read-max + 1', protocol: 'grpc', body: grpcFrame(big(1)) },
      {
        label: 'gRPC prefix claims 4 GiB',
        protocol: 'grpc',
        body: grpcFrame(new Uint8Array(16), { declaredBytes: 0xffffffff }),
      },
      { label: 'gRPC-Web frame read-max + 1', protocol: 'grpc-web', body: grpcFrame(big(1)) },
      {
        label: 'Connect gzip bomb (16 MiB inflated)',
        protocol: 'connect-proto',
        headers: { 'content-encoding': 'gzip' },
        body: bomb,
      },
      {
        label: 'gRPC gzip bomb (16 MiB inflated)',
        protocol: 'grpc',
        headers: { 'grpc-encoding': 'gzip' },
        body: grpcFrame(bomb, { flags: 1 }),
      },
    ];
    const failures: string[] = [];
    for (const c of oversize) {
      for (const version of ['1.1', '2'] as const) {
        if (c.protocol === 'grpc' && version === '1.1') continue;
        const outcome = await wire.send(c.protocol, version, {
          path: pathOf(spec),
          headers: { ...protocolHeaders(c.protocol, BROKER_TOKEN), ...c.headers },
          body: c.body,
        });
        count('oversize');
        if (outcome.code === 'resource_exhausted') continue;
        // Over HTTP/1.1 the gateway answers before reading the rest and closes the connection; with a body far
        // beyond the socket buffers the client's write can fail (EPIPE, ECONNRESET) before it reads the answer.
        const resetWhileUploading = /^failure: request error: (write EPIPE|read ECONNRESET|write ECONNRESET)/;
        if (
          version === '1.1' &&
          c.body.byteLength > 2 * READ_MAX_BYTES &&
          resetWhileUploading.test(outcome.code)
        )
          continue;
        failures.push(`${c.label} over HTTP/${version}: ${JSON.stringify(outcome)}`);
      }
    }
    // Uploads cut off mid-body: no answer to judge, but the gateway must stay healthy.
    for (let i = 0; i < 10; i++) {
      const protocol = rng.pick<WireProtocol>(['connect-proto', 'grpc']);
      await wire.send(protocol, protocol === 'grpc' ? '2' : rng.pick(['1.1', '2']), {
        path: pathOf(spec),
        headers: protocolHeaders(protocol, BROKER_TOKEN),
        body: protocol === 'grpc' ? grpcFrame(big(0)) : big(0),
        abortAfterBytes: rng.int(1, 64 * 1024),
      });
      count('aborted-upload');
    }
    expect(await healthProblems(system)).toEqual([]);
    expect(failures, report(failures)).toEqual([]);
  });

  it('sheds a burst beyond --max-in-flight with RESOURCE_EXHAUSTED (OVERLOADED), never a crash', async () => {
    const admin = system.adminClient();
    const burst = 300;
    const outcomes = await Promise.all(
      Array.from({ length: burst }, async () => {
        try {
          await admin.getClusterStatus({}, { timeoutMs: 20_000 });
          return 'ok';
        } catch (error) {
          const detail = readControllerError(error);
          return `${codeString(ConnectError.from(error).code)}${detail === undefined ? '' : `/${ControllerCondition[detail.condition]}`}`;
        }
      }),
    );
    for (let i = 0; i < burst; i++) count('burst');
    const tally = Object.fromEntries(
      [...new Set(outcomes)].map((o) => [o, outcomes.filter((x) => x === o).length]),
    );
    process.stderr.write(
      `[fuzz seed ${seed}] burst of ${burst} with --max-in-flight ${MAX_IN_FLIGHT}: ${JSON.stringify(tally)}\n`,
    );
    expect(Object.keys(tally).filter((o) => o !== 'ok' && o !== 'resource_exhausted/OVERLOADED')).toEqual([]);
    expect(tally['resource_exhausted/OVERLOADED'] ?? 0).toBeGreaterThan(0);
    expect(tally.ok ?? 0).toBeGreaterThan(0);
    expect(await healthProblems(system)).toEqual([]);
  });

  it('leaves every process up, the controller state unchanged and the Raft log without new entries', async () => {
    expect(await healthProblems(system)).toEqual([]);
    const after = await observeState(system);
    expect(stateDifferences(before, after), `seed ${seed}`).toEqual([]);
    if (termsChanged(before, after)) {
      // An election under load appended the new leader's no-op; no controller event may have been committed.
      process.stderr.write(
        `[fuzz seed ${seed}] a consensus election happened during the fuzz; checking events only\n`,
      );
      expect(await controllerEventsBetween(system, before, after)).toEqual([]);
    }
    const total = [...casesRun.values()].reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThanOrEqual(600);
  });
});

function tokenOf(spec: RpcSpec): string {
  return spec.service.typeName.includes('Admin') ? ADMIN_TOKEN : BROKER_TOKEN;
}

/**
 * connect-es (2.1) answers a body that protobuf cannot decode with INTERNAL "parse binary: …", and a compressed
 * gRPC frame without grpc-encoding with INTERNAL as the gRPC spec prescribes. Both are accepted as clear errors
 * (they are counted and reported); any other INTERNAL is not.
 */
const decodeFailure = /^(parse binary: |received compressed envelope)/;
let internalDecodeFailures = 0;

interface WireContext {
  readonly label: string;
  readonly version: HttpVersion;
  /** The request carried no complete message (a bidi stream may then end OK). */
  readonly noMessage?: boolean;
}

/** A clear error; success only for a read (a mutating RPC is never sent in a form that may succeed). */
function judgeWire(spec: RpcSpec, outcome: WireOutcome, context: WireContext): string | undefined {
  const streaming = methodOf(spec).methodKind !== 'unary';
  outcomeTally.set(outcome.code, (outcomeTally.get(outcome.code) ?? 0) + 1);
  if (outcome.code === 'ok' && (spec.kind === 'read' || (streaming && context.noMessage === true)))
    return undefined;
  if (clearErrorCodes.has(outcome.code)) return undefined;
  if (outcome.code === 'internal' && decodeFailure.test(outcome.message)) {
    internalDecodeFailures++;
    return undefined;
  }
  // A stream over HTTP/1.1: "HTTP Version Not Supported" is the clear answer.
  if (outcome.code === 'http-505' && streaming && context.version === '1.1') return undefined;
  return `${context.label} over HTTP/${context.version}: ${outcome.code} (HTTP ${outcome.httpStatus}) ${outcome.message.slice(0, 200)}`;
}

// ---- JSON junk ----

function nested(open: string, close: string, depth: number, inner: string): string {
  return `${open.repeat(depth)}${inner}${close.repeat(depth)}`;
}

/** One malformed JSON body for a request whose well-formed JSON is `base`. */
function jsonJunk(schema: DescMessage, base: JsonObject): { label: string; body: Uint8Array } {
  const fields = schema.fields;
  const stringFields = fields.filter((f) => f.fieldKind === 'scalar' && f.scalar === 9);
  const int64Fields = fields.filter((f) => f.fieldKind === 'scalar' && [3, 4, 16, 18].includes(f.scalar));
  const listFields = fields.filter((f) => f.fieldKind === 'list');
  const messageFields = fields.filter((f) => f.fieldKind === 'message' || f.fieldKind === 'map');
  const enumFields = fields.filter((f) => f.fieldKind === 'enum');
  const anyField = fields.length > 0 ? rng.pick(fields).jsonName : 'zzUnknown';
  // Without a field of the kind a junk value targets, the value goes to an unknown field (ignored): put into some
  // other field it might be well-typed and valid ("abc" is a fine cluster name), making a mutating request valid.
  const nameOf = (candidates: readonly { jsonName: string }[]): string =>
    candidates.length > 0 ? rng.pick(candidates).jsonName : 'zzUnknown';
  const text = (s: string) => new TextEncoder().encode(s);
  const withValue = (name: string, value: JsonValue, label: string) => ({
    label,
    body: text(JSON.stringify({ ...base, [name]: value })),
  });
  const options: (() => { label: string; body: Uint8Array })[] = [
    () => withValue(nameOf(stringFields), rng.pick([5, -1.5, 1e308, true, [], {}]), 'number-for-string'),
    () => withValue(nameOf(listFields), rng.pick([{ 0: 'x' }, 'a,b', 7]), 'object-for-array'),
    () => withValue(nameOf(messageFields), rng.pick([[1, 2], 'x', 3]), 'array-for-object'),
    () =>
      withValue(
        nameOf(int64Fields),
        rng.pick([
          'abc',
          '1.5',
          1.5,
          '1e400',
          '99999999999999999999999',
          '-0x1',
          'AAEC==',
          '',
          ' 1',
          '1_000',
        ]),
        'bad-int64',
      ),
    () => withValue(nameOf(enumFields), rng.pick(['NOT_A_VALUE', 1.5, '']), 'bad-enum'),
    () => withValue('zzUnknown', rng.pick([1, 'x', { a: [1, { b: null }] }, null]), 'unknown-field'),
    () => withValue(anyField, '\u0000'.repeat(rng.int(1, 1000)), 'nul-string'),
    () => withValue(anyField, 'x'.repeat(rng.int(100_000, 900_000)), 'huge-string'),
    () => {
      const depth = rng.pick([100, 1000, 10_000, 100_000]);
      return { label: `deep-array-${depth}`, body: text(`{"${anyField}":${nested('[', ']', depth, '')}}`) };
    },
    () => {
      const depth = rng.pick([1000, 50_000]);
      return {
        label: `deep-object-${depth}`,
        body: text(`{"${anyField}":${nested('{"a":', '}', depth, '1')}}`),
      };
    },
    () => {
      const depth = rng.pick([1000, 100_000]);
      return { label: `deep-top-${depth}`, body: text(nested('[', ']', depth, '')) };
    },
    () => {
      const junk = rng.pick([
        '{',
        '{"a":',
        '',
        '[]',
        '"x"',
        '1e999',
        'true',
        '{}}',
        '\ufeff{}',
        '{"a":1,}',
        "{'a':1}",
        'NaN',
      ]);
      return { label: `not-json ${JSON.stringify(junk)}`, body: text(junk) };
    },
    () => ({
      label: 'invalid-utf8',
      body: Uint8Array.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]),
    }),
    () => ({ label: 'random-bytes', body: rng.bytes(rng.int(1, 200)) }),
    () => ({
      label: 'duplicate-key-wrong-type',
      body: text(`{"${anyField}":${JSON.stringify(base[anyField] ?? 'a')},"${anyField}":{"x":[1]}}`),
    }),
  ];
  return rng.pick(options)();
}

// ---- binary corruption ----

function corruptBytes(bytes: Uint8Array, allowNone: boolean): { label: string; body: Uint8Array } {
  const concat = (...parts: ArrayLike<number>[]) => {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let offset = 0;
    for (const p of parts) {
      out.set(p, offset);
      offset += p.length;
    }
    return out;
  };
  const options: (() => { label: string; body: Uint8Array })[] = [
    () => {
      const cut = bytes.byteLength === 0 ? 0 : rng.int(0, bytes.byteLength - 1);
      return { label: `truncated@${cut}/${bytes.byteLength}`, body: bytes.slice(0, cut) };
    },
    () => {
      const damaged = bytes.slice();
      const flips = rng.int(1, 8);
      for (let i = 0; i < flips && damaged.byteLength > 0; i++)
        damaged[rng.int(0, damaged.byteLength - 1)]! ^= rng.int(1, 255);
      return { label: `flipped×${flips}`, body: damaged };
    },
    () => ({ label: 'garbage-appended', body: concat(bytes, rng.bytes(rng.int(1, 64))) }),
    () => ({ label: 'random-bytes', body: rng.bytes(rng.int(1, 256)) }),
    () => ({
      label: 'huge-length-field',
      body: concat(bytes, [0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f], rng.bytes(8)),
    }),
    () => ({
      label: 'wrong-wire-type',
      body: concat(
        rng.pick([
          [0x0d, 1, 2, 3, 4],
          [0x08, 0x01],
          [0x11, 1, 2, 3, 4, 5, 6, 7, 8],
        ]),
        bytes,
      ),
    }),
    () => ({ label: 'overlong-varint', body: concat([0x08], new Array(11).fill(0xff), [0x01], bytes) }),
    () => ({ label: 'field-zero', body: concat([0x00, 0x01], bytes) }),
    () => ({ label: 'open-group', body: concat(bytes, [0x0b, 0x08, 0x01]) }),
    () => ({ label: 'unmatched-end-group', body: concat([0x0c], bytes) }),
    () => ({
      label: 'negative-length',
      body: concat([0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], bytes),
    }),
  ];
  if (allowNone && rng.bool(0.35)) return { label: 'intact', body: bytes };
  return rng.pick(options)();
}

function corruptFrame(payload: Uint8Array): { label: string; body: Uint8Array } {
  const frame = grpcFrame(payload);
  const options: (() => { label: string; body: Uint8Array })[] = [
    () => ({ label: 'frame', body: frame }),
    () => {
      const extra = rng.int(1, 1000);
      return {
        label: `prefix+${extra}`,
        body: grpcFrame(payload, { declaredBytes: payload.byteLength + extra }),
      };
    },
    () => {
      const less = rng.int(1, Math.max(1, payload.byteLength));
      return {
        label: `prefix-${less}`,
        body: grpcFrame(payload, { declaredBytes: Math.max(0, payload.byteLength - less) }),
      };
    },
    () => ({ label: 'compressed-flag', body: grpcFrame(payload, { flags: 1 }) }),
    () => ({ label: 'trailer-flag', body: grpcFrame(payload, { flags: 0x80 }) }),
    () => ({ label: 'reserved-flags', body: grpcFrame(payload, { flags: rng.pick([0x02, 0x40, 0xfe]) }) }),
    () => {
      const two = new Uint8Array(frame.byteLength * 2);
      two.set(frame, 0);
      two.set(frame, frame.byteLength);
      return { label: 'two-frames', body: two };
    },
    () => {
      const cut = rng.int(1, 4);
      return { label: `partial-prefix-${cut}`, body: frame.slice(0, cut) };
    },
    () => ({ label: 'empty-body', body: new Uint8Array(0) }),
    () => ({ label: 'frame-cut', body: frame.slice(0, rng.int(5, Math.max(5, frame.byteLength - 1))) }),
  ];
  return rng.pick(options)();
}
