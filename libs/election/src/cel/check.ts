// A small static type checker for rule expressions over the fixed variables `c` and `g`.
//
// @bufbuild/cel 0.6.1 has a type checker, but its package exports do not expose it and it only handles
// constants and identifiers. This one infers types for the whole AST, resolving function calls against the
// environment's own overload table (`CelEnv.funcs`), so overload errors read like the evaluator's. It is
// conservative: it reports only what would fail for every candidate (an unknown variable, field or function, an
// overload that cannot match, a result of the wrong type); anything involving `dyn` passes and is checked at
// evaluation time.
import type { CelEnv, CelType, parse } from '@bufbuild/cel';
import { ruleComprehensionDepthMax } from '../limits.js';

type ParsedExpr = ReturnType<typeof parse>;
type Expr = ParsedExpr['expr'];
type Constant = Extract<Expr['exprKind'], { case: 'constExpr' }>['value'];

type ScalarName = 'bool' | 'int' | 'uint' | 'double' | 'string' | 'bytes' | 'null_type' | 'type' | 'dyn';

/** A static type. `record` is a variable with a fixed set of fields (`c`, `g`); at run time it is a map. */
export type StaticType =
  | { readonly kind: 'scalar'; readonly name: ScalarName }
  | { readonly kind: 'list'; readonly element: StaticType }
  | { readonly kind: 'map'; readonly key: StaticType; readonly value: StaticType }
  | { readonly kind: 'object'; readonly name: string }
  | { readonly kind: 'record'; readonly name: string; readonly fields: ReadonlyMap<string, StaticType> };

const scalar = (name: ScalarName): StaticType => ({ kind: 'scalar', name });
export const boolType = scalar('bool');
export const intType = scalar('int');
export const uintType = scalar('uint');
export const doubleType = scalar('double');
export const stringType = scalar('string');
export const dynType = scalar('dyn');
const typeType = scalar('type');
const anyMap: StaticType = { kind: 'map', key: stringType, value: dynType };

/** Identifiers that name types (`type(x) == int`). */
const typeIdentifiers = new Set([
  'bool',
  'bytes',
  'double',
  'int',
  'list',
  'map',
  'null_type',
  'string',
  'type',
  'uint',
]);

/** A checking failure at expression node `exprId`. */
export class CheckError extends Error {
  override readonly name = 'CheckError';
  readonly exprId: bigint;

  constructor(message: string, exprId: bigint) {
    super(message);
    this.exprId = exprId;
  }
}

export function formatType(t: StaticType): string {
  switch (t.kind) {
    case 'scalar':
      return t.name;
    case 'list':
      return `list(${formatType(t.element)})`;
    case 'map':
      return `map(${formatType(t.key)}, ${formatType(t.value)})`;
    case 'object':
      return t.name;
    case 'record':
      return t.name;
  }
}

export function isDyn(t: StaticType): boolean {
  return t.kind === 'scalar' && t.name === 'dyn';
}

function sameType(a: StaticType, b: StaticType): boolean {
  return formatType(a) === formatType(b);
}

function fromCelType(t: CelType): StaticType {
  switch (t.kind) {
    case 'scalar':
      return scalar(t.scalar as ScalarName);
    case 'list':
      return { kind: 'list', element: fromCelType(t.element) };
    case 'map':
      return { kind: 'map', key: fromCelType(t.key), value: fromCelType(t.value) };
    case 'object':
      return { kind: 'object', name: t.name };
  }
}

/** True when a value of static type `arg` may be passed where `param` is expected. */
function assignable(param: StaticType, arg: StaticType): boolean {
  if (isDyn(param) || isDyn(arg)) return true;
  const a = arg.kind === 'record' ? anyMap : arg;
  switch (param.kind) {
    case 'scalar':
      return a.kind === 'scalar' && a.name === param.name;
    case 'list':
      return a.kind === 'list' && assignable(param.element, a.element);
    case 'map':
      return a.kind === 'map' && assignable(param.key, a.key) && assignable(param.value, a.value);
    case 'object':
      return a.kind === 'object' && a.name === param.name;
    case 'record':
      return false;
  }
}

interface Overload {
  readonly hasTarget: boolean;
  readonly target: StaticType | undefined;
  readonly params: readonly StaticType[];
  readonly result: StaticType;
}

function involvesObject(t: StaticType | undefined): boolean {
  if (t === undefined) return false;
  switch (t.kind) {
    case 'object':
    case 'record':
      return true;
    case 'list':
      return involvesObject(t.element);
    case 'map':
      return involvesObject(t.key) || involvesObject(t.value);
    case 'scalar':
      return false;
  }
}

/**
 * The environment's overloads by name, without those involving message types (timestamp and duration). Rules have
 * no time values to work on, and @bufbuild/cel's calendar accessors go through the host's local time zone (and
 * its time zone database), which would make a decision depend on the host.
 */
