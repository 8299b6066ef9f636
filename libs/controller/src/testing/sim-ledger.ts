// The simulation's bookkeeping and checks: the committed log and an oracle state built from it (the first node to
// apply an index defines it; every other node must apply the same bytes and reach the same encodeSnapshot bytes),
// the committed history of masters and SyncStateSets per epoch, and every reply a simulated client was given as
// acknowledged. An acknowledged reply must be backed by the committed history when it arrives, must not be older
// than anything acknowledged before its request started (linearizability of epochs), and must survive to the end.
import { ElectionTrigger } from '@regent/proto/state';
import { type Entry, EntryType } from '@regent/raft';
import { type AppliedEvent, type ApplyResult, applyCommand, decodeLogCommand } from '../apply.js';
import { createHistoryChecker, type HistoryChecker, type InvariantViolation } from '../invariants.js';
import type { ControllerLimits } from '../limits.js';
import { encodeSnapshot } from '../snapshot.js';
import { type ControllerState, createControllerState } from '../state.js';

/** The newest epochs of one group acknowledged to any client. */
export interface AckedEpochs {
  readonly masterEpoch: number;
  readonly syncStateSetEpoch: number;
}

/** Master and SyncStateSet facts a reply states about one group. */
export interface GroupFacts {
  readonly brokerName: string;
  /** The master the reply names; undefined when it names none (not "no master": RegisterBroker hides dead ones). */
  readonly masterBrokerId: bigint | undefined;
  readonly masterEpoch: number;
  /** Undefined when the reply carries no SyncStateSet. */
  readonly syncStateSet: readonly bigint[] | undefined;
  readonly syncStateSetEpoch: number;
}

interface AckedId {
  readonly brokerName: string;
  readonly brokerId: bigint;
  readonly registerCheckCode: string;
  readonly what: string;
}

interface AckedEpoch {
  readonly brokerName: string;
  readonly epoch: number;
  readonly what: string;
}

/** Thrown by the ledger's checks; the simulation adds the seed and the trace. */
export class LedgerViolation extends Error {
  override readonly name = 'LedgerViolation';
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i += 1) if (a[i] !== b[i]) return false;
  return true;
}

function idsText(ids: readonly bigint[]): string {
  return `[${ids.join(',')}]`;
}

export class Ledger {
  /** The committed state as of `oracleIndex`, built by applying the committed log once. */
  readonly oracle: ControllerState;
  oracleIndex: number;
  private readonly entries = new Map<
    number,
    { readonly term: number; readonly type: number; readonly data: Uint8Array }
  >();
  private readonly bytesAt = new Map<number, Uint8Array>();
  /** brokerName → masterEpoch → master (null: no master) in the committed history. */
  private readonly masters = new Map<string, Map<number, bigint | null>>();
  /** brokerName → syncStateSetEpoch → the set, in the committed history. */
  private readonly sets = new Map<string, Map<number, string>>();
  /** brokerName → ids removed by an applied CleanBrokerData. */
  private readonly cleaned = new Map<string, Set<bigint>>();
  /** clientId/sequence → entries applied for it (must stay ≤ 1). */
  private readonly appliedRequests = new Map<string, number>();
  private readonly ackedMax = new Map<string, AckedEpochs>();
  private readonly ackedIds: AckedId[] = [];
  private readonly ackedMasterEpochs: AckedEpoch[] = [];
  private readonly ackedSetEpochs: AckedEpoch[] = [];
  readonly checker: HistoryChecker = createHistoryChecker();
  readonly counts = new Map<string, number>();

  constructor(startIndex: number, limits: ControllerLimits) {
    this.oracle = createControllerState(limits);
    this.oracleIndex = startIndex;
    this.bytesAt.set(startIndex, encodeSnapshot(this.oracle));
  }

  count(what: string): void {
    this.counts.set(what, (this.counts.get(what) ?? 0) + 1);
  }

  private fail(message: string): never {
    throw new LedgerViolation(message);
  }

