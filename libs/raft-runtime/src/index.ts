// @regent/raft-runtime: drives the pure Raft core with real I/O — timers, durable storage, Connect transport.
export { entryFromWire, entryToWire, messageFromWire, messageToWire, WireDecodeError } from './codec.js';
// Protobuf wire primitives for state machines' own hot-path codecs (the kv machine's Put).
export {
  bytesFieldSize,
  FAST_PATH_MISS,
  FastPathMiss,
  Reader as WireReader,
  uintFieldSize,
  utf8Encode,
  Writer as WireWriter,
} from './proto-wire.js';
export {
  ProposalOutcomeUnknownError,
  RaftRuntime,
  ReadDroppedError,
  type RuntimeHooks,
  type RuntimeOptions,
  RuntimeStoppedError,
  type StateMachine,
} from './runtime.js';
export { createRaftServiceRoutes, createRaftStreamHandler, type RaftServiceOptions } from './service.js';
export { chunkSnapshot, SNAPSHOT_CHUNK_BYTES, SnapshotAssembler } from './snapshot-chunks.js';
export {
  type ConnectTransportOptions,
  createConnectPeerTransport,
  type PeerTransport,
  type TransportEvents,
} from './transport.js';
export { encodeInTurns } from './turns.js';
export { type DecodedBatch, decodeStreamBatch } from './wire-decode.js';
export { type BatchItem, encodeRaftMessage, encodeStreamBatch, type OutboundMessage } from './wire-encode.js';
