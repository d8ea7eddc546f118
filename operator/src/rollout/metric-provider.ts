/**
 * Measures one metric: a value, no data, or an error. Never a verdict: judging a measurement
 * against its threshold is the analysis' job, so a provider cannot turn "no data" into a pass.
 */
export type Measurement =
  { kind: 'value'; value: number } | { kind: 'noData' } | { kind: 'error'; message: string };

export interface MetricProvider {
  measure(query: string): Promise<Measurement>;
}