function overloadTable(env: CelEnv): ReadonlyMap<string, readonly Overload[]> {
  const table = new Map<string, Overload[]>();
  for (const f of env.funcs) {
    const overload: Overload = {
      hasTarget: f.target !== undefined,
      target: f.target === undefined ? undefined : fromCelType(f.target),
      params: f.arguments.map(fromCelType),
      result: fromCelType(f.result),
    };
    const types = [overload.target, overload.result, ...overload.params];
    if (types.some(involvesObject)) continue;
    const list = table.get(f.name) ?? [];
    list.push(overload);
    table.set(f.name, list);
  }
  return table;
}

/** The variables a rule sees, by name. */
export type Declarations = ReadonlyMap<string, StaticType>;

/** Infers the result type of `expr`; throws `CheckError` at the first node that must fail. */
export class RuleChecker {
  private readonly overloads: ReadonlyMap<string, readonly Overload[]>;

  constructor(
    env: CelEnv,
    private readonly declarations: Declarations,
  ) {
    this.overloads = overloadTable(env);
  }

  check(expr: Expr): StaticType {
    return this.infer(expr, new Map(), 0);
  }

  private infer(expr: Expr, scope: ReadonlyMap<string, StaticType>, depth: number): StaticType {
    const kind = expr.exprKind;
    switch (kind.case) {
      case 'constExpr':
        return constantType(kind.value);
      case 'identExpr':
        return this.ident(kind.value.name, scope, expr.id);
      case 'selectExpr': {
        if (kind.value.operand === undefined) throw new CheckError('selection without an operand', expr.id);
        const operand = this.infer(kind.value.operand, scope, depth);
        const field = selectField(operand, kind.value.field, expr.id);
        return kind.value.testOnly ? boolType : field;
      }
      case 'callExpr': {
        const target =
          kind.value.target === undefined ? undefined : this.infer(kind.value.target, scope, depth);
        const args = kind.value.args.map((a) => this.infer(a, scope, depth));
        const argIds = kind.value.args.map((a) => a.id);
        return this.call(kind.value.function, target, args, argIds, expr.id);
      }
      case 'listExpr': {
        const elements = kind.value.elements.map((e) => this.infer(e, scope, depth));
        return { kind: 'list', element: common(elements) };
      }
      case 'structExpr': {
        if (kind.value.messageName !== '') {
          throw new CheckError(
            `message construction '${kind.value.messageName}{...}' is not supported`,
            expr.id,
          );
        }
        const keys: StaticType[] = [];
        const values: StaticType[] = [];
        for (const entry of kind.value.entries) {
          if (entry.keyKind.case === 'mapKey') keys.push(this.infer(entry.keyKind.value, scope, depth));
          if (entry.value !== undefined) values.push(this.infer(entry.value, scope, depth));
        }
        return { kind: 'map', key: common(keys), value: common(values) };
      }
      case 'comprehensionExpr':
        return this.comprehension(kind.value, scope, depth, expr.id);
      default:
        throw new CheckError('empty expression', expr.id);
    }
  }

  private ident(name: string, scope: ReadonlyMap<string, StaticType>, id: bigint): StaticType {
    const local = scope.get(name);
    if (local !== undefined) return local;
    const declared = this.declarations.get(name);
    if (declared !== undefined) return declared;
    if (typeIdentifiers.has(name)) return typeType;
    const known = [...this.declarations.keys()].join(', ');
    throw new CheckError(`undeclared reference to '${name}' (known variables: ${known})`, id);
  }

  /** `argIds` are the argument nodes' ids, so an operand error points at the operand. */
  private call(
    name: string,
    target: StaticType | undefined,
    args: readonly StaticType[],
    argIds: readonly bigint[],
    id: bigint,
  ): StaticType {
    switch (name) {
      case '_&&_':
      case '_||_':
        for (const [i, a] of args.entries()) expectBool(a, name === '_&&_' ? '&&' : '||', argIds[i] ?? id);
        return boolType;
      case '@not_strictly_false':
        return boolType;
      case '_?_:_': {
        const [condition, whenTrue, whenFalse] = args;
        if (condition === undefined || whenTrue === undefined || whenFalse === undefined) {
          throw new CheckError('conditional needs three operands', id);
        }
        expectBool(condition, '?:', argIds[0] ?? id);
        return sameType(whenTrue, whenFalse) ? whenTrue : dynType;
      }
      case '_[_]': {
        const [operand, index] = args;
        if (operand === undefined || index === undefined)
          throw new CheckError('index needs two operands', id);
        return indexType(operand, index, id);
      }
      case '_[?_]':
      case '_?._':
        throw new CheckError('optional field and index syntax is not supported in rules', id);
      default:
        return this.overload(name, target, args, id);
    }
  }

