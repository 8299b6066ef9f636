import { describe, expect, it } from 'vitest';
import {
  gatewayUrl,
  parseAssignments,
  parseBrokerId,
  parseBrokerIds,
  parseHostPort,
  parseTimeoutMs,
} from './args.js';
import { policyFromOptions } from './commands/policy.js';
import { ExitCode } from './exit-codes.js';
import { runCli } from './testing/run-cli.js';

// Every case fails before any call, so no gateway is needed; port 9 (discard) would refuse if one were made.
const offline = ['--gateway', '127.0.0.1:9'];

describe('usage errors exit with 2 and say what is wrong', () => {
  it.each([
    [[], /Usage: regentctl/],
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['elect'], /missing required argument 'group'/],
    [['elect', 'g1', '--broker', 'x'], /--broker <id>.*is invalid.*non-negative integer/],
    [['elect', 'g1', '--broker', '0'], /between 1 and/],
    [['clean', 'g1', '--broker-ids', '1,1'], /listed twice/],
    [['--timeout-ms', '0', 'metadata'], /--timeout-ms.*between 1/],
    [['metadata', '--bogus'], /unknown option '--bogus'/],
    [['status', 'extra'], /too many arguments/],
    [['config', 'set', 'novalue'], /expected key=value/],
    [['config', 'set', 'a=1', 'a=2'], /key a is given twice/],
    [['config'], /Usage: regentctl config/],
    [['policy', 'set', 'c1', '--policy', 'best'], /--policy <name>.*Allowed choices/],
    [['policy', 'set', 'c1'], /required option '--policy <name>' not specified/],
    [
      ['policy', 'set', 'c1', '--policy', 'zone-aware', '--max-lag-bytes', '5'],
      /--max-lag-bytes applies to --policy max-lag/,
    ],
    [['policy', 'set', 'c1', '--policy', 'max-lag'], /needs --max-lag-bytes/],
    [['policy', 'set', 'c1', '--policy', 'rules'], /needs --filter, --rank or both/],
    [['member', 'add-voter', '4'], /needs --address host:port/],
    [['member', 'add-learner', '4', '--address', 'nope'], /expected host:port/],
    [['member', 'promote', '-3'], /value '-3' is invalid for argument 'nodeId'/],
    [['member', 'demote', '3'], /unknown command 'demote'/],
    [['transfer-leader', 'two'], /non-negative integer/],
    [['watch', '--from', '-1'], /unknown option|non-negative/],
    [['audit'], /missing required argument 'cluster'/],
    [['--gateway', 'http://[bad', 'metadata'], /expected host:port or an http\(s\) URL/],
  ])('regentctl %j', async (argv, message) => {
    const result = await runCli([...offline, ...argv]);
    expect(result.code).toBe(ExitCode.Usage);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(message);
  });

  it('prints help on stdout with exit 0', async () => {
    const result = await runCli(['--help']);
    expect(result.code).toBe(ExitCode.Ok);
    expect(result.stdout).toContain('Exit codes:');
    for (const name of [
      'metadata',
      'status',
      'sync-state',
      'brokers',
      'elect',
      'clean',
      'config',
      'policy',
      'member',
      'transfer-leader',
      'snapshot',
      'watch',
      'audit',
    ]) {
      expect(result.stdout).toContain(`  ${name}`);
    }
    const sub = await runCli(['policy', 'set', '--help']);
    expect(sub.code).toBe(ExitCode.Ok);
    expect(sub.stdout).toContain('--lag-fallback <what>');
  });
});

describe('value parsers', () => {
  it('accepts what they should', () => {
    expect(parseBrokerId('9223372036854775807')).toBe(9_223_372_036_854_775_807n);
    expect(parseBrokerIds('1;2, 3')).toEqual([1n, 2n, 3n]);
    expect(parseHostPort('[::1]:7200')).toBe('[::1]:7200');
    expect(parseTimeoutMs('2500')).toBe(2500);
    expect(gatewayUrl('127.0.0.1:7200')).toBe('http://127.0.0.1:7200');
    expect(gatewayUrl('https://gw.example:443/regent/')).toBe('https://gw.example/regent');
    expect(parseAssignments(['a=1', 'b=x=y', '__proto__=z'])).toEqual({
      a: '1',
      b: 'x=y',
      ['__proto__']: 'z',
    });
    expect(Object.getPrototypeOf(parseAssignments(['__proto__=z']))).toBe(Object.prototype);
  });

  it('refuses out-of-range values', () => {
    expect(() => parseBrokerId('9223372036854775808')).toThrow(/between 1 and/);
    expect(() => parseHostPort('h:0')).toThrow(/host:port/);
    expect(() => parseHostPort('h:65536')).toThrow(/host:port/);
    expect(() => parseTimeoutMs('3600001')).toThrow(/between/);
    expect(() => parseAssignments(Array.from({ length: 65 }, (_, i) => `k${i}=v`))).toThrow(/at most 64/);
  });

  it('builds each policy from its flags', () => {
    expect(policyFromOptions({ policy: 'zone-aware', zoneOrder: ['a', 'b'] }).policy).toEqual({
      case: 'zoneAware',
      value: expect.objectContaining({ zoneOrder: ['a', 'b'] }),
    });
    expect(
      policyFromOptions({ policy: 'max-lag', maxLagBytes: 1024n, lagFallback: 'default' }).policy,
    ).toEqual({
      case: 'maxLag',
      value: expect.objectContaining({ maxLagBytes: 1024n, fallback: 2 }),
    });
    expect(policyFromOptions({ policy: 'rules', rank: '-c.max_offset' }).policy).toEqual({
      case: 'rules',
      value: expect.objectContaining({ filter: '', rank: '-c.max_offset' }),
    });
    expect(policyFromOptions({ policy: 'rocketmq-default' }).policy.case).toBe('rocketmqDefault');
  });
});
