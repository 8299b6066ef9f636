// @regent/raft-storage: durable Raft storage (segmented WAL + snapshot files) behind the core's `Storage` port.

export { crc32c } from './crc32c.js';
export {
  RecordTooLargeError,
  SnapshotCorruptionError,
  SnapshotTooLargeError,
  StorageClosedError,
  StorageFailedError,
  WalCorruptionError,
} from './errors.js';
export { FileStorage, openFileStorage } from './file-storage.js';
export type { TornTail } from './recovery.js';
export type {
  FileStorageOptions,
  OpenReport,
  StorageMetricsHook,
  StorageStats,
} from './storage-options.js';
