// The chart's Grafana dashboard as plain PromQL: every panel query with the dashboard's variables
// filled in, as Grafana would send it, so tests can check the queries offline (unit) and run them
// against a real Prometheus (e2e). A variable left over fails loudly rather than reaching
// Prometheus as a literal `$name`.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const DASHBOARD_FILE = fileURLToPath(
  new URL('../../charts/hyperagent-operator/dashboards/hyperagent-canary.json', import.meta.url),
);

/** Variables Grafana defines itself (global variables); a dashboard may use them without declaring them. */
export const GRAFANA_BUILTINS: ReadonlySet<string> = new Set([
  '__interval',
  '__interval_ms',
  '__rate_interval',
  '__rate_interval_ms',
  '__range',
  '__range_s',
  '__range_ms',
  '__from',
  '__to',
  '__now',
  '__dashboard',
  '__name',
  '__org',
  '__user',
  '__timezone',
  '__timeFilter',
]);

/** Values of the interval and range built-ins when the caller gives none (a 1 h window, 15 s steps). */
export const BUILTIN_DEFAULTS: Readonly<Record<string, string>> = {
  __interval: '15s',
  __rate_interval: '1m',
  __range: '1h',
};

export interface DashboardTarget {
  refId: string;
  expr?: string;
  legendFormat?: string;
  instant?: boolean;
  range?: boolean;
  datasource?: { type?: string; uid?: string };
}

export interface DashboardPanel {
  id: number;
  type: string;
  title: string;
  description?: string;
  gridPos?: { h: number; w: number; x: number; y: number };
  datasource?: { type?: string; uid?: string };
  fieldConfig?: { defaults?: { unit?: string } };
  targets?: DashboardTarget[];
  /** Panels of a collapsed row. */
  panels?: DashboardPanel[];
}

export interface DashboardVariable {
  name: string;
  type: string;
  label?: string;
  description?: string;
  query?: string | { query?: string };
  definition?: string;
  regex?: string;
  sort?: number;
  includeAll?: boolean;
  multi?: boolean;
  allValue?: string;
  current?: { text?: string | string[]; value?: string | string[] };
}

export interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: DashboardPanel[];
  templating: { list: DashboardVariable[] };
}

/** One panel query with the variables substituted. */
export interface DashboardQuery {
  panel: string;
  refId: string;
  expr: string;
  legend: string;
  /** Grafana runs it as an instant query (stat panels); otherwise as a range query. */
  instant: boolean;
}

export function readDashboard(file = DASHBOARD_FILE): Dashboard {
  return JSON.parse(readFileSync(file, 'utf8')) as Dashboard;
}

/** Every panel, those inside collapsed rows included, rows themselves excluded. */
export function panelsOf(dashboard: Dashboard): DashboardPanel[] {
  return dashboard.panels.flatMap((panel) => (panel.type === 'row' ? (panel.panels ?? []) : [panel]));
}

/** The query text of a query variable (Grafana stores either a string or `{ query }`). */
export function variableQuery(variable: DashboardVariable): string | undefined {
  return typeof variable.query === 'string' ? variable.query : variable.query?.query;
}

// Grafana's reference forms: ${name}, ${name:format}, [[name]], [[name:format]] and $name.
const REFERENCE = /\$\{(\w+)(?::[^}]*)?\}|\[\[(\w+)(?::\w+)?\]\]|\$(\w+)/g;

/**
 * Names of the variables `text` refers to. `$1`, `$2`… are not variables but label_replace()
 * back-references, which Grafana passes through as well.
 */
export function variableReferences(text: string): string[] {
  const names = new Set<string>();
  for (const match of text.matchAll(REFERENCE)) {
    const name = match[1] ?? match[2] ?? match[3]!;
    if (!/^\d+$/.test(name)) names.add(name);
  }
  return [...names];
}

/** `text` with every variable replaced by its value; throws naming each variable without a value. */
export function substitute(text: string, values: Readonly<Record<string, string>>): string {
  const unknown = variableReferences(text).filter((name) => !(name in values));
  if (unknown.length > 0) {
    throw new Error(`no value for variable(s) ${unknown.map((n) => `$${n}`).join(', ')} in: ${text}`);
  }
  return text.replace(REFERENCE, (whole, braced?: string, bracketed?: string, plain?: string) => {
    const name = braced ?? bracketed ?? plain!;
    return /^\d+$/.test(name) ? whole : values[name]!;
  });
}

/**
 * `values` completed with what Grafana would use without user input: the interval and range
 * built-ins (with their _ms and _s forms), textbox and custom variables' current values, and the
 * "All" value of variables currently set to All. The caller's values win.
 */
