// Builders for election requests and policies, for tests here and in the services that use this library.
import { create } from '@bufbuild/protobuf';
import {
  type Candidate,
  CandidateSchema,
  type ElectRequest,
  ElectRequestSchema,
  type ElectResponse,
  LagFallback,
  type PolicyConfig,
  PolicyConfigSchema,
  Verdict,
} from '@regent/proto/election';

export interface CandidateInit {
  readonly id: number | bigint;
  readonly alive?: boolean;
  readonly epoch?: number;
  readonly offset?: number | bigint;
  readonly confirmOffset?: number | bigint;
  readonly priority?: number;
  readonly zone?: string;
  readonly labels?: Readonly<Record<string, string>>;
}

/** A candidate; alive, epoch 1, offset 0, no priority, no zone unless given. */
export function candidate(init: CandidateInit): Candidate {
  const id = BigInt(init.id);
  return create(CandidateSchema, {
    brokerId: id,
    brokerAddress: `127.0.0.1:${30_000 + Number(id % 10_000n)}`,
    alive: init.alive ?? true,
    epoch: init.epoch ?? 1,
    maxOffset: BigInt(init.offset ?? 0),
    confirmOffset: BigInt(init.confirmOffset ?? -1),
    electionPriority: init.priority,
    zone: init.zone ?? '',
    labels: { ...init.labels },
  });
}

export interface RequestInit {
  readonly candidates: readonly (Candidate | CandidateInit)[];
  /** SyncStateSet ids; every candidate when omitted. */
  readonly isr?: readonly (number | bigint)[];
  readonly oldMaster?: number | bigint;
  readonly designated?: number | bigint;
  readonly unclean?: boolean;
  readonly policy?: PolicyConfig;
}

function isCandidate(c: Candidate | CandidateInit): c is Candidate {
  return '$typeName' in c;
}

/** An election request for cluster "c1", group "broker-a". */
export function electRequest(init: RequestInit): ElectRequest {
  const candidates = init.candidates.map((c) => (isCandidate(c) ? c : candidate(c)));
  return create(ElectRequestSchema, {
    clusterName: 'c1',
    brokerName: 'broker-a',
    candidates,
    syncStateSet:
      init.isr === undefined ? candidates.map((c) => c.brokerId) : init.isr.map((id) => BigInt(id)),
    oldMasterBrokerId: init.oldMaster === undefined ? undefined : BigInt(init.oldMaster),
    designatedBrokerId: init.designated === undefined ? undefined : BigInt(init.designated),
    uncleanElectionEnabled: init.unclean ?? false,
    policy: init.policy,
  });
}

/** Policy configurations. */
export const policies = {
  rocketmqDefault(): PolicyConfig {
    return create(PolicyConfigSchema, { policy: { case: 'rocketmqDefault', value: {} } });
  },
  zoneAware(zoneOrder: readonly string[] = []): PolicyConfig {
    return create(PolicyConfigSchema, {
      policy: { case: 'zoneAware', value: { zoneOrder: [...zoneOrder] } },
    });
  },
  maxLag(maxLagBytes: number | bigint, fallback: LagFallback = LagFallback.UNSPECIFIED): PolicyConfig {
    return create(PolicyConfigSchema, {
      policy: { case: 'maxLag', value: { maxLagBytes: BigInt(maxLagBytes), fallback } },
    });
  },
  rules(rules: { readonly filter?: string; readonly rank?: string }): PolicyConfig {
    return create(PolicyConfigSchema, {
      policy: { case: 'rules', value: { filter: rules.filter ?? '', rank: rules.rank ?? '' } },
    });
  },
};

/** The verdicts of a response by broker id, as enum names (for example `{ '1': 'CHOSEN' }`). */
export function verdictsOf(response: ElectResponse): Record<string, string> {
  const out: Record<string, string> = {};
  for (const r of response.reasons) out[r.brokerId.toString()] = Verdict[r.verdict];
  return out;
}

/** The detail of the reason for `brokerId`. */
export function detailOf(response: ElectResponse, brokerId: number | bigint): string {
  const reason = response.reasons.find((r) => r.brokerId === BigInt(brokerId));
  if (reason === undefined) throw new Error(`no reason for broker ${brokerId}`);
  return reason.detail;
}
