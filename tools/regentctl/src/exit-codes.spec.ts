import { Code, ConnectError } from '@connectrpc/connect';
import { connectErrorOf } from '@regent/proto';
import { ControllerCondition } from '@regent/proto/common';
import { CommanderError, InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import {
  describeError,
  ExitCode,
  errorReportOf,
  exitCodeOf,
  RefusedError,
  UsageError,
} from './exit-codes.js';

const C = ControllerCondition;

describe('exitCodeOf', () => {
  it.each([
    ['a controller condition', connectErrorOf(C.ELECT_MASTER_FAILED, 'no candidate'), ExitCode.Refused],
    ['a fenced epoch', connectErrorOf(C.FENCED_MASTER_EPOCH, 'stale'), ExitCode.Refused],
    ['an invalid policy', connectErrorOf(C.INVALID_POLICY, 'bad cel'), ExitCode.Refused],
    ['a forbidden config key', connectErrorOf(C.CONFIG_KEY_FORBIDDEN, 'no'), ExitCode.Refused],
    ['a plain invalid argument', new ConnectError('x', Code.InvalidArgument), ExitCode.Refused],
    ['not found', new ConnectError('x', Code.NotFound), ExitCode.Refused],
    ['unauthenticated', new ConnectError('x', Code.Unauthenticated), ExitCode.Unauthorized],
    ['permission denied', new ConnectError('x', Code.PermissionDenied), ExitCode.Unauthorized],
    ['unavailable', new ConnectError('x', Code.Unavailable), ExitCode.Unavailable],
    ['not leader', connectErrorOf(C.NOT_LEADER, 'moved'), ExitCode.Unavailable],
    ['a timeout condition', connectErrorOf(C.TIMEOUT, 'slow'), ExitCode.Unavailable],
    ['deadline exceeded', new ConnectError('x', Code.DeadlineExceeded), ExitCode.Unavailable],
    ['overloaded', connectErrorOf(C.OVERLOADED, 'busy'), ExitCode.Unavailable],
    ['a usage error', new UsageError('bad'), ExitCode.Usage],
    ['a commander parse error', new InvalidArgumentError('bad'), ExitCode.Usage],
    ['help', new CommanderError(0, 'commander.helpDisplayed', '(outputHelp)'), ExitCode.Ok],
    ['a bare socket error', Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }), ExitCode.Unavailable],
    [
      'a wrapped refusal',
      new ConnectError(
        'x',
        Code.Unknown,
        undefined,
        undefined,
        Object.assign(new Error('c'), { code: 'ECONNREFUSED' }),
      ),
      ExitCode.Unavailable,
    ],
    ['a bug', new TypeError('x is undefined'), ExitCode.Refused],
    ['a missing group', new RefusedError('no g9', C.BROKER_METADATA_NOT_EXIST), ExitCode.Refused],
  ])('maps %s', (_, error, code) => {
    expect(exitCodeOf(error)).toBe(code);
  });
});

describe('describeError', () => {
  it('names the condition and its RocketMQ code', () => {
    expect(describeError(connectErrorOf(C.ELECT_MASTER_FAILED, 'no live candidate in g1'))).toBe(
      'ELECT_MASTER_FAILED (RocketMQ 2012): no live candidate in g1',
    );
  });

  it('adds the leader hint and the field', () => {
    const notLeader = connectErrorOf(C.NOT_LEADER, 'not the leader', {
      leader: { $typeName: 'regent.common.v1.NodeRef', nodeId: 2n, address: '127.0.0.1:7102' },
    });
    expect(describeError(notLeader)).toBe(
      'NOT_LEADER (RocketMQ 2007): not the leader [leader 2 at 127.0.0.1:7102]',
    );
    expect(
      errorReportOf(connectErrorOf(C.INVALID_POLICY, 'undeclared c.foo', { field: 'rules.filter' })),
    ).toEqual({
      code: 'invalid_argument',
      condition: 'INVALID_POLICY',
      message: 'undeclared c.foo',
      field: 'rules.filter',
    });
  });

  it('falls back to the Connect code and hints at the token', () => {
    expect(describeError(new ConnectError('unknown token', Code.Unauthenticated))).toBe(
      'unauthenticated: unknown token (pass --token or set REGENT_ADMIN_TOKEN)',
    );
    expect(describeError(new ConnectError('down', Code.FailedPrecondition))).toBe(
      'failed_precondition: down',
    );
  });
});
