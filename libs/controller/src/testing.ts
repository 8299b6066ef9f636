// Test fixtures: command builders, a small reference election policy (RocketMQ's default with the overflow and
// tie bugs fixed; the real one lives in libs/election) and a harness that wires the library the way the consensus
// app does (session check → handler → policy → completeElection → log entry → apply). Pure, like the library.
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import { type BrokerHeartbeat, BrokerHeartbeatSchema } from '@regent/proto/common';
import {
  type ControllerCommand,
  ControllerCommandSchema,
  type ControllerReply,
} from '@regent/proto/consensus';
import {
  CandidateReasonSchema,
  type ElectRequest,
  type ElectResponse,
  ElectResponseSchema,
  type PolicyConfig,
  type PolicyProblem,
  PolicyProblemSchema,
  Verdict,
} from '@regent/proto/election';
import { ElectionTrigger, type LogCommand } from '@regent/proto/state';
import { applyCommand, decodeLogCommand, encodeLogCommand, makeLogCommand } from './apply.js';
import { handleCommand } from './dispatch.js';
import type { PolicyValidator } from './handlers/admin.js';
import {
  completeElection,
  type ElectionInput,
  type PendingElection,
  prepareElection,
} from './handlers/election.js';
import type { ControllerLimits } from './limits.js';
import { LivenessTable, type LivenessView } from './liveness.js';
import type { CommandResult } from './result.js';
import { checkSession, decodeReply } from './session.js';
import { type ControllerState, createControllerState } from './state.js';

export const cluster = 'DefaultCluster';

type CommandInit = MessageInitShape<typeof ControllerCommandSchema>['command'];

function command(c: CommandInit): ControllerCommand {
  return create(ControllerCommandSchema, { command: c });
}

/** Builders of every ControllerCommand case, with RocketMQ-ish defaults. */
export const commands = {
  getNextBrokerId: (brokerName: string, clusterName = cluster) =>
    command({ case: 'getNextBrokerId', value: { clusterName, brokerName } }),
  applyBrokerId: (
    brokerName: string,
    appliedBrokerId: bigint,
    registerCheckCode: string,
    clusterName = cluster,
  ) =>
    command({
      case: 'applyBrokerId',
      value: { clusterName, brokerName, appliedBrokerId, registerCheckCode },
    }),
  registerBroker: (brokerName: string, brokerId: bigint, brokerAddress: string, clusterName = cluster) =>
    command({
      case: 'registerBroker',
      value: { clusterName, brokerName, brokerId, brokerAddress },
    }),
  electMaster: (brokerName: string, brokerId: bigint, clusterName = cluster) =>
    command({ case: 'electMaster', value: { clusterName, brokerName, brokerId } }),
  adminElectMaster: (brokerName: string, designatedBrokerId?: bigint, clusterName = cluster) =>
    command({
      case: 'adminElectMaster',
      value: { clusterName, brokerName, designatedBrokerId },
    }),
  alterSyncStateSet: (
    brokerName: string,
    init: { masterBrokerId: bigint; masterEpoch: number; brokerIds: bigint[]; epoch: number },
    clusterName = cluster,
  ) =>
    command({
      case: 'alterSyncStateSet',
      value: {
        clusterName,
        brokerName,
        masterBrokerId: init.masterBrokerId,
        masterEpoch: init.masterEpoch,
        newSyncStateSet: { brokerIds: init.brokerIds, epoch: init.epoch },
      },
    }),
  getReplicaInfo: (brokerName: string, clusterName = cluster) =>
    command({ case: 'getReplicaInfo', value: { clusterName, brokerName } }),
  getSyncStateData: (brokerNames: string[], clusterName = cluster) =>
    command({
      case: 'getSyncStateData',
      value: { clusterName, brokerNames },
    }),
  adminGetSyncStateData: (brokerNames: string[], clusterName = '') =>
    command({
      case: 'adminGetSyncStateData',
      value: { clusterName, brokerNames },
    }),
  cleanBrokerData: (
    brokerName: string,
    brokerIds: bigint[],
    cleanLivingBroker = false,
    clusterName = cluster,
  ) =>
    command({
      case: 'cleanBrokerData',
      value: { clusterName, brokerName, brokerIds, cleanLivingBroker },
    }),
  updateControllerConfig: (entries: Record<string, string>) =>
    command({ case: 'updateControllerConfig', value: { entries } }),
  getControllerConfig: () => command({ case: 'getControllerConfig', value: {} }),
  setElectionPolicy: (clusterName: string, brokerName: string, policy: PolicyConfig | undefined) =>
    command({
      case: 'setElectionPolicy',
      value: { clusterName, brokerName, policy },
    }),
  getElectionPolicy: (clusterName: string, brokerName: string) =>
    command({ case: 'getElectionPolicy', value: { clusterName, brokerName } }),
  getElectionAudit: (clusterName: string, brokerName: string, limit = 0) =>
    command({
      case: 'getElectionAudit',
      value: { clusterName, brokerName, limit },
    }),
  getBrokerLiveness: (clusterName = '', brokerNames: string[] = []) =>
    command({
      case: 'getBrokerLiveness',
      value: { clusterName, brokerNames },
    }),
};

