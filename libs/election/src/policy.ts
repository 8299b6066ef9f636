// The election policy engine: validates a policy configuration and decides an election under it.
import { create } from '@bufbuild/protobuf';
import {
  CandidateReasonSchema,
  type ElectRequest,
  type ElectResponse,
  ElectResponseSchema,
  LagFallback,
  type MaxLagPolicy,
  type PolicyConfig,
  type PolicyProblem,
  PolicyProblemSchema,
  type RulesPolicy,
  type ZoneAwarePolicy,
} from '@regent/proto/election';
import { assert } from './assert.js';
import { candidateViews } from './candidates.js';
import { type CompiledRule, checkResultType, RuleCompiler, type RuleKind } from './cel/rule.js';
import { type ElectionInput, elect, type Outcome } from './election.js';
import { InvalidPolicyError } from './errors.js';
import { compiledRulesMax, zoneLengthMax, zoneOrderZonesMax } from './limits.js';
import { defaultRanker } from './policies/default.js';
import { fallsBackToDefault, maxLagRanker } from './policies/max-lag.js';
import { rulesRanker } from './policies/rules.js';
import { preferredZones, zoneAwareRanker } from './policies/zone-aware.js';
import { policyName } from './policy-name.js';

/** The election policies behind one cache of compiled rules. Pure: the same request gives the same response. */
export interface ElectionPolicy {
  /**
   * Decides an election under `request.policy` (rocketmq-default when absent).
   * Throws `PolicyInputError` when the request breaks an input limit and `InvalidPolicyError` when the policy is
   * invalid; both are INVALID_ARGUMENT at the service edge.
   */
  decide(request: ElectRequest): ElectResponse;
  /** The problems of a policy configuration (including rule expressions); empty when valid. */
  validatePolicy(policy: PolicyConfig | undefined): PolicyProblem[];
}

export interface ElectionPolicyOptions {
  /** Compiled rule programs to keep, least recently used evicted first. Default `compiledRulesMax` (256). */
  readonly compiledRulesMax?: number;
}

function problem(field: string, message: string): PolicyProblem {
  return create(PolicyProblemSchema, { field, message });
}

function zoneAwareProblems(policy: ZoneAwarePolicy): PolicyProblem[] {
  const problems: PolicyProblem[] = [];
  if (policy.zoneOrder.length > zoneOrderZonesMax) {
    problems.push(
      problem('zone_aware.zone_order', `${policy.zoneOrder.length} zones, at most ${zoneOrderZonesMax}`),
    );
    return problems;
  }
  const seen = new Set<string>();
  for (const [index, zone] of policy.zoneOrder.entries()) {
    const field = `zone_aware.zone_order[${index}]`;
    if (zone === '') problems.push(problem(field, 'zone is empty'));
    else if (zone.length > zoneLengthMax) {
      problems.push(problem(field, `zone is ${zone.length} long, at most ${zoneLengthMax}`));
    } else if (seen.has(zone)) problems.push(problem(field, `zone "${zone}" is listed more than once`));
    seen.add(zone);
  }
  return problems;
}

function maxLagProblems(policy: MaxLagPolicy): PolicyProblem[] {
  const problems: PolicyProblem[] = [];
  if (policy.maxLagBytes < 0n) {
    problems.push(problem('max_lag.max_lag_bytes', `must be >= 0, got ${policy.maxLagBytes}`));
  }
  const fallbacks: number[] = [LagFallback.UNSPECIFIED, LagFallback.REFUSE, LagFallback.DEFAULT_RANKING];
  if (!fallbacks.includes(policy.fallback)) {
    problems.push(problem('max_lag.fallback', `unknown fallback ${policy.fallback}`));
  }
  return problems;
}

/** An expression of only whitespace counts as empty (keep everyone / default ranking). */
function isEmptyExpression(text: string): boolean {
  return text.trim() === '';
}

