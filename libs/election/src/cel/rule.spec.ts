// Rule expressions: validation errors point at the expression with a position and the parser or checker message.
import { validatePolicy } from '../index.js';
import { ruleExpressionLengthMax } from '../limits.js';
import { policies } from '../testing.js';
import { lineColumn, RuleCompiler } from './rule.js';

function problemsOf(rules: { filter?: string; rank?: string }): string[] {
  return validatePolicy(policies.rules(rules)).map((p) => `${p.field}: ${p.message}`);
}

describe('rule validation: syntax errors', () => {
  test.each([
    {
      filter: 'c.epoch >',
      problem: 'rules.filter: syntax error at line 1, column 9: found > but expecting end of input',
    },
    {
      filter: "c.labels['x' == 1",
      problem: 'rules.filter: syntax error at line 1, column 9: found [ but expecting end of input',
    },
    {
      filter: 'c.epoch > 1 &&\n  c.epoch <',
      problem: 'rules.filter: syntax error at line 2, column 11: found < but expecting end of input',
    },
  ])('$filter', ({ filter, problem }) => {
    expect(problemsOf({ filter })).toEqual([problem]);
  });

  test('the rank field is named for a rank syntax error', () => {
    const [problem] = validatePolicy(policies.rules({ rank: '1 +* 2' }));
    expect(problem?.field).toBe('rules.rank');
    expect(problem?.message).toMatch(/^syntax error at line 1, column 3: found \+/);
  });
});

describe('rule validation: unknown names', () => {
  test.each([
    { filter: 'x > 1', problem: "line 1, column 1: undeclared reference to 'x' (known variables: c, g)" },
    {
      filter: 'c.epoch > 1 &&\n  ready',
      problem: "line 2, column 3: undeclared reference to 'ready' (known variables: c, g)",
    },
    {
      filter: 'c.rack == 1',
      problem:
        "line 1, column 2: undefined field 'rack' on candidate c (fields: broker_id, broker_address, alive, epoch, max_offset, confirm_offset, election_priority, zone, labels, in_sync, is_old_master)",
    },
    {
      filter: 'g.master_zone == c.zone',
      problem:
        "line 1, column 2: undefined field 'master_zone' on group g (fields: best_max_offset, old_master_zone, cluster_name, broker_name)",
    },
    {
      filter: 'has(c.nope)',
      problem:
        "line 1, column 1: undefined field 'nope' on candidate c (fields: broker_id, broker_address, alive, epoch, max_offset, confirm_offset, election_priority, zone, labels, in_sync, is_old_master)",
    },
    {
      filter: "c.zone.lowerAscii() == 'a'",
      problem: "line 1, column 7: undeclared reference to method 'lowerAscii'",
    },
    { filter: 'isGood(c)', problem: "line 1, column 1: undeclared reference to function 'isGood'" },
    // Time functions are left out: rules have no time values and their results would depend on the host time zone.
    {
      filter: "timestamp('2024-03-10T02:30:00Z').getHours() == 2",
      problem: "line 1, column 1: undeclared reference to function 'timestamp'",
    },
    {
      filter: "duration('1s') == duration('1s')",
      problem: "line 1, column 1: undeclared reference to function 'duration'",
    },
  ])('$filter', ({ filter, problem }) => {
    expect(problemsOf({ filter })).toEqual([`rules.filter: ${problem}`]);
  });
});

