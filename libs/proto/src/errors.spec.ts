import { Code, ConnectError } from '@connectrpc/connect';
import { describe, expect, it } from 'vitest';
import { conditionTable, connectErrorOf, readControllerError } from './errors.js';
import { ControllerCondition } from './gen/regent/common/v1/common_pb.js';

describe('controller errors', () => {
  it('maps every condition, with RocketMQ codes 2000..2016 in order', () => {
    const values = Object.values(ControllerCondition).filter((v): v is number => typeof v === 'number');
    for (const v of values) expect(conditionTable[v as ControllerCondition]).toBeDefined();
    for (let i = 1; i <= 17; i++)
      expect(conditionTable[i as ControllerCondition].rocketmqCode).toBe(1999 + i);
  });

  it('carries the condition and leader in the details and survives a wire round trip', () => {
    const error = connectErrorOf(ControllerCondition.NOT_LEADER, 'node 2 is not the leader', {
      leader: { nodeId: 1n, address: '127.0.0.1:7101' } as never,
    });
    expect(error.code).toBe(Code.Unavailable);
    const wire = new ConnectError(error.rawMessage, error.code, undefined, error.details as never);
    const detail = readControllerError(wire);
    expect(detail?.condition).toBe(ControllerCondition.NOT_LEADER);
    expect(detail?.rocketmqCode).toBe(2007);
    expect(detail?.leader?.address).toBe('127.0.0.1:7101');
    expect(readControllerError(new Error('plain'))).toBeUndefined();
  });
});
