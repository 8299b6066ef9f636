// Types of view-model.js (plain JavaScript so the browser loads it without a build step).

export declare const TIMELINE_ENTRIES_MAX: number;

export declare function compareInt64(a: string, b: string): number;
export declare function enumLabel(name: unknown, prefix: string): string;
export declare function formatAgeMs(ms: string | number): string;

export interface MemberView {
  readonly nodeId: string;
  readonly address: string;
  readonly role: string;
  readonly learner: boolean;
  readonly reachable: boolean;
  readonly term: string;
  readonly leaderId: string;
  readonly commitIndex: string;
  readonly appliedIndex: string;
  readonly lastIndex: string;
  readonly snapshotIndex: string;
  readonly lag: string | null;
  readonly error: string;
}
export declare function membersView(status: unknown, metadata: unknown): MemberView[];

export interface BrokerView {
  readonly brokerId: string;
  readonly address: string;
  readonly role: 'master' | 'slave';
  readonly inSync: boolean;
  readonly state: 'alive' | 'dead' | 'suspected' | 'unknown';
  readonly epoch: number | null;
  readonly maxOffset: string | null;
  readonly confirmOffset: string | null;
  readonly heartbeatAgeMs: string | null;
  readonly zone: string;
}
export interface GroupView {
  readonly name: string;
  readonly cluster: string;
  readonly masterId: string | null;
  readonly masterAddress: string;
  readonly masterEpoch: number;
  readonly syncStateSetEpoch: number;
  readonly syncStateSet: string[];
  readonly brokers: BrokerView[];
}
export declare function groupsView(syncState: unknown, liveness: unknown): GroupView[];

export interface ReasonView {
  readonly brokerId: string;
  readonly verdict: string;
  readonly detail: string;
}
export interface TimelineEntry {
  readonly key: string;
  readonly cluster: string;
  readonly group: string;
  readonly raftIndex: string;
  readonly raftTerm: string;
  readonly trigger: string;
  readonly policy: string;
  readonly oldMasterId: string | null;
  readonly chosenId: string | null;
  readonly change: string;
  readonly masterEpoch: number;
  readonly fallback: boolean;
  readonly explanation: string;
  readonly decidedAtUnixMs: number | null;
  readonly reasons: ReasonView[];
}
export declare function timelineView(audits: readonly unknown[]): TimelineEntry[];

export interface RpcFailure {
  readonly code: string;
  readonly condition: string;
  readonly message: string;
}
export declare function rpcFailure(httpStatus: number, body: unknown): RpcFailure;
export declare function clustersOf(groups: readonly GroupView[]): string[];
