// The simulated leader's request path, following apps/consensus/src/controller/executor.ts and scanner.ts rule for
// rule, with callbacks where the app awaits: handlers run against the speculative state (applied + this leader's
// proposed-but-unapplied entries), a write is proposed as an encoded LogCommand and answered with the reply
// recorded at apply, a read is answered after ReadIndex from the applied state, elections are two-phase with a
// policy in between (stale → prepare again, invalid decision → the in-process default), and the leader's scan
// starts controller-triggered elections. Everything here is volatile: a crash loses it.
import { create } from '@bufbuild/protobuf';
import { validatePolicy } from '@regent/election';
import type { ControllerCommand, ControllerReply } from '@regent/proto/consensus';
import { type ElectRequest, ElectRequestSchema, type ElectResponse } from '@regent/proto/election';
import { ElectionTrigger } from '@regent/proto/state';
import type { RaftNode } from '@regent/raft';
import { type ApplyResult, applyCommand, encodeLogCommand, makeLogCommand } from '../apply.js';
import { controllerConfigOf } from '../config.js';
import { handleCommand } from '../dispatch.js';
import { completeElection, type PendingElection, prepareElection } from '../handlers/election.js';
import type { LivenessTable, LivenessView } from '../liveness.js';
import type { CommandOutcome, CommandResult } from '../result.js';
import { findInactiveMasters } from '../scan.js';
import { checkSession, decodeReply } from '../session.js';
import { type ControllerState, cloneState } from '../state.js';
import { type ExecutorRules, unixEpochMs } from './sim-plan.js';

/** What a client gets back from one attempt: the controller's reply, or a transport-level failure to retry. */
export type RpcOutcome =
  | { readonly kind: 'reply'; readonly reply: ControllerReply }
  | { readonly kind: 'failed'; readonly reason: string; readonly leaderHint: number };

type Respond = (outcome: RpcOutcome) => void;

/** The policy service as the leader sees it (policy-client.ts): a remote decision, or the local default. */
export interface SimPolicy {
  /** Calls `done` later (a timer of the node) with the decision and whether the local default decided. */
  decide(
    request: ElectRequest,
    deadlineMs: number,
    done: (decision: ElectResponse, fallback: boolean) => void,
  ): void;
  decideLocally(request: ElectRequest): ElectResponse;
}

/** What the executor needs from its node: the runtime's side of raft-runtime (proposals, read barriers). */
export interface ExecutorHost {
  readonly nodeId: number;
  readonly raft: RaftNode;
  /** The applied state (replaced on restore: always read through the host). */
  readonly state: ControllerState;
  readonly appliedIndex: number;
  readonly table: LivenessTable;
  readonly rules: ExecutorRules;
  readonly policy: SimPolicy;
  nowMs(): number;
  /** Proposes; throws the core's errors. `applied` gets the ApplyResult at that index, `failed` a reason. */
  propose(
    data: Uint8Array,
    applied: (result: ApplyResult) => void,
    failed: (reason: string) => void,
  ): { readonly index: number; readonly term: number };
  /** A ReadIndex barrier; throws the core's errors. `read` runs once the read index is applied here. */
  readBarrier(read: () => void, dropped: (reason: string) => void): void;
  trace(line: string): void;
  /** Counts how often a path was taken (reported by the simulation). */
  count(what: string): void;
}

const ELECTION_ATTEMPTS_MAX = 3;
const READ_ATTEMPTS_MAX = 3;

function replied(reply: ControllerReply): RpcOutcome {
  return { kind: 'reply', reply };
}

