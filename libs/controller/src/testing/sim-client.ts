// A simulated client session, retrying one request at a time with the same (clientId, sequence) until it gets a
// reply or gives up, and the ClientWorld through which every simulated client reaches the simulation.
import { ControllerCondition } from '@regent/proto/common';
import type { ControllerCommand, ControllerReply } from '@regent/proto/consensus';
import type { SeededRandom } from '@regent/raft/testing';
import type { SimBroker } from './sim-broker.js';
import type { RpcOutcome } from './sim-executor.js';
import type { AckedEpochs, Ledger } from './sim-ledger.js';
import type { ControllerSimulationPlan } from './sim-plan.js';

/** What clients need from the simulation. */
export interface ClientWorld {
  readonly rand: SeededRandom;
  readonly plan: ControllerSimulationPlan;
  readonly ledger: Ledger;
  /** False once the faults healed: brokers no longer die. */
  readonly faultsActive: boolean;
  /** False at the end: clients start no new requests. */
  readonly clientsActive: boolean;
  nowMs(): number;
  nodeIds(): readonly number[];
  trace(line: string): void;
  /** Sends one attempt to node `to`; `receive` gets the outcome if it makes it back. */
  sendRequest(
    to: number,
    clientId: string,
    sequence: bigint,
    command: ControllerCommand,
    receive: (outcome: RpcOutcome, from: number) => void,
  ): void;
  heartbeat(broker: SimBroker): void;
  suspect(broker: SimBroker): void;
  nextStreamSequence(): bigint;
  brokersOf(brokerName: string): readonly SimBroker[];
  /** Records a violation found by a client (the simulation fails with it). */
  fail(message: string): never;
}

/** One attempt waits this long for an answer before the client tries again. */
const attemptTimeoutMs = 600;
/** A request is abandoned (outcome unknown) after this long. */
const giveUpAfterMs = 8_000;

interface Op {
  readonly token: number;
  readonly sequence: bigint;
  readonly command: ControllerCommand;
  readonly what: string;
  /** The newest epochs acknowledged to anyone when the request started. */
  readonly before: ReadonlyMap<string, AckedEpochs>;
  readonly onReply: (reply: ControllerReply, what: string, before: ReadonlyMap<string, AckedEpochs>) => void;
  /** The request was abandoned: its outcome stays unknown. */
  readonly onGiveUp: () => void;
  readonly giveUpAtMs: number;
  nextSendAtMs: number;
  attemptDeadlineMs: number;
  attempts: number;
}

/** A client session: one request at a time, retried with the same sequence so it applies at most once. */
export class SimClient {
  private nextSequence = 1n;
  private op: Op | undefined;
  private leaderGuess = 0;
  private tokens = 0;

  constructor(
    readonly clientId: string,
    private readonly world: ClientWorld,
  ) {}

  get busy(): boolean {
    return this.op !== undefined;
  }

  start(
    command: ControllerCommand,
    what: string,
    onReply: (reply: ControllerReply, what: string, before: ReadonlyMap<string, AckedEpochs>) => void,
    onGiveUp: () => void = () => {},
  ): void {
    if (this.op !== undefined) throw new Error(`${this.clientId} already has a request in flight`);
    const now = this.world.nowMs();
    const sequence = this.nextSequence;
    this.nextSequence += 1n;
    this.op = {
      token: ++this.tokens,
      onGiveUp,
      sequence,
      command,
      what: `${this.clientId}#${sequence} ${what}`,
      before: this.world.ledger.ackedSnapshot(),
      onReply,
      giveUpAtMs: now + giveUpAfterMs,
      nextSendAtMs: now,
      attemptDeadlineMs: Number.POSITIVE_INFINITY,
      attempts: 0,
    };
    this.send(this.op);
  }

  /** Retries or gives up when due. */
  step(now: number): void {
    const op = this.op;
    if (op === undefined) return;
    if (now >= op.giveUpAtMs) {
      this.op = undefined;
      this.world.ledger.count('requests-given-up');
      this.world.trace(`${op.what}: gave up after ${op.attempts} attempts`);
      op.onGiveUp();
      return;
    }
    if (now >= op.attemptDeadlineMs && this.world.rand.chance(0.5)) this.leaderGuess = 0;
    if (now >= op.nextSendAtMs || now >= op.attemptDeadlineMs) this.send(op);
  }

  /** The process died: the request's outcome stays unknown. */
  abandon(): void {
    this.op = undefined;
  }

  private send(op: Op): void {
    const rand = this.world.rand;
    const ids = this.world.nodeIds();
    const to = this.leaderGuess !== 0 && rand.chance(0.9) ? this.leaderGuess : rand.pick(ids);
    op.attempts += 1;
    op.nextSendAtMs = Number.POSITIVE_INFINITY;
    op.attemptDeadlineMs = this.world.nowMs() + attemptTimeoutMs;
    if (op.attempts > 1) this.world.ledger.count('request-retries');
    const token = op.token;
    this.world.sendRequest(to, this.clientId, op.sequence, op.command, (outcome, from) =>
      this.receive(token, outcome, from),
    );
  }

  private receive(token: number, outcome: RpcOutcome, from: number): void {
    const op = this.op;
    if (op === undefined || op.token !== token) return;
    if (outcome.kind === 'failed') {
      this.leaderGuess = outcome.leaderHint !== from ? outcome.leaderHint : 0;
      op.nextSendAtMs = this.world.nowMs() + 20 + this.world.rand.nextInt(80);
      return;
    }
    this.op = undefined;
    this.leaderGuess = from;
    this.world.trace(`${op.what} → n${from}: ${describeReply(outcome.reply)}`);
    op.onReply(outcome.reply, op.what, op.before);
  }
}

/** A short description of a reply for traces. */
export function describeReply(reply: ControllerReply): string {
  const r = reply.reply;
  if (r.case === 'error') return `error ${ControllerCondition[r.value.condition]}: ${r.value.message}`;
  if (r.case === 'electMaster' || r.case === 'adminElectMaster') {
    const v = r.value;
    return `${r.case} ${ControllerCondition[v.condition]} master=${v.masterBrokerId} epoch=${v.masterEpoch} sss=[${v.syncStateSet?.brokerIds.join(',')}]@${v.syncStateSet?.epoch}`;
  }
  if (r.case === 'registerBroker' || r.case === 'getReplicaInfo') {
    const v = r.value;
    return `${r.case} master=${v.masterBrokerId} epoch=${v.masterEpoch} sss=[${v.syncStateSet?.brokerIds.join(',')}]@${v.syncStateSet?.epoch}`;
  }
  if (r.case === 'alterSyncStateSet') {
    return `alterSyncStateSet [${r.value.syncStateSet?.brokerIds.join(',')}]@${r.value.syncStateSet?.epoch}`;
  }
  if (r.case === 'getNextBrokerId') return `getNextBrokerId ${r.value.nextBrokerId}`;
  return `${r.case}`;
}
