// A lean KvService.Put client for the Raft benchmarks: the Connect protocol (unary, binary) spoken directly over
// node:http2 sessions. The Connect client costs several times more CPU per call than the server-side work of a
// replicated put on this 2-core machine, so a benchmark driving it would measure its own client. Errors come back
// as ConnectErrors (with the ControllerError detail) like the Connect client's, so NOT_LEADER hints still work.
import * as http2 from 'node:http2';
import * as net from 'node:net';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { Code, ConnectError } from '@connectrpc/connect';
import { codeFromHttpStatus, errorFromJsonBytes } from '@connectrpc/connect/protocol-connect';
import type { ProcessCluster, PutCall } from '@regent/consensus/testing';
import { PutRequestSchema, type PutResponse, PutResponseSchema } from '@regent/proto/consensus';

const PUT_PATH = '/regent.consensus.v1.KvService/Put';
/** A call that takes longer fails (DeadlineExceeded) and is retried elsewhere by the caller. */
const CALL_TIMEOUT_MS = 2_000;
/** Largest response body accepted. */
const RESPONSE_BYTES_MAX = 1024 * 1024;

/** HTTP/2 sessions per node (round robin), opened on first use and replaced when they fail. */
export class RawPutClient {
  readonly #sessions = new Map<number, (http2.ClientHttp2Session | undefined)[]>();
  #next = 0;

  constructor(
    private readonly cluster: ProcessCluster,
    private readonly connectionsPerNode = 1,
  ) {}

  /** The PutCall to hand to `cluster.client({ put })`. */
  readonly put: PutCall = (node, request) =>
    this.#send(node, toBinary(PutRequestSchema, create(PutRequestSchema, request)));

  #session(node: number): http2.ClientHttp2Session {
    let pool = this.#sessions.get(node);
    if (pool === undefined) {
      pool = Array.from({ length: this.connectionsPerNode }, () => undefined);
      this.#sessions.set(node, pool);
    }
    const slot = this.#next++ % pool.length;
    const existing = pool[slot];
    if (existing !== undefined && !existing.closed && !existing.destroyed) return existing;
    const [host, port] = this.cluster.node(node).address.split(':');
    const session = http2.connect(`http://${host}:${port}`, {
      createConnection: () => net.connect({ host: host!, port: Number(port), noDelay: true }),
    });
    // Failures surface on the requests; a broken session is dropped from the pool.
    session.on('error', () => {});
    session.on('close', () => {
      if (pool[slot] === session) pool[slot] = undefined;
    });
    pool[slot] = session;
    return session;
  }

  #send(node: number, body: Uint8Array): Promise<PutResponse> {
    return new Promise((resolve, reject) => {
      let stream: http2.ClientHttp2Stream;
      try {
        stream = this.#session(node).request({
          ':method': 'POST',
          ':path': PUT_PATH,
          'content-type': 'application/proto',
          'connect-protocol-version': '1',
        });
      } catch (error) {
        reject(new ConnectError(`node ${node}: ${String(error)}`, Code.Unavailable));
        return;
      }
      let status = 0;
      const chunks: Buffer[] = [];
      let bytes = 0;
      stream.setTimeout(CALL_TIMEOUT_MS, () => {
        stream.close(http2.constants.NGHTTP2_CANCEL);
        reject(
          new ConnectError(`node ${node}: no answer within ${CALL_TIMEOUT_MS} ms`, Code.DeadlineExceeded),
        );
      });
      stream.on('response', (headers) => {
        status = Number(headers[':status']);
      });
      stream.on('data', (chunk: Buffer) => {
        bytes += chunk.byteLength;
        if (bytes > RESPONSE_BYTES_MAX) {
          stream.close(http2.constants.NGHTTP2_CANCEL);
          reject(
            new ConnectError(
              `node ${node}: response over ${RESPONSE_BYTES_MAX} bytes`,
              Code.ResourceExhausted,
            ),
          );
          return;
        }
        chunks.push(chunk);
      });
      stream.on('end', () => {
        const payload = Buffer.concat(chunks);
        if (status === 200) {
          try {
            resolve(fromBinary(PutResponseSchema, payload));
          } catch (error) {
            reject(new ConnectError(`node ${node}: bad response: ${String(error)}`, Code.Internal));
          }
          return;
        }
        if (status === 0) {
          // No response headers: the connection went away (a killed node). The write may or may not have been
          // applied; the caller retries it within its session, which applies it at most once.
          reject(new ConnectError(`node ${node}: stream closed before a response`, Code.Unavailable));
          return;
        }
        const fallback = new ConnectError(`node ${node}: HTTP ${status}`, codeFromHttpStatus(status));
        try {
          reject(errorFromJsonBytes(payload, undefined, fallback));
        } catch {
          reject(fallback);
        }
      });
      stream.on('error', (error) => {
        reject(new ConnectError(`node ${node}: ${error.message}`, Code.Unavailable));
      });
      stream.end(body);
    });
  }

  close(): void {
    for (const pool of this.#sessions.values()) for (const session of pool) session?.destroy();
    this.#sessions.clear();
  }
}
