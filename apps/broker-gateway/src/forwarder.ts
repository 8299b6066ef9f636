// Forwarding to the consensus nodes within a call's deadline: to the leader (following NOT_LEADER hints, trying
// the others when it is unreachable), to any node, or to every node. A mutating controller command carries the
// gateway's session (client_id = gateway id, one sequence per incoming call), so a retry after an unknown outcome
// applies at most once; a command without a session is retried only when it surely did not run.
import { create } from '@bufbuild/protobuf';
import { type CallOptions, Code, ConnectError } from '@connectrpc/connect';
import { connectErrorOf, readControllerError, toConnectError } from '@regent/proto';
import { ControllerCondition } from '@regent/proto/common';
import {
  type ControllerCommand,
  ControllerCommandSchema,
  type ControllerReply,
} from '@regent/proto/consensus';
import { REQUEST_ID_HEADER } from '@regent/service-kit';
import type { Logger } from 'pino';
import type { ConsensusClient, ConsensusNodes } from './consensus-nodes.js';
import { type Backoff, backoffMs, type Deadline, sleep } from './timing.js';

/** What one failed attempt means for the next one. */
export type FailureKind =
  /** The node is not the leader (it refused; nothing ran). */
  | 'not-leader'
  /** The node could not be connected to (nothing was sent). */
  | 'unreachable'
  /** The request may or may not have run (connection lost mid-call, leader stepped down, consensus timeout). */
  | 'ambiguous'
  /** The command's session sequence was refused as stale before anything ran: take a new one and retry. */
  | 'resequence'
  /** The call's deadline passed (or the caller went away) during the attempt. */
  | 'expired'
  /** An answer for the caller (a controller condition, a bad request, …): not retried. */
  | 'final';

/** Error codes of the node's connection layer meaning the request never left this process. */
const notSentCodes = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
]);
/** Codes without a controller condition after which the request may have run. */
const ambiguousCodes = new Set([
  Code.Unavailable,
  Code.Aborted,
  Code.Unknown,
  Code.Internal,
  Code.Canceled,
  Code.DeadlineExceeded,
]);
/** Controller conditions after which the command may have run, or a retry elsewhere may succeed. */
const ambiguousConditions = new Set([ControllerCondition.RAFT_INTERNAL_ERROR, ControllerCondition.TIMEOUT]);

/** A STALE_SEQUENCE answer to a command that surely never ran before: it gets a new sequence. */
export class ResequenceError extends Error {
  override readonly name = 'ResequenceError';
}

export function classifyFailure(error: unknown, signal: AbortSignal): FailureKind {
  if (error instanceof ResequenceError) return 'resequence';
  if (signal.aborted) return 'expired';
  const detail = readControllerError(error);
  if (detail !== undefined) {
    if (detail.condition === ControllerCondition.NOT_LEADER) return 'not-leader';
    return ambiguousConditions.has(detail.condition) ? 'ambiguous' : 'final';
  }
  const connectError = ConnectError.from(error);
  if (connectError.code === Code.Unavailable && causeCodes(error).some((code) => notSentCodes.has(code))) {
    return 'unreachable';
  }
  return ambiguousCodes.has(connectError.code) ? 'ambiguous' : 'final';
}

function causeCodes(error: unknown): string[] {
  const codes: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 8 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') codes.push(code);
    current = current.cause;
  }
  return codes;
}

/** The deadline, request id and logger of one forwarded call. */
export interface ForwardScope {
  readonly deadline: Deadline;
  readonly requestId: string;
  readonly logger: Logger;
}

/** 'any': retry after every non-final failure; 'definite': only when the request surely did not run. */
export type RetryPolicy = 'any' | 'definite';

export type Attempt<T> = (client: ConsensusClient, address: string, options: CallOptions) => Promise<T>;

export interface ForwarderOptions {
  readonly nodes: ConsensusNodes;
  readonly gatewayId: string;
  /** The next session sequence of this gateway (strictly increasing). */
  readonly nextSequence: () => bigint;
  readonly backoff: Backoff;
  /** Bound on attempts per call (the deadline usually ends a call first). */
  readonly attemptsMax: number;
  /** Deadline of one attempt on a node when any or every node will do (Status), in ms. */
  readonly nodeAttemptTimeoutMs: number;
}

export type CommandOneof = ControllerCommand['command'];
export type CommandCase = NonNullable<CommandOneof['case']>;
export type CommandValue<C extends CommandCase> = Extract<CommandOneof, { case: C }>['value'];
export type ReplyValue<C extends CommandCase> = Extract<ControllerReply['reply'], { case: C }>['value'];

/** Commands that change controller state: they carry the session. */
export const mutatingCommands: ReadonlySet<CommandCase> = new Set<CommandCase>([
  'applyBrokerId',
  'registerBroker',
  'electMaster',
  'alterSyncStateSet',
  'adminElectMaster',
  'cleanBrokerData',
  'updateControllerConfig',
  'setElectionPolicy',
]);

