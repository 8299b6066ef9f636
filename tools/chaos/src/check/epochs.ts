// Epochs never go back. A group's version is (masterEpoch, syncStateSetEpoch), ordered lexicographically; every
// change of the group raises it. Checked (1) per observer: each client's answers in its own (sequential) order;
// (2) across observers in real time: an answer that arrived before another operation was invoked is not newer
// than that operation's answer; (3) per NATS subscriber in Raft-index order (delivery may duplicate and resume
// from an older position, so arrival order is not checked), where one index must always show one view.
import { sameView } from './model.js';
import type { GroupView, ObservedNotification, Operation, Violation } from './types.js';
import { groupBy } from './util.js';

export function compareVersions(a: GroupView, b: GroupView): number {
  if (a.masterEpoch !== b.masterEpoch) return a.masterEpoch < b.masterEpoch ? -1 : 1;
  if (a.syncStateSetEpoch !== b.syncStateSetEpoch) return a.syncStateSetEpoch < b.syncStateSetEpoch ? -1 : 1;
  return 0;
}

function versionText(v: GroupView): string {
  return `(masterEpoch ${v.masterEpoch}, syncStateSetEpoch ${v.syncStateSetEpoch})`;
}

interface Answered {
  readonly op: Operation;
  readonly view: GroupView;
}

function answered(ops: readonly Operation[]): Answered[] {
  const out: Answered[] = [];
  for (const op of ops)
    if (op.output.type === 'ok' && op.output.view !== undefined) out.push({ op, view: op.output.view });
  return out;
}

function perObserver(list: readonly Answered[], violations: Violation[]): void {
  const last = new Map<string, Answered>();
  for (const a of [...list].sort((x, y) => x.op.invokeMs - y.op.invokeMs)) {
    const key = `${a.op.client}\u0000${a.op.group}`;
    const before = last.get(key);
    if (
      before !== undefined &&
      before.op.returnMs <= a.op.invokeMs &&
      compareVersions(a.view, before.view) < 0
    ) {
      violations.push({
        checker: 'monotonic-epochs',
        group: a.op.group,
        message: `${a.op.client} saw ${versionText(a.view)} after ${versionText(before.view)}`,
        operationIds: [before.op.id, a.op.id],
      });
    }
    if (before === undefined || compareVersions(a.view, before.view) >= 0) last.set(key, a);
  }
}

function realTime(list: readonly Answered[], violations: Violation[]): void {
  for (const [group, items] of groupBy(list, (a) => a.op.group)) {
    const byReturn = [...items].sort((x, y) => x.op.returnMs - y.op.returnMs);
    const byInvoke = [...items].sort((x, y) => x.op.invokeMs - y.op.invokeMs);
    let newest: Answered | undefined;
    let r = 0;
    for (const b of byInvoke) {
      while (r < byReturn.length && byReturn[r]!.op.returnMs < b.op.invokeMs) {
        const a = byReturn[r++]!;
        if (newest === undefined || compareVersions(a.view, newest.view) > 0) newest = a;
      }
      if (newest !== undefined && compareVersions(b.view, newest.view) < 0) {
        violations.push({
          checker: 'monotonic-epochs',
          group,
          message:
            `${b.op.client}'s ${b.op.input.kind} saw ${versionText(b.view)} although ${newest.op.client}'s ` +
            `${newest.op.input.kind} had seen ${versionText(newest.view)} before it was invoked`,
          operationIds: [newest.op.id, b.op.id],
        });
      }
    }
  }
}

function notificationsByIndex(notifications: readonly ObservedNotification[], violations: Violation[]): void {
  for (const list of groupBy(notifications, (n) => `${n.observer}\u0000${n.group}`).values()) {
    const sorted = [...list].sort((a, b) => a.raftIndex - b.raftIndex || a.atMs - b.atMs);
    for (let i = 1; i < sorted.length; i++) {
      const a = sorted[i - 1]!;
      const b = sorted[i]!;
      const sameIndexDiffers = a.raftIndex === b.raftIndex && !sameView(a.view, b.view);
      if (sameIndexDiffers || compareVersions(b.view, a.view) < 0) {
        violations.push({
          checker: 'monotonic-epochs',
          group: b.group,
          message:
            `${b.observer}: notification at raft index ${b.raftIndex} shows ${versionText(b.view)}, ` +
            `index ${a.raftIndex} showed ${versionText(a.view)}`,
        });
      }
    }
  }
}

export function checkMonotonicEpochs(
  ops: readonly Operation[],
  notifications: readonly ObservedNotification[],
): { readonly violations: Violation[] } {
  const violations: Violation[] = [];
  const list = answered(ops);
  perObserver(list, violations);
  realTime(list, violations);
  notificationsByIndex(notifications, violations);
  return { violations };
}
