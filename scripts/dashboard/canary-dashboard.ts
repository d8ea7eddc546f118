// The chart's Grafana dashboard, "HyperAgent canary", built with the Grafana foundation SDK
// (@grafana/grafana-foundation-sdk). `npm run generate` writes it, formatted by prettier, to
// charts/hyperagent-operator/dashboards/hyperagent-canary.json, which the chart ships in a ConfigMap;
// test/unit/canary-dashboard.test.ts fails when that file and this code disagree.
import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as prometheus from '@grafana/grafana-foundation-sdk/prometheus';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import { format, resolveConfig } from 'prettier';

/** Where the dashboard JSON lives, relative to the repository root (the chart reads it from there). */
export const DASHBOARD_PATH = 'charts/hyperagent-operator/dashboards/hyperagent-canary.json';

export const DASHBOARD_UID = 'hyperagent-canary';

/** Every panel and query reads the Prometheus data source the `datasource` variable selects. */
export const DATASOURCE: dashboard.DataSourceRef = { type: 'prometheus', uid: '${datasource}' };

// The operator's canary metrics carry the HyperAgent's namespace in the label `ns_label` detects.
const AGENT = '${ns_label}="$namespace", agent="$agent"';
// Its LLM metrics label the agent "<namespace>/<name>".
const LLM_AGENT = 'agent="$namespace/$agent"';
const CANARY_PODS = 'pod=~"$deployment-canary-[a-z0-9]+-[a-z0-9]+"';
const STABLE_PODS = 'pod=~"$deployment-[a-z0-9]+-[a-z0-9]+"';

const COUNTED_RISE =
  'Counted as the rise of each counter series over the window including the first value of a series ' +
  'that appears in it: the operator creates a labelled counter at its first increment, which increase() ' +
  'would not count.';

/**
 * How much each series of counter `metric{selector}` rose over `window`, counting a series that
 * appears within the window from 0: increase() would miss the first increment of a labelled counter,
 * which the operator creates at that increment.
 */
export function risenOver(metric: string, selector: string, window: string): string {
  const series = `${metric}{${selector}}`;
  return (
    `clamp_min(last_over_time(${series}[${window}]) - ` +
    `(${series} offset ${window} or 0 * last_over_time(${series}[${window}])), 0)`
  );
}

/** The share of 5xx responses of the given pods, 0 (not a gap) while there are requests but no 5xx. */
function errorRate(pods: string): string {
  const requests = `http_requests_total{namespace="$namespace", ${pods}, route=~"$route"`;
  const rate = (extra: string) => `sum(rate(${requests}${extra}}[$__rate_interval]))`;
  return `(${rate(', code=~"5.."')} or 0 * ${rate('')}) / ${rate('')}`;
}

function p99(pods: string): string {
  return (
    'histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket' +
    `{namespace="$namespace", ${pods}, route=~"$route"}[$__rate_interval])))`
  );
}

/** A Prometheus query over the dashboard's data source. */
function query(refId: string, expr: string, legendFormat: string): prometheus.DataqueryBuilder {
  return new prometheus.DataqueryBuilder()
    .datasource(DATASOURCE)
    .refId(refId)
    .expr(expr)
    .legendFormat(legendFormat);
}

/** A query Grafana runs over the panel's time range, one point per interval. */
function rangeQuery(refId: string, expr: string, legendFormat: string): prometheus.DataqueryBuilder {
  return query(refId, expr, legendFormat).range();
}

/** A query Grafana runs once, at the end of the time range (what a stat panel shows). */
function instantQuery(refId: string, expr: string, legendFormat: string): prometheus.DataqueryBuilder {
  return query(refId, expr, legendFormat).instant().format(prometheus.PromQueryFormat.TimeSeries);
}

/** The override properties that paint a series in one colour. */
function fixedColor(color: string): dashboard.DynamicConfigValue[] {
  return [{ id: 'color', value: { mode: dashboard.FieldColorModeId.Fixed, fixedColor: color } }];
}

