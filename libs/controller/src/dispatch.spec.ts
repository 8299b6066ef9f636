import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { create } from '@bufbuild/protobuf';
import { ControllerCondition } from '@regent/proto/common';
import { ControllerCommandSchema } from '@regent/proto/consensus';
import { handleCommand } from './dispatch.js';
import { commands, errorOf, Harness, testValidatePolicy } from './testing.js';

describe('handleCommand', () => {
  it('answers an empty command with INVALID_ARGUMENT', () => {
    const h = new Harness();
    const outcome = handleCommand(h.state, create(ControllerCommandSchema, {}), h.view(), {
      validatePolicy: testValidatePolicy,
    });
    if (outcome.kind !== 'result') throw new Error('expected a result');
    expect(errorOf(outcome.reply)).toMatchObject({
      condition: ControllerCondition.INVALID_ARGUMENT,
      field: 'command',
    });
  });

  it('answers every command case with the same reply case (or an error)', () => {
    const h = new Harness();
    h.registerGroup('a', 2);
    const all = [
      commands.getNextBrokerId('a'),
      commands.applyBrokerId('a', 3n, 'x:3;1'),
      commands.registerBroker('a', 1n, 'a-1:10911'),
      commands.electMaster('a', 1n),
      commands.alterSyncStateSet('a', { masterBrokerId: 1n, masterEpoch: 1, brokerIds: [1n, 2n], epoch: 1 }),
      commands.getReplicaInfo('a'),
      commands.getSyncStateData(['a']),
      commands.adminElectMaster('a', 2n),
      commands.cleanBrokerData('a', [3n], true),
      commands.updateControllerConfig({ notifyBrokerRoleChanged: 'false' }),
      commands.setElectionPolicy('DefaultCluster', '', undefined),
      commands.adminGetSyncStateData([]),
      commands.getBrokerLiveness(),
      commands.getControllerConfig(),
      commands.getElectionPolicy('DefaultCluster', 'a'),
      commands.getElectionAudit('DefaultCluster', 'a'),
    ];
    expect(new Set(all.map((c) => c.command.case)).size).toBe(16);
    for (const c of all) expect(h.submit(c).reply.case).toBe(c.command.case);
  });
});

describe('purity (libs/controller is a pure core)', () => {
  it('uses no node:* import, timer, clock, randomness or async outside tests', () => {
    const dir = import.meta.dirname;
    const files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter(
      (f) => f.endsWith('.ts') && !f.endsWith('.spec.ts'),
    );
    expect(files.length).toBeGreaterThan(10);
    const forbidden = [
      /from 'node:/,
      /\bDate\b/,
      /Math\.random/,
      /\bset(Timeout|Interval|Immediate)\b/,
      /\basync\b/,
      /\bawait\b/,
    ];
    for (const file of files) {
      const text = readFileSync(join(dir, file), 'utf8').replace(/\/\/.*$/gm, '');
      for (const pattern of forbidden)
        expect({ file, hit: pattern.test(text) }).toEqual({ file, hit: false });
    }
  });
});
