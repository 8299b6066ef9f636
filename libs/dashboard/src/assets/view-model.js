// @ts-check
// Pure view-model functions of the dashboard page: turn AdminService proto3-JSON answers into what the page shows.
// No DOM and no network here, so the same module runs in the browser and in unit tests (view-model.d.ts types it).
// proto3 JSON leaves out default values (false, 0, "", empty lists) and writes 64-bit integers as strings; every
// reader below supplies the defaults and keeps 64-bit values as decimal strings, compared as BigInt.

/** The timeline keeps at most this many entries (newest first). */
export const TIMELINE_ENTRIES_MAX = 200;

/**
 * @param {unknown} value
 * @returns {string}
 */
function str(value) {
  return value === undefined || value === null ? '' : String(value);
}

/**
 * A 64-bit decimal string ("0" for absent).
 * @param {unknown} value
 * @returns {string}
 */
function int64(value) {
  return value === undefined || value === null || value === '' ? '0' : String(value);
}

/**
 * Orders decimal strings numerically.
 * @param {string} a
 * @param {string} b
 * @returns {number}
 */
export function compareInt64(a, b) {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * An enum name without its prefix, lower case with dashes: ("VERDICT_NOT_ALIVE", "VERDICT_") → "not-alive".
 * @param {unknown} name
 * @param {string} prefix
 * @returns {string}
 */
export function enumLabel(name, prefix) {
  const s = str(name);
  if (s === '') return 'unspecified';
  return (s.startsWith(prefix) ? s.slice(prefix.length) : s).toLowerCase().replace(/_/g, '-');
}

/**
 * A duration in milliseconds for humans: "850ms", "3.2s", "4m05s", "2h07m", "3d04h".
 * @param {string | number} ms
 * @returns {string}
 */
export function formatAgeMs(ms) {
  const n = Number(ms);
  if (!Number.isFinite(n) || n < 0) return '-';
  if (n < 1000) return `${Math.round(n)}ms`;
  if (n < 60_000) return `${(n / 1000).toFixed(1)}s`;
  const s = Math.floor(n / 1000);
  const pad = (/** @type {number} */ v) => String(v).padStart(2, '0');
  if (s < 3600) return `${Math.floor(s / 60)}m${pad(s % 60)}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${pad(Math.floor(s / 60) % 60)}m`;
  return `${Math.floor(s / 86_400)}d${pad(Math.floor(s / 3600) % 24)}h`;
}

/**
 * @typedef {object} MemberView
 * @property {string} nodeId
 * @property {string} address
 * @property {string} role
 * @property {boolean} learner
 * @property {boolean} reachable
 * @property {string} term
 * @property {string} leaderId
 * @property {string} commitIndex
 * @property {string} appliedIndex
 * @property {string} lastIndex
 * @property {string} snapshotIndex
 * @property {string | null} lag  entries committed cluster-wide but not applied on this node
 * @property {string} error
 */

/**
 * Raft members from GetClusterStatus, with learner flags from GetControllerMetadata, ordered by node id.
 * @param {any} status  GetClusterStatusResponse JSON
 * @param {any} metadata  GetControllerMetadataResponse JSON
 * @returns {MemberView[]}
 */
export function membersView(status, metadata) {
  /** @type {any[]} */
  const nodes = status?.nodes ?? [];
  /** @type {any[]} */
  const peers = metadata?.metadata?.peers ?? [];
  const learners = new Set(peers.filter((p) => p.learner === true).map((p) => int64(p.nodeId)));
  const reachable = nodes.filter((n) => str(n.role) !== 'unreachable');
  const leader = reachable.find((n) => n.role === 'leader');
  // Lag is measured against the leader's commit index, or the highest one seen when no leader answered.
  /** @type {string | undefined} */
  let reference = leader === undefined ? undefined : int64(leader.commitIndex);
  if (leader === undefined) {
    for (const n of reachable) {
      const commit = int64(n.commitIndex);
      if (reference === undefined || compareInt64(commit, reference) > 0) reference = commit;
    }
  }
  return nodes
    .map((n) => {
      const isReachable = str(n.role) !== 'unreachable';
      const applied = int64(n.appliedIndex);
      let lag = null;
      if (isReachable && reference !== undefined) {
        lag = compareInt64(reference, applied) > 0 ? String(BigInt(reference) - BigInt(applied)) : '0';
      }
      return {
        nodeId: int64(n.nodeId),
        address: str(n.address),
        role: str(n.role) || 'unknown',
        learner: learners.has(int64(n.nodeId)),
        reachable: isReachable,
        term: int64(n.term),
        leaderId: int64(n.leaderId),
        commitIndex: int64(n.commitIndex),
        appliedIndex: applied,
        lastIndex: int64(n.lastIndex),
        snapshotIndex: int64(n.snapshotIndex),
        lag,
        error: str(n.error),
      };
    })
    .sort((a, b) => compareInt64(a.nodeId, b.nodeId));
}

/**
 * @typedef {object} BrokerView
 * @property {string} brokerId
 * @property {string} address
 * @property {'master' | 'slave'} role
 * @property {boolean} inSync
 * @property {'alive' | 'dead' | 'suspected' | 'unknown'} state  liveness table state, else the replica's alive flag
 * @property {number | null} epoch
 * @property {string | null} maxOffset
 * @property {string | null} confirmOffset
 * @property {string | null} heartbeatAgeMs
 * @property {string} zone
 */

/**
 * @typedef {object} GroupView
 * @property {string} name
 * @property {string} cluster
 * @property {string | null} masterId
 * @property {string} masterAddress
 * @property {number} masterEpoch
 * @property {number} syncStateSetEpoch
 * @property {string[]} syncStateSet
 * @property {BrokerView[]} brokers
 */

/**
 * Broker groups from GetSyncStateData merged with the liveness table of GetBrokerLiveness, ordered by name.
 * @param {any} syncState  GetSyncStateDataResponse JSON
 * @param {any} liveness  GetBrokerLivenessResponse JSON
 * @returns {GroupView[]}
 */
export function groupsView(syncState, liveness) {
  /** @type {Map<string, any>} */
  const live = new Map();
  for (const b of liveness?.brokers ?? []) live.set(`${str(b.brokerName)}#${int64(b.brokerId)}`, b);
  /** @type {Record<string, any>} */
  const replicas = syncState?.replicas ?? {};
  return Object.keys(replicas)
    .sort()
    .map((name) => {
      const info = replicas[name];
      const masterId = info.masterBrokerId === undefined ? null : int64(info.masterBrokerId);
      /** @type {[any, boolean][]} */
      const all = [
        ...(info.inSyncReplicas ?? []).map((/** @type {any} */ r) => [r, true]),
        ...(info.notInSyncReplicas ?? []).map((/** @type {any} */ r) => [r, false]),
      ];
      const brokers = all
        .map(([r, inSync]) => brokerView(r, inSync, masterId, live.get(`${name}#${int64(r.brokerId)}`)))
        .sort((a, b) => compareInt64(a.brokerId, b.brokerId));
      return {
        name,
        cluster: str(info.clusterName),
        masterId,
        masterAddress: str(info.masterAddress),
        masterEpoch: Number(info.masterEpoch ?? 0),
        syncStateSetEpoch: Number(info.syncStateSetEpoch ?? 0),
        syncStateSet: brokers.filter((b) => b.inSync).map((b) => b.brokerId),
        brokers,
      };
    });
}

/**
 * @param {any} replica
 * @param {boolean} inSync
 * @param {string | null} masterId
 * @param {any} live
 * @returns {BrokerView}
 */
function brokerView(replica, inSync, masterId, live) {
  const brokerId = int64(replica.brokerId);
  /** @type {BrokerView['state']} */
  let state = replica.alive === true ? 'alive' : 'dead';
  if (live !== undefined)
    state = live.suspected === true ? 'suspected' : live.alive === true ? 'alive' : 'dead';
  return {
    brokerId,
    address: str(replica.brokerAddress) || str(live?.brokerAddress),
    role: brokerId === masterId ? 'master' : 'slave',
    inSync,
    state,
    epoch: live === undefined ? null : Number(live.epoch ?? 0),
    maxOffset: live === undefined ? null : int64(live.maxOffset),
    confirmOffset: live === undefined ? null : int64(live.confirmOffset),
    heartbeatAgeMs: live === undefined ? null : int64(live.lastHeartbeatAgeMs),
    zone: str(live?.zone),
  };
}

/**
 * @typedef {object} ReasonView
 * @property {string} brokerId
 * @property {string} verdict
 * @property {string} detail
 */

/**
 * @typedef {object} TimelineEntry
 * @property {string} key  stable identity: "<cluster>/<group>#<raftIndex>"
 * @property {string} cluster
 * @property {string} group
 * @property {string} raftIndex
 * @property {string} raftTerm
 * @property {string} trigger
 * @property {string} policy
 * @property {string | null} oldMasterId
 * @property {string | null} chosenId
 * @property {string} change  "master 1 → 2", "master 1 kept", "master 1 → none"
 * @property {number} masterEpoch
 * @property {boolean} fallback
 * @property {string} explanation
 * @property {number | null} decidedAtUnixMs
 * @property {ReasonView[]} reasons
 */

/**
 * The election timeline from GetElectionAudit answers (one per cluster): newest first, each decision once, at most
 * TIMELINE_ENTRIES_MAX entries.
 * @param {any[]} audits  GetElectionAuditResponse JSON values
 * @returns {TimelineEntry[]}
 */
export function timelineView(audits) {
  /** @type {Map<string, TimelineEntry>} */
  const byKey = new Map();
  for (const audit of audits) {
    for (const r of audit?.records ?? []) {
      const entry = timelineEntry(r);
      byKey.set(entry.key, entry);
    }
  }
  return [...byKey.values()]
    .sort((a, b) => compareInt64(b.raftIndex, a.raftIndex) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .slice(0, TIMELINE_ENTRIES_MAX);
}

/**
 * @param {any} r  ElectionAuditRecord JSON
 * @returns {TimelineEntry}
 */
function timelineEntry(r) {
  const cluster = str(r.clusterName);
  const group = str(r.brokerName);
  const raftIndex = int64(r.raftIndex);
  const oldMasterId = r.oldMasterBrokerId === undefined ? null : int64(r.oldMasterBrokerId);
  const chosenId = r.chosenBrokerId === undefined ? null : int64(r.chosenBrokerId);
  const from = oldMasterId ?? 'none';
  const to = chosenId ?? 'none';
  const decided = r.decidedAtUnixMs === undefined ? null : Number(r.decidedAtUnixMs);
  return {
    key: `${cluster}/${group}#${raftIndex}`,
    cluster,
    group,
    raftIndex,
    raftTerm: int64(r.raftTerm),
    trigger: enumLabel(r.trigger, 'ELECTION_TRIGGER_'),
    policy: str(r.policyName) || '-',
    oldMasterId,
    chosenId,
    change: from === to ? `master ${from} kept` : `master ${from} → ${to}`,
    masterEpoch: Number(r.masterEpoch ?? 0),
    fallback: r.fallback === true,
    explanation: str(r.explanation),
    decidedAtUnixMs: decided === null || decided === 0 ? null : decided,
    reasons: (r.reasons ?? []).map((/** @type {any} */ x) => ({
      brokerId: int64(x.brokerId),
      verdict: enumLabel(x.verdict, 'VERDICT_'),
      detail: str(x.detail),
    })),
  };
}

/**
 * @typedef {object} RpcFailure
 * @property {string} code  Connect code ("unauthenticated", "failed_precondition", …) or "unavailable"
 * @property {string} condition  the ControllerError condition without its prefix, or ""
 * @property {string} message
 */

/**
 * Reads a Connect unary error body (`{code, message, details:[{type, value, debug}]}`). The ControllerError detail
 * is read from its `debug` JSON, which Connect servers include next to the binary value.
 * @param {number} httpStatus
 * @param {any} body  the parsed JSON body, or undefined when it was not JSON
 * @returns {RpcFailure}
 */
export function rpcFailure(httpStatus, body) {
  const code =
    typeof body?.code === 'string' ? body.code : httpStatus === 401 ? 'unauthenticated' : 'unavailable';
  /** @type {any[]} */
  const details = Array.isArray(body?.details) ? body.details : [];
  const detail = details.find((d) => d?.type === 'regent.common.v1.ControllerError')?.debug;
  const condition =
    detail?.condition === undefined ? '' : str(detail.condition).replace(/^CONTROLLER_CONDITION_/, '');
  const message = str(detail?.message) || str(body?.message) || `HTTP ${httpStatus}`;
  return { code, condition, message };
}

/**
 * The distinct clusters of the groups, sorted (GetElectionAudit is asked once per cluster).
 * @param {GroupView[]} groups
 * @returns {string[]}
 */
export function clustersOf(groups) {
  return [...new Set(groups.map((g) => g.cluster).filter((c) => c !== ''))].sort();
}