/**
 * Session lanes: the controller keeps one "last sequence" per client id, so two calls of one client must reach the
 * leader in sequence order. Concurrent calls of a gateway therefore each take a lane (client id
 * `<gatewayId>.<lane>`) for the whole call, retries included; a lane carries one call at a time, so its sequences
 * arrive in order. Waiting for a free lane is bounded by the call's deadline.
 */
export const SESSION_LANES = 128;

class SessionLanes {
  readonly #free: number[] = Array.from({ length: SESSION_LANES }, (_, i) => i);
  readonly #waiters: ((lane: number) => void)[] = [];

  async acquire(signal: AbortSignal): Promise<number> {
    const lane = this.#free.pop();
    if (lane !== undefined) return lane;
    return new Promise<number>((resolve, reject) => {
      const waiter = (l: number): void => {
        signal.removeEventListener('abort', onAbort);
        resolve(l);
      };
      const onAbort = (): void => {
        const i = this.#waiters.indexOf(waiter);
        if (i >= 0) this.#waiters.splice(i, 1);
        reject(
          connectErrorOf(
            ControllerCondition.TIMEOUT,
            'no free session lane before the deadline; nothing was sent',
          ),
        );
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  release(lane: number): void {
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) waiter(lane);
    else this.#free.push(lane);
  }
}

export class Forwarder {
  readonly #lanes = new SessionLanes();

  constructor(private readonly options: ForwarderOptions) {}

  /** Runs `command` on the leader and returns the reply of the same case; a controller error becomes a ConnectError. */
  async command<C extends CommandCase>(
    commandCase: C,
    value: CommandValue<C>,
    scope: ForwardScope,
  ): Promise<ReplyValue<C>> {
    const command = create(ControllerCommandSchema, {
      command: { case: commandCase, value } as CommandOneof,
    });
    const reply = await this.submit(command, scope, mutatingCommands.has(commandCase));
    const oneof = reply.reply;
    if (oneof.case === commandCase) return oneof.value as ReplyValue<C>;
    if (oneof.case === 'error') throw toConnectError(oneof.value);
    throw new ConnectError(`consensus answered ${oneof.case ?? 'nothing'} to ${commandCase}`, Code.Internal);
  }

  /** Submits a command to the leader; `mutating` commands carry the session and keep its sequence across retries. */
  async submit(command: ControllerCommand, scope: ForwardScope, mutating: boolean): Promise<ControllerReply> {
    if (!mutating) return this.#submit(command, scope, false, '');
    const lane = await this.#lanes.acquire(scope.deadline.signal);
    try {
      return await this.#submit(command, scope, true, `${this.options.gatewayId}.${lane}`);
    } finally {
      this.#lanes.release(lane);
    }
  }

  async #submit(
    command: ControllerCommand,
    scope: ForwardScope,
    mutating: boolean,
    clientId: string,
  ): Promise<ControllerReply> {
    let sequence: bigint | undefined;
    let maybeApplied = false;
    return this.onLeader(scope, 'any', async (client, _address, options) => {
      // Assigned at the first send (so sequences leave this gateway in order), kept for every retry.
      sequence ??= this.options.nextSequence();
      try {
        const response = await client.submit(
          {
            clientId,
            sequence: mutating ? sequence : 0n,
            command,
            requestId: scope.requestId,
          },
          options,
        );
        const reply = response.reply;
        if (reply === undefined || reply.reply.case === undefined) {
          throw new ConnectError('consensus answered Submit without a reply', Code.Internal);
        }
        if (reply.reply.case !== 'error') return reply;
        const detail = reply.reply.value;
        if (
          detail.condition === ControllerCondition.NOT_LEADER ||
          ambiguousConditions.has(detail.condition)
        ) {
          throw toConnectError(detail);
        }
        if (detail.condition === ControllerCondition.STALE_SEQUENCE && mutating && !maybeApplied) {
          // Another call of this gateway with a later sequence reached the leader first; this one never ran.
          sequence = undefined;
          throw new ResequenceError(detail.message);
        }
        return reply;
      } catch (error) {
        const kind = classifyFailure(error, scope.deadline.signal);
        if (kind === 'ambiguous' || kind === 'expired') maybeApplied = true;
        throw error;
      }
    });
  }

  /** Runs `attempt` on the leader until it succeeds, fails finally, or the deadline passes. */
  async onLeader<T>(scope: ForwardScope, policy: RetryPolicy, attempt: Attempt<T>): Promise<T> {
    const { nodes } = this.options;
    const signal = scope.deadline.signal;
    let lastError: unknown;
    let maybeRan = false;
    let pauses = 0;
    let hintsFollowed = 0;
    for (let i = 0; i < this.options.attemptsMax; i++) {
      if (signal.aborted) throw this.giveUp(scope, lastError, maybeRan);
      const address = nodes.leader?.address ?? (await nodes.discover(signal))?.address;
      if (address === undefined) {
        lastError ??= connectErrorOf(ControllerCondition.NOT_LEADER, 'no consensus node knows a leader');
        await sleep(backoffMs(pauses++, this.options.backoff), signal);
        continue;
      }
      try {
        return await attempt(nodes.client(address), address, this.callOptions(scope));
      } catch (error) {
        lastError = error;
        const kind = classifyFailure(error, signal);
        scope.logger.debug(
          { node: address, kind, error: (error as Error).message },
          'forward attempt failed',
        );
        if (kind === 'final') throw relayed(error);
        if (kind === 'expired') throw this.giveUp(scope, lastError, true);
        if (kind === 'resequence') continue;
        if (kind === 'ambiguous' && policy === 'definite') throw relayed(error);
        maybeRan ||= kind === 'ambiguous';
        nodes.forgetLeader(address);
        const hint = kind === 'not-leader' ? readControllerError(error)?.leader : undefined;
        if (nodes.followHint(hint, address) && hintsFollowed++ < 3) continue;
        await sleep(backoffMs(pauses++, this.options.backoff), signal);
      }
    }
    throw this.giveUp(scope, lastError, maybeRan);
  }

  /** Runs `attempt` on the leader if known, else on each node in turn, until one answers. */
  async onAnyNode<T>(scope: ForwardScope, attempt: Attempt<T>): Promise<T> {
    const { nodes } = this.options;
    const signal = scope.deadline.signal;
    const leader = nodes.leader?.address;
    const order = [...new Set([...(leader === undefined ? [] : [leader]), ...nodes.addresses()])];
    let lastError: unknown;
    for (const address of order) {
      if (signal.aborted) break;
      try {
        return await attempt(
          nodes.client(address),
          address,
          this.callOptions(scope, this.options.nodeAttemptTimeoutMs),
        );
      } catch (error) {
        const kind = classifyFailure(error, signal);
        if (kind === 'final') throw relayed(error);
        lastError = error;
      }
    }
    if (signal.aborted) throw this.giveUp(scope, lastError, false);
    throw new ConnectError(`no consensus node answered: ${errorMessage(lastError)}`, Code.Unavailable);
  }

  /** Runs `attempt` on every node at once; each result is a value or the node's error. */
  async onEveryNode<T>(
    scope: ForwardScope,
    attempt: Attempt<T>,
  ): Promise<{ readonly address: string; readonly value?: T; readonly error?: ConnectError }[]> {
    const { nodes } = this.options;
    return Promise.all(
      nodes.addresses().map(async (address) => {
        try {
          const options = this.callOptions(scope, this.options.nodeAttemptTimeoutMs);
          return { address, value: await attempt(nodes.client(address), address, options) };
        } catch (error) {
          return { address, error: ConnectError.from(error) };
        }
      }),
    );
  }

  /** Runs `attempt` once on one node. */
  async onNode<T>(address: string, scope: ForwardScope, attempt: Attempt<T>): Promise<T> {
    try {
      return await attempt(this.options.nodes.client(address), address, this.callOptions(scope));
    } catch (error) {
      if (classifyFailure(error, scope.deadline.signal) === 'expired') throw this.giveUp(scope, error, true);
      throw relayed(error);
    }
  }

  private callOptions(scope: ForwardScope, capMs = Number.POSITIVE_INFINITY): CallOptions {
    return {
      signal: scope.deadline.signal,
      timeoutMs: Math.max(1, Math.floor(Math.min(capMs, scope.deadline.remainingMs()))),
      headers: { [REQUEST_ID_HEADER]: scope.requestId },
    };
  }

  /**
   * The error for a call that ran out of time or attempts: TIMEOUT (DEADLINE_EXCEEDED) when the request may have
   * run, NOT_LEADER (UNAVAILABLE) when it surely did not.
   */
  private giveUp(scope: ForwardScope, lastError: unknown, maybeRan: boolean): ConnectError {
    const why = lastError === undefined ? '' : ` (last: ${errorMessage(lastError)})`;
    if (maybeRan) {
      return connectErrorOf(
        ControllerCondition.TIMEOUT,
        `no answer from the consensus leader within ${scope.deadline.budgetMs} ms; the outcome is unknown${why}`,
      );
    }
    return connectErrorOf(
      ControllerCondition.NOT_LEADER,
      `no consensus leader reachable within ${scope.deadline.budgetMs} ms; nothing was applied${why}`,
    );
  }
}

/**
 * A node's error as the caller gets it: code, message and details (the ControllerError), but not the node's
 * response headers, which a ConnectError carries as metadata and the server would copy into the caller's response
 * (a node's content-length and content-type there break the caller's stream: an h2 PROTOCOL_ERROR under gRPC).
 */
export function relayed(error: unknown): unknown {
  if (!(error instanceof ConnectError)) return error;
  // Details decoded from the wire are re-sent as they came (IncomingDetail carries type and bytes).
  return new ConnectError(error.rawMessage, error.code, undefined, error.details as never, error);
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
