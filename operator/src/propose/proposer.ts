import type { PROPOSER_TYPES } from '../api/schema.js';
import type { ProposalRequest, ProposalResult } from './candidate.js';

export type ProposerType = (typeof PROPOSER_TYPES)[number];

/**
 * A source of candidates. It never throws for what the outside world does wrong (a malformed LLM
 * answer, a timeout, a 429): those become `attempts` with their outcome,
 * and the result simply holds fewer candidates. It throws only on programming errors.
 */
export interface Proposer {
  readonly type: ProposerType;
  propose(request: ProposalRequest): Promise<ProposalResult>;
}