export function completeValues(
  dashboard: Dashboard,
  values: Readonly<Record<string, string>>,
): Record<string, string> {
  const out: Record<string, string> = { ...BUILTIN_DEFAULTS };
  for (const variable of dashboard.templating.list) {
    const fallback = staticValue(variable);
    if (fallback !== undefined) out[variable.name] = fallback;
  }
  Object.assign(out, values);
  for (const [name, msName, sName] of [
    ['__interval', '__interval_ms', undefined],
    ['__rate_interval', '__rate_interval_ms', undefined],
    ['__range', '__range_ms', '__range_s'],
  ] as const) {
    const ms = out[name] === undefined ? undefined : durationMs(out[name]);
    if (ms === undefined) continue;
    if (!(msName in values)) out[msName] = String(ms);
    if (sName && !(sName in values)) out[sName] = String(Math.floor(ms / 1000));
  }
  return out;
}

/** A variable's value that needs no data source: textbox, constant and custom values, or All. */
function staticValue(variable: DashboardVariable): string | undefined {
  const current = variable.current?.value;
  const first = Array.isArray(current) ? current[0] : current;
  if (variable.includeAll && first === '$__all') return variable.allValue ?? '.*';
  if (['textbox', 'constant', 'custom'].includes(variable.type)) {
    return first ?? (typeof variable.query === 'string' ? variable.query : undefined);
  }
  return undefined;
}

/** Milliseconds of a Prometheus duration such as 90s, 5m or 1h30m; undefined if it is none. */
export function durationMs(duration: string): number | undefined {
  const units: Record<string, number> = {
    ms: 1,
    s: 1000,
    m: 60_000,
    h: 3_600_000,
    d: 86_400_000,
    w: 604_800_000,
  };
  if (!/^(\d+(ms|s|m|h|d|w))+$/.test(duration)) return undefined;
  let total = 0;
  for (const [, amount, unit] of duration.matchAll(/(\d+)(ms|s|m|h|d|w)/g))
    total += Number(amount) * units[unit!]!;
  return total;
}

/**
 * Every panel query of the dashboard with its variables replaced by `values` (completed as in
 * completeValues). Throws when a query refers to a variable without a value.
 */
export function dashboardQueries(
  values: Readonly<Record<string, string>>,
  dashboard: Dashboard = readDashboard(),
): DashboardQuery[] {
  const all = completeValues(dashboard, values);
  return panelsOf(dashboard).flatMap((panel) =>
    (panel.targets ?? []).map((target) => {
      if (!target.expr?.trim()) throw new Error(`panel "${panel.title}" query ${target.refId} has no expr`);
      return {
        panel: panel.title,
        refId: target.refId,
        expr: substitute(target.expr, all),
        legend: target.legendFormat ?? '',
        instant: target.instant === true && target.range !== true,
      };
    }),
  );
}

export interface Sample {
  metric: Record<string, string>;
  value: number;
}

export interface PanelQueryResult extends DashboardQuery {
  /** Prometheus's status: error when the query does not parse or fails to evaluate. */
  status: 'success' | 'error';
  error?: string;
  /** The instant vector (a scalar comes back as one sample without labels). */
  samples: Sample[];
}

export interface DashboardRun {
  /** The values every query ran with: the caller's, the defaults, and query variables resolved. */
  variables: Record<string, string>;
  results: PanelQueryResult[];
}

export interface RunOptions {
  /** Evaluation time of the instant queries (default: now). */
  time?: Date;
  dashboard?: Dashboard;
}

/**
 * Runs every panel query of the dashboard once as an instant query (`/api/v1/query`) at
 * `options.time`, with `values` for its variables. Query variables without a value (the
 * namespace-label detection, say) are resolved first against the same Prometheus, as Grafana
 * would: `query_result(…)` through its regex, `label_values(…)` through the label values API,
 * taking the first option. Query errors are reported per result, not thrown.
 */
export async function runDashboardQueries(
  promUrl: string,
  values: Readonly<Record<string, string>>,
  options: RunOptions = {},
): Promise<DashboardRun> {
  const dashboard = options.dashboard ?? readDashboard();
  const time = options.time ?? new Date();
  const variables = completeValues(dashboard, values);
  for (const variable of dashboard.templating.list) {
    if (variable.name in variables || variable.type !== 'query') continue;
    variables[variable.name] = await resolveVariable(promUrl, variable, variables, time);
  }
  const results: PanelQueryResult[] = [];
  for (const query of dashboardQueries(variables, dashboard)) {
    const answer = await instantQuery(promUrl, query.expr, time);
    results.push(
      answer.status === 'success'
        ? { ...query, status: 'success', samples: answer.samples }
        : { ...query, status: 'error', error: answer.error, samples: [] },
    );
  }
  return { variables, results };
}

