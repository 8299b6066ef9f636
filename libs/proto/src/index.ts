// The generated protobuf code for every Regent API (never edited by hand; regenerate with `npm run generate`)
// plus a few hand-written helpers. Each API package is also importable on its own as `@regent/proto/<domain>`
// (admin, broker, common, consensus, election, notify, raft, state); several declare messages of the same name,
// so the root only re-exports them as namespaces.
//
// 64-bit integers: every int64/uint64 field is a `bigint` in TypeScript and a decimal string in JSON.

export {
  type ControllerErrorOptions,
  conditionTable,
  connectErrorOf,
  controllerError,
  readControllerError,
  toConnectError,
} from './errors.js';
export * as adminv1 from './gen/regent/admin/v1/admin_pb.js';
export * as brokerv1 from './gen/regent/broker/v1/broker_pb.js';
export * as commonv1 from './gen/regent/common/v1/common_pb.js';
export * as consensusv1 from './gen/regent/consensus/v1/consensus_pb.js';
export * as electionv1 from './gen/regent/election/v1/election_pb.js';
export * as notifyv1 from './gen/regent/notify/v1/notify_pb.js';
export * as raftv1 from './gen/regent/raft/v1/raft_pb.js';
export * as statev1 from './gen/regent/state/v1/state_pb.js';
