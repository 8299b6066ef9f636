// The leader's request path. Handlers run synchronously against the speculative state (the applied state plus
// every proposed-but-unapplied entry of this leader), so a request never validates against a state that misses an
// earlier accepted one, while proposals still pipeline. A write is answered after it is applied; a read after a
// ReadIndex barrier, re-evaluated against the applied state. Elections ask the policy service in between.
import { Code, ConnectError } from '@connectrpc/connect';
import {
  type ApplyResult,
  applyCommand,
  type CommandOutcome,
  type CommandResult,
  type ControllerState,
  checkSession,
  cloneState,
  completeElection,
  controllerConfigOf,
  decodeReply,
  type ElectionCompletion,
  encodeLogCommand,
  handleCommand,
  type LivenessTable,
  makeLogCommand,
  type PendingElection,
  prepareElection,
} from '@regent/controller';
import { validatePolicy } from '@regent/election';
import { connectErrorOf } from '@regent/proto';
import { ControllerCondition } from '@regent/proto/common';
import type { ControllerCommand, ControllerReply } from '@regent/proto/consensus';
import { ElectionTrigger } from '@regent/proto/state';
import type { Logger } from 'pino';
import type { RaftNodeHandle } from '../raft-node.js';
import type { ControllerMachine } from './machine.js';
import type { ControllerMetrics } from './metrics.js';
import type { PolicyClient } from './policy-client.js';

const ELECTION_ATTEMPTS_MAX = 3;
const READ_ATTEMPTS_MAX = 3;

export interface ExecutorOptions {
  readonly machine: ControllerMachine;
  readonly node: RaftNodeHandle;
  readonly liveness: LivenessTable;
  readonly policy: PolicyClient;
  readonly metrics: ControllerMetrics;
  readonly logger: Logger;
}

export class ControllerExecutor {
  #spec: ControllerState | undefined;
  #pending = 0;
  readonly #inflight = new Map<string, Promise<ControllerReply>>();
  /** The leader serves only once it has applied everything up to its own no-op (set on becoming leader). */
  #barrierIndex = Number.MAX_SAFE_INTEGER;

  constructor(private readonly o: ExecutorOptions) {
    o.node.onLeaderChange((_leader, _term, isLeader) => {
      this.#barrierIndex = isLeader ? o.node.runtime.node.basicStatus().lastIndex : Number.MAX_SAFE_INTEGER;
      if (!isLeader) this.#spec = undefined;
    });
    o.machine.onRestored = () => {
      this.#spec = undefined;
    };
  }

  /** True when this node may serve controller requests now. */
  get serving(): boolean {
    const s = this.o.node.runtime.node.basicStatus();
    return (
      s.role === 'leader' &&
      s.leaderBarrierCommitted &&
      this.o.node.runtime.appliedIndex >= this.#barrierIndex
    );
  }

  requireServing(): void {
    this.o.node.requireLeader();
    if (this.o.node.runtime.appliedIndex < this.#barrierIndex) {
      throw connectErrorOf(
        ControllerCondition.NOT_LEADER,
        'the new leader is still applying earlier entries',
        {
          leader: { nodeId: BigInt(this.o.node.config.nodeId), address: this.o.node.selfAddress } as never,
        },
      );
    }
  }

