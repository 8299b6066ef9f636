// @ts-check
// The Regent dashboard page: polls the gateway's AdminService over Connect JSON once a second and renders Raft
// members, broker groups and the election timeline; offers designated elections and leadership transfer.
// Rendering is keyed (rows and cards are reused while their stable fields are unchanged and only their volatile
// cells are rewritten), so a button under the pointer survives the next refresh. Server strings are only ever set
// as text, never as HTML.
import { clustersOf, formatAgeMs, groupsView, membersView, rpcFailure, timelineView } from './view-model.js';

const SERVICE = 'regent.admin.v1.AdminService';
/** Time between the end of one refresh and the start of the next. */
const REFRESH_INTERVAL_MS = 1000;
/** A call that takes longer than this counts as the gateway being unavailable. */
const CALL_TIMEOUT_MS = 5000;
/** Admin actions wait longer: an election or a leadership transfer commits through Raft. */
const ACTION_TIMEOUT_MS = 15000;
/** Audit records asked per group each poll. */
const AUDIT_RECORDS_PER_GROUP = 50;
const TOKEN_KEY = 'regent.adminToken';

const apiBase = document.documentElement.dataset.apiBase ?? '';

/** A failed AdminService call, with the Connect code and the controller condition. */
class RpcError extends Error {
  /** @param {import('./view-model.js').RpcFailure} failure */
  constructor(failure) {
    super(failure.message);
    this.failure = failure;
  }
}

/**
 * One unary AdminService call (Connect protocol, JSON codec).
 * @param {string} method
 * @param {Record<string, unknown>} request
 * @param {number} [timeoutMs]
 * @returns {Promise<any>}
 */
async function rpc(method, request, timeoutMs = CALL_TIMEOUT_MS) {
  /** @type {Record<string, string>} */
  const headers = { 'content-type': 'application/json', 'connect-protocol-version': '1' };
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.authorization = `Bearer ${token}`;
  let res;
  try {
    res = await fetch(`${apiBase}/${SERVICE}/${method}`, {
      method: 'POST',
      headers,
      body: JSON.stringify(request),
      cache: 'no-store',
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    throw new RpcError({
      code: 'unavailable',
      condition: '',
      message: String(/** @type {Error} */ (error).message),
    });
  }
  const text = await res.text();
  let body;
  try {
    body = text === '' ? {} : JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (!res.ok) throw new RpcError(rpcFailure(res.status, body));
  return body ?? {};
}

// ---- DOM helpers ----

/**
 * @param {string} id
 * @returns {HTMLElement}
 */
function byId(id) {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`missing #${id}`);
  return el;
}

/**
 * Creates an element; attributes are set with setAttribute, children as text or nodes.
 * @param {string} tag
 * @param {Record<string, string | number | boolean | null | undefined>} [attrs]
 * @param {...(Node | string | number | null | undefined | false)} children
 * @returns {HTMLElement}
 */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    el.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    el.append(typeof child === 'object' ? child : String(child));
  }
  return el;
}

/**
 * @param {string} text
 * @param {string} tone  ok | bad | warn | master | muted | (empty for the accent colour)
 * @returns {HTMLElement}
 */
function badge(text, tone) {
  return h('span', { class: 'badge', 'data-tone': tone || null }, text);
}

/**
 * Sets the text of the `[data-field=name]` element inside `root` when it changed.
 * @param {Element} root
 * @param {string} name
 * @param {string} text
 */
function setField(root, name, text) {
  const el = root.querySelector(`[data-field="${name}"]`);
  if (el !== null && el.textContent !== text) el.textContent = text;
}

/**
 * Makes `container`'s children match `items` in order. A child is rebuilt only when its signature changed;
 * `update` then refreshes its volatile parts on every call.
 * @template T
 * @param {Element} container
 * @param {readonly T[]} items
 * @param {{ key: (item: T) => string, sig: (item: T) => string, build: (item: T) => HTMLElement,
 *   update?: (el: HTMLElement, item: T) => void }} spec
 * @returns {HTMLElement[]} the elements built on this call (new or changed)
 */
