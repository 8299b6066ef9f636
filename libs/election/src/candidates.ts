// Checks an election request against the input limits and builds the per-candidate view every policy reads.
import type { Candidate, ElectRequest } from '@regent/proto/election';
import { PolicyInputError } from './errors.js';
import {
  candidatesMax,
  labelKeyLengthMax,
  labelsPerCandidateMax,
  labelValueLengthMax,
  syncStateSetIdsMax,
  zoneLengthMax,
} from './limits.js';
import { effectivePriority, type RankFields } from './ranking.js';

/** One candidate with the facts the policies derive from the request. */
export interface CandidateView extends RankFields {
  readonly candidate: Candidate;
  /** Position in `ElectRequest.candidates`. */
  readonly requestIndex: number;
  readonly alive: boolean;
  /** Listed in the request's SyncStateSet. */
  readonly inSync: boolean;
  /** The request's `old_master_broker_id`. */
  readonly isOldMaster: boolean;
}

function checkCandidate(candidate: Candidate, index: number): void {
  const field = `candidates[${index}]`;
  if (candidate.zone.length > zoneLengthMax) {
    throw new PolicyInputError(
      `${field}.zone`,
      `zone is ${candidate.zone.length} long, at most ${zoneLengthMax}`,
    );
  }
  const labels = Object.entries(candidate.labels);
  if (labels.length > labelsPerCandidateMax) {
    throw new PolicyInputError(
      `${field}.labels`,
      `${labels.length} labels, at most ${labelsPerCandidateMax} per candidate`,
    );
  }
  for (const [key, value] of labels) {
    if (key.length > labelKeyLengthMax) {
      throw new PolicyInputError(
        `${field}.labels`,
        `label key is ${key.length} long, at most ${labelKeyLengthMax}`,
      );
    }
    if (value.length > labelValueLengthMax) {
      throw new PolicyInputError(
        `${field}.labels`,
        `label "${key}" value is ${value.length} long, at most ${labelValueLengthMax}`,
      );
    }
  }
}

/**
 * Checks the request's limits and returns one view per candidate, in request order.
 * Throws `PolicyInputError` on too many candidates or SyncStateSet ids, too many or too long labels, an overlong
 * zone, or a broker id listed twice (one reason per candidate needs unique ids).
 */
export function candidateViews(request: ElectRequest): CandidateView[] {
  if (request.candidates.length > candidatesMax) {
    throw new PolicyInputError(
      'candidates',
      `${request.candidates.length} candidates, at most ${candidatesMax}`,
    );
  }
  if (request.syncStateSet.length > syncStateSetIdsMax) {
    throw new PolicyInputError(
      'sync_state_set',
      `${request.syncStateSet.length} ids, at most ${syncStateSetIdsMax}`,
    );
  }
  const inSync = new Set(request.syncStateSet);
  const seen = new Set<bigint>();
  return request.candidates.map((candidate, requestIndex) => {
    checkCandidate(candidate, requestIndex);
    if (seen.has(candidate.brokerId)) {
      throw new PolicyInputError(
        `candidates[${requestIndex}].broker_id`,
        `broker id ${candidate.brokerId} is listed more than once`,
      );
    }
    seen.add(candidate.brokerId);
    return {
      candidate,
      requestIndex,
      brokerId: candidate.brokerId,
      epoch: candidate.epoch,
      maxOffset: candidate.maxOffset,
      priority: effectivePriority(candidate.electionPriority),
      alive: candidate.alive,
      inSync: inSync.has(candidate.brokerId),
      isOldMaster:
        request.oldMasterBrokerId !== undefined && candidate.brokerId === request.oldMasterBrokerId,
    };
  });
}
