// The consensus app's testing entry (@regent/consensus/testing): a real-process Raft cluster for integration tests
// and benchmarks, a client that follows NOT_LEADER hints and retries with its session, and write loads over it.
export { type ClientStats, ClusterClient, type PutCall, SessionWriter } from './cluster-client.js';
export { describeStatuses } from './cluster-waits.js';
export {
  type ClusterNode,
  CONSENSUS_COMPILED_ENTRY,
  CONSENSUS_ENTRY,
  TEST_TIMING_ARGS,
} from './node-process.js';
export { ProcessCluster, type ProcessClusterOptions } from './process-cluster.js';
export { isRetriable, TEST_TIMEOUT_MS } from './retry.js';
export { missingOrWrong, startWriteLoad, valueFor, type WriteLoad, writeKeys } from './write-load.js';
