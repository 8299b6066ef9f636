// Registration (§3.2): crash between every pair of steps, restart over the same directory, end registered with one
// id — and the controller never sees two ids taken by the broker.
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Code, ConnectError } from '@connectrpc/connect';
import { waitFor } from '@regent/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createBrokerAgent } from './agent.js';
import type { BrokerAgent } from './agent-api.js';
import { IdentityFileError, IdentityMismatchError, RegistrationRejectedError } from './errors.js';
import { IDENTITY_FILE_NAME, TEMP_IDENTITY_FILE_NAME } from './identity-files.js';
import {
  REGISTRATION_STEPS,
  type RegistrationParams,
  type RegistrationStep,
  registerBroker,
} from './registration.js';
import { FakeBrokerService, SettableStore } from './testing.js';

class SimulatedCrash extends Error {
  override readonly name = 'SimulatedCrash';
}

const crashAt = (target: RegistrationStep) => ({
  afterStep: (step: RegistrationStep) => {
    if (step === target) throw new SimulatedCrash(`crash after ${step}`);
  },
});

let dir: string;
let fake: FakeBrokerService;
const agents: BrokerAgent[] = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'regent-registration-'));
  fake = new FakeBrokerService();
});
afterEach(async () => {
  for (const a of agents.splice(0)) await a.stop();
  await rm(dir, { recursive: true, force: true });
});

const params = (over: Partial<RegistrationParams> = {}): RegistrationParams => ({
  clusterName: 'c1',
  brokerName: 'broker-a',
  brokerAddress: '127.0.0.1:10911',
  dataDir: dir,
  rpcTimeoutMs: 1000,
  restartWhenForgotten: true,
  ...over,
});
let clockMs = 1_700_000_000_000;
const deps = (hooks?: ReturnType<typeof crashAt>) => ({
  client: fake.client(),
  // A new millisecond per call: a restarted broker that negotiates again makes a new check code.
  clock: { nowMs: () => clockMs++, setTimer: () => () => {} },
  hooks,
});

function agentOver(dataDir: string, hooks?: ReturnType<typeof crashAt>): BrokerAgent {
  const agent = createBrokerAgent(
    {
      clusterName: 'c1',
      brokerName: 'broker-a',
      brokerAddress: '127.0.0.1:10911',
      dataDir,
      syncBrokerMetadataPeriodMs: 50,
      registerRetryMinMs: 5,
      registerRetryMaxMs: 20,
    },
    { brokerService: fake.client(), store: new SettableStore(), registrationHooks: hooks },
  );
  agents.push(agent);
  return agent;
}

describe('registration crash safety', () => {
  it.each(REGISTRATION_STEPS)('agent crashing after %s restarts into one registered id', async (step) => {
    const crashed = agentOver(dir, crashAt(step));
    await crashed.start();
    const failure = await crashed.closed();
    expect(failure).toBeInstanceOf(SimulatedCrash);
    expect(crashed.isFenced()).toBe(true);

    const restarted = agentOver(dir);
    await restarted.start();
    await waitFor(() => restarted.status().role === 'master', { what: 'the restarted broker to be master' });
    const id = restarted.identity()?.brokerId;
    expect(id).toBe(1n);
    expect(fake.idsClaimedBy('broker-a', '127.0.0.1:10911')).toEqual([1n]);
    expect(fake.claims).toHaveLength(1);
    expect(await readdir(dir)).toEqual([IDENTITY_FILE_NAME]);
    expect(await readFile(join(dir, IDENTITY_FILE_NAME), 'utf8')).toBe('c1#broker-a#1');
  });

  it('survives a crash at every step in turn (one restart per step) with a single claim', async () => {
    for (const step of REGISTRATION_STEPS) {
      await expect(registerBroker(params(), deps(crashAt(step)))).rejects.toBeInstanceOf(SimulatedCrash);
    }
    const done = await registerBroker(params(), deps());
    expect(done.identity.brokerId).toBe(1n);
    expect(fake.idsClaimedBy('broker-a', '127.0.0.1:10911')).toEqual([1n]);
  });

  it('re-applies the same check code when the ApplyBrokerId reply was lost', async () => {
    let lose = true;
    fake.before = async (method, request) => {
      if (method !== 'applyBrokerId' || !lose) return;
      lose = false;
      await fake.impl.applyBrokerId(request as never, undefined as never);
      throw new ConnectError('reply lost', Code.Unavailable);
    };
    await expect(registerBroker(params(), deps())).rejects.toMatchObject({ code: Code.Unavailable });
    expect(await readdir(dir)).toEqual([TEMP_IDENTITY_FILE_NAME]);
    const done = await registerBroker(params(), deps());
    expect(done.identity.brokerId).toBe(1n);
    expect(fake.claims).toHaveLength(1);
  });

  it('two brokers racing for id 1: the loser starts over and takes id 2', async () => {
    const dirB = await mkdtemp(join(tmpdir(), 'regent-registration-b-'));
    try {
      const [a, b] = await Promise.allSettled([
        registerBroker(params(), deps()),
        registerBroker(params({ dataDir: dirB, brokerAddress: '127.0.0.1:10912' }), deps()),
      ]);
      const failed = [a, b].find((r) => r.status === 'rejected');
      expect(failed?.status === 'rejected' && failed.reason).toBeInstanceOf(RegistrationRejectedError);
      const retry =
        a.status === 'rejected'
          ? registerBroker(params(), deps())
          : registerBroker(params({ dataDir: dirB, brokerAddress: '127.0.0.1:10912' }), deps());
      expect((await retry).identity.brokerId).toBe(2n);
      expect(fake.idsClaimedBy('broker-a', '127.0.0.1:10911')).toHaveLength(1);
      expect(fake.idsClaimedBy('broker-a', '127.0.0.1:10912')).toHaveLength(1);
    } finally {
      await rm(dirB, { recursive: true, force: true });
    }
  });
});

