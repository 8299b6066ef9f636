import { describe, expect, it } from 'vitest';
import { spawnProcess, startNatsServer, waitFor } from './process.js';

describe('process harness', () => {
  it('starts and stops a private nats-server', async () => {
    const nats = await startNatsServer();
    expect(nats.url).toMatch(/^nats:\/\/127\.0\.0\.1:\d+$/);
    await nats.stop();
    expect(nats.process.child.exitCode !== null || nats.process.child.signalCode !== null).toBe(true);
  });

  it('waitFor times out with the description', async () => {
    await expect(waitFor(() => false, { timeoutMs: 50, what: 'never' })).rejects.toThrow(/never/);
  });

  it('kill -9 reports the signal', async () => {
    const p = spawnProcess('sleep', 'sleep', ['30']);
    expect(await p.kill()).toBe('SIGKILL');
  });
});
