import { ConfigError, parseConfig } from '@regent/service-kit';
import { describe, expect, it } from 'vitest';
import { checkCredentials, configSchema, parseOptions, redacted } from './config.js';

function parse(argv: string[], env: Record<string, string> = {}) {
  const result = parseConfig(configSchema, { ...parseOptions, argv, env });
  if (result.config === undefined) throw new Error('no config');
  return result.config;
}

describe('config', () => {
  it('has the documented defaults', () => {
    const config = parse(['--consensus', '127.0.0.1:7100,127.0.0.1:7101']);
    expect(config).toMatchObject({
      host: '127.0.0.1',
      port: 7400,
      consensus: ['127.0.0.1:7100', '127.0.0.1:7101'],
      nats: ['nats://127.0.0.1:4222'],
      subjectPrefix: 'regent',
      pendingMax: 10_000,
      stateSaveIntervalMs: 1_000,
    });
    expect(config.natsUser).toBeUndefined();
  });

  it('reads REGENT_PUSH_* variables, flags winning', () => {
    const config = parse(['--pending-max', '5'], {
      REGENT_PUSH_CONSENSUS: '127.0.0.1:1',
      REGENT_PUSH_PENDING_MAX: '9',
      REGENT_PUSH_NATS_USER: 'u',
      REGENT_PUSH_NATS_PASS: 'p',
      REGENT_PUSH_SUBJECT_PREFIX: 'prod.regent',
    });
    expect(config).toMatchObject({
      pendingMax: 5,
      natsUser: 'u',
      natsPass: 'p',
      subjectPrefix: 'prod.regent',
    });
    expect(redacted(config)).toMatchObject({ natsUser: 'u', natsPass: '***' });
  });

  it.each([
    [[]],
    [['--consensus', 'nohost']],
    [['--consensus', '127.0.0.1:1', '--subject-prefix', 'a.*']],
    [['--consensus', '127.0.0.1:1', '--pending-max', '0']],
  ])('rejects %j', (argv) => {
    expect(() => parse(argv)).toThrow(ConfigError);
  });

  it('accepts a token or a user with a password, not both', () => {
    const base = ['--consensus', '127.0.0.1:1'];
    expect(checkCredentials(parse([...base, '--nats-token', 't']))).toBeUndefined();
    expect(checkCredentials(parse([...base, '--nats-user', 'u', '--nats-pass', 'p']))).toBeUndefined();
    expect(checkCredentials(parse([...base, '--nats-token', 't', '--nats-user', 'u']))).toMatch(/excludes/);
    expect(checkCredentials(parse([...base, '--nats-pass', 'p']))).toMatch(/needs --nats-user/);
  });
});