/** The error of a reply; throws when the reply is not an error. */
export function errorOf(reply: ControllerReply) {
  if (reply.reply.case !== 'error') throw new Error(`expected an error, got ${reply.reply.case}`);
  return reply.reply.value;
}

/** The value of a reply case; throws when the reply is another case. */
export function replyValue<C extends NonNullable<ControllerReply['reply']['case']>>(
  reply: ControllerReply,
  c: C,
) {
  if (reply.reply.case !== c)
    throw new Error(
      `expected ${c}, got ${reply.reply.case}: ${JSON.stringify(reply.reply.value, (_, v) => (typeof v === 'bigint' ? String(v) : v))}`,
    );
  return reply.reply.value as Extract<ControllerReply['reply'], { case: C }>['value'];
}

/** A heartbeat with RocketMQ's "unknown" defaults. */
export function heartbeatOf(
  brokerName: string,
  brokerId: bigint,
  init: Partial<Omit<BrokerHeartbeat, '$typeName' | 'brokerName' | 'brokerId'>> = {},
): BrokerHeartbeat {
  return create(BrokerHeartbeatSchema, {
    clusterName: cluster,
    brokerAddress: `10.0.0.${brokerId}:10911`,
    epoch: -1,
    maxOffset: -1n,
    confirmOffset: -1n,
    ...init,
    brokerName,
    brokerId,
  });
}

const priorityAbsent = 2_147_483_647;

/** Best first: epoch ↓, maxOffset ↓ (bigint), priority ↑ (absent = lowest), broker id ↑. Never collapses ties. */
function compareCandidates(
  a: ElectRequest['candidates'][number],
  b: ElectRequest['candidates'][number],
): number {
  if (a.epoch !== b.epoch) return a.epoch > b.epoch ? -1 : 1;
  if (a.maxOffset !== b.maxOffset) return a.maxOffset > b.maxOffset ? -1 : 1;
  const pa = a.electionPriority ?? priorityAbsent;
  const pb = b.electionPriority ?? priorityAbsent;
  if (pa !== pb) return pa < pb ? -1 : 1;
  return a.brokerId < b.brokerId ? -1 : a.brokerId > b.brokerId ? 1 : 0;
}

/** A reference of RocketMQ's DefaultElectPolicy (§4.2) with the offset-overflow and tie-collapse bugs fixed. */
export function referencePolicy(request: ElectRequest): ElectResponse {
  const byId = new Map(request.candidates.map((c) => [c.brokerId, c]));
  const pools: bigint[][] = [request.syncStateSet.filter((id) => byId.has(id))];
  if (request.uncleanElectionEnabled) pools.push(request.candidates.map((c) => c.brokerId));
  const reasons = request.candidates.map((c) =>
    create(CandidateReasonSchema, {
      brokerId: c.brokerId,
      verdict: c.alive ? Verdict.OUTRANKED : Verdict.NOT_ALIVE,
    }),
  );
  const respond = (
    chosen: bigint | undefined,
    ranked: bigint[],
    explanation: string,
    masterKept = false,
    unclean = false,
  ) => {
    for (const reason of reasons)
      if (reason.brokerId === chosen) reason.verdict = masterKept ? Verdict.MASTER_KEPT : Verdict.CHOSEN;
    return create(ElectResponseSchema, {
      chosenBrokerId: chosen,
      rankedBrokerIds: ranked,
      reasons,
      policyName: 'test-reference',
      explanation,
      masterKept,
      unclean,
    });
  };
  for (const [poolIndex, pool] of pools.entries()) {
    const live = pool
      .map((id) => byId.get(id))
      .filter((c) => c?.alive === true) as ElectRequest['candidates'];
    if (live.length === 0) continue;
    const ids = live.map((c) => c.brokerId);
    const old = request.oldMasterBrokerId;
    const designated = request.designatedBrokerId;
    if (old !== undefined && ids.includes(old) && (designated === undefined || designated === old)) {
      return respond(old, [old], `master ${old} is alive and kept`, true);
    }
    if (designated !== undefined) {
      if (ids.includes(designated))
        return respond(designated, [designated], `designated ${designated}`, false, poolIndex > 0);
      continue;
    }
    const ranked = [...live].sort(compareCandidates).map((c) => c.brokerId);
    return respond(ranked[0], ranked, `ranked ${ranked.join(' > ')}`, false, poolIndex > 0);
  }
  return respond(undefined, [], 'no live candidate');
}

/** Accepts every policy except one whose rules filter is "invalid". */
export function testValidatePolicy(policy: PolicyConfig): PolicyProblem[] {
  if (policy.policy.case === 'rules' && policy.policy.value.filter === 'invalid') {
    return [create(PolicyProblemSchema, { field: 'rules.filter', message: 'does not compile' })];
  }
  return [];
}