/** The first option Grafana would offer for a query variable, given the values resolved so far. */
async function resolveVariable(
  promUrl: string,
  variable: DashboardVariable,
  values: Readonly<Record<string, string>>,
  time: Date,
): Promise<string> {
  const raw = variableQuery(variable);
  if (!raw) throw new Error(`variable ${variable.name} has no query`);
  const query = substitute(raw, values).trim();
  let options: string[];
  const queryResult = /^query_result\(([\s\S]*)\)$/.exec(query);
  const labelValues = /^label_values\((?:([\s\S]*),\s*)?(\w+)\)$/.exec(query);
  if (queryResult) {
    const answer = await instantQuery(promUrl, queryResult[1]!, time);
    if (answer.status === 'error') throw new Error(`variable ${variable.name}: ${answer.error}\n${query}`);
    // Grafana matches the regex against one text line per series: name{label="value", …} value time
    options = answer.samples.map(
      (s) =>
        `${s.metric.__name__ ?? ''}{${Object.entries(s.metric)
          .filter(([k]) => k !== '__name__')
          .map(([k, v]) => `${k}="${v}"`)
          .join(', ')}} ${s.value} ${time.getTime()}`,
    );
  } else if (labelValues) {
    const [, selector, label] = labelValues;
    const url = new URL(`/api/v1/label/${encodeURIComponent(label!)}/values`, promUrl);
    const rangeMs = durationMs(values.__range ?? BUILTIN_DEFAULTS.__range!)!;
    url.searchParams.set('start', String((time.getTime() - rangeMs) / 1000));
    url.searchParams.set('end', String(time.getTime() / 1000));
    if (selector) url.searchParams.set('match[]', selector);
    const body = (await (await fetch(url)).json()) as { status: string; data?: string[]; error?: string };
    if (body.status !== 'success') throw new Error(`variable ${variable.name}: ${body.error}\n${query}`);
    options = body.data ?? [];
  } else {
    throw new Error(`variable ${variable.name}: cannot resolve query ${query}; pass a value`);
  }
  options = applyRegex(options, variable.regex);
  if (variable.sort === 1 || variable.sort === 5) options.sort();
  if (variable.sort === 2 || variable.sort === 6) options.sort().reverse();
  const first = options[0];
  if (first === undefined) {
    throw new Error(`variable ${variable.name}: its query returned no options; pass a value\n${query}`);
  }
  return first;
}

/** Grafana's variable regex: keep matching options, reduced to the first capture group if any. */
function applyRegex(options: string[], regex: string | undefined): string[] {
  if (!regex) return [...new Set(options)];
  const parts = /^\/(.*)\/([gimsuy]*)$/s.exec(regex);
  const pattern = parts ? new RegExp(parts[1]!, parts[2]!.replace('g', '')) : new RegExp(regex);
  const kept: string[] = [];
  for (const option of options) {
    const match = pattern.exec(option);
    if (match) kept.push(match[1] ?? match[0]);
  }
  return [...new Set(kept)];
}

type Answer = { status: 'success'; samples: Sample[] } | { status: 'error'; error: string };

async function instantQuery(promUrl: string, expr: string, time: Date): Promise<Answer> {
  const response = await fetch(new URL('/api/v1/query', promUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ query: expr, time: String(time.getTime() / 1000) }),
  });
  const text = await response.text();
  let body: {
    status?: string;
    error?: string;
    data?: { resultType: string; result: unknown };
  };
  try {
    body = JSON.parse(text);
  } catch {
    return { status: 'error', error: `HTTP ${response.status}: ${text.slice(0, 200)}` };
  }
  if (body.status !== 'success' || !body.data) {
    return { status: 'error', error: body.error ?? `HTTP ${response.status}` };
  }
  const { resultType, result } = body.data;
  if (resultType === 'scalar') {
    const [, value] = result as [number, string];
    return { status: 'success', samples: [{ metric: {}, value: Number(value) }] };
  }
  if (resultType !== 'vector') return { status: 'error', error: `unexpected result type ${resultType}` };
  const vector = result as { metric: Record<string, string>; value: [number, string] }[];
  return {
    status: 'success',
    samples: vector.map((s) => ({ metric: s.metric, value: Number(s.value[1]) })),
  };
}
