// The sequential specification of one broker group, written by hand from RocketMQ 5's controller semantics
// (ReplicasInfoManager: registration, electMaster §4.1, alterSyncStateSet's check order) rather than imported from
// libs/controller, so the checker is an independent oracle of the implementation. Liveness and the election
// policy are not replicated and not visible to clients, so where they decide, the model allows every outcome
// they could produce (e.g. BROKER_NOT_ALIVE, ELECT_MASTER_FAILED, any in-sync new master).
//
// `step` returns every state the operation may lead to given its recorded output: none when the output is
// impossible. An operation with an unknown outcome returns only its state-changing effects; the checker may also
// leave it out entirely (it did not take effect).
import type { AuditRecord, GroupView, OpInput, OpOutput } from './types.js';

export interface ModelState {
  readonly exists: boolean;
  readonly nextBrokerId: number;
  /** [brokerId, registerCheckCode], ascending by id. */
  readonly replicas: readonly (readonly [number, string])[];
  readonly masterBrokerId: number | undefined;
  readonly masterEpoch: number;
  readonly syncStateSet: readonly number[];
  readonly syncStateSetEpoch: number;
  /** A canonical encoding (equal states, equal keys). */
  readonly key: string;
}

export interface ModelContext {
  /**
   * Every election of the group by masterEpoch, when the audit trail is known to be complete: an election's
   * result must then match its record (the master and who triggered it).
   */
  readonly elections?: ReadonlyMap<number, AuditRecord>;
}

type StateFields = Omit<ModelState, 'key'>;

function makeState(fields: StateFields): ModelState {
  const replicas = fields.replicas.map(([id, code]) => `${id}:${code}`).join(',');
  const key = fields.exists
    ? `${fields.nextBrokerId}|${replicas}|${fields.masterBrokerId ?? '-'}|${fields.masterEpoch}|${fields.syncStateSet.join(',')}|${fields.syncStateSetEpoch}`
    : 'none';
  return { ...fields, key };
}

/** A group that does not exist yet. */
export const initialModelState: ModelState = makeState({
  exists: false,
  nextBrokerId: 1,
  replicas: [],
  masterBrokerId: undefined,
  masterEpoch: 0,
  syncStateSet: [],
  syncStateSetEpoch: 0,
});

function registered(s: ModelState, id: number): boolean {
  return s.replicas.some(([r]) => r === id);
}

function sameIds(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((id, i) => id === b[i]);
}

export function viewOf(s: ModelState): GroupView {
  return {
    masterBrokerId: s.masterBrokerId,
    masterEpoch: s.masterEpoch,
    syncStateSet: s.syncStateSet,
    syncStateSetEpoch: s.syncStateSetEpoch,
  };
}

export function sameView(a: GroupView, b: GroupView): boolean {
  return (
    a.masterBrokerId === b.masterBrokerId &&
    a.masterEpoch === b.masterEpoch &&
    a.syncStateSetEpoch === b.syncStateSetEpoch &&
    sameIds(a.syncStateSet, b.syncStateSet)
  );
}

/** Every state `input` with `output` may lead to from `s` (empty: impossible here). */
export function step(s: ModelState, input: OpInput, output: OpOutput, ctx: ModelContext = {}): ModelState[] {
  switch (input.kind) {
    case 'getReplicaInfo':
      return stepGetReplicaInfo(s, output);
    case 'getNextBrokerId':
      return output.type === 'ok' && output.nextBrokerId === (s.exists ? s.nextBrokerId : 1) ? [s] : [];
    case 'applyBrokerId':
      return stepApplyBrokerId(s, input, output);
    case 'registerBroker':
      return stepRegisterBroker(s, input, output);
    case 'electMaster':
      return stepElect(s, 'broker', input.brokerId, output, ctx);
    case 'adminElectMaster':
      return stepElect(s, 'admin', input.designatedBrokerId, output, ctx);
    case 'alterSyncStateSet':
      return stepAlterSyncStateSet(s, input, output);
    case 'controllerElect':
      return stepControllerElect(s, input);
  }
}