type Colors = Record<string, string>;

interface PanelPlace {
  id: number;
  title: string;
  description: string;
  gridPos: dashboard.GridPos;
}

/** A time series panel: lines or stacked bars, a legend below, a tooltip of every series. */
function timeseriesPanel(
  place: PanelPlace,
  style: { unit: string; bars?: boolean; stepped?: boolean },
): timeseries.PanelBuilder {
  const bars = style.bars === true;
  return new timeseries.PanelBuilder()
    .id(place.id)
    .title(place.title)
    .description(place.description)
    .datasource(DATASOURCE)
    .gridPos(place.gridPos)
    .unit(style.unit)
    .colorScheme(new dashboard.FieldColorBuilder().mode(dashboard.FieldColorModeId.PaletteClassic))
    .drawStyle(bars ? common.GraphDrawStyle.Bars : common.GraphDrawStyle.Line)
    .lineWidth(1)
    .fillOpacity(bars ? 80 : 10)
    .showPoints(common.VisibilityMode.Never)
    .spanNulls(false)
    .lineInterpolation(style.stepped ? common.LineInterpolation.StepAfter : common.LineInterpolation.Linear)
    .stacking(
      new common.StackingConfigBuilder()
        .mode(bars ? common.StackingMode.Normal : common.StackingMode.None)
        .group('A'),
    )
    .axisSoftMin(0)
    .legend(
      new common.VizLegendOptionsBuilder()
        .displayMode(common.LegendDisplayMode.List)
        .placement(common.LegendPlacement.Bottom)
        .showLegend(true),
    )
    .tooltip(
      new common.VizTooltipOptionsBuilder()
        .mode(common.TooltipDisplayMode.Multi)
        .sort(common.SortOrder.Descending),
    );
}

/** A stat panel: each series' last value with its name, coloured by the overrides (default: text). */
function statPanel(place: PanelPlace, style: { unit: string; decimals: number; noValue?: string }) {
  const panel = new stat.PanelBuilder()
    .id(place.id)
    .title(place.title)
    .description(place.description)
    .datasource(DATASOURCE)
    .gridPos(place.gridPos)
    .unit(style.unit)
    .decimals(style.decimals);
  if (style.noValue !== undefined) panel.noValue(style.noValue);
  return panel
    .colorScheme(new dashboard.FieldColorBuilder().mode(dashboard.FieldColorModeId.Thresholds))
    .thresholds(
      new dashboard.ThresholdsConfigBuilder()
        .mode(dashboard.ThresholdsMode.Absolute)
        .steps([{ color: 'text', value: null }]),
    )
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).fields('').values(false))
    .orientation(common.VizOrientation.Auto)
    .textMode(common.BigValueTextMode.ValueAndName)
    .colorMode(common.BigValueColorMode.Value)
    .graphMode(common.BigValueGraphMode.None)
    .justifyMode(common.BigValueJustifyMode.Auto);
}

/** Paints the series named as the keys of `colors` in their colours. */
function byName<P extends { overrideByName(name: string, properties: dashboard.DynamicConfigValue[]): P }>(
  panel: P,
  colors: Colors,
): P {
  for (const [name, color] of Object.entries(colors)) panel.overrideByName(name, fixedColor(color));
  return panel;
}

/** Paints the series matching the keys of `colors` (regular expressions) in their colours. */
function byRegexp<
  P extends { overrideByRegexp(regexp: string, properties: dashboard.DynamicConfigValue[]): P },
>(panel: P, colors: Colors): P {
  for (const [regexp, color] of Object.entries(colors)) panel.overrideByRegexp(regexp, fixedColor(color));
  return panel;
}

const VERDICT_COLORS = { Successful: 'green', Failed: 'red', Inconclusive: 'yellow', Error: 'purple' };
const CANARY_STABLE_COLORS = { canary: 'orange', stable: 'green' };