describe('registering again', () => {
  it('an unexpected failure while registering again terminates the agent, as in the first registration', async () => {
    let armed = false;
    const agent = agentOver(dir, {
      afterStep: (step) => {
        if (armed) throw new SimulatedCrash(`crash after ${step}`);
      },
    });
    await agent.start();
    await waitFor(() => agent.status().role === 'master', { what: 'master' });
    armed = true;
    fake.groups.delete('broker-a'); // CleanBrokerData: the next poll sees BROKER_METADATA_NOT_EXIST
    const failure = await agent.closed();
    expect(failure).toBeInstanceOf(SimulatedCrash);
    expect(agent.isFenced()).toBe(true);
    expect(agent.status().phase).toBe('failed');
  });
});

describe('identity validation', () => {
  it('refuses to start over an identity of another group (permanent, typed)', async () => {
    await writeFile(join(dir, IDENTITY_FILE_NAME), 'c1#broker-b#3');
    await expect(agentOver(dir).start()).rejects.toBeInstanceOf(IdentityMismatchError);
    await writeFile(join(dir, IDENTITY_FILE_NAME), 'c2#broker-a#3');
    await expect(registerBroker(params(), deps())).rejects.toBeInstanceOf(IdentityMismatchError);
    expect(fake.calls).toEqual([]);
  });

  it('refuses a temp identity of another cluster and a corrupt identity file', async () => {
    await writeFile(join(dir, TEMP_IDENTITY_FILE_NAME), 'c9#broker-a#1#127.0.0.1:1;5');
    await expect(registerBroker(params(), deps())).rejects.toBeInstanceOf(IdentityMismatchError);
    await rm(join(dir, TEMP_IDENTITY_FILE_NAME));
    await writeFile(join(dir, IDENTITY_FILE_NAME), 'c1#broker-a#zero');
    await expect(registerBroker(params(), deps())).rejects.toBeInstanceOf(IdentityFileError);
  });

  it('a CLUSTER_MISMATCH refusal terminates the agent fenced', async () => {
    await registerBroker(params({ clusterName: 'other' }), deps());
    await rm(join(dir, IDENTITY_FILE_NAME));
    const agent = agentOver(dir);
    await agent.start();
    const failure = await agent.closed();
    expect(failure).toBeInstanceOf(RegistrationRejectedError);
    expect((failure as RegistrationRejectedError).permanent).toBe(true);
    expect(agent.status().fenceReason).toBe('registration-failed');
  });

  it('starts over when the controller forgot the id (group cleaned)', async () => {
    await writeFile(join(dir, IDENTITY_FILE_NAME), 'c1#broker-a#5');
    await expect(registerBroker(params(), deps())).rejects.toMatchObject({ permanent: false });
    expect(await readdir(dir)).toEqual([]);
    expect((await registerBroker(params(), deps())).identity.brokerId).toBe(1n);
  });
});
