// The server side of the Raft peer API: decodes batches and feeds them to the runtime. A malformed message is
// dropped (counted) and the rest of the batch still delivered; a batch for another group is refused.
import { Code, ConnectError, type ConnectRouter } from '@connectrpc/connect';
import { RaftService } from '@regent/proto/raft';
import type { RaftRuntime } from './runtime.js';

export interface RaftServiceOptions {
  readonly group: string;
  readonly runtime: () => RaftRuntime | undefined;
  readonly onBadMessage?: (error: unknown) => void;
  /** Largest number of messages accepted in one batch. */
  readonly batchMessagesMax?: number;
}

export function createRaftServiceRoutes(options: RaftServiceOptions): (router: ConnectRouter) => void {
  const deliver = (group: string, messages: readonly Parameters<RaftRuntime['receive']>[0][]): number => {
    if (group !== options.group) {
      throw new ConnectError(
        `raft group ${JSON.stringify(group)} is not ${options.group}`,
        Code.FailedPrecondition,
      );
    }
    if (messages.length > (options.batchMessagesMax ?? 10_000)) {
      throw new ConnectError(`batch of ${messages.length} messages is too large`, Code.ResourceExhausted);
    }
    const runtime = options.runtime();
    if (runtime === undefined) throw new ConnectError('node is starting', Code.Unavailable);
    let accepted = 0;
    for (const m of messages) {
      try {
        runtime.receive(m);
        accepted++;
      } catch (error) {
        options.onBadMessage?.(error);
      }
    }
    return accepted;
  };
  return (router) => {
    router.service(RaftService, {
      send: (req) => ({ acceptedCount: deliver(req.group, req.messages) }),
      stream: async (requests) => {
        let accepted = 0n;
        for await (const req of requests) accepted += BigInt(deliver(req.group, req.messages));
        return { acceptedCount: accepted };
      },
    });
  };
}