function grid(x: number, y: number, w: number, h = 8): dashboard.GridPos {
  return { h, w, x, y };
}

type PanelBuilder = timeseries.PanelBuilder | stat.PanelBuilder;

/** The panels, in grid order (left to right, top to bottom). */
function panels(): PanelBuilder[] {
  return [
    timeseriesPanel(
      {
        id: 1,
        title: 'Canary weight',
        description:
          "Share of the service's ready pods that are canary pods, in percent, as the operator's traffic " +
          'router last saw it; 0 once the canary has ended.',
        gridPos: grid(0, 0, 12),
      },
      { unit: 'percent', stepped: true },
    )
      .min(0)
      .max(100)
      .withTarget(rangeQuery('A', `max(hyperagent_canary_weight{${AGENT}})`, 'canary weight')),

    byName(
      statPanel(
        {
          id: 2,
          title: 'Canaries in range',
          description: `Canaries of the agent promoted and rolled back within the dashboard time range. ${COUNTED_RISE}`,
          gridPos: grid(12, 0, 6),
        },
        { unit: 'short', decimals: 0, noValue: '0' },
      ),
      { promoted: 'green', 'rolled back': 'red' },
    )
      .withTarget(
        instantQuery('A', `sum(${risenOver('hyperagent_promotions_total', AGENT, '$__range')})`, 'promoted'),
      )
      .withTarget(
        instantQuery(
          'B',
          `sum(${risenOver('hyperagent_rollbacks_total', AGENT, '$__range')})`,
          'rolled back',
        ),
      ),

    byName(
      statPanel(
        {
          id: 3,
          title: 'Cycles by outcome',
          description:
            "ImprovementCycles in the operator's cache by terminal phase, across all namespaces the operator " +
            'watches (the metric has no namespace). max, not sum: every replica keeps the same cache.',
          gridPos: grid(18, 0, 6),
        },
        { unit: 'short', decimals: 0, noValue: '0' },
      ),
      { Promoted: 'green', RolledBack: 'red', Rejected: 'yellow', Failed: 'purple' },
    ).withTarget(
      instantQuery(
        'A',
        'max by (phase) (hyperagent_cycles{phase=~"Promoted|RolledBack|Rejected|Failed"})',
        '{{phase}}',
      ),
    ),

    byName(
      timeseriesPanel(
        {
          id: 4,
          title: 'Error rate: canary vs stable',
          description:
            'Share of 5xx responses of the canary pods ($deployment-canary-<hash>-<id>) and of the stable ' +
            "pods ($deployment-<hash>-<id>), from the service's http_requests_total. 0, not a gap, while " +
            'there are requests but no 5xx.',
          gridPos: grid(0, 8, 12),
        },
        { unit: 'percentunit' },
      ).min(0),
      CANARY_STABLE_COLORS,
    )
      .withTarget(rangeQuery('A', errorRate(CANARY_PODS), 'canary'))
      .withTarget(rangeQuery('B', errorRate(STABLE_PODS), 'stable')),

    byName(
      timeseriesPanel(
        {
          id: 5,
          title: 'p99 latency: canary vs stable',
          description:
            "99th percentile response time of the canary and of the stable pods, from the service's " +
            'http_request_duration_seconds histogram.',
          gridPos: grid(12, 8, 12),
        },
        { unit: 's' },
      ).min(0),
      CANARY_STABLE_COLORS,
    )
      .withTarget(rangeQuery('A', p99(CANARY_PODS), 'canary'))
      .withTarget(rangeQuery('B', p99(STABLE_PODS), 'stable')),

    byRegexp(
      timeseriesPanel(
        {
          id: 6,
          title: 'Analysis verdicts',
          description:
            'Canary analysis measurements judged per interval, by metric and result (Successful, Failed, ' +
            `Inconclusive, Error). ${COUNTED_RISE}`,
          gridPos: grid(0, 16, 16),
        },
        { unit: 'short', bars: true },
      ).decimals(0),
      Object.fromEntries(Object.entries(VERDICT_COLORS).map(([result, color]) => [`.*: ${result}`, color])),
    ).withTarget(
      rangeQuery(
        'A',
        `sum by (metric, result) (${risenOver('hyperagent_analysis_result_total', AGENT, '$__interval')})`,
        '{{metric}}: {{result}}',
      ),
    ),

    byRegexp(
      statPanel(
        {
          id: 7,
          title: 'Analysis results in range',
          description: `Canary analysis measurements judged within the dashboard time range, by result. ${COUNTED_RISE}`,
          gridPos: grid(16, 16, 8),
        },
        { unit: 'short', decimals: 0, noValue: '0' },
      ),
      VERDICT_COLORS,
    ).withTarget(
      instantQuery(
        'A',
        `sum by (result) (${risenOver('hyperagent_analysis_result_total', AGENT, '$__range')})`,
        '{{result}}',
      ),
    ),

    byRegexp(
      byName(
        timeseriesPanel(
          {
            id: 8,
            title: 'Rollbacks and promotions',
            description:
              'Canaries of the agent rolled back (by reason: AnalysisFailed, NoData, ProviderError, ' +
              `WeightNotReached, AbortedByUser…) and promoted, per interval. ${COUNTED_RISE}`,
            gridPos: grid(0, 24, 12),
          },
          { unit: 'short', bars: true },
        ).decimals(0),
        { promoted: 'green' },
      ),
      { 'rolled back: .*': 'red' },
    )
      .withTarget(
        rangeQuery(
          'A',
          `sum by (reason) (${risenOver('hyperagent_rollbacks_total', AGENT, '$__interval')})`,
          'rolled back: {{reason}}',
        ),
      )
      .withTarget(
        rangeQuery('B', `sum(${risenOver('hyperagent_promotions_total', AGENT, '$__interval')})`, 'promoted'),
      ),

    timeseriesPanel(
      {
        id: 9,
        title: 'LLM tokens',
        description:
          "Tokens the agent's proposer spent on LLM requests per interval, by kind (prompt, completion). " +
          `The operator labels LLM metrics agent="<namespace>/<name>". ${COUNTED_RISE}`,
        gridPos: grid(12, 24, 8),
      },
      { unit: 'short', bars: true },
    )
      .decimals(0)
      .withTarget(
        rangeQuery(
          'A',
          `sum by (kind) (${risenOver('hyperagent_llm_tokens_total', LLM_AGENT, '$__interval')})`,
          '{{kind}}',
        ),
      ),

    statPanel(
      {
        id: 10,
        title: 'LLM cost',
        description:
          "US dollars the agent's proposer spent on LLM requests within the dashboard time range " +
          `(unpriced models count 0). ${COUNTED_RISE}`,
        gridPos: grid(20, 24, 4),
      },
      { unit: 'currencyUSD', decimals: 2, noValue: '0' },
    ).withTarget(
      instantQuery('A', `sum(${risenOver('hyperagent_llm_cost_usd_total', LLM_AGENT, '$__range')})`, 'cost'),
    ),

    statPanel(
      {
        id: 11,
        title: 'Production against sandbox',
        description:
          "The latest delivery's gain in production (after promotion when measured, else the canary's " +
          'against stable) over the gain the sandbox predicted: 1 means production showed what the sandbox ' +
          'predicted; below 0.5 twice in a row and the agent stops approving code changes itself.',
        gridPos: grid(0, 32, 8),
      },
      { unit: 'none', decimals: 2 },
    ).withTarget(
      // Neither range nor instant: Grafana runs it as a range query and the stat shows its last value.
      query(
        'A',
        `max(last_over_time(hyperagent_gain_observed_to_predicted_ratio{${AGENT}}[$__range]))`,
        'observed / predicted',
      ),
    ),

    timeseriesPanel(
      {
        id: 12,
        title: 'Incidents',
        description:
          "Incidents the agent's healing triggers detected per interval (spec.healing): a trigger that held " +
          `for its duration. ${COUNTED_RISE}`,
        gridPos: grid(8, 32, 8),
      },
      { unit: 'short', bars: true },
    )
      .decimals(0)
      .withTarget(
        rangeQuery('A', `sum(${risenOver('hyperagent_incidents_total', AGENT, '$__interval')})`, 'incidents'),
      ),

    statPanel(
      {
        id: 13,
        title: 'Time to detect, mitigate, heal',
        description:
          'Mean seconds over the time range, for incidents: from the first trigger holding to detection, ' +
          'from detection to the revert asked for or the remedy promoted, and from detection to no trigger ' +
          `firing. ${COUNTED_RISE}`,
        gridPos: grid(16, 32, 8),
      },
      { unit: 's', decimals: 1 },
    )
      .withTarget(
        instantQuery('A', meanSeconds('hyperagent_time_to_detect_seconds', ', source="incident"'), 'detect'),
      )
      .withTarget(
        instantQuery(
          'B',
          meanSeconds('hyperagent_time_to_mitigate_seconds', ', source="incident"'),
          'mitigate',
        ),
      )
      .withTarget(instantQuery('C', meanSeconds('hyperagent_time_to_heal_seconds', ''), 'heal')),
  ];
}

