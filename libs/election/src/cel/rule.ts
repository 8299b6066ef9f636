// Compiles rule expressions (parse, check, plan with @bufbuild/cel) and evaluates them against one candidate.
// Compiling is pure and synchronous; results (including failures) are cached by expression text in a bounded LRU.
import { type CelInput, type CelValue, celEnv, isCelError, isCelUint, parse, plan } from '@bufbuild/cel';
import { ruleExpressionLengthMax } from '../limits.js';
import { LruMap } from '../lru.js';
import {
  boolType,
  CheckError,
  type Declarations,
  formatType,
  intType,
  isDyn,
  RuleChecker,
  type StaticType,
  stringType,
} from './check.js';

/** The candidate variable `c`: the Candidate fields plus `in_sync` and `is_old_master`. */
const candidateFields: ReadonlyMap<string, StaticType> = new Map([
  ['broker_id', intType],
  ['broker_address', stringType],
  ['alive', boolType],
  ['epoch', intType],
  ['max_offset', intType],
  ['confirm_offset', intType],
  ['election_priority', intType],
  ['zone', stringType],
  ['labels', { kind: 'map', key: stringType, value: stringType }],
  ['in_sync', boolType],
  ['is_old_master', boolType],
]);

/** The group variable `g`. */
const groupFields: ReadonlyMap<string, StaticType> = new Map([
  ['best_max_offset', intType],
  ['old_master_zone', stringType],
  ['cluster_name', stringType],
  ['broker_name', stringType],
]);

const declarations: Declarations = new Map<string, StaticType>([
  ['c', { kind: 'record', name: 'candidate c', fields: candidateFields }],
  ['g', { kind: 'record', name: 'group g', fields: groupFields }],
]);

/** What a rule expression must produce. */
export type RuleKind = 'filter' | 'rank';

/** Values bound to `c` and `g` for one evaluation (maps, so no prototype keys leak into lookups). */
export interface RuleBindings {
  readonly c: ReadonlyMap<string, CelInput>;
  readonly g: ReadonlyMap<string, CelInput>;
}

/** A compiled expression. */
export interface CompiledRule {
  readonly text: string;
  /** The statically inferred result type; `dyn` when only evaluation can tell. */
  readonly resultType: StaticType;
  /** Evaluates the rule; never throws. An error carries its position in the text when known. */
  evaluate(bindings: RuleBindings): { ok: true; value: CelValue } | { ok: false; message: string };
}

export type CompileResult =
  | { readonly ok: true; readonly rule: CompiledRule }
  | { readonly ok: false; readonly message: string };

/** Line and column (both from 1) of a UTF-16 offset into `text`. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, Math.max(0, offset));
  const lastNewline = before.lastIndexOf('\n');
  let line = 1;
  for (const ch of before) if (ch === '\n') line++;
  return { line, column: offset - lastNewline };
}

function at(text: string, offset: number | undefined, message: string): string {
  if (offset === undefined) return message;
  const { line, column } = lineColumn(text, offset);
  return `line ${line}, column ${column}: ${message}`;
}

interface SyntaxErrorShape {
  readonly rawMessage?: unknown;
  readonly location?: { readonly start?: { readonly line?: unknown; readonly column?: unknown } };
}

function syntaxMessage(err: unknown): string {
  const shape = (typeof err === 'object' && err !== null ? err : {}) as SyntaxErrorShape;
  const raw =
    typeof shape.rawMessage === 'string'
      ? shape.rawMessage
      : err instanceof Error
        ? err.message
        : String(err);
  const line = shape.location?.start?.line;
  const column = shape.location?.start?.column;
  if (typeof line === 'number' && typeof column === 'number') {
    return `syntax error at line ${line}, column ${column}: ${raw}`;
  }
  return `syntax error: ${raw}`;
}

/** Compiles rule expressions with a bounded cache of compiled programs keyed by expression text. */
export class RuleCompiler {
  private readonly env = celEnv();
  private readonly checker = new RuleChecker(this.env, declarations);
  private readonly cache: LruMap<string, CompileResult>;

  constructor(compiledRulesMax: number) {
    this.cache = new LruMap(compiledRulesMax);
  }

  /** Number of cached compile results. */
  get cachedCount(): number {
    return this.cache.size;
  }

  /** Compiles `text` (cached). Checks length, syntax and static types; not the result type (see `checkResult`). */
  compile(text: string): CompileResult {
    const cached = this.cache.get(text);
    if (cached !== undefined) return cached;
    const result = this.compileUncached(text);
    this.cache.set(text, result);
    return result;
  }

  private compileUncached(text: string): CompileResult {
    if (text.length > ruleExpressionLengthMax) {
      return {
        ok: false,
        message: `expression is ${text.length} characters long, at most ${ruleExpressionLengthMax}`,
      };
    }
    let parsed: ReturnType<typeof parse>;
    try {
      parsed = parse(text);
    } catch (err) {
      return { ok: false, message: syntaxMessage(err) };
    }
    const positions = parsed.sourceInfo?.positions ?? {};
    const offsetOf = (id: bigint | undefined): number | undefined =>
      id === undefined ? undefined : positions[id.toString()];
    let resultType: StaticType;
    try {
      resultType = this.checker.check(parsed.expr);
    } catch (err) {
      if (err instanceof CheckError)
        return { ok: false, message: at(text, offsetOf(err.exprId), err.message) };
      throw err;
    }
    let program: ReturnType<typeof plan>;
    try {
      program = plan(this.env, parsed);
    } catch (err) {
      return { ok: false, message: `cannot plan: ${err instanceof Error ? err.message : String(err)}` };
    }
    const rule: CompiledRule = {
      text,
      resultType,
      evaluate(bindings) {
        const value = program({ c: bindings.c, g: bindings.g });
        if (!isCelError(value)) return { ok: true, value };
        return { ok: false, message: at(text, offsetOf(value.exprId), value.message) };
      },
    };
    return { ok: true, rule };
  }
}

/** A problem with the statically known result type of a `kind` rule, or undefined when it fits (or is dyn). */
export function checkResultType(kind: RuleKind, type: StaticType): string | undefined {
  if (isDyn(type)) return undefined;
  if (kind === 'filter') {
    return type.kind === 'scalar' && type.name === 'bool'
      ? undefined
      : `result has type ${formatType(type)}, want bool`;
  }
  const numeric =
    type.kind === 'scalar' && (type.name === 'int' || type.name === 'uint' || type.name === 'double');
  return numeric ? undefined : `result has type ${formatType(type)}, want int, uint or double`;
}

/** A rank value as a JS number or bigint, or a problem when the value is not a usable number. */
export function rankValue(
  value: CelValue,
): { ok: true; rank: bigint | number } | { ok: false; message: string } {
  if (typeof value === 'bigint') return { ok: true, rank: value };
  if (isCelUint(value)) return { ok: true, rank: value.value };
  if (typeof value === 'number') {
    return Number.isNaN(value) ? { ok: false, message: 'rank is NaN' } : { ok: true, rank: value };
  }
  return { ok: false, message: `rank returned ${describeValue(value)}, want int, uint or double` };
}

/** A filter value as a boolean, or a problem. */
export function filterValue(value: CelValue): { ok: true; keep: boolean } | { ok: false; message: string } {
  if (typeof value === 'boolean') return { ok: true, keep: value };
  return { ok: false, message: `filter returned ${describeValue(value)}, want bool` };
}

function describeValue(value: CelValue): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return 'a string';
  if (value instanceof Uint8Array) return 'bytes';
  return `a ${typeof value === 'object' ? 'structured value' : typeof value}`;
}
