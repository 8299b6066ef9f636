// Flags, environment and the resolved config: defaults, token parsing, and what is refused.
import { ConfigError, parseConfig } from '@regent/service-kit';
import { buildTokenTable, gatewayConfigSchema, parseOptions, toGatewayConfig } from './config.js';

function parse(argv: string[], env: Record<string, string> = {}) {
  return toGatewayConfig(parseConfig(gatewayConfigSchema, { ...parseOptions, argv, env }).config!);
}

describe('gateway config', () => {
  test('defaults: port 7200, 5 s timeout, batches of 2000 every 20 ms, 1 MiB messages, 1 s heartbeat timeout, a random id', () => {
    const config = parse(['--consensus', '127.0.0.1:7100', '--admin-tokens', 'a']);
    expect(config).toMatchObject({
      host: '127.0.0.1',
      port: 7200,
      consensus: ['127.0.0.1:7100'],
      authDisabled: false,
      requestTimeoutMs: 5000,
      heartbeatBatchMax: 2000,
      heartbeatBatchIntervalMs: 20,
      readMaxBytes: 1024 * 1024,
      defaultHeartbeatTimeoutMs: 1000, // the consensus nodes' --heartbeat-timeout-ms default
    });
    expect(config.gatewayId).toMatch(/^gw-[0-9a-f]{12}$/);
    expect(parse(['--consensus', '127.0.0.1:7100', '--admin-tokens', 'a']).gatewayId).not.toBe(
      config.gatewayId,
    );
    expect(Object.isFrozen(config)).toBe(true);
  });

  test('every flag has an environment variable with prefix REGENT_GATEWAY', () => {
    const config = parse([], {
      REGENT_GATEWAY_CONSENSUS: '127.0.0.1:7100,[::1]:7101,node-c:7102',
      REGENT_GATEWAY_GATEWAY_ID: 'gw-1',
      REGENT_GATEWAY_BROKER_TOKENS: 'cluster-a=t1,*=t2',
      REGENT_GATEWAY_REQUEST_TIMEOUT_MS: '800',
      REGENT_GATEWAY_MAX_IN_FLIGHT: '7',
      REGENT_GATEWAY_HEARTBEAT_BATCH_MAX: '10',
      REGENT_GATEWAY_HEARTBEAT_BATCH_INTERVAL_MS: '3',
      REGENT_GATEWAY_READ_MAX_BYTES: '4096',
      REGENT_GATEWAY_PORT: '0',
    });
    expect(config).toMatchObject({
      consensus: ['127.0.0.1:7100', '[::1]:7101', 'node-c:7102'],
      gatewayId: 'gw-1',
      requestTimeoutMs: 800,
      maxInFlight: 7,
      heartbeatBatchMax: 10,
      heartbeatBatchIntervalMs: 3,
      readMaxBytes: 4096,
      port: 0,
    });
    expect(config.tokens.get('t1')).toEqual({ role: 'broker', clusters: new Set(['cluster-a']) });
    expect(config.tokens.get('t2')).toEqual({ role: 'broker', clusters: new Set(['*']) });
  });

  test.each([
    [[], 'missing required option --consensus'],
    [['--consensus', 'nohost'], 'expected host:port'],
    [['--consensus', 'a:1,a:1', '--admin-tokens', 'x'], 'duplicate address'],
    [['--consensus', 'a:1', '--broker-tokens', 'no-equals'], 'expected cluster=token'],
    [['--consensus', 'a:1', '--broker-tokens', 'bad.cluster=t'], 'invalid cluster name'],
    [['--consensus', 'a:1', '--broker-tokens', 'c='], 'empty broker token'],
    [['--consensus', 'a:1', '--gateway-id', 'has space'], '--gateway-id'],
    [['--consensus', 'a:1', '--heartbeat-batch-max', '10001'], 'maximum 10000'],
    [['--consensus', 'a:1'], 'no --admin-tokens or --broker-tokens'],
  ])('%j is refused: %s', (argv, message) => {
    expect(() => parse(argv)).toThrow(ConfigError);
    expect(() => parse(argv)).toThrow(message);
  });

  test('--auth-disabled needs no tokens', () => {
    expect(parse(['--consensus', 'a:1', '--auth-disabled']).authDisabled).toBe(true);
  });
});

describe('token table', () => {
  test('broker entries of one token accumulate clusters; a token that is also admin is admin', () => {
    const table = buildTokenTable(['adm', 'both'], ['c1=shared', 'c2=shared', 'c3=both']);
    expect(table.get('shared')).toEqual({ role: 'broker', clusters: new Set(['c1', 'c2']) });
    expect(table.get('both')).toEqual({ role: 'admin' });
    expect(table.get('adm')).toEqual({ role: 'admin' });
    expect(table.size).toBe(3);
  });

  test('a token may contain "=" after the cluster', () => {
    expect(buildTokenTable([], ['c1=abc=def']).get('abc=def')).toEqual({
      role: 'broker',
      clusters: new Set(['c1']),
    });
  });
});
