// Elections in two pure phases (RocketMQ ReplicasInfoManager.electMaster, §4.1): `prepareElection` validates the
// request against the state and either decides at once (unknown group, first election) or builds the
// `ElectRequest` a policy decides on; the caller asks a policy (the election-policy service, or the in-process
// default when it does not answer in time); `completeElection` re-validates the decision against the state as it
// is then and turns it into events and a reply.
import { create } from '@bufbuild/protobuf';
import {
  type ElectMasterRequest as AdminElectMasterRequest,
  ElectMasterResponseSchema as AdminElectMasterResponseSchema,
} from '@regent/proto/admin';
import { type ElectMasterRequest, ElectMasterResponseSchema } from '@regent/proto/broker';
import { ControllerCondition, type SyncStateSet, SyncStateSetSchema } from '@regent/proto/common';
import {
  type Candidate,
  CandidateSchema,
  type ElectRequest,
  ElectRequestSchema,
  type ElectResponse,
  Verdict,
} from '@regent/proto/election';
import { type ElectionAuditRecord, ElectionAuditRecordSchema, ElectionTrigger } from '@regent/proto/state';
import { controllerConfigOf } from '../config.js';
import { electMasterEvent } from '../events.js';
import type { LivenessView } from '../liveness.js';
import {
  answer,
  type CommandOutcome,
  type CommandResult,
  propose,
  type ReplyCase,
  refuse,
} from '../result.js';
import { type ControllerState, effectivePolicy, type GroupState, replicaIds } from '../state.js';
import { checkBrokerName, checkClusterMatch, checkClusterName } from '../validate.js';

/** Who asked for an election and about which group. */
export interface ElectionInput {
  readonly trigger: ElectionTrigger;
  readonly brokerName: string;
  /** The cluster the requester names; '' is not checked (the controller's own scans). */
  readonly clusterName: string;
  /**
   * Broker trigger: the requesting broker (wins outright on the group's first election). Admin trigger: the
   * designated broker, if any. Controller trigger: undefined.
   */
  readonly brokerId?: bigint | undefined;
}

/** The group state an `ElectRequest` was built from; a decision is only applied while the group still matches. */
export interface ElectionBasis {
  readonly clusterName: string;
  readonly masterBrokerId: bigint | undefined;
  readonly masterEpoch: number;
  readonly syncStateSet: readonly bigint[];
  readonly syncStateSetEpoch: number;
  readonly replicaIds: readonly bigint[];
  readonly uncleanElectionEnabled: boolean;
}

/** An election waiting for a policy's decision. */
export interface PendingElection {
  readonly input: ElectionInput;
  /** What to ask the policy. */
  readonly request: ElectRequest;
  readonly basis: ElectionBasis;
}

/**
 * The end of an election:
 * - `result`: events and reply (see `CommandResult`);
 * - `stale`: the group changed since `prepareElection` (epochs, SyncStateSet, replicas, master or the unclean
 *   setting); prepare again against the current state;
 * - `invalid-decision`: the decision breaks the request's rules (a dead, unknown, out-of-sync or undesignated
 *   choice, or oversized explanations); decide again with the in-process default policy.
 */
export type ElectionCompletion =
  | ({ readonly kind: 'result' } & CommandResult)
  | { readonly kind: 'stale'; readonly reason: string }
  | { readonly kind: 'invalid-decision'; readonly reason: string };

export interface CompleteElectionOptions {
  /** True when the in-process default policy decided because the policy service did not answer. */
  readonly fallback: boolean;
  /** The leader's wall clock, unix ms, recorded in the audit record (informational only). */
  readonly nowUnixMs: number;
}

/** Longest policy name a decision may carry. */
const policyNameLengthMax = 64;
/** Longest explanation (of the decision or of one candidate) a decision may carry. */
const explanationLengthMax = 1_024;

/** The name recorded for the first election of a group, which no policy decides. */
export const firstElectionPolicyName = 'first-election';