function reconcile(container, items, spec) {
  /** @type {Map<string, HTMLElement>} */
  const existing = new Map();
  for (const child of Array.from(container.children)) {
    if (child instanceof HTMLElement && child.dataset.key !== undefined)
      existing.set(child.dataset.key, child);
  }
  /** @type {HTMLElement[]} */
  const built = [];
  items.forEach((item, position) => {
    const key = spec.key(item);
    const sig = spec.sig(item);
    let el = existing.get(key);
    existing.delete(key);
    if (el === undefined || el.dataset.sig !== sig) {
      const fresh = spec.build(item);
      fresh.dataset.key = key;
      fresh.dataset.sig = sig;
      if (el === undefined) container.append(fresh);
      else el.replaceWith(fresh);
      el = fresh;
      built.push(fresh);
    }
    spec.update?.(el, item);
    const at = container.children[position];
    if (at !== el) container.insertBefore(el, at ?? null);
  });
  for (const stale of existing.values()) stale.remove();
  return built;
}

// ---- Raft members ----

/** @param {import('./view-model.js').MemberView[]} members */
function renderMembers(members) {
  const leader = members.find((m) => m.role === 'leader');
  reconcile(byId('members-body'), members, {
    key: (m) => m.nodeId,
    sig: (m) => JSON.stringify([m.role, m.learner, m.reachable, m.address, leader?.nodeId ?? '']),
    build: (m) =>
      h(
        'tr',
        { 'data-node-id': m.nodeId, 'data-role': m.role },
        h('td', { class: 'num' }, m.nodeId),
        h('td', { class: 'mono' }, m.address),
        h('td', {}, roleBadge(m)),
        h('td', { class: 'num', 'data-field': 'term' }),
        h('td', { class: 'num', 'data-field': 'commit' }),
        h('td', { class: 'num', 'data-field': 'applied' }),
        h('td', { class: 'num', 'data-field': 'last' }),
        h('td', { class: 'num', 'data-field': 'snapshot' }),
        h('td', { class: 'num', 'data-field': 'lag' }),
        h(
          'td',
          {},
          m.reachable && !m.learner && m.role !== 'leader'
            ? h(
                'button',
                {
                  type: 'button',
                  class: 'small quiet',
                  'data-action': 'transfer-leader',
                  'data-node-id': m.nodeId,
                },
                'Make leader',
              )
            : m.reachable
              ? null
              : h('span', { class: 'muted', 'data-field': 'error' }),
        ),
      ),
    update: (row, m) => {
      const dash = (/** @type {string} */ v) => (m.reachable ? v : '-');
      setField(row, 'term', dash(m.term));
      setField(row, 'commit', dash(m.commitIndex));
      setField(row, 'applied', dash(m.appliedIndex));
      setField(row, 'last', dash(m.lastIndex));
      setField(row, 'snapshot', dash(m.snapshotIndex));
      setField(row, 'lag', m.lag ?? '-');
      setField(row, 'error', m.error);
    },
  });
}

/** @param {import('./view-model.js').MemberView} m */
function roleBadge(m) {
  const role = m.learner && m.role === 'follower' ? 'learner' : m.role;
  const tone = { leader: 'master', follower: 'ok', learner: 'muted', unreachable: 'bad' }[role] ?? 'warn';
  return badge(role, tone);
}

/**
 * @param {any} metadata  GetControllerMetadataResponse JSON
 * @param {import('./view-model.js').MemberView[]} members
 */
function renderLeader(metadata, members) {
  const md = metadata?.metadata ?? {};
  const el = byId('leader-summary');
  const leaderId = String(md.leaderId ?? '0');
  el.dataset.leaderId = leaderId;
  const term = members.find((m) => m.role === 'leader')?.term ?? String(md.term ?? '0');
  el.textContent =
    leaderId === '0'
      ? 'no Raft leader known'
      : `leader node ${leaderId} (${md.leaderAddress || '?'}) · term ${term}`;
}

// ---- Broker groups ----

/** @param {import('./view-model.js').GroupView[]} groups */
function renderGroups(groups) {
  byId('groups-empty').hidden = groups.length > 0;
  byId('groups-count').textContent = `${groups.length} group${groups.length === 1 ? '' : 's'}`;
  reconcile(byId('groups'), groups, {
    key: (g) => `${g.cluster}/${g.name}`,
    sig: (g) => g.cluster,
    build: buildGroup,
    update: updateGroup,
  });
}

