// The search space the tuner's tests share: one parameter of every type, the values the service
// runs with, and a proposal request over them. The optimum test scores this space with a known
// function; the unit tests probe the tuner's moves in it.
import type { ProposalRequest } from '../../operator/src/propose/candidate.js';
import type { ParameterSpec, ParameterValues } from '../../operator/src/api/parameters.js';

export const TUNING_PARAMETERS: ParameterSpec[] = [
  { name: 'cache-size', env: 'CACHE_SIZE', type: 'integer', min: 16, max: 1024, step: 16 },
  { name: 'batch-window-ms', env: 'BATCH_WINDOW_MS', type: 'integer', min: 0, max: 50, step: 1 },
  { name: 'compress', env: 'COMPRESS', type: 'boolean' },
  { name: 'eviction', env: 'EVICTION', type: 'choice', choices: ['lru', 'fifo', 'random'] },
];

export const TUNING_CURRENT: ParameterValues = {
  'cache-size': 64,
  'batch-window-ms': 0,
  compress: false,
  eviction: 'fifo',
};

/** A request over the tuning space with no budget (the tuner spends none); overrides win. */
export function tuningRequest(overrides: Partial<ProposalRequest> = {}): ProposalRequest {
  return {
    agent: { namespace: 'shop', name: 'cart' },
    cycle: 'cycle-1',
    goal: 'lower p99 latency',
    parameters: TUNING_PARAMETERS,
    current: TUNING_CURRENT,
    maxCandidates: 4,
    archive: [],
    allowedPaths: [],
    protectedPaths: [],
    budget: { maxTokens: 0, maxCostUSD: 0, deadline: new Date(0) },
    seed: 1,
    ...overrides,
  };
}