  private requireNoViolations(violations: readonly InvariantViolation[], where: string): void {
    if (violations.length === 0) return;
    this.fail(`${where}: ${violations.map((v) => `${v.brokerName}: ${v.message}`).join('; ')}`);
  }

  // ---- the committed log and the nodes' states ----

  /** A node applied `entry`; `state` is its state right after. */
  applied(source: string, state: ControllerState, entry: Entry): void {
    if (entry.index === this.oracleIndex + 1) this.extend(entry);
    const known = this.entries.get(entry.index);
    if (known === undefined)
      this.fail(`${source} applied index ${entry.index} beyond the committed ${this.oracleIndex}`);
    if (known.term !== entry.term || known.type !== entry.type || !sameBytes(known.data, entry.data)) {
      this.fail(
        `state machine safety: ${source} applied another entry at ${entry.index} (term ${entry.term}, first ${known.term})`,
      );
    }
    this.requireNoViolations(this.checker.observe(state, source), `${source} at ${entry.index}`);
  }

  /** A node finished applying one Ready's entries: its state must be the committed state at its applied index. */
  appliedBatch(source: string, state: ControllerState, index: number): void {
    this.sameState(source, state, index);
  }

  /** A node loaded a snapshot at `index`. */
  restored(source: string, state: ControllerState, index: number): void {
    this.sameState(source, state, index);
    this.requireNoViolations(this.checker.observe(state, source), `${source} restored at ${index}`);
  }

  private sameState(source: string, state: ControllerState, index: number): void {
    const expected = this.bytesAt.get(index);
    if (expected === undefined)
      this.fail(`${source} holds a state at ${index}, beyond the committed ${this.oracleIndex}`);
    if (!sameBytes(encodeSnapshot(state), expected)) {
      this.fail(`${source}'s state at applied index ${index} differs from the committed state there`);
    }
  }

  private extend(entry: Entry): void {
    this.entries.set(entry.index, { term: entry.term, type: entry.type, data: entry.data });
    this.oracleIndex = entry.index;
    if (entry.type === EntryType.Normal) {
      const command = decodeLogCommand(entry.data);
      const result = applyCommand(this.oracle, command, entry.index, entry.term);
      this.recordRequest(command.clientId, command.sequence, result);
      this.recordCleans(result);
      for (const applied of result.applied) this.countEvent(applied);
    }
    this.recordHistory(entry.index);
    this.bytesAt.set(entry.index, encodeSnapshot(this.oracle));
    this.count('entries');
  }

  private countEvent(applied: AppliedEvent): void {
    const e = applied.event.event;
    if (applied.ignored !== undefined) {
      this.count(`event-ignored-${e.case}`);
      return;
    }
    if (e.case !== 'electMaster') {
      this.count(`event-${e.case}`);
      return;
    }
    const trigger = ElectionTrigger[e.value.audit?.trigger ?? ElectionTrigger.UNSPECIFIED] ?? 'UNKNOWN';
    this.count(`event-electMaster-${trigger.toLowerCase()}${e.value.newMasterElected ? '' : '-no-master'}`);
  }

  private recordRequest(clientId: string, sequence: bigint, result: ApplyResult): void {
    if (result.outcome !== 'applied' || clientId === '') {
      if (result.outcome !== 'applied') this.count(`log-${result.outcome}`);
      return;
    }
    const key = `${clientId}/${sequence}`;
    const times = (this.appliedRequests.get(key) ?? 0) + 1;
    this.appliedRequests.set(key, times);
    if (times > 1) this.fail(`request ${key} was applied ${times} times`);
  }

  private recordCleans(result: ApplyResult): void {
    for (const applied of result.applied) {
      const e = applied.event.event;
      if (e.case !== 'cleanBrokerData' || applied.ignored !== undefined) continue;
      let ids = this.cleaned.get(e.value.brokerName);
      if (ids === undefined) this.cleaned.set(e.value.brokerName, (ids = new Set()));
      for (const id of e.value.brokerIdsToClean) ids.add(id);
    }
  }

