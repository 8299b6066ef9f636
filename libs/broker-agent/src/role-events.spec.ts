import { describe, expect, it } from 'vitest';
import { type RoleEvent, RoleEventHub, TooManySubscribersError } from './role-events.js';

const master = (masterEpoch: number): RoleEvent => ({
  type: 'became-master',
  masterEpoch,
  syncStateSet: [1n],
  syncStateSetEpoch: 1,
});

describe('RoleEventHub', () => {
  it('starts each subscriber at the current state and delivers in order', async () => {
    let current: RoleEvent = { type: 'fenced', reason: 'starting' };
    const hub = new RoleEventHub({ bufferMax: 8, subscribersMax: 2 }, () => current);
    const it1 = hub.subscribe();
    current = master(1);
    hub.publish(current);
    expect((await it1.next()).value).toEqual({ type: 'fenced', reason: 'starting' });
    expect((await it1.next()).value).toEqual(master(1));
    hub.close();
    expect((await it1.next()).done).toBe(true);
  });

  it('replaces an overflowing queue by the current state and counts the dropped events', async () => {
    let current: RoleEvent = master(1);
    const hub = new RoleEventHub({ bufferMax: 3, subscribersMax: 1 }, () => current);
    const sub = hub.subscribe(); // queue: [master 1]
    for (let epoch = 2; epoch <= 5; epoch++) {
      current = master(epoch);
      hub.publish(current);
    }
    // master 1, 2, 3 filled the queue; publishing 4 replaced them by the current state (4); 5 was appended.
    expect(hub.droppedCount).toBe(3);
    const seen: RoleEvent[] = [];
    hub.close();
    for await (const e of sub) seen.push(e);
    expect(seen).toEqual([master(4), master(5)]);
  });

  it('bounds the number of subscribers and frees a slot on return()', async () => {
    const hub = new RoleEventHub({ bufferMax: 1, subscribersMax: 1 }, () => master(1));
    const sub = hub.subscribe();
    expect(() => hub.subscribe()).toThrow(TooManySubscribersError);
    await sub.return?.();
    expect(() => hub.subscribe()).not.toThrow();
  });
});