function stepGetReplicaInfo(s: ModelState, output: OpOutput): ModelState[] {
  if (output.type === 'ok')
    return s.exists && output.view !== undefined && sameView(output.view, viewOf(s)) ? [s] : [];
  if (output.type === 'fail') return !s.exists && output.condition === 'BROKER_METADATA_NOT_EXIST' ? [s] : [];
  return [];
}

function stepApplyBrokerId(
  s: ModelState,
  input: Extract<OpInput, { kind: 'applyBrokerId' }>,
  output: OpOutput,
): ModelState[] {
  const { brokerId, checkCode } = input;
  let after: ModelState | undefined;
  if (!s.exists) {
    if (brokerId === 1) {
      after = makeState({
        exists: true,
        nextBrokerId: 2,
        replicas: [[1, checkCode]],
        masterBrokerId: undefined,
        masterEpoch: 0,
        syncStateSet: [],
        syncStateSetEpoch: 0,
      });
    }
  } else if (brokerId >= 1) {
    const holder = s.replicas.find(([id]) => id === brokerId);
    if (holder === undefined) {
      const replicas = [...s.replicas, [brokerId, checkCode] as const].sort((a, b) => a[0] - b[0]);
      after = makeState({ ...s, replicas, nextBrokerId: Math.max(s.nextBrokerId, brokerId + 1) });
    } else if (holder[1] === checkCode) after = s;
  }
  if (output.type === 'ok') return after === undefined ? [] : [after];
  if (output.type === 'fail')
    return after === undefined && output.condition === 'BROKER_ID_INVALID' ? [s] : [];
  return after === undefined || after === s ? [] : [after];
}

function stepRegisterBroker(
  s: ModelState,
  input: Extract<OpInput, { kind: 'registerBroker' }>,
  output: OpOutput,
): ModelState[] {
  const known = s.exists && registered(s, input.brokerId);
  if (output.type === 'fail') return !known && output.condition === 'BROKER_NEED_TO_BE_REGISTERED' ? [s] : [];
  if (output.type !== 'ok' || !known || output.view === undefined) return [];
  const v = output.view;
  const masterOk =
    v.masterBrokerId === s.masterBrokerId ||
    (v.masterBrokerId === undefined && output.masterOmittedWhenDead === true);
  const rest =
    v.masterEpoch === s.masterEpoch &&
    v.syncStateSetEpoch === s.syncStateSetEpoch &&
    sameIds(v.syncStateSet, s.syncStateSet);
  return masterOk && rest ? [s] : [];
}

type Trigger = AuditRecord['trigger'];

/** The outcomes an election request may have in `s` (RocketMQ §4.1; the policy and liveness are unknown). */
function electionOutcomes(
  s: ModelState,
  trigger: 'broker' | 'admin',
  requested: number,
): { refusals: Set<string>; kept: boolean; newMasters: number[] } {
  if (!s.exists) return { refusals: new Set(['BROKER_NEED_TO_BE_REGISTERED']), kept: false, newMasters: [] };
  if (s.masterEpoch === 0) {
    // The first election: the asking (or designated) broker wins outright.
    return registered(s, requested)
      ? { refusals: new Set(), kept: false, newMasters: [requested] }
      : { refusals: new Set(['BROKER_NEED_TO_BE_REGISTERED']), kept: false, newMasters: [] };
  }
  // Unclean election is off: only in-sync registered brokers qualify; the policy keeps a live master.
  const inSync = s.syncStateSet.filter((id) => registered(s, id) && id !== s.masterBrokerId);
  const newMasters = trigger === 'admin' ? inSync.filter((id) => id === requested) : inSync;
  const kept = s.masterBrokerId !== undefined && (trigger === 'broker' || requested === s.masterBrokerId);
  return { refusals: new Set(['ELECT_MASTER_FAILED']), kept, newMasters };
}

function electedState(s: ModelState, master: number): ModelState {
  return makeState({
    ...s,
    masterBrokerId: master,
    masterEpoch: s.masterEpoch + 1,
    syncStateSet: [master],
    syncStateSetEpoch: s.syncStateSetEpoch + 1,
  });
}

