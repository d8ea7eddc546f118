// Which metric provider measures a canary. spec.rollout.analysis names its source (today
// `prometheus`, with its address); this table builds the provider. A new provider is one file
// that implements MetricProvider, one line here, and its field under analysis in api/schema.ts.
import type { HyperAgentSpec } from '../api/schema.js';
import { failedOutcome, type FailedOutcome } from '../cycle/ports.js';
import type { MetricProvider } from './metric-provider.js';
import { PrometheusProvider } from './prometheus.js';

type AnalysisSpec = HyperAgentSpec['rollout']['analysis'];

export type MetricProviderFactory = (analysis: AnalysisSpec) => MetricProvider;

/** The providers this operator ships, by their field under spec.rollout.analysis. */
export const METRIC_PROVIDERS: Readonly<Record<string, MetricProviderFactory>> = {
  prometheus: (analysis) => new PrometheusProvider({ address: analysis.prometheus.address }),
};

/**
 * The provider `analysis` names: the one field of it that is a provider this operator ships.
 * None, or more than one, fails the cycle with UnknownMetricProvider.
 */
export function metricProviderFor(
  analysis: AnalysisSpec,
  factories: Readonly<Record<string, MetricProviderFactory>> = METRIC_PROVIDERS,
): MetricProvider | { failed: FailedOutcome } {
  const fields = analysis as unknown as Record<string, unknown>;
  const named = Object.keys(factories).filter((kind) => fields[kind] !== undefined);
  if (named.length === 1) return factories[named[0]!]!(analysis);
  const which = named.length === 0 ? 'no metric provider this operator ships' : `${named.join(' and ')}`;
  return {
    failed: failedOutcome(
      'UnknownMetricProvider',
      `spec.rollout.analysis names ${which}; it must name exactly one of: ${Object.keys(factories).join(', ')}.`,
    ),
  };
}