  private overload(
    name: string,
    target: StaticType | undefined,
    args: readonly StaticType[],
    id: bigint,
  ): StaticType {
    const all = this.overloads.get(name);
    if (all === undefined) {
      const what = target === undefined ? 'function' : 'method';
      throw new CheckError(`undeclared reference to ${what} '${name}'`, id);
    }
    const matching = all.filter(
      (o) =>
        o.hasTarget === (target !== undefined) &&
        o.params.length === args.length &&
        (o.target === undefined || target === undefined || assignable(o.target, target)) &&
        o.params.every((p, i) => assignable(p, args[i] as StaticType)),
    );
    if (matching.length === 0) {
      const list = args.map(formatType).join(', ');
      const applied = target === undefined ? `(${list})` : `${formatType(target)}.(${list})`;
      throw new CheckError(`found no matching overload for '${name}' applied to '${applied}'`, id);
    }
    const first = matching[0] as Overload;
    return matching.every((o) => sameType(o.result, first.result)) ? first.result : dynType;
  }

  private comprehension(
    c: Extract<Expr['exprKind'], { case: 'comprehensionExpr' }>['value'],
    scope: ReadonlyMap<string, StaticType>,
    depth: number,
    id: bigint,
  ): StaticType {
    if (depth + 1 > ruleComprehensionDepthMax) {
      throw new CheckError(`comprehensions are nested more than ${ruleComprehensionDepthMax} deep`, id);
    }
    if (c.iterRange === undefined || c.accuInit === undefined || c.loopStep === undefined) {
      throw new CheckError('incomplete comprehension', id);
    }
    const range = this.infer(c.iterRange, scope, depth);
    const [key, value] = iterationTypes(range, c.iterRange.id);
    const inner = new Map(scope);
    inner.set(c.accuVar, this.infer(c.accuInit, scope, depth));
    if (c.iterVar2 === '') {
      inner.set(c.iterVar, range.kind === 'list' ? value : key);
    } else {
      inner.set(c.iterVar, key);
      inner.set(c.iterVar2, value);
    }
    if (c.loopCondition !== undefined) this.infer(c.loopCondition, inner, depth + 1);
    this.infer(c.loopStep, inner, depth + 1);
    return c.result === undefined ? dynType : this.infer(c.result, inner, depth + 1);
  }
}

function constantType(constant: Constant): StaticType {
  switch (constant.constantKind.case) {
    case 'boolValue':
      return boolType;
    case 'bytesValue':
      return scalar('bytes');
    case 'doubleValue':
      return doubleType;
    case 'int64Value':
      return intType;
    case 'uint64Value':
      return uintType;
    case 'stringValue':
      return stringType;
    case 'nullValue':
      return scalar('null_type');
    default:
      return dynType;
  }
}

function common(types: readonly StaticType[]): StaticType {
  const first = types[0];
  if (first === undefined) return dynType;
  return types.every((t) => sameType(t, first)) ? first : dynType;
}

function expectBool(t: StaticType, operator: string, id: bigint): void {
  if (isDyn(t) || sameType(t, boolType)) return;
  throw new CheckError(`operator '${operator}' needs bool operands, got ${formatType(t)}`, id);
}

function selectField(operand: StaticType, field: string, id: bigint): StaticType {
  switch (operand.kind) {
    case 'record': {
      const t = operand.fields.get(field);
      if (t === undefined) {
        const known = [...operand.fields.keys()].join(', ');
        throw new CheckError(`undefined field '${field}' on ${operand.name} (fields: ${known})`, id);
      }
      return t;
    }
    case 'map':
      if (!isDyn(operand.key) && !sameType(operand.key, stringType)) {
        throw new CheckError(`cannot select field '${field}' from ${formatType(operand)}`, id);
      }
      return operand.value;
    case 'scalar':
      if (operand.name === 'dyn') return dynType;
      throw new CheckError(`type ${operand.name} has no field '${field}'`, id);
    default:
      throw new CheckError(`type ${formatType(operand)} has no field '${field}'`, id);
  }
}

function indexType(operand: StaticType, index: StaticType, id: bigint): StaticType {
  switch (operand.kind) {
    case 'list':
      if (isDyn(index) || sameType(index, intType) || sameType(index, uintType)) return operand.element;
      throw new CheckError(`list index must be int, got ${formatType(index)}`, id);
    case 'map':
      return operand.value;
    case 'record':
      return dynType;
    case 'scalar':
      if (operand.name === 'dyn') return dynType;
      throw new CheckError(`type ${operand.name} cannot be indexed`, id);
    default:
      throw new CheckError(`type ${formatType(operand)} cannot be indexed`, id);
  }
}

/** The key (for a list: the index) and value types of iterating over `range`. */
function iterationTypes(range: StaticType, id: bigint): [StaticType, StaticType] {
  switch (range.kind) {
    case 'list':
      return [intType, range.element];
    case 'map':
      return [range.key, range.value];
    case 'record':
      return [stringType, dynType];
    case 'scalar':
      if (range.name === 'dyn') return [dynType, dynType];
      throw new CheckError(`cannot iterate over ${range.name}`, id);
    default:
      throw new CheckError(`cannot iterate over ${formatType(range)}`, id);
  }
}
