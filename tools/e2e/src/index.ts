export { TestBroker } from './broker.js';
export { ADMIN_TOKEN, BROKER_TOKEN, CLUSTER, System, type SystemOptions } from './system.js';
