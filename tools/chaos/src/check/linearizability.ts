// A Porcupine-style linearizability checker: Wing & Gong's search with Lowe's memoisation (a linearized-set
// bitset plus the model state), over one partition of the history (P-compositionality: the caller checks each
// broker group on its own). Extensions over Porcupine, both sound:
// - nondeterministic models: `step` returns every possible next state and the search tries each;
// - optional operations (unknown outcome): they may be linearized anywhere after their call or left out. Their
//   returns sort after every other entry, so reaching one means every required operation is linearized.
// Required operations whose answer never came back (the controller's own elections, known from the audit trail)
// return at +∞ and must be linearized.
// Bounded: at most `stepsMax` search steps and `cacheEntriesMax` memo entries, else "inconclusive".

export interface SearchModel<S, O> {
  readonly init: S;
  /** Every state `op` may lead to from `state`; empty when `op` cannot be linearized there. */
  step(state: S, op: O): readonly S[];
  /** Equal keys for equal states. */
  key(state: S): string;
}

export interface SearchOperation<O> {
  readonly id: number;
  readonly invokeMs: number;
  /** `Infinity` when no answer came back. */
  readonly returnMs: number;
  /** False: the operation may also not have taken effect at all (unknown outcome). */
  readonly required: boolean;
  readonly op: O;
}

export interface SearchOptions {
  readonly stepsMax?: number;
  readonly cacheEntriesMax?: number;
}

export type SearchResult =
  | { readonly kind: 'linearizable'; readonly order: readonly number[]; readonly steps: number }
  | {
      readonly kind: 'violation';
      /** The longest linearizable prefix found (operation ids in order). */
      readonly longestPrefix: readonly number[];
      /** The operation whose return no extension of that prefix could reach. */
      readonly stuckAt: number | undefined;
      readonly steps: number;
    }
  | { readonly kind: 'inconclusive'; readonly reason: string; readonly steps: number };

const STEPS_MAX = 5_000_000;
const CACHE_ENTRIES_MAX = 250_000;

interface Entry {
  readonly isCall: boolean;
  /** Index into the operation list. */
  readonly op: number;
  readonly timeMs: number;
  readonly required: boolean;
  match: Entry | undefined;
  prev: Entry | undefined;
  next: Entry | undefined;
}

function buildList(ops: readonly SearchOperation<unknown>[]): Entry {
  const entries: Entry[] = [];
  ops.forEach((o, i) => {
    const call: Entry = {
      isCall: true,
      op: i,
      timeMs: o.invokeMs,
      required: o.required,
      match: undefined,
      prev: undefined,
      next: undefined,
    };
    const ret: Entry = {
      isCall: false,
      op: i,
      timeMs: o.required ? o.returnMs : Number.POSITIVE_INFINITY,
      required: o.required,
      match: undefined,
      prev: undefined,
      next: undefined,
    };
    call.match = ret;
    entries.push(call, ret);
  });
  // Time order; at equal times calls first (the more permissive reading); among returns at +∞, required first.
  entries.sort((a, b) => {
    if (a.timeMs !== b.timeMs) return a.timeMs < b.timeMs ? -1 : 1;
    if (a.isCall !== b.isCall) return a.isCall ? -1 : 1;
    if (a.required !== b.required) return a.required ? -1 : 1;
    return a.op - b.op;
  });
  const head: Entry = {
    isCall: false,
    op: -1,
    timeMs: Number.NEGATIVE_INFINITY,
    required: true,
    match: undefined,
    prev: undefined,
    next: undefined,
  };
  let last = head;
  for (const e of entries) {
    last.next = e;
    e.prev = last;
    last = e;
  }
  return head;
}

function lift(call: Entry): void {
  call.prev!.next = call.next;
  call.next!.prev = call.prev;
  const ret = call.match!;
  ret.prev!.next = ret.next;
  if (ret.next !== undefined) ret.next.prev = ret.prev;
}

function unlift(call: Entry): void {
  const ret = call.match!;
  ret.prev!.next = ret;
  if (ret.next !== undefined) ret.next.prev = ret;
  call.prev!.next = call;
  call.next!.prev = call;
}

class Bitset {
  readonly #words: Uint16Array;
  constructor(size: number) {
    this.#words = new Uint16Array(Math.max(1, Math.ceil(size / 16)));
  }
  set(i: number): void {
    this.#words[i >>> 4]! |= 1 << (i & 15);
  }
  clear(i: number): void {
    this.#words[i >>> 4]! &= ~(1 << (i & 15));
  }
  /** The key with bit `i` set as well. */
  keyWith(i: number): string {
    this.set(i);
    let key = '';
    for (let w = 0; w < this.#words.length; w += 4096) {
      key += String.fromCharCode(...this.#words.subarray(w, w + 4096));
    }
    this.clear(i);
    return key;
  }
}

interface Frame<S> {
  readonly call: Entry;
  readonly state: S;
  readonly choice: number;
}

/** Checks that `ops` (one partition of a history) is linearizable with respect to `model`. */
export function checkLinearizable<S, O>(
  model: SearchModel<S, O>,
  ops: readonly SearchOperation<O>[],
  options: SearchOptions = {},
): SearchResult {
  const stepsMax = options.stepsMax ?? STEPS_MAX;
  const cacheEntriesMax = options.cacheEntriesMax ?? CACHE_ENTRIES_MAX;
  const head = buildList(ops);
  const linearized = new Bitset(ops.length);
  const cache = new Set<string>();
  const stack: Frame<S>[] = [];
  let state = model.init;
  let entry: Entry | undefined = head.next;
  let choice = 0;
  let steps = 0;
  let longest: number[] = [];
  let stuckAt: number | undefined;
  const order = (): number[] => stack.map((f) => ops[f.call.op]!.id);
  while (head.next !== undefined && entry !== undefined) {
    if (++steps > stepsMax)
      return { kind: 'inconclusive', reason: `more than ${stepsMax} search steps`, steps };
    if (entry.isCall) {
      const nexts = model.step(state, ops[entry.op]!.op);
      let moved = false;
      for (let c = choice; c < nexts.length; c++) {
        const next = nexts[c]!;
        const key = `${linearized.keyWith(entry.op)}|${model.key(next)}`;
        if (cache.has(key)) continue;
        if (cache.size >= cacheEntriesMax) {
          return {
            kind: 'inconclusive',
            reason: `more than ${cacheEntriesMax} memoised configurations`,
            steps,
          };
        }
        cache.add(key);
        stack.push({ call: entry, state, choice: c });
        state = next;
        linearized.set(entry.op);
        lift(entry);
        entry = head.next;
        choice = 0;
        moved = true;
        break;
      }
      if (!moved) {
        entry = entry.next;
        choice = 0;
      }
      continue;
    }
    // A return entry: the first one left. An optional operation's return means every required one is placed.
    if (!entry.required) return { kind: 'linearizable', order: order(), steps };
    if (stack.length >= longest.length) {
      longest = order();
      stuckAt = ops[entry.op]!.id;
    }
    const top = stack.pop();
    if (top === undefined) return { kind: 'violation', longestPrefix: longest, stuckAt, steps };
    state = top.state;
    linearized.clear(top.call.op);
    unlift(top.call);
    entry = top.call;
    choice = top.choice + 1;
  }
  return { kind: 'linearizable', order: order(), steps };
}
