// Shape checks for a peer message before the core acts on it (the decode side of the boundary). A message that
// fails is an operating error (InvalidMessageError), not a broken invariant of this node.

import { InvalidMessageError } from './errors.js';
import { membershipFromConfState } from './membership.js';
import type { Message, MessageOf } from './messages.js';
import { type Entry, EntryType, type NodeId } from './types.js';

export function validateMessage(m: Message, self: NodeId): void {
  check(isPositive(m.from) && m.from !== self, `bad sender ${m.from}`);
  check(m.to === self, `message for ${m.to} delivered to ${self}`);
  check(isIndex(m.term), `bad term ${m.term}`);
  const validate = validators[m.type] as ((m: Message) => void) | undefined;
  check(validate !== undefined, `unknown message type ${String((m as { type: unknown }).type)}`);
  validate!(m);
}

const validators: { [T in Message['type']]: (m: MessageOf<T>) => void } = {
  VoteRequest: (m) => {
    indexes(m.lastLogIndex, m.lastLogTerm);
    check(m.lastLogTerm <= m.term, `last log term ${m.lastLogTerm} > term ${m.term}`);
  },
  VoteResponse: () => {},
  AppendEntries: validateAppend,
  AppendEntriesResponse: (m) => indexes(m.index, m.rejectHint, m.rejectHintTerm, m.readContext),
  InstallSnapshot: (m) => {
    const { index, term, confState, addresses } = m.snapshot.metadata;
    indexes(index, term);
    check(index > 0 && term > 0 && term <= m.term, `bad snapshot (index ${index}, term ${term})`);
    check(m.snapshot.data instanceof Uint8Array, 'snapshot data is not bytes');
    const membership = membershipFromConfState(confState, addresses);
    check(typeof membership !== 'string', `snapshot membership: ${String(membership)}`);
  },
  InstallSnapshotResponse: (m) => indexes(m.snapshotIndex),
  TimeoutNow: () => {},
  ReadIndexRequest: (m) => indexes(m.readContext),
  ReadIndexResponse: (m) => indexes(m.readContext, m.readIndex),
};

function validateAppend(m: MessageOf<'AppendEntries'>): void {
  indexes(m.prevLogIndex, m.prevLogTerm, m.leaderCommit, m.readContext);
  check(m.prevLogTerm <= m.term, `prev log term ${m.prevLogTerm} > term ${m.term}`);
  let previousTerm = m.prevLogTerm;
  m.entries.forEach((e: Entry, i: number) => {
    check(
      e.index === m.prevLogIndex + 1 + i,
      `entry ${i} has index ${e.index}, want ${m.prevLogIndex + 1 + i}`,
    );
    check(
      isIndex(e.term) && e.term >= previousTerm && e.term <= m.term,
      `entry ${e.index} has bad term ${e.term}`,
    );
    check(isEntryType(e.type), `entry ${e.index} has bad type ${e.type}`);
    check(e.data instanceof Uint8Array, `entry ${e.index} data is not bytes`);
    previousTerm = e.term;
  });
}

function isEntryType(type: number): boolean {
  return type === EntryType.Normal || type === EntryType.ConfChange || type === EntryType.Noop;
}

function indexes(...values: number[]): void {
  for (const v of values) check(isIndex(v), `bad index ${v}`);
}

function isIndex(v: number): boolean {
  return Number.isSafeInteger(v) && v >= 0;
}

function isPositive(v: number): boolean {
  return Number.isSafeInteger(v) && v > 0;
}

function check(condition: boolean, message: string): void {
  if (!condition) throw new InvalidMessageError(message);
}
