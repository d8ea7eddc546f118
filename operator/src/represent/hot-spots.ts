// Slow routes, measured by Prometheus from the service's request-duration histogram, and the
// modules that mention each route. Failure to measure is a note, never an exception.
import type { HotSpot, ModuleNode } from './graph.js';
import { PROSE_LANGUAGES } from './language.js';
import { PrometheusClient, type Sample } from '../telemetry/prometheus-client.js';

export const DEFAULT_HISTOGRAM = 'http_request_duration_seconds';
export const DEFAULT_WINDOW = '5m';
export const DEFAULT_TOP = 10;
export const DEFAULT_TIMEOUT_MS = 5000;

export interface PrometheusOptions {
  /** Base address of the Prometheus server, e.g. `http://prometheus.monitoring:9090`. */
  url: string;
  /** PromQL label matchers (braces optional); overrides the one derived from `target`. */
  selector?: string;
  /** The deployment whose pods to look at, for the default selector. */
  target?: { namespace?: string; deployment?: string };
  /** Histogram base name, in seconds, labelled by `route` and `method`. */
  histogram?: string;
  /** Range of `rate()`, a Prometheus duration. */
  window?: string;
  /** Most hot spots to keep. */
  top?: number;
  timeoutMs?: number;
}

/** A route as measured, before it is tied to modules. */
export interface MeasuredRoute {
  route: string;
  method?: string;
  p99Ms: number;
  rps?: number;
}

/** Matchers for the target's pods: `namespace="ns",pod=~"deploy-.*"`, or '' without a target. */
export function defaultSelector(target: PrometheusOptions['target']): string {
  const matchers: string[] = [];
  if (target?.namespace) matchers.push(`namespace="${target.namespace}"`);
  if (target?.deployment) matchers.push(`pod=~"${target.deployment}-.*"`);
  return matchers.join(',');
}

/** The two PromQL queries: p99 latency and request rate, per route and method. */
export function hotSpotQueries(options: PrometheusOptions): {
  latency: string;
  rate: string;
  series: string;
} {
  const histogram = options.histogram ?? DEFAULT_HISTOGRAM;
  const window = options.window ?? DEFAULT_WINDOW;
  const matchers = (options.selector ?? defaultSelector(options.target)).trim().replace(/^\{|\}$/g, '');
  const braces = matchers === '' ? '' : `{${matchers}}`;
  return {
    latency: `histogram_quantile(0.99, sum by (le, route, method) (rate(${histogram}_bucket${braces}[${window}])))`,
    rate: `sum by (route, method) (rate(${histogram}_count${braces}[${window}]))`,
    series: `${histogram}_bucket${braces}`,
  };
}

/** Measures the slowest routes, slowest first; `note` says why there are none. Never throws. */
export async function measureRoutes(
  options: PrometheusOptions,
): Promise<{ routes: MeasuredRoute[]; note?: string }> {
  const queries = hotSpotQueries(options);
  const client = new PrometheusClient({
    address: options.url,
    timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
  });
  const [latency, rate] = await Promise.all([client.query(queries.latency), client.query(queries.rate)]);
  if (!latency.ok) return { routes: [], note: sentence(latency.message) };
  const routes = rankRoutes(latency.samples, rate.ok ? rate.samples : [], options.top ?? DEFAULT_TOP);
  if (routes.length === 0) {
    const window = options.window ?? DEFAULT_WINDOW;
    return {
      routes,
      note: `Prometheus at ${client.shownAddress} has no latency by route for ${queries.series} over the last ${window}.`,
    };
  }
  return { routes };
}

/** The client's message as a note: one sentence, ending with a full stop. */
function sentence(message: string): string {
  return message.endsWith('.') ? message : `${message}.`;
}

/**
 * Joins p99 and rate samples by route and method, slowest first, at most `top`. Samples without a
 * route and values that are not finite are dropped: NaN means no requests in the window, +Inf a
 * p99 beyond the largest bucket, neither of which is a latency we can state.
 */
export function rankRoutes(
  latency: readonly Sample[],
  rate: readonly Sample[],
  top: number,
): MeasuredRoute[] {
  const rps = new Map<string, number>();
  for (const sample of rate) {
    if (Number.isFinite(sample.value)) rps.set(routeKey(sample.labels), sample.value);
  }
  const routes: MeasuredRoute[] = [];
  for (const sample of latency) {
    const route = sample.labels.route;
    if (!route || !Number.isFinite(sample.value)) continue;
    const method = sample.labels.method;
    const perSecond = rps.get(routeKey(sample.labels));
    routes.push({
      route,
      ...(method ? { method } : {}),
      p99Ms: round(sample.value * 1000, 3),
      ...(perSecond !== undefined ? { rps: round(perSecond, 3) } : {}),
    });
  }
  return routes
    .sort((a, b) => b.p99Ms - a.p99Ms || (b.rps ?? 0) - (a.rps ?? 0) || a.route.localeCompare(b.route))
    .slice(0, Math.max(0, top));
}

/** Keeps the JSON readable: microseconds and thousandths of a request are below any signal. */
function round(value: number, decimals: number): number {
  const scale = 10 ** decimals;
  return Math.round(value * scale) / scale;
}

function routeKey(labels: Record<string, string>): string {
  return `${labels.method ?? ''} ${labels.route ?? ''}`;
}

/**
 * Ties each route to the non-test source modules that mention it: as a quoted literal (`'/quote'`)
 * when any module does, else as a path that ends there (`/api/quote` for a router mounted on `/api`).
 */
export function locateRoutes(
  routes: readonly MeasuredRoute[],
  modules: readonly ModuleNode[],
  texts: ReadonlyMap<string, string>,
): HotSpot[] {
  const sources = modules.filter((module) => !module.test && !PROSE_LANGUAGES.has(module.language));
  return routes.map((route) => {
    const literal = escape(route.route);
    const quoted = new RegExp(`(['"\`])${literal}\\1`);
    let found = sources.filter((module) => quoted.test(texts.get(module.path) ?? ''));
    if (found.length === 0 && /\w/.test(route.route)) {
      const bare = new RegExp(`${literal}(?![\\w-])`);
      found = sources.filter((module) => bare.test(texts.get(module.path) ?? ''));
    }
    return { ...route, modules: found.map((module) => module.path) };
  });
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
