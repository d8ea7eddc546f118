import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OperatorMetrics } from './metrics.js';

test('the canary figures are exposed per agent: weight, analysis results, rollbacks and promotions', async () => {
  const metrics = new OperatorMetrics({ defaultMetrics: false });
  metrics.canaryWeight('shop', 'web', 25);
  metrics.analysisResult('shop', 'web', 'error-rate', 'Successful');
  metrics.analysisResult('shop', 'web', 'error-rate', 'Failed');
  metrics.analysisResult('shop', 'web', 'error-rate', 'Failed');
  metrics.canaryRolledBack('shop', 'web', 'AnalysisFailed');
  metrics.canaryPromoted('shop', 'web');
  metrics.canaryWeight('shop', 'web', 0);
  const text = await metrics.registry.metrics();
  for (const line of [
    'hyperagent_canary_weight{namespace="shop",agent="web"} 0',
    'hyperagent_analysis_result_total{namespace="shop",agent="web",metric="error-rate",result="Successful"} 1',
    'hyperagent_analysis_result_total{namespace="shop",agent="web",metric="error-rate",result="Failed"} 2',
    'hyperagent_rollbacks_total{namespace="shop",agent="web",reason="AnalysisFailed"} 1',
    'hyperagent_promotions_total{namespace="shop",agent="web"} 1',
  ]) {
    assert.ok(text.includes(line), `${line} in\n${text}`);
  }
});