/** The mean of a histogram's observations over the time range, counting series that appear in it. */
function meanSeconds(histogram: string, extra: string): string {
  const risen = (part: string) => `sum(${risenOver(`${histogram}_${part}`, `${AGENT}${extra}`, '$__range')})`;
  return `${risen('sum')} / ${risen('count')}`;
}

/**
 * A Prometheus query variable as Grafana's variable editor saves it: the query as an object, and
 * `definition` (which the SDK's model lacks), the text Grafana shows in the variables list.
 */
function promQueryVariable(
  name: string,
  text: string,
  build: (variable: dashboard.QueryVariableBuilder) => dashboard.QueryVariableBuilder,
): cog.Builder<dashboard.VariableModel & { definition: string }> {
  const variable = build(
    new dashboard.QueryVariableBuilder(name)
      .datasource(DATASOURCE)
      .query({ query: text, refId: 'PrometheusVariableQueryEditor-VariableQuery' })
      .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
      .hide(dashboard.VariableHide.DontHide)
      .includeAll(false)
      .multi(false),
  );
  return { build: () => ({ ...variable.build(), definition: text }) };
}

// Canary metrics of any HyperAgent, by their scrape's own namespace label.
const CANARY_SERIES =
  '{__name__=~"hyperagent_canary_weight|hyperagent_analysis_result_total", exported_namespace!=""}';

