// The search itself, on a register model: Lowe/WGL behaviour, unknown outcomes, nondeterminism and bounds.
import { describe, expect, it } from 'vitest';
import { checkLinearizable, type SearchModel, type SearchOperation } from './linearizability.js';

type RegisterOp =
  | { readonly kind: 'write'; readonly value: number }
  | { readonly kind: 'read'; readonly value: number }
  /** Sets the register to any of `values` (a nondeterministic write). */
  | { readonly kind: 'writeAny'; readonly values: readonly number[] };

const register: SearchModel<number, RegisterOp> = {
  init: 0,
  step: (state, op) => {
    if (op.kind === 'write') return [op.value];
    if (op.kind === 'writeAny') return op.values;
    return op.value === state ? [state] : [];
  },
  key: (state) => String(state),
};

let nextId = 0;
function op(
  invokeMs: number,
  returnMs: number | undefined,
  o: RegisterOp,
  required = returnMs !== undefined,
): SearchOperation<RegisterOp> {
  return { id: nextId++, invokeMs, returnMs: returnMs ?? Number.POSITIVE_INFINITY, required, op: o };
}

describe('checkLinearizable', () => {
  it('accepts a sequential history', () => {
    const result = checkLinearizable(register, [
      op(0, 1, { kind: 'write', value: 1 }),
      op(2, 3, { kind: 'read', value: 1 }),
      op(4, 5, { kind: 'write', value: 2 }),
      op(6, 7, { kind: 'read', value: 2 }),
    ]);
    expect(result.kind).toBe('linearizable');
  });

  it('accepts a read concurrent with a write seeing either value', () => {
    for (const seen of [0, 1]) {
      const result = checkLinearizable(register, [
        op(0, 10, { kind: 'write', value: 1 }),
        op(5, 6, { kind: 'read', value: seen }),
      ]);
      expect(result.kind).toBe('linearizable');
    }
  });

  it('rejects a stale read after the write returned', () => {
    const write = op(0, 1, { kind: 'write', value: 1 });
    const read = op(2, 3, { kind: 'read', value: 0 });
    const result = checkLinearizable(register, [write, read]);
    expect(result.kind).toBe('violation');
    if (result.kind === 'violation') {
      expect(result.longestPrefix).toEqual([write.id]);
      expect(result.stuckAt).toBe(read.id);
    }
  });

  it('rejects reads that see two writes in both orders', () => {
    const result = checkLinearizable(register, [
      op(0, 10, { kind: 'write', value: 1 }),
      op(0, 10, { kind: 'write', value: 2 }),
      op(11, 12, { kind: 'read', value: 1 }),
      op(13, 14, { kind: 'read', value: 2 }),
      op(15, 16, { kind: 'read', value: 1 }),
    ]);
    expect(result.kind).toBe('violation');
  });

  it('lets an operation with an unknown outcome take effect or not', () => {
    for (const seen of [0, 1]) {
      const result = checkLinearizable(register, [
        op(0, undefined, { kind: 'write', value: 1 }),
        op(5, 6, { kind: 'read', value: seen }),
        op(7, 8, { kind: 'read', value: seen }),
      ]);
      expect(result.kind).toBe('linearizable');
    }
  });

  it('still places an unknown operation only after its call', () => {
    const result = checkLinearizable(register, [
      op(0, 1, { kind: 'read', value: 1 }),
      op(5, undefined, { kind: 'write', value: 1 }),
    ]);
    expect(result.kind).toBe('violation');
  });

  it('does not let an unknown write flip back and forth', () => {
    const result = checkLinearizable(register, [
      op(0, undefined, { kind: 'write', value: 1 }),
      op(5, 6, { kind: 'read', value: 1 }),
      op(7, 8, { kind: 'read', value: 0 }),
    ]);
    expect(result.kind).toBe('violation');
  });

  it('tries every next state of a nondeterministic operation', () => {
    const result = checkLinearizable(register, [
      op(0, 1, { kind: 'writeAny', values: [3, 4, 5] }),
      op(2, 3, { kind: 'read', value: 5 }),
      op(4, 5, { kind: 'read', value: 5 }),
    ]);
    expect(result.kind).toBe('linearizable');
  });

  it('requires a required operation without a return (an audit-known change)', () => {
    const ok = checkLinearizable(register, [
      op(0, undefined, { kind: 'write', value: 7 }, true),
      op(5, 6, { kind: 'read', value: 7 }),
    ]);
    expect(ok.kind).toBe('linearizable');
    const impossible = checkLinearizable(register, [
      op(0, 1, { kind: 'read', value: 0 }),
      op(0, undefined, { kind: 'read', value: 9 }, true),
    ]);
    expect(impossible.kind).toBe('violation');
  });

  it('answers inconclusive when the step budget runs out', () => {
    const ops = Array.from({ length: 12 }, (_, i) => op(0, 100, { kind: 'write', value: i }));
    ops.push(op(101, 102, { kind: 'read', value: 99 }));
    const result = checkLinearizable(register, ops, { stepsMax: 50 });
    expect(result.kind).toBe('inconclusive');
  });

  it('checks a long history with low concurrency quickly', () => {
    const ops: SearchOperation<RegisterOp>[] = [];
    for (let i = 0; i < 2000; i++) {
      ops.push(op(i * 10, i * 10 + 15, { kind: 'write', value: i }));
      ops.push(op(i * 10 + 16, i * 10 + 17, { kind: 'read', value: i }));
    }
    const result = checkLinearizable(register, ops);
    expect(result.kind).toBe('linearizable');
  });
});