function errorName(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

export class SimExecutor {
  private spec: ControllerState | undefined;
  private pending = 0;
  /** clientId/sequence → the callers waiting for that request's outcome. */
  private readonly inflight = new Map<string, Respond[]>();
  /** The leader serves only once it has applied everything up to its own no-op (set on becoming leader). */
  private barrierIndex = Number.MAX_SAFE_INTEGER;

  constructor(private readonly host: ExecutorHost) {}

  /** raft-runtime's onLeaderChange hook. */
  onLeaderChange(isLeader: boolean): void {
    this.barrierIndex = isLeader ? this.host.raft.basicStatus().lastIndex : Number.MAX_SAFE_INTEGER;
    if (!isLeader) this.spec = undefined;
  }

  /** The machine's onRestored hook. */
  onRestored(): void {
    this.spec = undefined;
  }

  /** True when this node may serve controller requests now. */
  get serving(): boolean {
    const s = this.host.raft.basicStatus();
    if (s.role !== 'leader') return false;
    if (!this.host.rules.leaderBarrier) return true;
    return s.leaderBarrierCommitted && this.host.appliedIndex >= this.barrierIndex;
  }

  /** The state a scan or a handler looks at (includes this leader's pending changes). */
  current(): ControllerState {
    return this.spec ?? this.host.state;
  }

  /** Proposed-but-unapplied entries of this leader. */
  get pendingCount(): number {
    return this.pending;
  }

  /** requireServing(): undefined when serving, else the failure to answer. */
  private refusal(): RpcOutcome | undefined {
    const s = this.host.raft.basicStatus();
    if (s.role !== 'leader') return { kind: 'failed', reason: 'NOT_LEADER', leaderHint: s.leader };
    if (this.host.rules.leaderBarrier && this.host.appliedIndex < this.barrierIndex) {
      return { kind: 'failed', reason: 'NOT_LEADER: still applying earlier entries', leaderHint: s.id };
    }
    return undefined;
  }

  private failure(reason: string): RpcOutcome {
    return { kind: 'failed', reason, leaderHint: this.host.raft.basicStatus().leader };
  }

  private view(): LivenessView {
    return this.host.table.view(this.host.nowMs());
  }

  private handle(state: ControllerState, command: ControllerCommand): CommandOutcome {
    return handleCommand(state, command, this.view(), {
      validatePolicy,
      nowUnixMs: unixEpochMs + this.host.nowMs(),
      nodeId: BigInt(this.host.nodeId),
    });
  }

  /** Runs one client command; `respond` is called once with its outcome (never, if the node crashes first). */
  submit(clientId: string, sequence: bigint, command: ControllerCommand, respond: Respond): void {
    const refused = this.refusal();
    if (refused !== undefined) {
      respond(refused);
      return;
    }
    if (clientId === '') {
      this.run(clientId, sequence, command, once(respond));
      return;
    }
    const key = `${clientId}/${sequence}`;
    const waiting = this.inflight.get(key);
    if (waiting !== undefined) {
      this.host.count('executor-joined-inflight');
      waiting.push(respond);
      return;
    }
    const check = checkSession(this.current(), clientId, sequence);
    if (check.kind === 'duplicate' || check.kind === 'refused') {
      this.host.count(`executor-session-${check.kind}`);
      respond(replied(check.reply));
      return;
    }
    const callers: Respond[] = [respond];
    this.inflight.set(key, callers);
    this.run(
      clientId,
      sequence,
      command,
      once((outcome) => {
        this.inflight.delete(key);
        for (const caller of callers) caller(outcome);
      }),
    );
  }

  private run(clientId: string, sequence: bigint, command: ControllerCommand, finish: Respond): void {
    this.continueRun(clientId, sequence, command, this.handle(this.current(), command), 0, finish);
  }

  private continueRun(
    clientId: string,
    sequence: bigint,
    command: ControllerCommand,
    outcome: CommandOutcome,
    attempt: number,
    finish: Respond,
  ): void {
    if (attempt >= READ_ATTEMPTS_MAX) {
      finish(this.failure('OVERLOADED: the state kept changing under a read'));
      return;
    }
    if (outcome.kind === 'election') {
      const prepare = (): CommandOutcome => this.handle(this.current(), command);
      this.elect(outcome.pending, clientId, sequence, prepare, 1, finish);
      return;
    }
    if (outcome.events.length > 0) {
      this.propose(clientId, sequence, outcome, finish);
      return;
    }
    if (!this.host.rules.readIndex) {
      finish(replied(outcome.reply));
      return;
    }
    // A read (or a refusal): confirm leadership with ReadIndex, then answer from the applied state.
    try {
      this.host.readBarrier(
        () => {
          const refused = this.refusal();
          if (refused !== undefined) {
            finish(refused);
            return;
          }
          const applied = this.handle(this.host.state, command);
          if (applied.kind === 'result' && applied.events.length === 0) {
            finish(replied(applied.reply));
            return;
          }
          this.host.count('executor-read-changed-under');
          const again = this.handle(this.current(), command);
          this.continueRun(clientId, sequence, command, again, attempt + 1, finish);
        },
        (reason) => finish(this.failure(reason)),
      );
    } catch (error) {
      finish(this.failure(errorName(error)));
    }
  }

  /** Proposes an accepted command and answers with the reply recorded at apply (the first reply for a retry). */
  private propose(clientId: string, sequence: bigint, result: CommandResult, finish: Respond): void {
    const logCommand = makeLogCommand({ clientId, sequence, result });
    let proposal: { readonly index: number; readonly term: number };
    const settle = (): void => {
      this.pending -= 1;
      if (this.pending === 0) this.spec = undefined;
    };
    try {
      proposal = this.host.propose(
        encodeLogCommand(logCommand),
        (applied) => {
          settle();
          finish(replied(decodeReply(applied.reply)));
        },
        (reason) => {
          settle();
          finish(this.failure(reason));
        },
      );
    } catch (error) {
      this.host.count('executor-propose-refused');
      finish(this.failure(errorName(error)));
      return;
    }
    if (this.pending > 0) this.host.count('executor-pipelined');
    if (this.host.rules.speculativeState) {
      this.spec ??= cloneState(this.host.state);
      applyCommand(this.spec, logCommand, proposal.index, proposal.term);
    }
    this.pending += 1;
    // Broken on purpose: answer before the entry is committed.
    if (!this.host.rules.answerAfterApply) finish(replied(result.reply));
  }

  private elect(
    pending: PendingElection,
    clientId: string,
    sequence: bigint,
    prepare: () => CommandOutcome,
    attempt: number,
    finish: Respond,
  ): void {
    const deadlineMs = controllerConfigOf(this.current()).electionPolicyDeadlineMs;
    this.host.policy.decide(pending.request, deadlineMs, (remoteDecision, remoteFallback) => {
      const refused = this.refusal();
      if (refused !== undefined) {
        finish(refused);
        return;
      }
      let decision = remoteDecision;
      let fallback = remoteFallback;
      const nowUnixMs = unixEpochMs + this.host.nowMs();
      let completion = completeElection(this.current(), pending, decision, { fallback, nowUnixMs });
      if (fallback) this.host.count('policy-timed-out');
      if (completion.kind === 'invalid-decision') {
        this.host.count('policy-decision-refused');
        this.host.trace(`n${this.host.nodeId} policy decision refused: ${completion.reason}`);
        decision = this.host.policy.decideLocally(pending.request);
        fallback = true;
        completion = completeElection(this.current(), pending, decision, { fallback, nowUnixMs });
      }
      if (completion.kind !== 'result') {
        this.electAgain(clientId, sequence, prepare, attempt, completion.reason, finish);
      } else if (completion.events.length > 0) {
        this.propose(clientId, sequence, completion, finish);
      } else if (!this.host.rules.confirmElectionReads) {
        finish(replied(completion.reply));
      } else {
        const retry = (reason: string): void =>
          this.electAgain(clientId, sequence, prepare, attempt, reason, finish);
        const decidedAtIndex = this.host.raft.basicStatus().lastIndex;
        this.confirmElectionRead(pending, decision, fallback, decidedAtIndex, 0, retry, finish);
      }
    });
  }

  private electAgain(
    clientId: string,
    sequence: bigint,
    prepare: () => CommandOutcome,
    attempt: number,
    reason: string,
    finish: Respond,
  ): void {
    this.host.count('election-stale');
    if (attempt >= ELECTION_ATTEMPTS_MAX) {
      finish(this.failure(`ELECT_MASTER_FAILED: election kept going stale: ${reason}`));
      return;
    }
    const again = prepare();
    if (again.kind === 'result') {
      if (again.events.length > 0) {
        this.propose(clientId, sequence, again, finish);
        return;
      }
      finish(replied(again.reply));
      return;
    }
    this.elect(again.pending, clientId, sequence, prepare, attempt + 1, finish);
  }

  /**
   * The fix (`confirmElectionReads`): an election without an event is a read. Confirm leadership with ReadIndex,
   * wait until the applied state covers what was proposed when the decision was made, and answer only what the
   * decision gives against the applied state; anything else counts as a stale attempt.
   */
  private confirmElectionRead(
    pending: PendingElection,
    decision: ElectResponse,
    fallback: boolean,
    decidedAtIndex: number,
    rounds: number,
    retry: (reason: string) => void,
    finish: Respond,
  ): void {
    try {
      this.host.readBarrier(
        () => {
          const refused = this.refusal();
          if (refused !== undefined) {
            finish(refused);
            return;
          }
          if (this.host.appliedIndex < decidedAtIndex && rounds + 1 < READ_ATTEMPTS_MAX) {
            this.confirmElectionRead(pending, decision, fallback, decidedAtIndex, rounds + 1, retry, finish);
            return;
          }
          const nowUnixMs = unixEpochMs + this.host.nowMs();
          const applied = completeElection(this.host.state, pending, decision, { fallback, nowUnixMs });
          if (applied.kind === 'result' && applied.events.length === 0) finish(replied(applied.reply));
          else retry(applied.kind === 'result' ? 'the applied state changed the outcome' : applied.reason);
        },
        (reason) => finish(this.failure(reason)),
      );
    } catch (error) {
      finish(this.failure(errorName(error)));
    }
  }

  /** A controller-triggered election of one group (its master is inactive). */
  electForInactiveMaster(brokerName: string, respond: Respond): void {
    const refused = this.refusal();
    if (refused !== undefined) {
      respond(refused);
      return;
    }
    const finish = once(respond);
    const prepare = (): CommandOutcome =>
      prepareElection(
        this.current(),
        { trigger: ElectionTrigger.CONTROLLER, brokerName, clusterName: '' },
        this.view(),
        { nowUnixMs: unixEpochMs + this.host.nowMs() },
      );
    const outcome = prepare();
    if (outcome.kind === 'result') {
      if (outcome.events.length > 0) {
        this.propose('', 0n, outcome, finish);
        return;
      }
      finish(replied(outcome.reply));
      return;
    }
    this.elect(outcome.pending, '', 0n, prepare, 1, finish);
  }
}

/** The leader's scans (scanner.ts): inactive masters → controller-triggered elections, one per group at a time. */
export class SimScanner {
  private readonly electing = new Set<string>();
  private lastPruneMs: number;

  constructor(
    private readonly host: ExecutorHost,
    private readonly executor: SimExecutor,
    startMs: number,
  ) {
    this.lastPruneMs = startMs;
  }

  scanNow(): void {
    const now = this.host.nowMs();
    if (now - this.lastPruneMs > 5_000) {
      this.lastPruneMs = now;
      this.host.table.removeExpired(now);
    }
    if (!this.executor.serving) return;
    const state = this.executor.current();
    for (const inactive of findInactiveMasters(state, this.host.table.view(now))) {
      if (this.electing.has(inactive.brokerName)) continue;
      this.electing.add(inactive.brokerName);
      const attempts = Math.max(1, controllerConfigOf(state).electMasterMaxRetryCount);
      this.host.trace(
        `n${this.host.nodeId} scan: master ${inactive.masterBrokerId} of ${inactive.brokerName} inactive (epoch ${inactive.masterEpoch})`,
      );
      this.elect(inactive.brokerName, 1, attempts);
    }
  }

  private elect(brokerName: string, attempt: number, attempts: number): void {
    if (attempt > attempts) {
      this.electing.delete(brokerName);
      return;
    }
    this.executor.electForInactiveMaster(brokerName, (outcome) => {
      if (outcome.kind === 'reply') {
        const reply = outcome.reply.reply;
        this.host.trace(
          `n${this.host.nodeId} controller-triggered election of ${brokerName} #${attempt}: ${reply.case === 'error' ? reply.value.message : 'ok'}`,
        );
        if (reply.case !== 'error') {
          this.electing.delete(brokerName);
          return;
        }
      } else if (!this.executor.serving) {
        this.electing.delete(brokerName);
        return;
      }
      this.elect(brokerName, attempt + 1, attempts);
    });
  }
}

/** The in-process default policy (policy-client.ts `decideDefault`): RocketMQ's default, whatever is configured. */
export function localDecision(
  decide: (request: ElectRequest) => ElectResponse,
): (request: ElectRequest) => ElectResponse {
  return (request) => decide(create(ElectRequestSchema, { ...request, policy: undefined }));
}

function once(respond: Respond): Respond {
  let done = false;
  return (outcome) => {
    if (done) return;
    done = true;
    respond(outcome);
  };
}