/** Broker table columns: title, tooltip, numeric. */
/** @type {[string, string, boolean][]} */
const BROKER_COLUMNS = [
  ['Broker', 'broker id', true],
  ['Address', '', false],
  ['Role', '', false],
  ['In sync', 'in the SyncStateSet', false],
  ['Liveness', "as seen by the controller's liveness table", false],
  ['Epoch', 'last epoch-file epoch from heartbeats', true],
  ['Max offset', 'commit-log max physical offset', true],
  ['Confirm', 'confirm offset', true],
  ['Heartbeat', 'time since the last heartbeat', true],
  ['Zone', '', false],
  ['', '', false],
];

/** @param {import('./view-model.js').GroupView} g */
function buildGroup(g) {
  return h(
    'article',
    { class: 'group', 'data-group': g.name, 'data-cluster': g.cluster },
    h(
      'div',
      { class: 'group-head' },
      h('h3', {}, g.name),
      badge(g.cluster, 'muted'),
      h('span', { class: 'master' }, 'master ', h('span', { 'data-role': 'master' })),
      h('span', { class: 'muted', 'data-field': 'epochs' }),
      h('span', { class: 'spacer' }),
      h(
        'button',
        {
          type: 'button',
          class: 'small quiet',
          'data-action': 'elect',
          'data-group': g.name,
          'data-cluster': g.cluster,
        },
        'Run election',
      ),
    ),
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { class: 'grid compact' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ...BROKER_COLUMNS.map(([title, hint, numeric]) =>
              h('th', { class: numeric ? 'num' : null, title: hint }, title),
            ),
          ),
        ),
        h('tbody', { 'data-field-brokers': true }),
      ),
    ),
  );
}

/**
 * @param {HTMLElement} card
 * @param {import('./view-model.js').GroupView} g
 */
function updateGroup(card, g) {
  const master = /** @type {HTMLElement} */ (card.querySelector('[data-role="master"]'));
  const masterText =
    g.masterId === null ? 'none' : `${g.masterId}${g.masterAddress ? ` (${g.masterAddress})` : ''}`;
  if (master.textContent !== masterText) master.textContent = masterText;
  master.dataset.brokerId = g.masterId ?? '';
  card.dataset.masterId = g.masterId ?? '';
  setField(
    card,
    'epochs',
    `master epoch ${g.masterEpoch} · SyncStateSet {${g.syncStateSet.join(',')}} epoch ${g.syncStateSetEpoch}`,
  );
  const tbody = /** @type {HTMLElement} */ (card.querySelector('[data-field-brokers]'));
  reconcile(tbody, g.brokers, {
    key: (b) => b.brokerId,
    sig: (b) => JSON.stringify([b.role, b.inSync, b.state, b.address, b.zone, b.epoch]),
    build: (b) => buildBroker(g, b),
    update: (row, b) => {
      setField(row, 'max-offset', b.maxOffset ?? '-');
      setField(row, 'confirm-offset', b.confirmOffset ?? '-');
      setField(row, 'heartbeat', b.heartbeatAgeMs === null ? '-' : `${formatAgeMs(b.heartbeatAgeMs)} ago`);
    },
  });
}

/**
 * @param {import('./view-model.js').GroupView} g
 * @param {import('./view-model.js').BrokerView} b
 */
function buildBroker(g, b) {
  const stateTone = { alive: 'ok', dead: 'bad', suspected: 'warn', unknown: 'muted' }[b.state];
  return h(
    'tr',
    { 'data-broker-id': b.brokerId, 'data-broker-role': b.role, 'data-state': b.state },
    h('td', { class: 'num' }, b.brokerId),
    h('td', { class: 'mono' }, b.address),
    h('td', {}, b.role === 'master' ? badge('master', 'master') : badge('slave', 'muted')),
    h('td', {}, b.inSync ? 'yes' : 'no'),
    h('td', {}, badge(b.state, stateTone)),
    h('td', { class: 'num' }, b.epoch ?? '-'),
    h('td', { class: 'num', 'data-field': 'max-offset' }),
    h('td', { class: 'num', 'data-field': 'confirm-offset' }),
    h('td', { class: 'num', 'data-field': 'heartbeat' }),
    h('td', {}, b.zone || '-'),
    h(
      'td',
      {},
      b.role === 'master'
        ? null
        : h(
            'button',
            {
              type: 'button',
              class: b.state === 'alive' ? 'small' : 'small quiet',
              title: b.state === 'alive' ? null : 'the controller refuses a broker that is not alive',
              'data-action': 'elect',
              'data-group': g.name,
              'data-cluster': g.cluster,
              'data-broker-id': b.brokerId,
            },
            'Make master',
          ),
    ),
  );
}

