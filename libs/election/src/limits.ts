// Input and configuration limits of the election policies. Every one has a path when hit: request limits throw
// `PolicyInputError`, policy limits are reported as `PolicyProblem`s (and thrown as `InvalidPolicyError` by decide).

/** Most candidates (registered replicas) one election request may carry. */
export const candidatesMax = 64;
/** Most ids one SyncStateSet may list. */
export const syncStateSetIdsMax = 64;
/** Most labels one candidate may carry. */
export const labelsPerCandidateMax = 16;
/** Longest label key, in UTF-16 code units. */
export const labelKeyLengthMax = 128;
/** Longest label value, in UTF-16 code units. */
export const labelValueLengthMax = 256;
/** Longest zone name, in UTF-16 code units (candidate zones and configured zone orders). */
export const zoneLengthMax = 128;
/** Most zones a zone-aware policy may list. */
export const zoneOrderZonesMax = 32;
/** Longest rule expression, in UTF-16 code units. */
export const ruleExpressionLengthMax = 2048;
/**
 * Deepest nesting of comprehensions (`all`, `exists`, `map`, `filter`, ...) in a rule. Each level multiplies the
 * work of one evaluation by the size of the list it iterates; two levels over literal lists that fit in
 * `ruleExpressionLengthMax` stay well under a million steps.
 */
export const ruleComprehensionDepthMax = 2;
/** Compiled rule programs kept by one policy engine (least recently used evicted first). */
export const compiledRulesMax = 256;
/** The priority of a candidate without one: RocketMQ's `Integer.MAX_VALUE`, the lowest priority. */
export const priorityAbsent = 2_147_483_647;