describe('rule validation: types', () => {
  test.each([
    { rules: { filter: 'c.epoch + 1' }, problem: 'rules.filter: result has type int, want bool' },
    {
      rules: { filter: 'c.labels' },
      problem: 'rules.filter: result has type map(string, string), want bool',
    },
    { rules: { rank: 'c.zone' }, problem: 'rules.rank: result has type string, want int, uint or double' },
    { rules: { rank: 'c.in_sync' }, problem: 'rules.rank: result has type bool, want int, uint or double' },
    {
      rules: { rank: 'c.epoch + 1.5' },
      problem:
        "rules.rank: line 1, column 9: found no matching overload for '_+_' applied to '(int, double)'",
    },
    {
      rules: { filter: 'c.epoch && true' },
      problem: "rules.filter: line 1, column 2: operator '&&' needs bool operands, got int",
    },
    {
      rules: { filter: 'c.zone.startsWith(1)' },
      problem:
        "rules.filter: line 1, column 7: found no matching overload for 'startsWith' applied to 'string.(int)'",
    },
    {
      rules: { filter: 'c.epoch.size() > 0' },
      problem: "rules.filter: line 1, column 8: found no matching overload for 'size' applied to 'int.()'",
    },
    {
      rules: { filter: 'c.zone.x == 1' },
      problem: "rules.filter: line 1, column 7: type string has no field 'x'",
    },
    {
      rules: { filter: 'c.epoch[0] == 1' },
      problem: 'rules.filter: line 1, column 8: type int cannot be indexed',
    },
    {
      rules: { filter: 'c.epoch.all(x, true)' },
      problem: 'rules.filter: line 1, column 2: cannot iterate over int',
    },
    {
      rules: { filter: 'Msg{a: 1} == c' },
      problem: "rules.filter: line 1, column 1: message construction 'Msg{...}' is not supported",
    },
  ])('$rules', ({ rules, problem }) => {
    expect(problemsOf(rules)).toEqual([problem]);
  });

  test('both expressions are reported', () => {
    expect(problemsOf({ filter: '1', rank: 'true' })).toEqual([
      'rules.filter: result has type int, want bool',
      'rules.rank: result has type bool, want int, uint or double',
    ]);
  });

  test.each([
    "c.labels.disk == 'ssd'",
    "'ssd' in c.labels && c.zone in ['a', 'b']",
    "size(c.labels) > 0 && c.labels.exists(k, k.startsWith('disk'))",
    'c.labels.all(k, c.labels[k] != "")',
    'type(c.epoch) == int',
    'c.max_offset > 2 * g.best_max_offset / 3',
    "c['zone'] == g.old_master_zone",
    "c.labels.filter(k, k.matches('^d')).size() == 1",
    'dyn(c.epoch) > 0.5',
    'c.confirm_offset >= 0 && c.election_priority < 10 && c.broker_id != 3 && c.alive',
  ])('valid filter: %s', (filter) => {
    expect(problemsOf({ filter })).toEqual([]);
  });

  test.each([
    'c.epoch',
    'double(c.max_offset) / 1024.0',
    '-c.election_priority',
    '42u',
    'int(c.labels.weight)',
    'c.in_sync ? 10 : 0',
  ])('valid rank: %s', (rank) => {
    expect(problemsOf({ rank })).toEqual([]);
  });
});

describe('rule validation: limits', () => {
  test('expressions longer than the limit are refused before parsing', () => {
    const filter = `${'true && '.repeat(300)}true`;
    expect(filter.length).toBeGreaterThan(ruleExpressionLengthMax);
    expect(problemsOf({ filter })).toEqual([
      `rules.filter: expression is ${filter.length} characters long, at most ${ruleExpressionLengthMax}`,
    ]);
  });

  test('comprehensions may nest two deep, not three', () => {
    expect(problemsOf({ filter: '[1].all(x, [2].all(y, x < y))' })).toEqual([]);
    expect(problemsOf({ filter: '[1].all(x, [2].all(y, [3].all(z, true)))' })).toEqual([
      'rules.filter: line 1, column 26: comprehensions are nested more than 2 deep',
    ]);
  });

  test('deeply nested parentheses are a syntax error, not a crash', () => {
    const filter = `${'('.repeat(1000)}true${')'.repeat(1000)}`;
    const problems = problemsOf({ filter });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^rules\.filter: /);
  });
});

describe('RuleCompiler cache', () => {
  test('a compiled expression is reused by text', () => {
    const compiler = new RuleCompiler(4);
    const first = compiler.compile('c.epoch > 1');
    expect(compiler.compile('c.epoch > 1')).toBe(first);
    expect(compiler.compile(' c.epoch > 1')).not.toBe(first);
  });

  test('failures are cached too', () => {
    const compiler = new RuleCompiler(4);
    const first = compiler.compile('c.epoch >');
    expect(first.ok).toBe(false);
    expect(compiler.compile('c.epoch >')).toBe(first);
  });

  test('the cache is bounded; the least recently used entry goes first', () => {
    const compiler = new RuleCompiler(2);
    const a = compiler.compile('1 == 1');
    compiler.compile('2 == 2');
    expect(compiler.compile('1 == 1')).toBe(a);
    compiler.compile('3 == 3');
    expect(compiler.cachedCount).toBe(2);
    expect(compiler.compile('1 == 1')).toBe(a);
    // '2 == 2' was evicted: compiling it again gives a new result.
    const b = compiler.compile('2 == 2');
    expect(compiler.compile('2 == 2')).toBe(b);
    expect(compiler.cachedCount).toBe(2);
  });
});

describe('lineColumn', () => {
  test.each([
    { text: 'abc', offset: 0, line: 1, column: 1 },
    { text: 'abc', offset: 2, line: 1, column: 3 },
    { text: 'a\nbc', offset: 2, line: 2, column: 1 },
    { text: 'a\nb\ncd', offset: 5, line: 3, column: 2 },
  ])('$offset in $text', ({ text, offset, line, column }) => {
    expect(lineColumn(text, offset)).toEqual({ line, column });
  });
});
