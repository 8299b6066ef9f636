// What "nothing changed" means for fuzz and security tests: the controller state as the admin API shows it, and
// every consensus node's Raft position. Plus a health check of every process of a System.
import { toJsonString } from '@bufbuild/protobuf';
import {
  GetBrokerLivenessResponseSchema,
  GetControllerConfigResponseSchema,
  GetElectionAuditResponseSchema,
  GetElectionPolicyResponseSchema,
  GetSyncStateDataResponseSchema,
} from '@regent/proto/admin';
import { waitFor } from '@regent/testing';
import { CLUSTER, type System } from './system.js';

export interface RaftPosition {
  readonly nodeId: bigint;
  readonly term: bigint;
  readonly commitIndex: bigint;
  readonly lastIndex: bigint;
}

export interface ObservedState {
  /** Controller state through AdminService reads (liveness without the ever-changing heartbeat ages). */
  readonly controller: Record<string, string>;
  readonly raft: readonly RaftPosition[];
}

/** Reads the state once every node has applied the same commit index (bounded wait). */
export async function observeState(system: System, clusterName = CLUSTER): Promise<ObservedState> {
  const admin = system.adminClient();
  const raft = await waitFor(
    async () => {
      const status = await admin.getClusterStatus({});
      const nodes = status.nodes.filter((n) => n.role !== 'unreachable');
      const settled =
        nodes.length === system.nodes.length &&
        nodes.every((n) => n.commitIndex === nodes[0]!.commitIndex && n.appliedIndex === n.commitIndex);
      return settled
        ? nodes
            .map((n) => ({
              nodeId: n.nodeId,
              term: n.term,
              commitIndex: n.commitIndex,
              lastIndex: n.lastIndex,
            }))
            .sort((a, b) => Number(a.nodeId - b.nodeId))
        : undefined;
    },
    { timeoutMs: 15_000, what: 'every consensus node at the same applied commit index' },
  );
  const [sync, config, policy, audit, liveness] = await Promise.all([
    admin.getSyncStateData({}),
    admin.getControllerConfig({}),
    admin.getElectionPolicy({ clusterName }),
    admin.getElectionAudit({ clusterName }),
    admin.getBrokerLiveness({}),
  ]);
  for (const broker of liveness.brokers) broker.lastHeartbeatAgeMs = 0n;
  liveness.answeringNodeId = 0n;
  return {
    controller: {
      syncStateData: toJsonString(GetSyncStateDataResponseSchema, sync),
      config: toJsonString(GetControllerConfigResponseSchema, config),
      policy: toJsonString(GetElectionPolicyResponseSchema, policy),
      audit: toJsonString(GetElectionAuditResponseSchema, audit),
      liveness: toJsonString(GetBrokerLivenessResponseSchema, liveness),
    },
    raft,
  };
}

/**
 * Problems between two observations: any controller difference; and, when no node changed term, any change of a
 * node's commit or last index (a refused request must not append a log entry). A term change (an election under
 * load) appends the new leader's no-op, so then only `controllerEventsBetween` can tell.
 */
export function stateDifferences(before: ObservedState, after: ObservedState): string[] {
  const problems: string[] = [];
  for (const [key, value] of Object.entries(before.controller)) {
    if (after.controller[key] !== value)
      problems.push(`${key} changed:\n  before ${value}\n  after  ${after.controller[key]}`);
  }
  if (termsChanged(before, after)) return problems;
  for (const b of before.raft) {
    const a = after.raft.find((n) => n.nodeId === b.nodeId);
    if (a === undefined) problems.push(`node ${b.nodeId} missing after`);
    else if (a.commitIndex !== b.commitIndex || a.lastIndex !== b.lastIndex) {
      problems.push(
        `node ${b.nodeId}: commit ${b.commitIndex} → ${a.commitIndex}, last ${b.lastIndex} → ${a.lastIndex} in term ${b.term}`,
      );
    }
  }
  return problems;
}

export function termsChanged(before: ObservedState, after: ObservedState): boolean {
  return before.raft.some((b) => after.raft.find((a) => a.nodeId === b.nodeId)?.term !== b.term);
}

/** Controller events committed after `before` up to `after` (read with WatchEvents; bounded wait). */
export async function controllerEventsBetween(
  system: System,
  before: ObservedState,
  after: ObservedState,
): Promise<string[]> {
  const from = before.raft[0]!.commitIndex + 1n;
  const to = after.raft[0]!.commitIndex;
  if (to < from) return [];
  const events: string[] = [];
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), 3000);
  try {
    for await (const message of system
      .adminClient()
      .watchEvents({ fromIndex: from }, { signal: abort.signal })) {
      if (message.item.case === 'resync') {
        events.push(`resync at ${message.item.value.index} (the log was compacted; cannot tell)`);
        break;
      }
      if (message.item.case !== 'event') continue;
      if (message.item.value.index > to) break;
      events.push(`${message.item.value.index}: ${message.item.value.event?.event.case ?? 'unknown event'}`);
    }
  } catch (error) {
    if (!abort.signal.aborted) throw error;
  } finally {
    clearTimeout(timer);
  }
  return events;
}

/** Every process of the system runs and answers /healthz. */
export async function healthProblems(system: System): Promise<string[]> {
  const problems: string[] = [];
  const processes = [
    ...system.nodes.map((n) => ({ proc: n.proc, url: `http://127.0.0.1:${n.port}/healthz` })),
    ...system.gateways.map((g) => ({ proc: g.proc, url: `http://127.0.0.1:${g.port}/healthz` })),
    ...(system.push ? [{ proc: system.push.proc, url: `http://127.0.0.1:${system.push.port}/healthz` }] : []),
  ];
  for (const { proc, url } of processes) {
    if (proc.child.exitCode !== null || proc.child.signalCode !== null) {
      problems.push(`${proc.name} exited (${proc.child.exitCode ?? proc.child.signalCode})`);
      continue;
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
      if (res.status !== 200) problems.push(`${proc.name}: /healthz answered ${res.status}`);
    } catch (error) {
      problems.push(`${proc.name}: /healthz failed: ${(error as Error).message}`);
    }
  }
  return problems;
}
