// The broker gateway's building blocks, for main.ts and for tools that embed a gateway.
export {
  type GatewayConfig,
  gatewayConfigSchema,
  type Principal,
  parseOptions,
  type RawGatewayConfig,
  toGatewayConfig,
} from './config.js';
export type { NodeTransportFactory } from './consensus-nodes.js';
export {
  createGateway,
  defaultTuning,
  type Gateway,
  type GatewayOptions,
  type GatewayTuning,
} from './gateway.js';
