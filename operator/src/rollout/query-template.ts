// Renders the PromQL of an analysis metric: {{namespace}}, {{service}}, {{canary}}, {{stable}} and
// {{canaryService}} are replaced by label values before the query runs. {{canary}} and {{stable}}
// name the Deployments (pods are named after them); {{service}} and {{canaryService}} the Services
// (a gateway labels what it measured per backend with them).
//
// Placeholders stand for label values, so they must sit inside a PromQL string literal
// (`pod=~"{{canary}}-.*"`); each value is escaped for the literal it lands in ("…", '…' or `…`)
// and, after a regex matcher (=~ or !~), for the regular expression as well. A template that
// names an unknown placeholder, or puts one outside a string, is refused before anything is sent
// to Prometheus.
import type { HyperAgentSpec } from '../api/schema.js';
import { canaryName } from './canary-deployment.js';

export const PLACEHOLDERS = ['namespace', 'service', 'canary', 'stable', 'canaryService'] as const;
export type Placeholder = (typeof PLACEHOLDERS)[number];

/** The label values a query template is rendered with. */
export type QueryValues = Record<Placeholder, string>;

type TargetSpec = Pick<HyperAgentSpec['target'], 'deployment' | 'service'>;

/** The values of a canary of `target`: {{canary}} and {{canaryService}} name what the canary adds. */
export function canaryQueryValues(namespace: string, target: TargetSpec): QueryValues {
  const service = target.service ?? target.deployment;
  return {
    namespace,
    service,
    canary: canaryName(target.deployment),
    stable: target.deployment,
    canaryService: canaryName(service),
  };
}

/** The same values measuring the stable side: {{canary}} names the stable Deployment, {{canaryService}} its Service. */
export function asStable(values: QueryValues): QueryValues {
  return { ...values, canary: values.stable, canaryService: values.service };
}

/** The values that measure the target itself (no canary runs): every name is the stable one. */
export function targetQueryValues(namespace: string, target: TargetSpec): QueryValues {
  return asStable(canaryQueryValues(namespace, target));
}

/** The metric fields rendering needs. */
type AnalysisMetric = HyperAgentSpec['rollout']['analysis']['metrics'][number];

/** A metric measured by one query (not a failureRatio). */
export type TemplatedMetric = Pick<AnalysisMetric, 'name' | 'maxRatioToStable'> & { query: string };

/** A metric judged on counts: its failed and total queries. */
export type CountedMetric = Pick<AnalysisMetric, 'name'> & {
  failureRatio: NonNullable<AnalysisMetric['failureRatio']>;
};

/** The metric measured by a query, or undefined for a failureRatio metric. */
export function asTemplated<T extends Pick<AnalysisMetric, 'name' | 'maxRatioToStable' | 'query'>>(
  metric: T,
): (T & TemplatedMetric) | undefined {
  return metric.query !== undefined ? (metric as T & TemplatedMetric) : undefined;
}

/** A query template that cannot be rendered; the message says what is wrong and how to write it. */
export class QueryTemplateError extends Error {
  override name = 'QueryTemplateError';
}

type Quote = '"' | "'" | '`';
type Context = { in: 'code' } | { in: 'comment' } | { in: 'string'; quote: Quote; regex: boolean };

interface Slot {
  name: string;
  raw: string;
  offset: number;
  context: Context;
}

type Piece = { text: string } | { slot: Slot };

/** Splits a template into text and placeholders, noting the PromQL context of each placeholder. */
function scan(template: string): { pieces: Piece[]; problems: string[] } {
  const pieces: Piece[] = [];
  const problems: string[] = [];
  let context: Context = { in: 'code' };
  let text = '';
  let i = 0;
  while (i < template.length) {
    if (template.startsWith('{{', i)) {
      const end = template.indexOf('}}', i + 2);
      if (end < 0) {
        problems.push(`unclosed placeholder at offset ${i}: '${template.slice(i, i + 20)}'`);
        text += template.slice(i);
        break;
      }
      pieces.push({ text });
      text = '';
      const raw = template.slice(i, end + 2);
      pieces.push({ slot: { name: raw.slice(2, -2).trim(), raw, offset: i, context } });
      i = end + 2;
      continue;
    }
    const char = template[i] as string;
    text += char;
    if (context.in === 'code') {
      if (char === '"' || char === "'" || char === '`') {
        context = { in: 'string', quote: char, regex: /[=!]~\s*$/.test(template.slice(0, i)) };
      } else if (char === '#') {
        context = { in: 'comment' };
      }
    } else if (context.in === 'comment') {
      if (char === '\n') context = { in: 'code' };
    } else if (char === '\\' && context.quote !== '`') {
      // an escape: the next character cannot end the string
      if (i + 1 < template.length) text += template[i + 1];
      i += 1;
    } else if (char === context.quote) {
      context = { in: 'code' };
    }
    i += 1;
  }
  pieces.push({ text });
  return { pieces, problems };
}