// ---- Election timeline ----

let timelineRendered = false;

/** @param {import('./view-model.js').TimelineEntry[]} entries */
function renderTimeline(entries) {
  byId('timeline-empty').hidden = entries.length > 0;
  const built = reconcile(byId('timeline'), entries, {
    key: (e) => e.key,
    sig: (e) => e.key,
    build: buildEntry,
  });
  // Highlight decisions that arrived while the page was open (not those present at the first render).
  if (timelineRendered) for (const el of built) el.classList.add('fresh');
  timelineRendered = true;
}

/** @param {import('./view-model.js').TimelineEntry} e */
function buildEntry(e) {
  const when = e.decidedAtUnixMs === null ? null : new Date(e.decidedAtUnixMs);
  return h(
    'li',
    {
      class: 'entry',
      'data-timeline-entry': true,
      'data-group': e.group,
      'data-cluster': e.cluster,
      'data-index': e.raftIndex,
      'data-trigger': e.trigger,
      'data-chosen-id': e.chosenId ?? '',
    },
    h(
      'div',
      { class: 'entry-head' },
      when === null
        ? null
        : h('time', { datetime: when.toISOString(), class: 'muted' }, when.toLocaleTimeString()),
      h('strong', {}, e.group),
      badge(`${e.trigger}`, { controller: 'bad', admin: '', broker: 'warn' }[e.trigger] ?? 'muted'),
      h('span', { class: 'entry-change' }, e.change),
      h('span', { class: 'muted' }, `epoch ${e.masterEpoch} · #${e.raftIndex} t${e.raftTerm} · ${e.policy}`),
      e.fallback ? badge('fallback policy', 'warn') : null,
    ),
    h('p', { class: 'entry-why', 'data-field': 'explanation' }, e.explanation || '(no explanation)'),
    e.reasons.length === 0
      ? null
      : h(
          'details',
          {},
          h('summary', {}, `${e.reasons.length} candidate${e.reasons.length === 1 ? '' : 's'}`),
          h(
            'table',
            { class: 'grid' },
            h(
              'tbody',
              {},
              ...e.reasons.map((r) =>
                h(
                  'tr',
                  {},
                  h('td', { class: 'num' }, r.brokerId),
                  h('td', {}, r.verdict),
                  h('td', {}, r.detail),
                ),
              ),
            ),
          ),
        ),
  );
}

// ---- Status, authentication, toasts ----

let lastSuccessAt = 0;

/**
 * @param {'loading' | 'ok' | 'error' | 'unauthenticated'} state
 * @param {string} text
 */
function setStatus(state, text) {
  const el = byId('refresh-status');
  el.dataset.state = state;
  el.textContent = text;
  document.body.dataset.state = state === 'ok' ? 'ok' : lastSuccessAt === 0 ? 'loading' : 'stale';
}

/** @param {RpcError | null} error */
function showAuthProblem(error) {
  const banner = byId('auth-banner');
  const auth =
    error !== null &&
    (error.failure.code === 'unauthenticated' || error.failure.code === 'permission_denied');
  banner.hidden = !auth;
  if (auth) byId('auth-reason').textContent = error.failure.message;
}

/**
 * @param {'ok' | 'error'} kind
 * @param {string} text
 */
function toast(kind, text) {
  const el = byId('action-result');
  el.dataset.kind = kind;
  el.textContent = text;
  el.hidden = false;
}

function syncTokenForm() {
  const has = sessionStorage.getItem(TOKEN_KEY) !== null;
  const form = byId('token-form');
  form.dataset.hasToken = String(has);
  /** @type {HTMLInputElement} */ (byId('token-input')).placeholder = has
    ? 'token set for this tab'
    : 'paste the admin token';
}

// ---- Refresh loop ----

/** @type {ReturnType<typeof setTimeout> | undefined} */
let timer;
let refreshing = false;
let refreshAgain = false;

async function refresh() {
  const [metadata, status, syncState, liveness] = await Promise.all([
    rpc('GetControllerMetadata', {}),
    rpc('GetClusterStatus', {}),
    rpc('GetSyncStateData', {}),
    rpc('GetBrokerLiveness', {}),
  ]);
  const members = membersView(status, metadata);
  const groups = groupsView(syncState, liveness);
  const audits = await Promise.all(
    clustersOf(groups).map((clusterName) =>
      rpc('GetElectionAudit', { clusterName, limit: AUDIT_RECORDS_PER_GROUP }),
    ),
  );
  renderLeader(metadata, members);
  renderMembers(members);
  renderGroups(groups);
  renderTimeline(timelineView(audits));
}

