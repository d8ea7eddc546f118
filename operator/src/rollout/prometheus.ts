// A MetricProvider for the Prometheus HTTP API: one instant query through the operator's
// Prometheus client (telemetry/prometheus-client.ts) → one number, no data, or an error whose
// message keeps the cause (HTTP status, Prometheus' own error, the network error, or the timeout).
// It measures only; analysis.ts judges.
import { PrometheusClient, type PrometheusClientOptions } from '../telemetry/prometheus-client.js';
import type { Measurement, MetricProvider } from './metric-provider.js';

/** Address (a path prefix is kept), timeout (10 s when unset) and the fetch to use (tests pass their own). */
export type PrometheusOptions = PrometheusClientOptions;

/** Measures PromQL instant queries against one Prometheus server. */
export class PrometheusProvider implements MetricProvider {
  private readonly client: PrometheusClient;

  constructor(options: PrometheusOptions) {
    this.client = new PrometheusClient(options);
  }

  /**
   * Runs one instant query. A scalar or a one-sample vector is a value (NaN and ±Inf included, for
   * the analysis to judge); an empty vector is noData; several series, a range vector, a refused
   * query, an HTTP error, a network error or a timeout is an error saying which.
   */
  async measure(query: string): Promise<Measurement> {
    const answer = await this.client.query(query);
    if (!answer.ok) {
      if (answer.resultType === 'matrix') {
        return {
          kind: 'error',
          message:
            'the query returned a range vector; analysis needs one number: reduce it, e.g. with avg_over_time() or rate()',
        };
      }
      if (answer.resultType !== undefined) {
        return { kind: 'error', message: `the query returned a ${answer.resultType} result, not a number` };
      }
      return { kind: 'error', message: answer.message };
    }
    const [first, ...rest] = answer.samples;
    if (!first) return { kind: 'noData' };
    if (rest.length > 0) {
      return {
        kind: 'error',
        message: `the query returned ${answer.samples.length} series; aggregate it to one, e.g. with sum()`,
      };
    }
    return { kind: 'value', value: first.value };
  }
}
