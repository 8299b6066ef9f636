// A Raft peer server for tests whose "runtime" only records what it receives: the router and the lean Stream
// handler in front of it, as apps/consensus wires them, counting the streams the lean handler took.
import type { RaftMessage } from '@regent/proto/raft';
import type { Message } from '@regent/raft';
import { createLogger, createMetricsRegistry, type RunningServer, startServer } from '@regent/service-kit';
import { messageToWire } from './codec.js';
import type { RaftRuntime } from './runtime.js';
import { createRaftServiceRoutes, createRaftStreamHandler } from './service.js';

export interface RecordingServer {
  readonly server: RunningServer;
  readonly received: RaftMessage[];
  /** Streams answered by the lean handler (the rest went to the router). */
  leanCount(): number;
}

export async function startRecordingServer(
  options: { port?: number; readMaxBytes?: number; received?: RaftMessage[] } = {},
): Promise<RecordingServer> {
  const received = options.received ?? [];
  // Messages the lean handler decoded itself are recorded in wire form too, so tests see one kind.
  const runtime = {
    receive: (m: RaftMessage) => received.push(m),
    receiveMessage: (m: Exclude<Message, { type: 'InstallSnapshot' }>) => received.push(messageToWire(m)),
  } as unknown as RaftRuntime;
  const service = { group: 'g', runtime: () => runtime };
  const handler = createRaftStreamHandler({ ...service, readMaxBytes: options.readMaxBytes ?? 1 << 20 });
  let lean = 0;
  const server = await startServer({
    host: '127.0.0.1',
    port: options.port ?? 0,
    logger: createLogger('t', 'silent'),
    metrics: createMetricsRegistry('t'),
    routes: createRaftServiceRoutes(service),
    handlers: [
      (req, res) => {
        const taken = handler(req, res);
        if (taken) lean++;
        return taken;
      },
    ],
  });
  return { server, received, leanCount: () => lean };
}