/** Starts an election (RocketMQ §4.1 steps 1–4). */
export function prepareElection(
  state: ControllerState,
  input: ElectionInput,
  liveness: LivenessView,
  options: { readonly nowUnixMs?: number } = {},
): CommandOutcome {
  const group = state.groups.get(input.brokerName);
  if (group === undefined) {
    return result(
      refuse(
        ControllerCondition.BROKER_NEED_TO_BE_REGISTERED,
        `broker group ${input.brokerName} is not registered`,
      ),
    );
  }
  const mismatch = checkClusterMatch(group, input.clusterName);
  if (mismatch !== undefined) return result(mismatch);
  if (group.masterEpoch === 0 && input.brokerId !== undefined) {
    return result(firstElection(group, input, input.brokerId, options.nowUnixMs ?? 0));
  }
  const unclean = controllerConfigOf(state).enableElectUncleanMaster;
  const request = create(ElectRequestSchema, {
    clusterName: group.clusterName,
    brokerName: group.brokerName,
    candidates: replicaIds(group).map((id) => candidateOf(group, id, liveness)),
    syncStateSet: [...group.syncStateSet],
    oldMasterBrokerId: group.masterBrokerId,
    designatedBrokerId: input.trigger === ElectionTrigger.ADMIN ? input.brokerId : undefined,
    uncleanElectionEnabled: unclean,
    policy: effectivePolicy(state, group.clusterName, group.brokerName).policy,
  });
  return { kind: 'election', pending: { input, request, basis: basisOf(group, unclean) } };
}

/** Ends an election with a policy's decision (RocketMQ §4.1 steps 5–7). */
export function completeElection(
  state: ControllerState,
  pending: PendingElection,
  decision: ElectResponse,
  options: CompleteElectionOptions,
): ElectionCompletion {
  const group = state.groups.get(pending.input.brokerName);
  if (group === undefined)
    return { kind: 'stale', reason: `broker group ${pending.input.brokerName} is gone` };
  const staleness = stalenessOf(
    pending.basis,
    basisOf(group, controllerConfigOf(state).enableElectUncleanMaster),
  );
  if (staleness !== undefined) return { kind: 'stale', reason: staleness };
  const invalid = invalidityOf(pending, decision);
  if (invalid !== undefined) return { kind: 'invalid-decision', reason: invalid };
  const chosen = decision.chosenBrokerId;
  if (chosen !== undefined && chosen === group.masterBrokerId)
    return result(masterKept(group, pending.input, decision));
  const audit = auditOf(group, pending.input.trigger, decision, options);
  if (chosen !== undefined)
    return result(newMaster(group, pending.input, chosen, decision.explanation, audit));
  return result(noCandidate(group, pending.input, decision, audit));
}

/** The broker-triggered ElectMaster command (RocketMQ `ofBrokerTrigger`). */
export function handleElectMaster(
  state: ControllerState,
  request: ElectMasterRequest,
  liveness: LivenessView,
  options: { readonly nowUnixMs?: number } = {},
): CommandOutcome {
  const shape = checkBrokerName(request.brokerName) ?? checkClusterName(request.clusterName, false);
  if (shape !== undefined) return result(shape);
  const brokerId = request.brokerId >= 1n ? request.brokerId : undefined;
  return prepareElection(
    state,
    {
      trigger: ElectionTrigger.BROKER,
      brokerName: request.brokerName,
      clusterName: request.clusterName,
      brokerId,
    },
    liveness,
    options,
  );
}

/** The admin-triggered ElectMaster command (RocketMQ `ofAdminTrigger`, designateElect=true). */
export function handleAdminElectMaster(
  state: ControllerState,
  request: AdminElectMasterRequest,
  liveness: LivenessView,
  options: { readonly nowUnixMs?: number } = {},
): CommandOutcome {
  const shape = checkBrokerName(request.brokerName) ?? checkClusterName(request.clusterName, false);
  if (shape !== undefined) return result(shape);
  return prepareElection(
    state,
    {
      trigger: ElectionTrigger.ADMIN,
      brokerName: request.brokerName,
      clusterName: request.clusterName,
      brokerId: request.designatedBrokerId,
    },
    liveness,
    options,
  );
}

function result(commandResult: CommandResult): { readonly kind: 'result' } & CommandResult {
  return { kind: 'result', ...commandResult };
}

function candidateOf(group: GroupState, brokerId: bigint, liveness: LivenessView): Candidate {
  const record = liveness.get(group.clusterName, group.brokerName, brokerId);
  return create(CandidateSchema, {
    brokerId,
    brokerAddress: group.replicas.get(brokerId)?.address ?? '',
    alive: liveness.isAlive(group.clusterName, group.brokerName, brokerId),
    epoch: record?.epoch ?? -1,
    maxOffset: record?.maxOffset ?? -1n,
    confirmOffset: record?.confirmOffset ?? -1n,
    electionPriority: record?.electionPriority,
    zone: record?.zone ?? '',
    labels: { ...record?.labels },
  });
}

