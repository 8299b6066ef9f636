// @regent/election: RocketMQ-compatible master election policies (rocketmq-default, zone-aware, max-lag, rules).
// Pure and synchronous: the same request always yields the same decision.
export { AssertionError } from './assert.js';
export { InvalidPolicyError, PolicyInputError } from './errors.js';
export {
  candidatesMax,
  compiledRulesMax,
  labelKeyLengthMax,
  labelsPerCandidateMax,
  labelValueLengthMax,
  priorityAbsent,
  ruleComprehensionDepthMax,
  ruleExpressionLengthMax,
  syncStateSetIdsMax,
  zoneLengthMax,
  zoneOrderZonesMax,
} from './limits.js';
export {
  createElectionPolicy,
  decide,
  type ElectionPolicy,
  type ElectionPolicyOptions,
  validatePolicy,
} from './policy.js';
export { type PolicyName, policyName, policyNames } from './policy-name.js';
export { compareDefault, effectivePriority, type RankFields } from './ranking.js';
