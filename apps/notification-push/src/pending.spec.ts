import { create } from '@bufbuild/protobuf';
import { RoleChangeNotificationSchema } from '@regent/proto/notify';
import { describe, expect, it } from 'vitest';
import { AssertionError } from './assert.js';
import type { Cursor } from './cursor.js';
import { type PendingItem, PendingQueue } from './pending.js';

function item(index: bigint): PendingItem {
  return {
    notification: {
      subject: 'regent.c.b.role',
      message: create(RoleChangeNotificationSchema, { raftIndex: index }),
      decidedAtUnixMs: undefined,
    },
    receivedAtMs: 0,
    cursorAfter: { index, position: 0 },
  };
}

describe('PendingQueue', () => {
  it('is a FIFO bounded by max that refuses to grow past it', () => {
    const q = new PendingQueue(3);
    for (const i of [1n, 2n, 3n]) q.push(item(i));
    expect(q.full).toBe(true);
    expect(() => q.push(item(4n))).toThrow(AssertionError);
    expect(q.peek(2).map((p) => p.notification.message.raftIndex)).toEqual([1n, 2n]);
    q.drop(2);
    expect(q.size).toBe(1);
    expect(q.peek(5).map((p) => p.notification.message.raftIndex)).toEqual([3n]);
    expect(() => q.drop(2)).toThrow(AssertionError);
  });

  it('moves only the tail cursor forward, and says when it is empty', () => {
    const q = new PendingQueue(4);
    const next: Cursor = { index: 5n };
    expect(q.advanceTail(next)).toBe(false);
    q.push(item(1n));
    q.push(item(2n));
    expect(q.advanceTail({ index: 4n, position: 1 })).toBe(true);
    expect(q.peek(2).map((p) => p.cursorAfter)).toEqual([
      { index: 1n, position: 0 },
      { index: 4n, position: 1 },
    ]);
    expect(() => q.advanceTail({ index: 3n })).toThrow(AssertionError);
    expect(() => q.push(item(3n))).toThrow(AssertionError);
  });

  it('keeps order across many pushes and drops (internal compaction)', () => {
    const q = new PendingQueue(100);
    let next = 0n;
    let expected = 0n;
    for (let round = 0; round < 200; round++) {
      while (!q.full) q.push(item(next++));
      const batch = q.peek(37);
      for (const p of batch) expect(p.notification.message.raftIndex).toBe(expected++);
      q.drop(batch.length);
    }
    expect(q.size).toBeLessThanOrEqual(100);
  });
});
