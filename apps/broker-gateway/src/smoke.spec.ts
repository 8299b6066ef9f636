import { startHarness, tokens } from './testing/harness.js';
import { waitFor } from '@regent/testing';

test('smoke', async () => {
  const h = await startHarness();
  try {
    await waitFor(() => h.gateway.ready().ready, { timeoutMs: 5000 });
    const res = await h.broker(tokens.brokerA).getNextBrokerId({ clusterName: 'cluster-a', brokerName: 'b1' });
    expect(res.nextBrokerId).toBe(1n);
    const md = await h.admin(tokens.admin).getClusterStatus({});
    console.log(md.nodes.map((n) => `${n.address} ${n.role}`));
  } finally {
    await h.close();
  }
});