export interface HarnessOptions {
  readonly limits?: ControllerLimits;
  readonly policy?: (request: ElectRequest) => ElectResponse;
  readonly validatePolicy?: PolicyValidator;
  readonly startMs?: number;
}

/**
 * The library wired like the consensus app, in memory: one state, one liveness table fed through gateway "g1",
 * a clock in milliseconds, and a log of applied entries.
 */
export class Harness {
  readonly state: ControllerState;
  readonly table: LivenessTable;
  readonly log: LogCommand[] = [];
  nowMs: number;
  policy: (request: ElectRequest) => ElectResponse;
  readonly validatePolicy: PolicyValidator;
  private index = 0;
  private sequence = 0n;

  constructor(options: HarnessOptions = {}) {
    this.state = createControllerState(options.limits);
    this.nowMs = options.startMs ?? 1_000;
    this.table = new LivenessTable({ createdAtMs: this.nowMs, graceMs: 0 });
    this.policy = options.policy ?? referencePolicy;
    this.validatePolicy = options.validatePolicy ?? testValidatePolicy;
  }

  view(): LivenessView {
    return this.table.view(this.nowMs);
  }

  advance(ms: number): void {
    this.nowMs += ms;
  }

  /** A heartbeat through gateway g1 on a fresh call sequence; returns that sequence. */
  heartbeat(brokerName: string, brokerId: bigint, init: Parameters<typeof heartbeatOf>[2] = {}): bigint {
    this.sequence += 1n;
    const outcome = this.table.heartbeat(
      heartbeatOf(brokerName, brokerId, init),
      { gatewayId: 'g1', sequence: this.sequence },
      this.nowMs,
    );
    if (outcome.kind !== 'accepted') throw new Error(`heartbeat refused: ${outcome.message}`);
    return this.sequence;
  }

  /** Runs a command to its reply, applying its events like the consensus app does. */
  submit(
    c: ControllerCommand,
    session: { clientId: string; sequence: bigint } = { clientId: '', sequence: 0n },
  ): ControllerReply {
    const check = checkSession(this.state, session.clientId, session.sequence);
    if (check.kind !== 'new') return check.reply;
    const outcome = handleCommand(this.state, c, this.view(), {
      validatePolicy: this.validatePolicy,
      nowUnixMs: 1_700_000_000_000,
      nodeId: 7n,
    });
    const result = outcome.kind === 'election' ? this.decide(outcome.pending) : outcome;
    return this.commit(result, session);
  }

  /** A controller-triggered election, as the leader's scan starts it. */
  electByController(brokerName: string): ControllerReply {
    const input: ElectionInput = { trigger: ElectionTrigger.CONTROLLER, brokerName, clusterName: '' };
    const outcome = prepareElection(this.state, input, this.view(), { nowUnixMs: 1_700_000_000_000 });
    const result = outcome.kind === 'election' ? this.decide(outcome.pending) : outcome;
    return this.commit(result, { clientId: '', sequence: 0n });
  }

  /** Proposes and applies a result's events (if any); returns the reply the waiter gets. */
  commit(result: CommandResult, session: { clientId: string; sequence: bigint }): ControllerReply {
    if (result.events.length === 0) return result.reply;
    const entry = decodeLogCommand(encodeLogCommand(makeLogCommand({ ...session, result })));
    this.log.push(entry);
    this.index += 1;
    const applied = applyCommand(this.state, entry, this.index, 1);
    return decodeReply(applied.reply);
  }

  /** Registers broker ids 1..count of a group (GetNextBrokerId → ApplyBrokerId → RegisterBroker) and heartbeats. */
  registerGroup(brokerName: string, count: number, clusterName = cluster): void {
    for (let i = 0; i < count; i += 1) {
      const next = this.submit(commands.getNextBrokerId(brokerName, clusterName));
      if (next.reply.case !== 'getNextBrokerId')
        throw new Error(`GetNextBrokerId failed: ${next.reply.case}`);
      const id = next.reply.value.nextBrokerId;
      const address = `${brokerName}-${id}:10911`;
      const applied = this.submit(
        commands.applyBrokerId(brokerName, id, `${address};${1000 + i}`, clusterName),
      );
      if (applied.reply.case !== 'applyBrokerId')
        throw new Error(`ApplyBrokerId failed: ${JSON.stringify(applied.reply.value)}`);
      this.submit(commands.registerBroker(brokerName, id, address, clusterName));
      this.heartbeat(brokerName, id, { clusterName, brokerAddress: address });
    }
  }

  private decide(pending: PendingElection): CommandResult {
    const completion = completeElection(this.state, pending, this.policy(pending.request), {
      fallback: false,
      nowUnixMs: 1_700_000_000_000,
    });
    if (completion.kind !== 'result') throw new Error(`election ${completion.kind}: ${completion.reason}`);
    return completion;
  }
}