  private recordHistory(index: number): void {
    for (const name of this.masters.keys()) {
      if (!this.oracle.groups.has(name))
        this.fail(`group ${name} was removed at ${index} (the simulation never cleans a whole group)`);
    }
    for (const group of this.oracle.groups.values()) {
      let masters = this.masters.get(group.brokerName);
      if (masters === undefined) this.masters.set(group.brokerName, (masters = new Map()));
      const master = group.masterBrokerId ?? null;
      const known = masters.get(group.masterEpoch);
      if (known === undefined) masters.set(group.masterEpoch, master);
      else if (known !== master) {
        this.fail(
          `${group.brokerName}: masterEpoch ${group.masterEpoch} had master ${known} and now ${master} (index ${index})`,
        );
      }
      let sets = this.sets.get(group.brokerName);
      if (sets === undefined) this.sets.set(group.brokerName, (sets = new Map()));
      const set = idsText(group.syncStateSet);
      const knownSet = sets.get(group.syncStateSetEpoch);
      if (knownSet === undefined) sets.set(group.syncStateSetEpoch, set);
      else if (knownSet !== set) {
        this.fail(
          `${group.brokerName}: syncStateSetEpoch ${group.syncStateSetEpoch} had ${knownSet} and now ${set} (index ${index})`,
        );
      }
    }
  }

  // ---- acknowledged replies ----

  /** The newest epochs acknowledged so far, per group (taken when a request starts). */
  ackedSnapshot(): ReadonlyMap<string, AckedEpochs> {
    return new Map(this.ackedMax);
  }

  /**
   * A reply stating `facts` was acknowledged to a client whose request started after `before` was acknowledged:
   * the committed history must hold those facts, and they must not be older than `before`.
   */
  ackFacts(facts: GroupFacts, before: ReadonlyMap<string, AckedEpochs>, what: string): void {
    const name = facts.brokerName;
    const masters = this.masters.get(name);
    if (masters === undefined || !masters.has(facts.masterEpoch)) {
      this.fail(
        `${what}: acknowledged masterEpoch ${facts.masterEpoch} of ${name} is not in the committed history`,
      );
    }
    const committedMaster = masters.get(facts.masterEpoch);
    if (facts.masterBrokerId !== undefined && committedMaster !== facts.masterBrokerId) {
      this.fail(
        `${what}: acknowledged master ${facts.masterBrokerId} of ${name} at masterEpoch ${facts.masterEpoch}, committed ${committedMaster}`,
      );
    }
    if (facts.syncStateSet !== undefined) {
      const committedSet = this.sets.get(name)?.get(facts.syncStateSetEpoch);
      if (committedSet !== idsText(facts.syncStateSet)) {
        this.fail(
          `${what}: acknowledged SyncStateSet ${idsText(facts.syncStateSet)} of ${name} at epoch ${facts.syncStateSetEpoch}, committed ${committedSet}`,
        );
      }
    }
    const earlier = before.get(name);
    if (earlier !== undefined && facts.masterEpoch < earlier.masterEpoch) {
      this.fail(
        `${what}: stale read of ${name}: masterEpoch ${facts.masterEpoch} after ${earlier.masterEpoch} was acknowledged`,
      );
    }
    if (
      earlier !== undefined &&
      facts.syncStateSet !== undefined &&
      facts.syncStateSetEpoch < earlier.syncStateSetEpoch
    ) {
      this.fail(
        `${what}: stale read of ${name}: syncStateSetEpoch ${facts.syncStateSetEpoch} after ${earlier.syncStateSetEpoch} was acknowledged`,
      );
    }
    const max = this.ackedMax.get(name) ?? { masterEpoch: 0, syncStateSetEpoch: 0 };
    this.ackedMax.set(name, {
      masterEpoch: Math.max(max.masterEpoch, facts.masterEpoch),
      syncStateSetEpoch:
        facts.syncStateSet === undefined
          ? max.syncStateSetEpoch
          : Math.max(max.syncStateSetEpoch, facts.syncStateSetEpoch),
    });
  }

