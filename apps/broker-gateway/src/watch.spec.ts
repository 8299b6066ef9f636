// WatchEvents: the cursor's resume and de-duplication rules, and the proxy resuming on another node when the
// watched node's stream breaks or the node goes away, so the caller sees each committed event once, in order.
import { create } from '@bufbuild/protobuf';
import { Code, ConnectError } from '@connectrpc/connect';
import type { WatchEventsResponse } from '@regent/proto/admin';
import { WatchResponseSchema } from '@regent/proto/consensus';
import { waitFor } from '@regent/testing';
import { type Harness, startHarness, tokens } from './testing/harness.js';
import { WatchCursor } from './watch-proxy.js';

const event = (index: bigint, position = 0) =>
  create(WatchResponseSchema, { item: { case: 'event', value: { index, position } } });
const resync = (index: bigint) => create(WatchResponseSchema, { item: { case: 'resync', value: { index } } });

describe('WatchCursor', () => {
  test('resumes from the start until something was delivered', () => {
    expect(new WatchCursor(0n).resumeIndex()).toBe(0n);
    expect(new WatchCursor(42n).resumeIndex()).toBe(42n);
  });

  test('after an event: resumes at its index (the entry may hold more positions) and skips what was delivered', () => {
    const cursor = new WatchCursor(5n);
    expect(cursor.accept(event(5n, 0))).toBe(true);
    expect(cursor.accept(event(5n, 1))).toBe(true);
    expect(cursor.resumeIndex()).toBe(5n);
    expect(cursor.accept(event(5n, 0))).toBe(false);
    expect(cursor.accept(event(5n, 1))).toBe(false);
    expect(cursor.accept(event(4n, 3))).toBe(false);
    expect(cursor.accept(event(5n, 2))).toBe(true);
    expect(cursor.accept(event(6n, 0))).toBe(true);
  });

  test('after a resync: resumes after its index; every event of that index counts as delivered', () => {
    const cursor = new WatchCursor(0n);
    expect(cursor.accept(resync(9n))).toBe(true);
    expect(cursor.resumeIndex()).toBe(10n);
    expect(cursor.accept(event(9n, 5))).toBe(false);
    expect(cursor.accept(event(10n, 0))).toBe(true);
    expect(cursor.accept(resync(20n))).toBe(true); // a compacted resume delivers a fresh resync
    expect(cursor.resumeIndex()).toBe(21n);
  });
});

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** Reads the watch until `until` holds for what was received; then cancels it. */
async function collect(
  harness: Harness,
  fromIndex: bigint,
  until: (received: WatchEventsResponse[]) => boolean,
  onMessage: (received: WatchEventsResponse[]) => void = () => {},
): Promise<WatchEventsResponse[]> {
  const received: WatchEventsResponse[] = [];
  const stop = new AbortController();
  try {
    for await (const message of harness
      .admin(tokens.admin)
      .watchEvents({ fromIndex }, { signal: stop.signal })) {
      received.push(message);
      onMessage(received);
      if (until(received)) break;
    }
  } finally {
    stop.abort();
  }
  return received;
}

const positions = (received: WatchEventsResponse[]) =>
  received.map((m) =>
    m.item.case === 'event'
      ? `${m.item.value.index}.${m.item.value.position}`
      : `resync@${m.item.value?.index}`,
  );

describe('WatchEvents proxy', () => {
  test("resumes on another node from the last index seen when the leader's stream breaks, without duplicates", async () => {
    h = await startHarness();
    const harness = h;
    await waitFor(() => harness.gateway.ready().ready);
    const [leader, follower] = harness.cluster.nodes;
    harness.cluster.commit(3, 2); // indexes 1..3, two events each
    leader!.watchBreakAfter = 3; // delivers 1.0, 1.1, 2.0, then breaks
    const received = await collect(
      harness,
      1n,
      (r) => r.length === 8,
      (r) => {
        if (r.length === 6) harness.cluster.commit(1, 2); // index 4 arrives while watching the follower
      },
    );
    expect(positions(received)).toEqual(['1.0', '1.1', '2.0', '2.1', '3.0', '3.1', '4.0', '4.1']);
    expect(leader!.watches.map((w) => w.request.fromIndex)).toEqual([1n]);
    expect(follower!.watches.map((w) => w.request.fromIndex)).toEqual([2n]);
  });

  test('from index 0 the resync passes through; after a break the watch resumes after the resync index', async () => {
    h = await startHarness();
    const harness = h;
    await waitFor(() => harness.gateway.ready().ready);
    harness.cluster.commit(2);
    harness.cluster.nodes[0]!.watchBreakAfter = 1; // the resync only
    const received = await collect(
      harness,
      0n,
      (r) => r.length === 2,
      (r) => {
        if (r.length === 1) harness.cluster.commit(1);
      },
    );
    expect(positions(received)).toEqual(['resync@2', '3.0']);
    expect(harness.cluster.nodes[1]!.watches.map((w) => w.request.fromIndex)).toEqual([3n]);
  });

  test('resumes when the watched node goes away', async () => {
    h = await startHarness();
    const harness = h;
    await waitFor(() => harness.gateway.ready().ready);
    const leader = harness.cluster.nodes[0]!;
    harness.cluster.commit(2);
    const received = await collect(
      harness,
      1n,
      (r) => r.length === 3,
      (r) => {
        if (r.length === 2) {
          void leader.stop().then(() => harness.cluster.commit(1));
        }
      },
    );
    expect(positions(received)).toEqual(['1.0', '2.0', '3.0']);
    const resumedOn = harness.cluster.nodes
      .slice(1)
      .flatMap((n) => n.watches.map((w) => w.request.fromIndex));
    expect(resumedOn).toContain(2n);
    await waitFor(async () => (await harness.metric('regent_gateway_active_streams')) === 0, {
      what: 'the cancelled watch to end on the gateway',
    });
  });

  test('draining the gateway ends a watch with UNAVAILABLE', async () => {
    h = await startHarness();
    const harness = h;
    await waitFor(() => harness.gateway.ready().ready);
    harness.cluster.commit(1);
    const error = await collect(
      harness,
      1n,
      () => false,
      () => harness.gateway.drain(),
    ).then(
      () => undefined,
      (e: unknown) => ConnectError.from(e),
    );
    expect(error?.code).toBe(Code.Unavailable);
  });
});
