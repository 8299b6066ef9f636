// KvService: the Raft test/benchmark API (consensus started with --state-machine kv).

import { create } from '@bufbuild/protobuf';
import { Code, ConnectError, type ConnectRouter } from '@connectrpc/connect';
import { KvService, type PutRequest, type PutResponse, PutResponseSchema } from '@regent/proto/consensus';
import { type HttpHandler, leanUnaryHandler } from '@regent/service-kit';
import { encodePut, KEY_BYTES_MAX, type KvMachine, VALUE_BYTES_MAX } from './kv-machine.js';
import { leanPutStreamHandler, routerPutStream } from './kv-put-stream.js';
import type { RaftMetrics, RaftNodeHandle } from './raft-node.js';

export function kvRoutes(
  node: RaftNodeHandle,
  machine: KvMachine,
  metrics: RaftMetrics,
): (r: ConnectRouter) => void {
  const put = putImpl(node, metrics);
  return (router) =>
    router.service(KvService, {
      put,
      putStream: (requests) => routerPutStream(requests, put),
      get: async (req) => {
        node.requireLeader();
        try {
          await node.runtime.readBarrier();
        } catch (error) {
          throw node.toConnectError(error);
        }
        const value = machine.get(req.key);
        return {
          found: value !== undefined,
          value: value ?? new Uint8Array(),
          index: BigInt(node.runtime.appliedIndex),
        };
      },
    });
}

/** KvService.Put: validate, propose, answer once applied here. */
function putImpl(
  node: RaftNodeHandle,
  metrics: RaftMetrics,
): (req: PutRequest) => Promise<Pick<PutResponse, 'index'>> {
  return async (req) => {
    if (req.key.length === 0 || Buffer.byteLength(req.key) > KEY_BYTES_MAX) {
      throw new ConnectError(`key must be 1..${KEY_BYTES_MAX} bytes`, Code.InvalidArgument);
    }
    if (req.value.byteLength > VALUE_BYTES_MAX) {
      throw new ConnectError(`value must be at most ${VALUE_BYTES_MAX} bytes`, Code.InvalidArgument);
    }
    node.requireLeader();
    const end = metrics.proposalSeconds.startTimer();
    try {
      const result = (await node.runtime.propose(encodePut(req.key, req.value, req.clientId, req.sequence))
        .applied) as { index: number };
      metrics.proposals.inc({ result: 'ok' });
      end();
      return { index: BigInt(result.index) };
    } catch (error) {
      const mapped = node.toConnectError(error);
      metrics.proposals.inc({ result: Code[mapped.code] ?? 'error' });
      throw mapped;
    }
  };
}

/** The hot Put and PutStream on lean Connect paths (the router still serves every other form of them). */
export function kvLeanHandlers(
  node: RaftNodeHandle,
  metrics: RaftMetrics,
  readMaxBytes: number,
): HttpHandler[] {
  const put = putImpl(node, metrics);
  return [
    leanUnaryHandler({
      method: KvService.method.put,
      readMaxBytes,
      handle: async (req) => create(PutResponseSchema, await put(req)),
    }),
    leanPutStreamHandler(put, readMaxBytes),
  ];
}
