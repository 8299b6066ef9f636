// Every bound of the controller state machine, in one place. Request limits are answered with a typed error
// (INVALID_ARGUMENT, or OVERLOADED for state that is full); replicated-state limits are the same on every node
// because they are constants of the code (a `ControllerLimits` override exists for tests and must be equal on
// every node of a cluster).

/** Bounds of the replicated state. Must be identical on every node: apply depends on them. */
export interface ControllerLimits {
  /** Most broker groups; ApplyBrokerId for a new group answers OVERLOADED beyond it. */
  readonly groupsMax: number;
  /** Most registered replicas per group (an election request carries at most 64 candidates). */
  readonly replicasPerGroupMax: number;
  /** Audit records kept per group; the oldest is dropped first. */
  readonly auditRecordsPerGroupMax: number;
  /** Client sessions kept; the one least recently used (lowest Raft index) is evicted first. */
  readonly sessionsMax: number;
  /** Most cluster-wide election policies. */
  readonly clusterPoliciesMax: number;
  /** Most per-group election policies. */
  readonly groupPoliciesMax: number;
}

export const defaultControllerLimits: ControllerLimits = Object.freeze({
  groupsMax: 10_000,
  replicasPerGroupMax: 64,
  auditRecordsPerGroupMax: 64,
  sessionsMax: 10_000,
  clusterPoliciesMax: 1_024,
  groupPoliciesMax: 10_000,
});

/** Longest cluster or broker group name, in UTF-16 code units. */
export const nameLengthMax = 255;
/** Longest broker address or register check code, in UTF-16 code units. */
export const addressLengthMax = 512;
/** Longest client session id, in UTF-16 code units. */
export const clientIdLengthMax = 128;
/** Most group names one GetSyncStateData / GetBrokerLiveness request may list. */
export const groupNamesPerRequestMax = 1_024;
/** Most broker ids one CleanBrokerData request may list. */
export const cleanBrokerIdsMax = 64;
/** Most entries one UpdateControllerConfig request may carry. */
export const configEntriesPerUpdateMax = 64;
/** Most labels one heartbeat may carry (the election policies accept at most 16 per candidate). */
export const labelsPerBrokerMax = 16;
/** Longest label key, in UTF-16 code units. */
export const labelKeyLengthMax = 128;
/** Longest label value, in UTF-16 code units. */
export const labelValueLengthMax = 256;
/** Longest zone name, in UTF-16 code units. */
export const zoneLengthMax = 128;
/** Largest masterEpoch / syncStateSetEpoch (int32 in the protocol, as in RocketMQ). */
export const epochMax = 2_147_483_647;
