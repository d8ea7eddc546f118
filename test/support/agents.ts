// The smallest valid HyperAgent spec, shared by unit and integration tests.
import { defaultedAgentSpec } from '../../operator/src/api/defaults.js';
import type { HyperAgentSpec } from '../../operator/src/api/schema.js';

/** A minimal valid spec as a user would write it; `overrides` replace top-level fields. */
export function minimalAgentSpec(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    target: { deployment: 'quote-service' },
    source: { repo: 'https://git.example.com/shop/quote-service.git' },
    goal: 'reduce p99 latency of GET /quote',
    objectives: [{ name: 'p99', query: 'histogram_quantile(0.99, rate(x[1m]))' }],
    improvement: { interval: '1h' },
    ...overrides,
  };
}

/** The same spec with every default filled in, as the API server returns it. */
export function defaultedMinimalSpec(overrides: Record<string, unknown> = {}): HyperAgentSpec {
  return defaultedAgentSpec(minimalAgentSpec(overrides));
}
