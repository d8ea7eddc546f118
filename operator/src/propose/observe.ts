// What proposers report beyond their result: counters for the LLM proposer and one log line per
// attempt. OperatorMetrics (telemetry/metrics.ts) implements ProposerMetrics on Prometheus and a
// pino Logger fits ProposerLog; tests and the offline CLI may pass anything else.
import type { Logger } from 'pino';
import type { ProposalAttempt } from './candidate.js';

export interface ProposerMetrics {
  /** One request sent to the LLM endpoint (refusals before sending are not requests). */
  llmRequest(agent: string, outcome: ProposalAttempt['outcome'], seconds: number): void;
  /** Tokens the endpoint reported (or, when it did not, that were estimated). */
  llmTokens(agent: string, kind: 'prompt' | 'completion', tokens: number): void;
  llmCost(agent: string, usd: number): void;
}

export const NOP_PROPOSER_METRICS: ProposerMetrics = {
  llmRequest: () => {},
  llmTokens: () => {},
  llmCost: () => {},
};

/** Where a proposer writes its lines; messages are already free of credentials. */
export type ProposerLog = Pick<Logger, 'debug' | 'info' | 'warn'>;