function basisOf(group: GroupState, uncleanElectionEnabled: boolean): ElectionBasis {
  return {
    clusterName: group.clusterName,
    masterBrokerId: group.masterBrokerId,
    masterEpoch: group.masterEpoch,
    syncStateSet: group.syncStateSet,
    syncStateSetEpoch: group.syncStateSetEpoch,
    replicaIds: replicaIds(group),
    uncleanElectionEnabled,
  };
}

function sameIds(a: readonly bigint[], b: readonly bigint[]): boolean {
  return a.length === b.length && a.every((id, i) => id === b[i]);
}

function stalenessOf(then: ElectionBasis, now: ElectionBasis): string | undefined {
  if (then.masterEpoch !== now.masterEpoch)
    return `masterEpoch moved from ${then.masterEpoch} to ${now.masterEpoch}`;
  if (then.syncStateSetEpoch !== now.syncStateSetEpoch) {
    return `syncStateSetEpoch moved from ${then.syncStateSetEpoch} to ${now.syncStateSetEpoch}`;
  }
  if (then.clusterName !== now.clusterName) return 'the group was re-created in another cluster';
  if (then.masterBrokerId !== now.masterBrokerId) return 'the master changed';
  if (!sameIds(then.syncStateSet, now.syncStateSet)) return 'the SyncStateSet changed';
  if (!sameIds(then.replicaIds, now.replicaIds)) return 'the registered replicas changed';
  if (then.uncleanElectionEnabled !== now.uncleanElectionEnabled) return 'enableElectUncleanMaster changed';
  return undefined;
}

function invalidityOf(pending: PendingElection, decision: ElectResponse): string | undefined {
  const request = pending.request;
  const candidates = request.candidates;
  if (decision.policyName.length > policyNameLengthMax)
    return `policy name longer than ${policyNameLengthMax}`;
  if (decision.explanation.length > explanationLengthMax)
    return `explanation longer than ${explanationLengthMax}`;
  if (decision.rankedBrokerIds.length > candidates.length) return 'more ranked ids than candidates';
  if (decision.reasons.length > candidates.length) return 'more reasons than candidates';
  if (decision.reasons.some((reason) => reason.detail.length > explanationLengthMax))
    return 'a reason detail is too long';
  const chosen = decision.chosenBrokerId;
  if (chosen === undefined) return decision.masterKept ? 'master_kept without a chosen broker' : undefined;
  const candidate = candidates.find((c) => c.brokerId === chosen);
  if (candidate === undefined) return `chosen broker ${chosen} is not a candidate`;
  if (!candidate.alive) return `chosen broker ${chosen} is not alive`;
  if (!request.uncleanElectionEnabled && !request.syncStateSet.includes(chosen)) {
    return `chosen broker ${chosen} is not in the SyncStateSet and unclean election is disabled`;
  }
  if (request.designatedBrokerId !== undefined && chosen !== request.designatedBrokerId) {
    return `chosen broker ${chosen} is not the designated ${request.designatedBrokerId}`;
  }
  if (decision.masterKept && chosen !== request.oldMasterBrokerId)
    return `master_kept but ${chosen} is not the old master`;
  return undefined;
}

function auditOf(
  group: GroupState,
  trigger: ElectionTrigger,
  decision: ElectResponse,
  options: CompleteElectionOptions,
): ElectionAuditRecord {
  return create(ElectionAuditRecordSchema, {
    clusterName: group.clusterName,
    brokerName: group.brokerName,
    trigger,
    policyName: decision.policyName,
    chosenBrokerId: decision.chosenBrokerId,
    oldMasterBrokerId: group.masterBrokerId,
    rankedBrokerIds: [...decision.rankedBrokerIds],
    reasons: [...decision.reasons],
    fallback: options.fallback,
    explanation: decision.explanation,
    masterEpoch: group.masterEpoch + 1,
    decidedAtUnixMs: BigInt(Math.trunc(options.nowUnixMs)),
  });
}

interface ElectReplyFields {
  readonly condition: ControllerCondition;
  readonly masterBrokerId: bigint | undefined;
  readonly masterAddress: string;
  readonly masterEpoch: number;
  readonly syncStateSet: SyncStateSet;
  /** Every registered id → address; only when a new master was elected (admin replies have no such field). */
  readonly brokerAddresses: Record<string, string>;
  readonly explanation: string;
}

function electReply(
  trigger: ElectionTrigger,
  fields: ElectReplyFields,
): Exclude<ReplyCase, { case: undefined }> {
  if (trigger === ElectionTrigger.ADMIN) {
    const { brokerAddresses: _, ...adminFields } = fields;
    return { case: 'adminElectMaster', value: create(AdminElectMasterResponseSchema, adminFields) };
  }
  return { case: 'electMaster', value: create(ElectMasterResponseSchema, fields) };
}