  /** An acknowledged change of the master (an election); it must survive: the final masterEpoch is not older. */
  ackElection(facts: GroupFacts, before: ReadonlyMap<string, AckedEpochs>, what: string): void {
    this.ackFacts(facts, before, what);
    this.ackedMasterEpochs.push({ brokerName: facts.brokerName, epoch: facts.masterEpoch, what });
    if (facts.syncStateSet !== undefined) {
      this.ackedSetEpochs.push({ brokerName: facts.brokerName, epoch: facts.syncStateSetEpoch, what });
    }
  }

  /** An acknowledged AlterSyncStateSet. */
  ackAlter(
    brokerName: string,
    set: readonly bigint[],
    epoch: number,
    before: ReadonlyMap<string, AckedEpochs>,
    what: string,
  ): void {
    const committed = this.sets.get(brokerName)?.get(epoch);
    if (committed !== idsText(set)) {
      this.fail(
        `${what}: acknowledged SyncStateSet ${idsText(set)} of ${brokerName} at epoch ${epoch}, committed ${committed}`,
      );
    }
    const earlier = before.get(brokerName);
    if (earlier !== undefined && epoch <= earlier.syncStateSetEpoch) {
      this.fail(
        `${what}: new syncStateSetEpoch ${epoch} of ${brokerName} not after the acknowledged ${earlier.syncStateSetEpoch}`,
      );
    }
    const max = this.ackedMax.get(brokerName) ?? { masterEpoch: 0, syncStateSetEpoch: 0 };
    this.ackedMax.set(brokerName, { ...max, syncStateSetEpoch: Math.max(max.syncStateSetEpoch, epoch) });
    this.ackedSetEpochs.push({ brokerName, epoch, what });
  }

  /** An acknowledged ApplyBrokerId: the id is registered with that check code, and stays so unless cleaned. */
  ackApplyBrokerId(brokerName: string, brokerId: bigint, registerCheckCode: string, what: string): void {
    const acked = { brokerName, brokerId, registerCheckCode, what };
    this.checkId(acked, this.oracle, 'when acknowledged');
    this.ackedIds.push(acked);
  }

  private checkId(acked: AckedId, state: ControllerState, when: string): void {
    if (this.cleaned.get(acked.brokerName)?.has(acked.brokerId) === true) return;
    const holder = state.groups.get(acked.brokerName)?.replicas.get(acked.brokerId);
    if (holder?.registerCheckCode !== acked.registerCheckCode) {
      this.fail(
        `${acked.what}: acknowledged broker id ${acked.brokerId} of ${acked.brokerName} (${acked.registerCheckCode}) ${when} is ${holder === undefined ? 'not registered' : `held by ${holder.registerCheckCode}`}`,
      );
    }
  }

  /** Whether `brokerId` of `brokerName` was removed by a committed CleanBrokerData. */
  wasCleaned(brokerName: string, brokerId: bigint): boolean {
    return this.cleaned.get(brokerName)?.has(brokerId) === true;
  }

  /** At the end: every acknowledged change is in the final committed state or superseded by a later one. */
  checkFinal(): void {
    for (const acked of this.ackedIds) this.checkId(acked, this.oracle, 'at the end');
    for (const acked of this.ackedMasterEpochs) {
      const group = this.oracle.groups.get(acked.brokerName);
      if (group === undefined || group.masterEpoch < acked.epoch) {
        this.fail(
          `${acked.what}: acknowledged masterEpoch ${acked.epoch} of ${acked.brokerName} lost (final ${group?.masterEpoch})`,
        );
      }
    }
    for (const acked of this.ackedSetEpochs) {
      const group = this.oracle.groups.get(acked.brokerName);
      if (group === undefined || group.syncStateSetEpoch < acked.epoch) {
        this.fail(
          `${acked.what}: acknowledged syncStateSetEpoch ${acked.epoch} of ${acked.brokerName} lost (final ${group?.syncStateSetEpoch})`,
        );
      }
    }
  }
}
