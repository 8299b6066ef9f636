// The Regent web dashboard: a static page served by a service-kit HTTP handler, talking to AdminService.
export { createDashboardHandler, type DashboardHandlerOptions } from './handler.js';
