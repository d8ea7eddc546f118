// The chart's Grafana dashboard (charts/hyperagent-operator/dashboards/hyperagent-canary.json):
// its JSON model, its variables, the panels it promises and the PromQL they carry, checked
// offline. test/support/dashboard.ts runs the same queries against a real Prometheus in e2e.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { OperatorMetrics } from '../../operator/src/telemetry/metrics.js';
import {
  DASHBOARD_FILE,
  GRAFANA_BUILTINS,
  completeValues,
  dashboardQueries,
  panelsOf,
  readDashboard,
  substitute,
  variableQuery,
  variableReferences,
  type DashboardPanel,
} from '../support/dashboard.js';

const CHART = fileURLToPath(new URL('../../charts/hyperagent-operator/', import.meta.url));
const dashboard = readDashboard();
const panels = panelsOf(dashboard);
const variables = new Map(dashboard.templating.list.map((v) => [v.name, v]));

/** Panel types of Grafana 10/11 core. */
const KNOWN_PANEL_TYPES = new Set([
  'timeseries',
  'stat',
  'gauge',
  'bargauge',
  'barchart',
  'table',
  'text',
  'piechart',
  'heatmap',
  'histogram',
  'state-timeline',
  'status-history',
  'logs',
  'row',
]);

/** Values for every variable without a default, as the e2e test would pass them. */
const VALUES = { ns_label: 'exported_namespace', namespace: 'shop', agent: 'web', deployment: 'quote' };

function panel(title: string): DashboardPanel {
  const found = panels.find((p) => p.title === title);
  assert.ok(found, `no panel "${title}"; panels: ${panels.map((p) => p.title).join(', ')}`);
  return found;
}

function exprs(title: string): string[] {
  return (panel(title).targets ?? []).map((t) => t.expr ?? '');
}

/** Every string of the dashboard outside variables' current values and options, with its path. */
function strings(value: unknown, path = ''): [string, string][] {
  if (typeof value === 'string') return [[path, value]];
  if (Array.isArray(value)) return value.flatMap((v, i) => strings(v, `${path}[${i}]`));
  if (value && typeof value === 'object') {
    return Object.entries(value).flatMap(([k, v]) =>
      k === 'current' || k === 'options' ? [] : strings(v, `${path}.${k}`),
    );
  }
  return [];
}