/** exported_namespace when some canary metric carries it, else namespace, as a one-sample query_result. */
const NS_LABEL_QUERY =
  `query_result(label_replace(count(last_over_time(${CANARY_SERIES}[$__range])), "label", "exported_namespace", "", "") ` +
  `or (label_replace(vector(1), "label", "namespace", "", "") unless on () count(last_over_time(${CANARY_SERIES}[$__range]))))`;

function variables(): cog.Builder<dashboard.VariableModel>[] {
  return [
    new dashboard.DatasourceVariableBuilder('datasource')
      .label('Data source')
      .type('prometheus')
      .regex('')
      .hide(dashboard.VariableHide.DontHide),

    promQueryVariable('ns_label', NS_LABEL_QUERY, (v) =>
      v
        .label('Namespace label')
        .regex('/label="([^"]+)"/')
        .sort(dashboard.VariableSort.Disabled)
        .hide(dashboard.VariableHide.HideVariable)
        .description(
          "The label that carries the namespace of the operator's canary metrics: exported_namespace when " +
            'the scrape kept its own namespace label (Prometheus renames the clashing one unless ' +
            "honor_labels), namespace when the scrape honours the target's labels. Detected from the data.",
        ),
    ),

    promQueryVariable('namespace', 'label_values(hyperagent_canary_weight, ${ns_label})', (v) =>
      v
        .label('Namespace')
        .regex('')
        .sort(dashboard.VariableSort.AlphabeticalAsc)
        .allowCustomValue(true)
        .description(
          'Namespace of the HyperAgent and of its Deployment. Namespaces with canaries are listed; type ' +
            'another one for the service panels.',
        ),
    ),

    promQueryVariable(
      'agent',
      'label_values(hyperagent_canary_weight{${ns_label}="$namespace"}, agent)',
      (v) =>
        v
          .label('Agent')
          .regex('')
          .sort(dashboard.VariableSort.AlphabeticalAsc)
          .allowCustomValue(true)
          .description('The HyperAgent whose canaries to show.'),
    ),

    new dashboard.TextBoxVariableBuilder('deployment')
      .label('Deployment')
      .description(
        'The target Deployment: stable pods are <deployment>-<hash>-<id>, canary pods ' +
          '<deployment>-canary-<hash>-<id>.',
      )
      .defaultValue('quote-service')
      .current({ text: 'quote-service', value: 'quote-service' })
      .options([{ selected: true, text: 'quote-service', value: 'quote-service' }])
      .hide(dashboard.VariableHide.DontHide),

    promQueryVariable('route', 'label_values(http_requests_total{namespace="$namespace"}, route)', (v) =>
      v
        .label('Route')
        .regex('')
        .sort(dashboard.VariableSort.AlphabeticalAsc)
        .includeAll(true)
        .multi(true)
        .allValue('.*')
        .current({ selected: true, text: ['All'], value: ['$__all'] })
        .description(
          "Routes of the service's http_requests_total; All also matches series without a route label.",
        ),
    ),
  ];
}

