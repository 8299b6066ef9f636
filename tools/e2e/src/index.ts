export { TestBroker } from './broker.js';
export {
  BrokerSim,
  type BrokerSimOptions,
  brokerViews,
  type SimBrokerView,
  waitForBrokers,
} from './broker-sim.js';
export {
  briefOf,
  counterOf,
  type SettledGroup,
  type SettleOptions,
  simOf,
  waitForConverged,
  waitForSettled,
} from './groups.js';
export {
  type NotificationObserver,
  observeNotifications,
  type ReceivedNotification,
  roleSubjectOf,
} from './notifications.js';
export { ADMIN_TOKEN, BROKER_TOKEN, CLUSTER, System, type SystemOptions } from './system.js';
