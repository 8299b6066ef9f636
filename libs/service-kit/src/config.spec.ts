import { describe, expect, it } from 'vitest';
import { ConfigError, option, parseConfig, validateAddress } from './config.js';

const schema = {
  nodeId: option.int({ description: 'node id', min: 1, required: true }),
  host: option.string({ description: 'host', default: '127.0.0.1' }),
  peers: option.list({ description: 'peers', default: [] }),
  verbose: option.bool({ description: 'verbose', default: false }),
  listen: option.string({ description: 'listen', default: '127.0.0.1:1', validate: validateAddress }),
};
const base = { envPrefix: 'T', program: 't', summary: 's' };

describe('parseConfig', () => {
  it('applies flag > env > default precedence', () => {
    const { config } = parseConfig(schema, {
      ...base,
      argv: ['--node-id', '3', '--verbose'],
      env: { T_HOST: 'h' },
    });
    expect(config).toEqual({ nodeId: 3, host: 'h', peers: [], verbose: true, listen: '127.0.0.1:1' });
    const { config: c2 } = parseConfig(schema, {
      ...base,
      argv: ['--node-id=4', '--host', 'x'],
      env: { T_HOST: 'h' },
    });
    expect(c2?.host).toBe('x');
    expect(Object.isFrozen(c2)).toBe(true);
  });

  it('splits lists and rejects bad values with a message naming the option', () => {
    const { config } = parseConfig(schema, { ...base, argv: ['--node-id', '1', '--peers', 'a,b'], env: {} });
    expect(config?.peers).toEqual(['a', 'b']);
    expect(() => parseConfig(schema, { ...base, argv: ['--node-id', 'x'], env: {} })).toThrow(
      /nodeId.*integer/,
    );
    expect(() => parseConfig(schema, { ...base, argv: ['--node-id', '0'], env: {} })).toThrow(/minimum/);
    expect(() => parseConfig(schema, { ...base, argv: [], env: {} })).toThrow(ConfigError);
    expect(() => parseConfig(schema, { ...base, argv: ['--nope', '1'], env: {} })).toThrow(
      /unknown option --nope/,
    );
    expect(() =>
      parseConfig(schema, { ...base, argv: ['--node-id', '1', '--listen', 'bad'], env: {} }),
    ).toThrow(/host:port/);
  });

  it('returns help text listing flags and env names', () => {
    const { help } = parseConfig(schema, { ...base, argv: ['--help'], env: {} });
    expect(help).toContain('--node-id <value>');
    expect(help).toContain('env T_NODE_ID');
  });
});