function brokerAddressesOf(group: GroupState): Record<string, string> {
  const addresses: Record<string, string> = {};
  for (const id of replicaIds(group)) addresses[id.toString()] = group.replicas.get(id)?.address ?? '';
  return addresses;
}

/** §4.1 step 3: the group never had a master; the broker that asks first (or the designated one) wins. */
function firstElection(
  group: GroupState,
  input: ElectionInput,
  brokerId: bigint,
  nowUnixMs: number,
): CommandResult {
  if (!group.replicas.has(brokerId)) {
    return refuse(
      ControllerCondition.BROKER_NEED_TO_BE_REGISTERED,
      `broker id ${brokerId} is not registered in broker group ${group.brokerName}`,
    );
  }
  const explanation = `first election of ${group.brokerName}: broker ${brokerId} asked first and wins outright`;
  const audit = create(ElectionAuditRecordSchema, {
    clusterName: group.clusterName,
    brokerName: group.brokerName,
    trigger: input.trigger,
    policyName: firstElectionPolicyName,
    chosenBrokerId: brokerId,
    rankedBrokerIds: [brokerId],
    reasons: [{ brokerId, verdict: Verdict.CHOSEN, detail: 'first election of the group' }],
    explanation,
    masterEpoch: group.masterEpoch + 1,
    decidedAtUnixMs: BigInt(Math.trunc(nowUnixMs)),
  });
  return newMaster(group, input, brokerId, explanation, audit);
}

/** §4.1 step 6: a new master; both epochs bump and the SyncStateSet becomes {master}. */
function newMaster(
  group: GroupState,
  input: ElectionInput,
  brokerId: bigint,
  explanation: string,
  audit: ElectionAuditRecord,
): CommandResult {
  const syncStateSet = create(SyncStateSetSchema, {
    brokerIds: [brokerId],
    epoch: group.syncStateSetEpoch + 1,
  });
  return propose(
    [electMasterEvent(group.brokerName, brokerId, audit)],
    electReply(input.trigger, {
      condition: ControllerCondition.UNSPECIFIED,
      masterBrokerId: brokerId,
      masterAddress: group.replicas.get(brokerId)?.address ?? '',
      masterEpoch: group.masterEpoch + 1,
      syncStateSet,
      brokerAddresses: brokerAddressesOf(group),
      explanation,
    }),
  );
}

/**
 * §4.1 step 5: the policy kept the live master: OK with condition MASTER_STILL_EXIST and the current state, no
 * event (so the decision is not in the replicated audit trail).
 */
function masterKept(group: GroupState, input: ElectionInput, decision: ElectResponse): CommandResult {
  const masterBrokerId = group.masterBrokerId;
  return answer(
    electReply(input.trigger, {
      condition: ControllerCondition.MASTER_STILL_EXIST,
      masterBrokerId,
      masterAddress: masterBrokerId === undefined ? '' : (group.replicas.get(masterBrokerId)?.address ?? ''),
      masterEpoch: group.masterEpoch,
      syncStateSet: create(SyncStateSetSchema, {
        brokerIds: [...group.syncStateSet],
        epoch: group.syncStateSetEpoch,
      }),
      brokerAddresses: {},
      explanation: decision.explanation,
    }),
  );
}

/**
 * §4.1 step 7: nobody qualifies. A controller-triggered election clears the dead master (masterEpoch bumps) and
 * answers MASTER_NOT_AVAILABLE; when the master is already cleared it changes nothing (RocketMQ would bump
 * masterEpoch again on every retry). A broker- or admin-triggered one answers ELECT_MASTER_FAILED, no event.
 */
function noCandidate(
  group: GroupState,
  input: ElectionInput,
  decision: ElectResponse,
  audit: ElectionAuditRecord,
): CommandResult {
  const detail = decision.explanation === '' ? 'no candidate qualifies' : decision.explanation;
  if (input.trigger !== ElectionTrigger.CONTROLLER) {
    return refuse(ControllerCondition.ELECT_MASTER_FAILED, `broker group ${group.brokerName}: ${detail}`);
  }
  const refusal = refuse(
    ControllerCondition.MASTER_NOT_AVAILABLE,
    `broker group ${group.brokerName}: ${detail}`,
  );
  if (group.masterBrokerId === undefined) return refusal;
  return { events: [electMasterEvent(group.brokerName, undefined, audit)], reply: refusal.reply };
}
