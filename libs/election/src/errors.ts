// Typed errors of the election policies. Both are operating errors (bad input), never broken invariants: the
// election-policy service maps them to Connect INVALID_ARGUMENT.
import type { PolicyProblem } from '@regent/proto/election';
import { assert } from './assert.js';

/**
 * The request breaks an input limit (too many candidates, labels, duplicate broker ids, ...). `field` is the
 * offending request field path, for example `candidates[3].labels`. Maps to INVALID_ARGUMENT with the condition
 * CONTROLLER_CONDITION_INVALID_ARGUMENT.
 */
export class PolicyInputError extends Error {
  override readonly name: string = 'PolicyInputError';
  readonly field: string;

  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.field = field;
  }
}

/**
 * The request's policy configuration is invalid (see `validatePolicy`). `problems` is never empty; `field` is the
 * first problem's field, for example `rules.filter`. A `PolicyInputError`, so one catch maps both to
 * INVALID_ARGUMENT; check for this subclass first to use the condition CONTROLLER_CONDITION_INVALID_POLICY.
 */
export class InvalidPolicyError extends PolicyInputError {
  override readonly name: string = 'InvalidPolicyError';
  readonly problems: readonly PolicyProblem[];

  constructor(problems: readonly PolicyProblem[]) {
    const first = problems[0];
    assert(first !== undefined, 'InvalidPolicyError needs at least one problem');
    // The message reads `rules.filter: <problem>; rules.rank: <problem>`.
    const rest = problems.slice(1).map((p) => `${p.field}: ${p.message}`);
    super(first.field, [first.message, ...rest].join('; '));
    this.problems = problems;
  }
}
