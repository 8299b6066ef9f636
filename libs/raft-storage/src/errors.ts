// Typed errors of the durable storage. Corruption errors name the file and the byte offset where the damage was
// detected; the runtime must stop the node on them (never skip or repair silently).

/** A WAL segment holds damaged or inconsistent data that is not a torn tail. Open refuses to continue. */
export class WalCorruptionError extends Error {
  override readonly name = 'WalCorruptionError';
  constructor(
    readonly file: string,
    readonly offset: number,
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(`WAL corruption in ${file} at byte ${offset}: ${reason}`, options);
  }
}

/** A snapshot file failed its structure or checksum checks. `offset` is where the first failing region starts. */
export class SnapshotCorruptionError extends Error {
  override readonly name = 'SnapshotCorruptionError';
  constructor(
    readonly file: string,
    readonly offset: number,
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(`snapshot corruption in ${file} at byte ${offset}: ${reason}`, options);
  }
}

/** A record (header + payload) would exceed `recordBytesMax`. Nothing of the rejected call was written. */
export class RecordTooLargeError extends Error {
  override readonly name = 'RecordTooLargeError';
  constructor(
    readonly recordBytes: number,
    readonly recordBytesMax: number,
    readonly index?: number,
  ) {
    super(
      `WAL record of ${recordBytes} bytes${index === undefined ? '' : ` (entry ${index})`} exceeds recordBytesMax ${recordBytesMax}`,
    );
  }
}

/** A snapshot file would exceed (or an existing one exceeds) `snapshotBytesMax`. */
export class SnapshotTooLargeError extends Error {
  override readonly name = 'SnapshotTooLargeError';
  constructor(
    readonly snapshotBytes: number,
    readonly snapshotBytesMax: number,
  ) {
    super(`snapshot of ${snapshotBytes} bytes exceeds snapshotBytesMax ${snapshotBytesMax}`);
  }
}

/**
 * A write, fsync, rename or delete failed. The storage refuses every later write: after a failed fsync the page cache
 * state is unknown (see PostgreSQL's "fsyncgate"), so the only safe reaction is to stop the node and reopen.
 */
export class StorageFailedError extends Error {
  override readonly name = 'StorageFailedError';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/** The storage was closed. */
export class StorageClosedError extends Error {
  override readonly name = 'StorageClosedError';
  constructor() {
    super('storage is closed');
  }
}
