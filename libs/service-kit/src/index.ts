export {
  type BoolOption,
  ConfigError,
  type ConfigOf,
  helpText,
  type IntOption,
  type ListOption,
  loadConfigOrExit,
  type Option,
  option,
  type ParseOptions,
  parseConfig,
  type Schema,
  type StringOption,
  validateAddress,
} from './config.js';
export {
  EnvelopeError,
  EnvelopeReader,
  encodeEnvelope,
  endStreamJson,
  FLAG_COMPRESSED,
  FLAG_END_STREAM,
} from './envelope.js';
export {
  type LeanUnaryContext,
  type LeanUnaryHandler,
  type LeanUnaryOptions,
  leanUnaryHandler,
} from './lean-unary.js';
export { createShutdown, type Shutdown } from './lifecycle.js';
export { createLogger, createMetricsRegistry, newRequestId, REQUEST_ID_HEADER } from './observability.js';
export { type HttpHandler, type RunningServer, type ServerOptions, startServer } from './server.js';
export { sleep } from './timing.js';