/**
 * The dashboard as an SDK builder, for code that adds panels (`withPanel` places a panel without a
 * gridPos after the last one) or variables before building it.
 */
export function canaryDashboardBuilder(): dashboard.DashboardBuilder {
  const builder = new dashboard.DashboardBuilder('HyperAgent canary')
    .uid(DASHBOARD_UID)
    .id(null)
    .version(1)
    .description(
      'Canary rollouts of a HyperAgent: traffic weight, canary vs stable error rate and p99, analysis ' +
        'verdicts, rollbacks, promotions, cycle outcomes and LLM spend.',
    )
    .tags(['hyperagent', 'canary'])
    .editable()
    .tooltip(dashboard.DashboardCursorSync.Crosshair)
    .time({ from: 'now-3h', to: 'now' })
    .refresh('30s')
    .timezone('')
    .weekStart('')
    .fiscalYearStartMonth(0)
    .links([])
    .annotation(
      new dashboard.AnnotationQueryBuilder()
        .builtIn(1)
        .datasource({ type: 'grafana', uid: '-- Grafana --' })
        .enable(true)
        .hide(true)
        .iconColor('rgba(0, 211, 255, 1)')
        .name('Annotations & Alerts')
        .type('dashboard'),
    )
    .variables(variables());
  for (const panel of panels()) builder.withPanel(panel);
  return builder;
}

/** The dashboard's JSON model, as the chart ships it. */
export function canaryDashboard(): dashboard.Dashboard {
  return canaryDashboardBuilder().build();
}

/** The text of DASHBOARD_PATH: the model as JSON, formatted as prettier formats the repository. */
export async function renderCanaryDashboard(model: dashboard.Dashboard = canaryDashboard()): Promise<string> {
  const config = (await resolveConfig(DASHBOARD_PATH, { editorconfig: true })) ?? {};
  return format(JSON.stringify(model, null, 2), { ...config, filepath: DASHBOARD_PATH });
}
