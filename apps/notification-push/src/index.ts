// The notification pusher's public surface: the factory with its ports, the adapters main.ts wires, and the
// subject/payload helpers that describe what brokers receive.
export {
  type ConsensusWatchSource,
  type ConsensusWatchSourceOptions,
  createConsensusWatchSource,
} from './adapters/consensus-watch.js';
export {
  createNatsPublisher,
  type NatsPublisher,
  type NatsPublisherOptions,
} from './adapters/nats-publisher.js';
export { createStateFile, STATE_FILE_NAME, type StateFile } from './adapters/state-file.js';
export { configSchema, type PushConfig, parseOptions } from './config.js';
export { type Cursor, resumeIndex, StateFormatError } from './cursor.js';
export {
  CONTENT_TYPE_HEADER,
  CONTENT_TYPE_PROTOBUF,
  encodeNotification,
  MASTER_EPOCH_HEADER,
  type Notification,
  outcomeOfEvent,
  subjectOf,
} from './notification.js';
export {
  type Clock,
  NoLeaderError,
  type OutgoingMessage,
  type Publisher,
  PublishUnavailableError,
  type StateStore,
  type WatchOptions,
  type WatchSource,
} from './ports.js';
export {
  createNotificationPusher,
  describeStatus,
  type NotificationPusher,
  type NotificationPusherOptions,
  type PusherStatus,
} from './pusher.js';
