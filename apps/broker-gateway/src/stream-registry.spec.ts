// The newest-stream rule behind stream suspicions (RocketMQ issue #11045).
import { StreamRegistry } from './stream-registry.js';

const broker = { clusterName: 'c', brokerName: 'b', brokerId: 1n };
const other = { clusterName: 'c', brokerName: 'b', brokerId: 2n };
const stream = (openedSequence: bigint) => ({ streamId: `gw/${openedSequence}`, openedSequence });

describe('StreamRegistry', () => {
  test("the close of a broker's only stream is a suspicion, once", () => {
    const registry = new StreamRegistry();
    registry.observe(broker, stream(10n));
    expect(registry.close(broker, stream(10n))).toBe(true);
    expect(registry.close(broker, stream(10n))).toBe(false);
    expect(registry.size).toBe(0);
  });

  test('an older stream closing after a newer one opened is not a suspicion; the newer one still is', () => {
    const registry = new StreamRegistry();
    registry.observe(broker, stream(10n));
    registry.observe(broker, stream(11n));
    expect(registry.close(broker, stream(10n))).toBe(false);
    expect(registry.close(broker, stream(11n))).toBe(true);
  });

  test('streams are ordered by when they opened, not by when their first heartbeat arrived', () => {
    const registry = new StreamRegistry();
    registry.observe(broker, stream(11n));
    registry.observe(broker, stream(10n)); // opened earlier, first heartbeat later
    expect(registry.close(broker, stream(10n))).toBe(false);
    expect(registry.close(broker, stream(11n))).toBe(true);
  });

  test('brokers are independent', () => {
    const registry = new StreamRegistry();
    registry.observe(broker, stream(10n));
    registry.observe(other, stream(11n));
    expect(registry.close(broker, stream(10n))).toBe(true);
    expect(registry.close(other, stream(11n))).toBe(true);
  });

  test('a stream that carried no heartbeat is unknown', () => {
    expect(new StreamRegistry().close(broker, stream(1n))).toBe(false);
  });
});