  #current(): ControllerState {
    return this.#spec ?? this.o.machine.state;
  }

  #handle(state: ControllerState, command: ControllerCommand): CommandOutcome {
    const now = Date.now();
    return handleCommand(state, command, this.o.liveness.view(now), {
      validatePolicy,
      nowUnixMs: now,
      nodeId: BigInt(this.o.node.config.nodeId),
    });
  }

  /** Runs one client command; the reply's `error` case carries controller conditions. */
  async submit(
    clientId: string,
    sequence: bigint,
    command: ControllerCommand,
    deadlineMs: number,
  ): Promise<ControllerReply> {
    this.requireServing();
    const key = `${clientId}/${sequence}`;
    if (clientId !== '') {
      const inflight = this.#inflight.get(key);
      if (inflight !== undefined) return withDeadline(inflight, deadlineMs);
      const check = checkSession(this.#current(), clientId, sequence);
      if (check.kind === 'duplicate' || check.kind === 'refused') return check.reply;
    }
    const work = this.#run(clientId, sequence, command);
    if (clientId !== '') {
      this.#inflight.set(key, work);
      void work.finally(() => this.#inflight.delete(key)).catch(() => {});
    }
    return withDeadline(work, deadlineMs);
  }

  async #run(clientId: string, sequence: bigint, command: ControllerCommand): Promise<ControllerReply> {
    let outcome = this.#handle(this.#current(), command);
    for (let attempt = 0; attempt < READ_ATTEMPTS_MAX; attempt++) {
      if (outcome.kind === 'election') {
        return this.#elect(outcome.pending, clientId, sequence, (state) => this.#handle(state, command));
      }
      if (outcome.events.length > 0) return this.#propose(clientId, sequence, outcome);
      // A read (or a refusal): confirm leadership with ReadIndex, then answer from the applied state.
      try {
        await this.o.node.runtime.readBarrier();
      } catch (error) {
        throw this.o.node.toConnectError(error);
      }
      this.requireServing();
      outcome = this.#handle(this.o.machine.state, command);
      if (outcome.kind === 'result' && outcome.events.length === 0) return outcome.reply;
      outcome = this.#handle(this.#current(), command);
    }
    throw connectErrorOf(ControllerCondition.OVERLOADED, 'the state kept changing under a read; retry');
  }

  /** Proposes an accepted command and answers with the reply recorded at apply (the first reply for a retry). */
  async #propose(clientId: string, sequence: bigint, result: CommandResult): Promise<ControllerReply> {
    const logCommand = makeLogCommand({ clientId, sequence, result });
    let proposal: ReturnType<RaftNodeHandle['runtime']['propose']>;
    try {
      proposal = this.o.node.runtime.propose(encodeLogCommand(logCommand));
    } catch (error) {
      throw this.o.node.toConnectError(error);
    }
    this.#spec ??= cloneState(this.o.machine.state);
    applyCommand(this.#spec, logCommand, proposal.index, proposal.term);
    this.#pending++;
    try {
      const applied = (await proposal.applied) as ApplyResult;
      return decodeReply(applied.reply);
    } catch (error) {
      throw this.o.node.toConnectError(error);
    } finally {
      this.#pending--;
      if (this.#pending === 0) this.#spec = undefined;
    }
  }

  /**
   * Elections ask the policy between `prepare` (on the speculative state) and `completeElection`. An election that
   * changes nothing (the master kept, a refusal) answers with the group's state, so that answer must come from
   * committed state, as a read: the speculative state may hold proposals that never commit (chaos seed 1: a
   * MASTER_STILL_EXIST naming an uncommitted master at an uncommitted masterEpoch).
   */
  async #elect(
    first: PendingElection,
    clientId: string,
    sequence: bigint,
    prepare: (state: ControllerState) => CommandOutcome,
  ): Promise<ControllerReply> {
    let pending = first;
    for (let attempt = 1; ; attempt++) {
      const deadline = controllerConfigOf(this.#current()).electionPolicyDeadlineMs;
      let { decision, fallback } = await this.o.policy.decide(pending.request, deadline);
      this.requireServing();
      const nowUnixMs = Date.now();
      let completion = completeElection(this.#current(), pending, decision, { fallback, nowUnixMs });
      if (completion.kind === 'invalid-decision') {
        this.o.logger.warn(
          { reason: completion.reason, group: pending.request.brokerName },
          'policy decision refused',
        );
        decision = this.o.policy.decideLocally(pending.request);
        fallback = true;
        completion = completeElection(this.#current(), pending, decision, { fallback, nowUnixMs });
      }
      const trigger = ElectionTrigger[pending.input.trigger]?.toLowerCase() ?? 'unknown';
      let staleReason: string;
      if (completion.kind === 'result') {
        const result = completion.events.length > 0 ? 'elected' : (completion.reply.reply.case ?? 'none');
        this.o.metrics.elections.inc({ trigger, result: fallback ? `${result}_fallback` : result });
        if (completion.events.length > 0) return this.#propose(clientId, sequence, completion);
        const options = { fallback, nowUnixMs };
        const confirmed = await this.#answerFromApplied((state) =>
          noEventReply(completeElection(state, pending, decision, options)),
        );
        if (confirmed !== undefined) return confirmed;
        staleReason = 'the state it was decided on is not committed yet';
      } else staleReason = completion.reason;
      if (attempt >= ELECTION_ATTEMPTS_MAX) {
        this.o.metrics.elections.inc({ trigger, result: 'stale' });
        throw connectErrorOf(
          ControllerCondition.ELECT_MASTER_FAILED,
          `election kept going stale: ${staleReason}`,
        );
      }
      const again = prepare(this.#current());
      if (again.kind === 'result') {
        if (again.events.length > 0) return this.#propose(clientId, sequence, again);
        const refused = await this.#answerFromApplied((state) => noEventReply(prepare(state)));
        if (refused !== undefined) return refused;
        continue;
      }
      pending = again.pending;
    }
  }

  /**
   * Confirms leadership (ReadIndex) and evaluates `answer` on the applied state, which then holds every
   * acknowledged change; undefined when the applied state calls for something else than a no-event answer.
   */
  async #answerFromApplied(
    answer: (state: ControllerState) => ControllerReply | undefined,
  ): Promise<ControllerReply | undefined> {
    try {
      await this.o.node.runtime.readBarrier();
    } catch (error) {
      throw this.o.node.toConnectError(error);
    }
    this.requireServing();
    return answer(this.o.machine.state);
  }

  /** A controller-triggered election of one group (its master is inactive). */
  async electForInactiveMaster(brokerName: string): Promise<ControllerReply> {
    this.requireServing();
    const prepare = (state: ControllerState): CommandOutcome =>
      prepareElection(
        state,
        { trigger: ElectionTrigger.CONTROLLER, brokerName, clusterName: '' },
        this.o.liveness.view(Date.now()),
        { nowUnixMs: Date.now() },
      );
    const outcome = prepare(this.#current());
    if (outcome.kind === 'result') {
      return outcome.events.length > 0 ? this.#propose('', 0n, outcome) : outcome.reply;
    }
    return this.#elect(outcome.pending, '', 0n, prepare);
  }

  /** The state a scan should look at (includes this leader's pending changes). */
  currentState(): ControllerState {
    return this.#current();
  }
}

/** The reply of an outcome that changes nothing; undefined for a proposal, an election or a stale decision. */
function noEventReply(outcome: CommandOutcome | ElectionCompletion): ControllerReply | undefined {
  return outcome.kind === 'result' && outcome.events.length === 0 ? outcome.reply : undefined;
}

function withDeadline<T>(work: Promise<T>, deadlineMs: number): Promise<T> {
  if (!Number.isFinite(deadlineMs) || deadlineMs <= 0) {
    // Nobody awaits `work` now: its failure must not become an unhandled rejection, which ends the process
    // (chaos seed 1: a read dropped by a leadership change after its caller's deadline had passed).
    work.catch(() => {});
    return Promise.reject(new ConnectError('deadline exceeded', Code.DeadlineExceeded));
  }
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          connectErrorOf(
            ControllerCondition.TIMEOUT,
            `no answer within ${deadlineMs} ms; the outcome is unknown, retry with the same session`,
          ),
        ),
      deadlineMs,
    );
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
