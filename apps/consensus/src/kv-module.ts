// The key-value state machine as a module (Raft tests and the Raft benchmark).
import { Code, ConnectError } from '@connectrpc/connect';
import type { Registry } from 'prom-client';
import { createKvMachine } from './kv-machine.js';
import { kvLeanHandlers, kvRoutes } from './kv-service.js';
import type { StateMachineModule } from './module.js';
import { createRaftMetrics, type RaftNodeHandle } from './raft-node.js';

export function createKvModule(registry: Registry, readMaxBytes: number): StateMachineModule {
  const machine = createKvMachine();
  const metrics = createRaftMetrics(registry);
  let node: RaftNodeHandle | undefined;
  const unimplemented = (): never => {
    throw new ConnectError('this node runs the kv state machine (--state-machine kv)', Code.Unimplemented);
  };
  return {
    stateMachine: machine,
    attach: (n) => {
      node = n;
    },
    consensus: {
      submit: unimplemented,
      reportHeartbeats: unimplemented,
      // biome-ignore lint/correctness/useYield: the kv node has no controller events to watch
      watch: async function* () {
        unimplemented();
      },
    },
    routes: (router) => {
      if (node === undefined) throw new Error('kv module not attached');
      kvRoutes(node, machine, metrics)(router);
    },
    handlers: () => {
      if (node === undefined) throw new Error('kv module not attached');
      return kvLeanHandlers(node, metrics, readMaxBytes);
    },
    stop: async () => {},
  };
}
