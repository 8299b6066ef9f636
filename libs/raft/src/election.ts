// Leader election (Raft §5.2, §5.4.1) with PreVote (thesis §9.6) and transfer-triggered campaigns (§3.10).

import type { MessageOf } from './messages.js';
import { voteResult } from './quorum.js';
import type { Raft } from './raft.js';

/** pre-election: a PreVote round first; election: a real vote; transfer: a real vote that ignores stickiness. */
export type CampaignKind = 'pre-election' | 'election' | 'transfer';

export function campaign(r: Raft, kind: CampaignKind): void {
  if (!r.promotable() || r.role === 'leader') return;
  const preVote = kind === 'pre-election';
  if (preVote) r.becomePreCandidate();
  else r.becomeCandidate();
  const voteTerm = preVote ? r.term + 1 : r.term;
  r.votes.set(r.id, true);
  if (tally(r)) return;
  const lastLogIndex = r.log.lastIndex();
  const lastLogTerm = r.log.lastTerm();
  for (const to of [...r.membership.voters].sort((a, b) => a - b)) {
    if (to === r.id) continue;
    r.send({
      type: 'VoteRequest',
      to,
      term: voteTerm,
      preVote,
      lastLogIndex,
      lastLogTerm,
      transfer: kind === 'transfer',
    });
  }
}

/** Grants a vote when free to (Raft §5.2) and the candidate's log is at least as up to date (§5.4.1). */
export function handleVoteRequest(r: Raft, m: MessageOf<'VoteRequest'>): void {
  const canVote = r.vote === m.from || (r.vote === 0 && r.lead === 0) || (m.preVote && m.term > r.term);
  if (canVote && r.log.isUpToDate(m.lastLogIndex, m.lastLogTerm) && !yieldsToSelf(r, m)) {
    r.send({ type: 'VoteResponse', to: m.from, term: m.term, preVote: m.preVote, granted: true });
    if (!m.preVote) {
      r.electionElapsed = 0;
      r.vote = m.from;
    }
    return;
  }
  r.send({ type: 'VoteResponse', to: m.from, preVote: m.preVote, granted: false });
}

/**
 * RaftConfig.preVoteTieBreak, for a rival whose log is at least as up to date as ours (the caller checked): a
 * pre-candidate keeps its PreVote from a rival that started the same round at about the same time (within a
 * heartbeat interval) with the same log and a higher id. A rival with a newer log ranks higher. A rival that comes
 * later is not a tie: our round has had time to hear back and has not won (a voter that still heard the leader
 * ignores PreVotes without answering), so blocking it would only cost another timeout. Neither is a rival that
 * already refused ours.
 */
function yieldsToSelf(r: Raft, m: MessageOf<'VoteRequest'>): boolean {
  if (!m.preVote || !r.cfg.preVoteTieBreak || r.role !== 'pre-candidate' || m.term !== r.term + 1)
    return false;
  if (r.electionElapsed > r.cfg.heartbeatTimeoutTicks || r.votes.get(m.from) === false) return false;
  const sameLog = m.lastLogTerm === r.log.lastTerm() && m.lastLogIndex === r.log.lastIndex();
  return sameLog && m.from > r.id;
}

export function handleVoteResponse(r: Raft, m: MessageOf<'VoteResponse'>): void {
  if ((r.role === 'pre-candidate') !== m.preVote) return;
  if (!r.membership.voters.has(m.from) || r.votes.has(m.from)) return;
  r.votes.set(m.from, m.granted);
  tally(r);
}

/** Acts on the election's outcome; returns true when it is decided. */
function tally(r: Raft): boolean {
  const result = voteResult(r.membership.voters, r.votes);
  if (result === 'pending') return false;
  if (result === 'lost') {
    r.becomeFollower(r.term, 0);
  } else if (r.role === 'pre-candidate') {
    campaign(r, 'election');
  } else {
    r.becomeLeader();
  }
  return true;
}
