export { type BenchResult, log, machineInfo, parseArgs, quantile, round } from './machine.js';
