// The consensus node's configuration (flags, env REGENT_CONSENSUS_*, or a JSON file via --config).
import { type ConfigOf, option, validateAddress } from '@regent/service-kit';

export const consensusConfigSchema = {
  nodeId: option.int({
    description: 'this node id (positive, unique in the cluster)',
    min: 1,
    required: true,
  }),
  peers: option.list({
    description:
      'initial members as id=host:port (this node included); used only to bootstrap a new data dir. With --join: ' +
      'the existing members, whose addresses the node uses until it learns the membership from the leader',
    default: [],
    validate: (list) => {
      for (const p of list) {
        const m = /^(\d+)=(.+)$/.exec(p);
        if (m === null) return `peer ${JSON.stringify(p)} is not id=host:port`;
        const problem = validateAddress(m[2]!);
        if (problem !== undefined) return `peer ${p}: ${problem}`;
      }
      return undefined;
    },
  }),
  peerOverrides: option.list({
    description:
      'id=host:port pairs this node dials instead of the replicated address of that peer (fault-injecting proxies, NAT)',
    default: [],
    validate: (list) =>
      list.every((p) => /^\d+=[^\s=]+:\d+$/.test(p)) ? undefined : 'expected id=host:port pairs',
  }),
  join: option.bool({
    description:
      'start as a new member with no initial membership; it learns it from the leader after being added ' +
      '(give the existing members with --peers so it can answer the leader)',
    default: false,
  }),
  host: option.string({ description: 'listen host', default: '127.0.0.1' }),
  port: option.int({
    description: 'listen port (Raft peers, consensus API, health, metrics)',
    min: 0,
    max: 65535,
    default: 7101,
  }),
  advertise: option.string({
    description: 'address peers and clients use for this node (default host:port)',
    default: '',
  }),
  dataDir: option.string({ description: 'data directory (WAL and snapshots)', default: './.data/consensus' }),
  group: option.string({
    description: 'Raft group name (peers of another group are refused)',
    default: 'regent',
  }),
  stateMachine: option.string({
    description: 'state machine: controller (Regent) or kv (test/benchmark key-value store)',
    default: 'controller',
    validate: (v) => (v === 'controller' || v === 'kv' ? undefined : 'must be controller or kv'),
  }),
  tickMs: option.int({ description: 'length of one Raft tick in ms', min: 1, max: 1000, default: 10 }),
  electionTimeoutTicks: option.int({
    description: 'election timeout in ticks (randomised in [t, 2t)); 15 ticks × 10 ms = 150–300 ms',
    min: 3,
    default: 15,
  }),
  heartbeatTicks: option.int({ description: 'leader heartbeat interval in ticks', min: 1, default: 2 }),
  commitBroadcast: option.string({
    description:
      'how followers learn a new commit index: heartbeat (with the next append or heartbeat, at most heartbeatTicks later; two messages fewer per sparse write) or eager (an empty append at once, as etcd)',
    default: 'heartbeat',
    validate: (v) => (v === 'eager' || v === 'heartbeat' ? undefined : 'must be eager or heartbeat'),
  }),
  snapshotEveryEntries: option.int({
    description: 'snapshot after this many applied entries',
    min: 1,
    default: 10000,
  }),
  snapshotKeepEntries: option.int({
    description: 'entries kept below a snapshot for lagging followers',
    min: 0,
    default: 1000,
  }),
  requestTimeoutMs: option.int({
    description: 'longest a Submit waits for commit and apply',
    min: 100,
    default: 5000,
  }),
  policyAddress: option.string({
    description: 'election-policy service host:port (empty: in-process policy only)',
    default: '',
  }),
  policyDeadlineMs: option.int({
    description: 'deadline for the election-policy service before the in-process fallback',
    min: 1,
    default: 150,
  }),
  heartbeatTimeoutMs: option.int({
    description: 'default broker liveness timeout when a heartbeat carries none',
    min: 100,
    default: 1000,
  }),
  scanIntervalMs: option.int({ description: 'leader liveness scan interval', min: 10, default: 50 }),
  restartGraceMs: option.int({
    description: 'after a start, no broker is declared dead before this much time has passed',
    min: 0,
    default: 1000,
  }),
  chaosSyncLedger: option.string({
    description:
      'FAULT INJECTION ONLY, never in production: keep a sync ledger (the bytes of each WAL/snapshot file known ' +
      'durable) in this file, for the chaos tool to simulate a power failure after kill -9; empty: off',
    default: '',
  }),
  readMaxBytes: option.int({
    description: 'largest accepted request message in bytes',
    min: 1024,
    default: 4 * 1024 * 1024,
  }),
} as const;

export type ConsensusConfig = ConfigOf<typeof consensusConfigSchema>;

/** Parses "id=host:port" peers. */
export function parsePeers(peers: readonly string[]): Map<number, string> {
  const out = new Map<number, string>();
  for (const p of peers) {
    const [id, address] = p.split('=');
    out.set(Number(id), address!);
  }
  return out;
}