/** Brackets, braces, parentheses and double quotes pair up (a cheap offline PromQL sanity check). */
function balanced(expr: string): boolean {
  const closing: Record<string, string> = { ')': '(', ']': '[', '}': '{' };
  const stack: string[] = [];
  let quoted = false;
  for (let i = 0; i < expr.length; i++) {
    const c = expr[i]!;
    if (quoted) {
      if (c === '\\') i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') quoted = true;
    else if ('([{'.includes(c)) stack.push(c);
    else if (c in closing && stack.pop() !== closing[c]) return false;
  }
  return !quoted && stack.length === 0;
}

describe('the canary dashboard', () => {
  test('is a Grafana 10+ dashboard model with a stable uid', () => {
    assert.doesNotThrow(() => JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')));
    assert.equal(dashboard.uid, 'hyperagent-canary');
    assert.ok(dashboard.title);
    assert.ok(dashboard.schemaVersion >= 39, `schemaVersion ${dashboard.schemaVersion}`);
  });

  test('has a Prometheus datasource variable that every panel and query uses', () => {
    const datasource = variables.get('datasource');
    assert.equal(datasource?.type, 'datasource');
    assert.equal(variableQuery(datasource!) ?? datasource?.query, 'prometheus');
    for (const p of panels) {
      assert.deepEqual(p.datasource, { type: 'prometheus', uid: '${datasource}' }, p.title);
      for (const t of p.targets ?? []) {
        assert.deepEqual(t.datasource, { type: 'prometheus', uid: '${datasource}' }, `${p.title} ${t.refId}`);
      }
    }
  });

  test('defines the namespace, agent and deployment variables (deployment defaults to quote-service)', () => {
    for (const name of ['namespace', 'agent', 'deployment']) assert.ok(variables.has(name), name);
    assert.match(variableQuery(variables.get('namespace')!)!, /hyperagent_canary_weight/);
    assert.match(
      variableQuery(variables.get('agent')!)!,
      /hyperagent_canary_weight\{.*"\$namespace"\}, agent\)/,
    );
    assert.equal(completeValues(dashboard, {}).deployment, 'quote-service');
  });

  test('every panel has a known type, a unique id, a place on the grid and at least one query', () => {
    const ids = new Set<number>();
    for (const p of panels) {
      assert.ok(KNOWN_PANEL_TYPES.has(p.type), `panel "${p.title}" has unknown type ${p.type}`);
      assert.ok(!ids.has(p.id), `duplicate panel id ${p.id}`);
      ids.add(p.id);
      assert.ok(p.gridPos && p.gridPos.x >= 0 && p.gridPos.x + p.gridPos.w <= 24, `${p.title} gridPos`);
      const targets = p.targets ?? [];
      assert.ok(targets.length >= 1, `panel "${p.title}" has no query`);
      assert.equal(new Set(targets.map((t) => t.refId)).size, targets.length, `${p.title}: refIds repeat`);
      for (const t of targets) assert.ok(t.expr?.trim(), `panel "${p.title}" query ${t.refId} is empty`);
    }
  });

  test('uses only variables it defines or Grafana defines', () => {
    const undefinedRefs = strings(dashboard).flatMap(([path, text]) =>
      variableReferences(text)
        .filter((name) => !variables.has(name) && !GRAFANA_BUILTINS.has(name))
        .map((name) => `$${name} at ${path}`),
    );
    assert.deepEqual(undefinedRefs, []);
  });

  test('has the panels a canary needs', () => {
    assert.deepEqual(exprs('Canary weight'), [
      'max(hyperagent_canary_weight{${ns_label}="$namespace", agent="$agent"})',
    ]);
    assert.equal(panel('Canary weight').fieldConfig?.defaults?.unit, 'percent');

    for (const title of ['Error rate: canary vs stable', 'p99 latency: canary vs stable']) {
      const legends = (panel(title).targets ?? []).map((t) => t.legendFormat);
      assert.deepEqual(legends, ['canary', 'stable'], title);
      const [canary, stable] = exprs(title);
      assert.match(canary!, /pod=~"\$deployment-canary-/, title);
      assert.doesNotMatch(stable!, /canary/, title);
    }
    for (const e of exprs('Error rate: canary vs stable')) {
      assert.match(e, /code=~"5\.\."/);
      assert.match(e, /\[\$__rate_interval\]/);
    }
    for (const e of exprs('p99 latency: canary vs stable')) {
      assert.match(
        e,
        /^histogram_quantile\(0\.99, sum by \(le\) \(rate\(http_request_duration_seconds_bucket\{/,
      );
    }
    assert.equal(panel('p99 latency: canary vs stable').fieldConfig?.defaults?.unit, 's');

    assert.match(
      exprs('Analysis verdicts')[0]!,
      /^sum by \(metric, result\) \(.*hyperagent_analysis_result_total/,
    );
    assert.match(
      exprs('Cycles by outcome')[0]!,
      /hyperagent_cycles\{phase=~"Promoted\|RolledBack\|Rejected\|Failed"\}/,
    );
    const [rollbacks, promotions] = exprs('Rollbacks and promotions');
    assert.match(rollbacks!, /^sum by \(reason\) \(.*hyperagent_rollbacks_total/);
    assert.match(promotions!, /hyperagent_promotions_total/);
    assert.match(
      exprs('LLM tokens')[0]!,
      /^sum by \(kind\) \(.*hyperagent_llm_tokens_total\{agent="\$namespace\/\$agent"\}/,
    );
    assert.match(exprs('LLM cost')[0]!, /hyperagent_llm_cost_usd_total\{agent="\$namespace\/\$agent"\}/);
    assert.equal(panel('LLM cost').fieldConfig?.defaults?.unit, 'currencyUSD');
  });

  test('selects the operator namespace by the detected label, never by the scrape target namespace', () => {
    const canaryMetric =
      /hyperagent_(canary_weight|analysis_result_total|rollbacks_total|promotions_total)\{[^}]*\}/g;
    let selectors = 0;
    for (const { expr } of dashboardQueries({ ...VALUES, ns_label: 'detected_label' })) {
      for (const selector of expr.match(canaryMetric) ?? []) {
        selectors++;
        assert.match(selector, /^[a-z_]+\{detected_label="shop", agent="web"\}$/, selector);
      }
    }
    assert.ok(selectors >= 10, `${selectors} selectors`);
  });

  test('refers only to metrics the operator exports', () => {
    const names = new Set<string>();
    for (const { name, type } of new OperatorMetrics({
      defaultMetrics: false,
    }).registry.getMetricsAsArray()) {
      names.add(name);
      if (String(type) === 'histogram')
        for (const suffix of ['_bucket', '_sum', '_count']) names.add(name + suffix);
    }
    const used = new Set(strings(dashboard).flatMap(([, text]) => text.match(/\bhyperagent_[a-z_]+/g) ?? []));
    assert.ok(used.size >= 6, [...used].join(' '));
    for (const name of used) assert.ok(names.has(name), `${name} is not an operator metric`);
  });

  test('substitutes variables into balanced PromQL and fails on a variable without a value', () => {
    const queries = dashboardQueries({ ...VALUES, __range: '3h' });
    assert.equal(queries.length, panels.flatMap((p) => p.targets ?? []).length);
    for (const q of queries) {
      assert.deepEqual(variableReferences(q.expr), [], `${q.panel} ${q.refId}: ${q.expr}`);
      assert.ok(balanced(q.expr), `${q.panel} ${q.refId} is unbalanced: ${q.expr}`);
      assert.doesNotMatch(q.expr, /\$/, `${q.panel} ${q.refId}: ${q.expr}`);
    }
    const weight = queries.find((q) => q.panel === 'Canary weight')!;
    assert.equal(weight.expr, 'max(hyperagent_canary_weight{exported_namespace="shop", agent="web"})');
    const canaryErrors = queries.find((q) => q.panel === 'Error rate: canary vs stable' && q.refId === 'A')!;
    assert.match(canaryErrors.expr, /pod=~"quote-canary-\[a-z0-9\]\+-\[a-z0-9\]\+".*\[1m\]/);
    assert.match(queries.find((q) => q.panel === 'LLM tokens')!.expr, /agent="shop\/web"/);
    assert.match(queries.find((q) => q.panel === 'LLM cost')!.expr, /\[3h\]/);
    assert.ok(queries.filter((q) => q.instant).every((q) => panel(q.panel).type === 'stat'));

    const { ns_label: _omitted, ...withoutLabel } = VALUES;
    assert.throws(() => dashboardQueries(withoutLabel), /\$ns_label/);
    assert.throws(
      () => substitute('rate(x[$window])', { __rate_interval: '1m' }),
      /no value for variable\(s\) \$window/,
    );
    assert.equal(substitute('a{b="${x}", c="[[x]]", d="$x:$1"}', { x: 'v' }), 'a{b="v", c="v", d="v:$1"}');
    assert.equal(substitute('${x:regex}', { x: 'v' }), 'v');
  });

  test('is what the chart ships in its ConfigMap', () => {
    const template = readFileSync(`${CHART}templates/dashboard-configmap.yaml`, 'utf8');
    const shipped = /\.Files\.Get "([^"]+)"/.exec(template)?.[1];
    assert.equal(shipped && fileURLToPath(new URL(shipped, `file://${CHART}`)), DASHBOARD_FILE);
    assert.match(template, /^\{\{- if \.Values\.grafanaDashboard\.enabled \}\}/);
  });
});