async function tick() {
  if (refreshing) {
    refreshAgain = true;
    return;
  }
  refreshing = true;
  try {
    await refresh();
    lastSuccessAt = Date.now();
    setStatus('ok', `live · ${new Date(lastSuccessAt).toLocaleTimeString()}`);
    showAuthProblem(null);
  } catch (error) {
    if (!(error instanceof RpcError)) throw error;
    const age = lastSuccessAt === 0 ? '' : ` · data from ${formatAgeMs(Date.now() - lastSuccessAt)} ago`;
    const unauthenticated =
      error.failure.code === 'unauthenticated' || error.failure.code === 'permission_denied';
    setStatus(unauthenticated ? 'unauthenticated' : 'error', `${error.failure.code}: ${error.message}${age}`);
    showAuthProblem(error);
  } finally {
    refreshing = false;
    clearTimeout(timer);
    timer = setTimeout(tick, refreshAgain ? 0 : REFRESH_INTERVAL_MS);
    refreshAgain = false;
  }
}

function refreshSoon() {
  clearTimeout(timer);
  timer = setTimeout(tick, 0);
}

// ---- Admin actions ----

/**
 * @param {HTMLButtonElement} button
 * @param {string} question
 * @param {() => Promise<string>} action  resolves to the message to show
 */
async function runAction(button, question, action) {
  if (!window.confirm(question)) return;
  button.disabled = true;
  try {
    toast('ok', await action());
  } catch (error) {
    if (!(error instanceof RpcError)) throw error;
    const what = error.failure.condition || error.failure.code;
    toast('error', `${what}: ${error.message}`);
    showAuthProblem(error);
  } finally {
    button.disabled = false;
    refreshSoon();
  }
}

/** @param {HTMLButtonElement} button */
function elect(button) {
  const { group = '', cluster = '', brokerId } = button.dataset;
  const question =
    brokerId === undefined
      ? `Run an election for ${group}? The policy picks the master.`
      : `Make broker ${brokerId} the master of ${group}?`;
  return runAction(button, question, async () => {
    /** @type {Record<string, unknown>} */
    const request = { clusterName: cluster, brokerName: group };
    if (brokerId !== undefined) request.designatedBrokerId = brokerId;
    const res = await rpc('ElectMaster', request, ACTION_TIMEOUT_MS);
    const kept = res.condition === 'CONTROLLER_CONDITION_MASTER_STILL_EXIST';
    const master = res.masterBrokerId ?? 'none';
    const why = res.explanation ? ` — ${res.explanation}` : '';
    return kept
      ? `${group}: master ${master} kept${why}`
      : `${group}: broker ${master} is now master (epoch ${res.masterEpoch ?? 0})${why}`;
  });
}

/** @param {HTMLButtonElement} button */
function transferLeader(button) {
  const nodeId = button.dataset.nodeId ?? '0';
  const question =
    nodeId === '0'
      ? 'Transfer Raft leadership to the most up-to-date voter?'
      : `Transfer Raft leadership to node ${nodeId}?`;
  return runAction(button, question, async () => {
    const res = await rpc('TransferLeadership', { targetNodeId: nodeId }, ACTION_TIMEOUT_MS);
    return `Raft leader is now node ${res.leaderId ?? '?'}`;
  });
}

document.addEventListener('click', (event) => {
  const target = event.target instanceof Element ? event.target.closest('button[data-action]') : null;
  if (!(target instanceof HTMLButtonElement) || target.disabled) return;
  if (target.dataset.action === 'elect') void elect(target);
  if (target.dataset.action === 'transfer-leader') void transferLeader(target);
});

byId('token-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const input = /** @type {HTMLInputElement} */ (byId('token-input'));
  const token = input.value.trim();
  if (token !== '') sessionStorage.setItem(TOKEN_KEY, token);
  input.value = '';
  syncTokenForm();
  refreshSoon();
});

byId('token-forget').addEventListener('click', () => {
  sessionStorage.removeItem(TOKEN_KEY);
  syncTokenForm();
  refreshSoon();
});

syncTokenForm();
void tick();
