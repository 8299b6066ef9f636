// Conditions on a broker group run by broker-sim processes, as the controller and the brokers themselves report it:
// settled (one master everyone agrees on), converged on a new master after a failover, and which process runs a
// broker. Shared by the end-to-end tests and the failover benchmark.
import { waitFor } from '@regent/testing';
import { type BrokerSim, brokerViews, type SimBrokerView, waitForBrokers } from './broker-sim.js';
import { CLUSTER, type System } from './system.js';

export interface SettledGroup {
  readonly masterId: string;
  readonly masterEpoch: number;
  readonly syncStateSet: readonly string[];
  readonly views: SimBrokerView[];
}

export interface SettleOptions {
  /** Brokers in the group. Default 3. */
  readonly replicas?: number;
  /** Also wait until every broker is in the SyncStateSet. Default true. */
  readonly fullSyncStateSet?: boolean;
  readonly timeoutMs?: number;
}

/**
 * Waits until the controller (through gateway 0) names a master — with every broker in the SyncStateSet unless told
 * otherwise — and every broker of the group runs, unfenced, in the role the controller says, at its masterEpoch.
 * On timeout the error carries the last state seen and the recent output of every process.
 */
export async function waitForSettled(
  system: System,
  sims: readonly BrokerSim[],
  group: string,
  options: SettleOptions = {},
): Promise<SettledGroup> {
  const replicas = options.replicas ?? 3;
  const client = system.brokerClient(0);
  let last = '';
  try {
    return await waitFor(
      async () => {
        const info = await client.getReplicaInfo(
          { clusterName: CLUSTER, brokerName: group },
          { timeoutMs: 3000 },
        );
        const views = await brokerViews(sims, group);
        const masterId = info.masterBrokerId?.toString();
        const sss = info.syncStateSet?.brokerIds.map(String) ?? [];
        last = `controller master ${masterId} epoch ${info.masterEpoch} sss [${sss}]; brokers ${views.map(briefOf).join(' ')}`;
        const agree = views.every(
          (v) =>
            v.state === 'running' &&
            !v.fenced &&
            v.masterEpoch === info.masterEpoch &&
            v.role === (v.brokerId === masterId ? 'master' : 'slave') &&
            v.masterBrokerId === masterId,
        );
        const sssOk = options.fullSyncStateSet === false || sss.length === replicas;
        if (masterId === undefined || !sssOk || views.length !== replicas || !agree) return undefined;
        return { masterId, masterEpoch: info.masterEpoch, syncStateSet: sss, views };
      },
      { timeoutMs: options.timeoutMs ?? 60_000, intervalMs: 100, what: `group ${group} settled` },
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}\nlast seen: ${last}\n${system.logs()}`, { cause: error });
  }
}

/** Waits until the brokers `ids` of `group` are unfenced at masterEpoch `epoch` with `masterId` as their master. */
export async function waitForConverged(
  sims: readonly BrokerSim[],
  group: string,
  expected: { readonly ids: readonly string[]; readonly masterId: string; readonly masterEpoch: number },
  options: { readonly timeoutMs?: number; readonly what: string },
): Promise<SimBrokerView[]> {
  return waitForBrokers(
    sims,
    group,
    (views) =>
      expected.ids.every((id) => {
        const v = views.find((b) => b.brokerId === id);
        return (
          v !== undefined &&
          !v.fenced &&
          v.masterEpoch === expected.masterEpoch &&
          v.masterBrokerId === expected.masterId &&
          v.role === (id === expected.masterId ? 'master' : 'slave')
        );
      }),
    { timeoutMs: options.timeoutMs ?? 30_000, what: options.what },
  );
}

/** The broker-sim process that runs broker `id` of `group`. */
export async function simOf(sims: readonly BrokerSim[], group: string, id: string): Promise<BrokerSim> {
  return waitFor(
    async () => {
      for (const sim of sims) {
        if (!sim.alive) continue;
        const views = await sim.brokers().catch(() => []);
        if (views.some((v) => v.group === group && v.brokerId === id)) return sim;
      }
      return undefined;
    },
    { what: `the process of ${group}/${id}` },
  );
}

/** A broker agent counter from a view (0 when absent). */
export function counterOf(view: SimBrokerView | undefined, name: string): number {
  return view?.counters[name] ?? 0;
}

/** `id:state/role/e<epoch>/m<master>/ok|fenced`, for messages and comparisons. */
export function briefOf(v: SimBrokerView): string {
  return `${v.brokerId}:${v.state}/${v.role}/e${v.masterEpoch}/m${v.masterBrokerId}/${v.fenced ? 'fenced' : 'ok'}`;
}