function slotProblems(slot: Slot): string[] {
  if (!(PLACEHOLDERS as readonly string[]).includes(slot.name)) {
    const known = PLACEHOLDERS.map((name) => `{{${name}}}`).join(', ');
    return [`unknown placeholder ${slot.raw} at offset ${slot.offset}; the known ones are ${known}`];
  }
  if (slot.context.in === 'code') {
    return [
      `placeholder ${slot.raw} at offset ${slot.offset} is outside a quoted string; it stands for a label value, so quote it, e.g. pod=~"{{canary}}-.*"`,
    ];
  }
  return [];
}

/** Lists what keeps a template from rendering (unknown, unclosed or unquoted placeholders); empty when it is fine. */
export function templateProblems(template: string): string[] {
  const { pieces, problems } = scan(template);
  for (const piece of pieces) if ('slot' in piece) problems.push(...slotProblems(piece.slot));
  return problems;
}

const REGEX_SPECIAL = /[\\.+*?()|[\]{}^$]/g;

function escapeFor(value: string, context: Context): string {
  const quote = context.in === 'string' ? context.quote : '"';
  const regexSafe = context.in === 'string' && context.regex ? value.replace(REGEX_SPECIAL, '\\$&') : value;
  if (quote === '`') {
    if (regexSafe.includes('`'))
      throw new QueryTemplateError('a value inside a `raw string` cannot contain `');
    return regexSafe;
  }
  let out = '';
  for (const char of regexSafe) {
    const code = char.codePointAt(0) as number;
    if (char === '\\' || char === quote) out += `\\${char}`;
    else if (char === '\n') out += '\\n';
    else if (char === '\r') out += '\\r';
    else if (char === '\t') out += '\\t';
    else if (code < 0x20 || code === 0x7f) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += char;
  }
  return out;
}

/**
 * Renders a query template with label values escaped for the string literal each placeholder sits
 * in. Throws QueryTemplateError, naming every problem, for an unknown, unclosed, unquoted or empty
 * placeholder: such a query is never sent.
 */
export function renderQuery(template: string, values: QueryValues): string {
  const { pieces, problems } = scan(template);
  let out = '';
  for (const piece of pieces) {
    if ('text' in piece) {
      out += piece.text;
      continue;
    }
    const slot = piece.slot;
    const found = slotProblems(slot);
    if (found.length > 0) {
      problems.push(...found);
      continue;
    }
    const value = values[slot.name as Placeholder];
    if (!value) {
      problems.push(`no value for ${slot.raw}: an empty label value would match series of every version`);
      continue;
    }
    try {
      out += escapeFor(value, slot.context);
    } catch (error) {
      problems.push(`${slot.raw} at offset ${slot.offset}: ${(error as Error).message}`);
    }
  }
  if (problems.length > 0) throw new QueryTemplateError(`cannot render the query: ${problems.join('; ')}`);
  return out;
}

/**
 * The two count queries of a failureRatio metric, rendered. Throws QueryTemplateError, prefixed
 * with the metric name, when either cannot be rendered.
 */
export function renderCountQueries(
  metric: CountedMetric,
  values: QueryValues,
): { failed: string; total: string } {
  try {
    return {
      failed: renderQuery(metric.failureRatio.failed, values),
      total: renderQuery(metric.failureRatio.total, values),
    };
  } catch (error) {
    if (error instanceof QueryTemplateError) {
      throw new QueryTemplateError(`metric ${metric.name}: ${error.message}`);
    }
    throw error;
  }
}

/**
 * The queries one metric runs: the canary query and, for a maxRatioToStable metric, the same
 * template measuring the stable version ({{canary}} and {{canaryService}} become the stable names). Throws
 * QueryTemplateError, prefixed with the metric name, when the template cannot be rendered.
 */
export function renderMetricQueries(
  metric: TemplatedMetric,
  values: QueryValues,
): { canary: string; stable?: string } {
  try {
    const canary = renderQuery(metric.query, values);
    if (metric.maxRatioToStable === undefined) return { canary };
    return { canary, stable: renderQuery(metric.query, asStable(values)) };
  } catch (error) {
    if (error instanceof QueryTemplateError) {
      throw new QueryTemplateError(`metric ${metric.name}: ${error.message}`);
    }
    throw error;
  }
}
