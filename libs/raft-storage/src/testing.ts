// @regent/raft-storage/testing: fault injection on a storage directory (simulated power failure from the sync ledger
// that `FileStorageOptions.syncLedgerPath` enables). For test harnesses only.
export {
  loseUnsyncedWrites,
  type PowerLossReport,
  readSyncLedger,
  type Shortfall,
  type SyncLedgerEntries,
  SyncLedgerFormatError,
  type Truncation,
  type UnsyncedTail,
  type Zeroing,
} from './sync-ledger.js';