/** With a complete audit trail, an election to `master` at the next masterEpoch must match its record. */
function auditAllows(
  s: ModelState,
  master: number | undefined,
  trigger: Trigger,
  ctx: ModelContext,
): boolean {
  if (ctx.elections === undefined) return true;
  const record = ctx.elections.get(s.masterEpoch + 1);
  return record !== undefined && record.masterBrokerId === master && record.trigger === trigger;
}

function stepElect(
  s: ModelState,
  trigger: 'broker' | 'admin',
  requested: number,
  output: OpOutput,
  ctx: ModelContext,
): ModelState[] {
  const outcomes = electionOutcomes(s, trigger, requested);
  const candidates = outcomes.newMasters.filter((m) => auditAllows(s, m, trigger, ctx));
  if (output.type === 'unknown') return candidates.map((m) => electedState(s, m));
  if (output.type === 'fail') return outcomes.refusals.has(output.condition) ? [s] : [];
  const v = output.view;
  if (v === undefined) return [];
  if (output.masterKept === true) return outcomes.kept && sameView(v, viewOf(s)) ? [s] : [];
  const m = v.masterBrokerId;
  if (m === undefined || !candidates.includes(m)) return [];
  const after = electedState(s, m);
  return sameView(v, viewOf(after)) ? [after] : [];
}

/** The conditions AlterSyncStateSet may answer in `s`, in the controller's check order, and whether it may succeed. */
function alterOutcomes(
  s: ModelState,
  input: Extract<OpInput, { kind: 'alterSyncStateSet' }>,
): { refusals: Set<string>; success: boolean } {
  const only = (condition: string) => ({ refusals: new Set([condition]), success: false });
  if (!s.exists) return only('ALTER_SYNC_STATE_SET_FAILED');
  if (sameIds(input.syncStateSet, s.syncStateSet)) return only('ALTER_SYNC_STATE_SET_FAILED');
  if (s.masterBrokerId === undefined || s.masterBrokerId !== input.masterBrokerId)
    return only('INVALID_MASTER');
  if (input.masterEpoch !== s.masterEpoch) return only('FENCED_MASTER_EPOCH');
  if (input.syncStateSetEpoch !== s.syncStateSetEpoch) return only('FENCED_SYNC_STATE_SET_EPOCH');
  const refusals = new Set<string>();
  for (const id of input.syncStateSet) {
    if (!registered(s, id)) {
      refusals.add('INVALID_REPLICAS');
      return { refusals, success: false };
    }
    refusals.add('BROKER_NOT_ALIVE');
  }
  if (!input.syncStateSet.includes(s.masterBrokerId)) {
    refusals.add('ALTER_SYNC_STATE_SET_FAILED');
    return { refusals, success: false };
  }
  return { refusals, success: true };
}

function stepAlterSyncStateSet(
  s: ModelState,
  input: Extract<OpInput, { kind: 'alterSyncStateSet' }>,
  output: OpOutput,
): ModelState[] {
  const outcomes = alterOutcomes(s, input);
  const after = outcomes.success
    ? makeState({ ...s, syncStateSet: input.syncStateSet, syncStateSetEpoch: s.syncStateSetEpoch + 1 })
    : undefined;
  if (output.type === 'unknown') return after === undefined ? [] : [after];
  if (output.type === 'fail') return outcomes.refusals.has(output.condition) ? [s] : [];
  return after !== undefined && output.view !== undefined && sameView(output.view, viewOf(after))
    ? [after]
    : [];
}

/**
 * A controller-triggered election: a new in-sync master, or clearing a master nobody can replace. (The scan only
 * starts one for a group with a dead master, but its retries run against the group as the first attempt left it,
 * so a group whose master was just cleared may get a new master from the controller too.)
 */
function stepControllerElect(
  s: ModelState,
  input: Extract<OpInput, { kind: 'controllerElect' }>,
): ModelState[] {
  if (!s.exists || input.masterEpoch !== s.masterEpoch + 1) return [];
  const m = input.masterBrokerId;
  if (m === undefined) {
    return s.masterBrokerId === undefined
      ? []
      : [makeState({ ...s, masterBrokerId: undefined, masterEpoch: s.masterEpoch + 1 })];
  }
  if (m === s.masterBrokerId || !registered(s, m) || !s.syncStateSet.includes(m)) return [];
  return [electedState(s, m)];
}