export function createElectionPolicy(options: ElectionPolicyOptions = {}): ElectionPolicy {
  const compiler = new RuleCompiler(options.compiledRulesMax ?? compiledRulesMax);

  /** The compiled rule, or undefined for an empty one; `problems` gets the rule's problem when invalid. */
  function compileRule(kind: RuleKind, text: string, problems: PolicyProblem[]): CompiledRule | undefined {
    if (isEmptyExpression(text)) return undefined;
    const field = `rules.${kind}`;
    const compiled = compiler.compile(text);
    if (!compiled.ok) {
      problems.push(problem(field, compiled.message));
      return undefined;
    }
    const wrongType = checkResultType(kind, compiled.rule.resultType);
    if (wrongType !== undefined) problems.push(problem(field, wrongType));
    return compiled.rule;
  }

  function compileRules(policy: RulesPolicy, problems: PolicyProblem[]) {
    return {
      filter: compileRule('filter', policy.filter, problems),
      rank: compileRule('rank', policy.rank, problems),
    };
  }

  function validatePolicy(policy: PolicyConfig | undefined): PolicyProblem[] {
    const problems: PolicyProblem[] = [];
    switch (policy?.policy.case) {
      case 'zoneAware':
        problems.push(...zoneAwareProblems(policy.policy.value));
        break;
      case 'maxLag':
        problems.push(...maxLagProblems(policy.policy.value));
        break;
      case 'rules':
        compileRules(policy.policy.value, problems);
        break;
      default:
        break;
    }
    return problems;
  }

  function outcomeOf(request: ElectRequest, input: ElectionInput): Outcome {
    const config = request.policy?.policy;
    switch (config?.case) {
      case undefined:
      case 'rocketmqDefault':
        return elect(input, defaultRanker);
      case 'zoneAware':
        return elect(input, zoneAwareRanker(preferredZones(config.value, input.views)));
      case 'maxLag':
        return maxLagOutcome(config.value, input);
      case 'rules': {
        const problems: PolicyProblem[] = [];
        const rules = compileRules(config.value, problems);
        if (problems.length > 0) throw new InvalidPolicyError(problems);
        return elect(input, rulesRanker(rules, request));
      }
    }
  }

  function decide(request: ElectRequest): ElectResponse {
    const views = candidateViews(request);
    const problems = validatePolicy(request.policy);
    if (problems.length > 0) throw new InvalidPolicyError(problems);
    const input: ElectionInput = {
      views,
      designatedBrokerId: request.designatedBrokerId,
      uncleanElectionEnabled: request.uncleanElectionEnabled,
    };
    const outcome = outcomeOf(request, input);
    checkOutcome(outcome, input);
    const name = policyName(request.policy);
    return create(ElectResponseSchema, {
      chosenBrokerId: outcome.chosen?.brokerId,
      rankedBrokerIds: outcome.ranked.map((v) => v.brokerId),
      reasons: outcome.judgements.map((j) => create(CandidateReasonSchema, j)),
      policyName: name,
      explanation: `${name}: ${outcome.summary}`,
      masterKept: outcome.masterKept,
      unclean: outcome.unclean,
    });
  }

  return { decide, validatePolicy };
}

/**
 * max-lag: the bounded election; when live candidates existed but none was within the bound, the fallback
 * decides (REFUSE or UNSPECIFIED: nobody; DEFAULT_RANKING: the default policy ignoring the bound).
 */
function maxLagOutcome(policy: MaxLagPolicy, input: ElectionInput): Outcome {
  const bounded = elect(input, maxLagRanker(policy));
  if (bounded.chosen !== undefined || !bounded.noneQualified) return bounded;
  const bound = `no live candidate within ${policy.maxLagBytes} bytes of the reference offset`;
  if (!fallsBackToDefault(policy)) return { ...bounded, summary: `${bound}; fallback REFUSE elects nobody` };
  const fallback = elect(input, defaultRanker);
  return { ...fallback, summary: `${bound}; fell back to the default ranking: ${fallback.summary}` };
}

/** Invariants of every decision, whatever the policy. */
function checkOutcome(outcome: Outcome, input: ElectionInput): void {
  assert(
    outcome.judgements.every((j, i) => j.brokerId === input.views[i]?.brokerId) &&
      outcome.judgements.length === input.views.length,
    `${outcome.judgements.length} reasons for ${input.views.length} candidates, or out of order`,
  );
  const chosen = outcome.chosen;
  if (chosen === undefined) {
    assert(!outcome.masterKept && !outcome.unclean, 'no choice but master kept or unclean');
    return;
  }
  assert(chosen.alive, `chosen broker ${chosen.brokerId} is not alive`);
  assert(chosen.inSync || input.uncleanElectionEnabled, `chosen broker ${chosen.brokerId} is not in sync`);
  assert(outcome.ranked[0] === chosen, `chosen broker ${chosen.brokerId} does not rank first`);
}

const shared = createElectionPolicy();

/**
 * Decides an election under `request.policy` (rocketmq-default when absent), with a module-wide cache of compiled
 * rules. Throws `PolicyInputError` (input limits) or `InvalidPolicyError` (invalid policy).
 */
export function decide(request: ElectRequest): ElectResponse {
  return shared.decide(request);
}

/** The problems of a policy configuration (including rule expressions); empty when valid. */
export function validatePolicy(policy: PolicyConfig | undefined): PolicyProblem[] {
  return shared.validatePolicy(policy);
}
