// Counters read straight from a metrics endpoint (the Prometheus text exposition a gateway serves),
// for the sequential judgement of a canary: a gateway's own counters are as fresh as its last
// request, where a Prometheus server is one scrape interval behind.
//
// Only what summing counters needs is understood: a selector, `name{label="v", label=~"re", …}`,
// optionally inside `sum(…)`. Label matchers work as in PromQL (=, !=, =~, !~; regular expressions
// match the whole value; a missing label is the empty string). Samples that match are added up; none
// is no data.

export type MatchOperator = '=' | '!=' | '=~' | '!~';

export interface LabelMatcher {
  label: string;
  operator: MatchOperator;
  value: string;
}

export interface CounterSelector {
  metric: string;
  matchers: LabelMatcher[];
}

export interface Sample {
  metric: string;
  labels: Record<string, string>;
  value: number;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*/;

/**
 * Parses `sum(selector)` or `selector`. Throws an Error that names what it could not read: anything
 * else (functions, ranges, arithmetic) is not a counter this reader can sum.
 */
export function parseCounterSelector(query: string): CounterSelector {
  const text = query.trim();
  const inner = /^sum\s*\(([\s\S]*)\)$/.exec(text);
  const selector = (inner ? inner[1]! : text).trim();
  const fail = (why: string): never => {
    throw new Error(
      `${JSON.stringify(query)} is not a counter selector (${why}): write metric{label="value", …}, optionally inside sum(…)`,
    );
  };
  const name = NAME.exec(selector);
  if (!name) fail('it does not start with a metric name');
  let rest = selector.slice(name![0].length).trim();
  const matchers: LabelMatcher[] = [];
  if (rest.startsWith('{')) {
    rest = rest.slice(1).trim();
    while (!rest.startsWith('}')) {
      const label = LABEL.exec(rest);
      if (!label) fail('a label name was expected');
      rest = rest.slice(label![0].length).trim();
      const operator = (['=~', '!~', '!=', '='] as const).find((op) => rest.startsWith(op));
      if (!operator) fail(`label ${label![0]} has no =, !=, =~ or !~`);
      rest = rest.slice(operator!.length).trim();
      const quoted = readQuoted(rest);
      if (!quoted) fail(`the value of label ${label![0]} is not a quoted string`);
      matchers.push({ label: label![0], operator: operator!, value: quoted!.value });
      rest = rest.slice(quoted!.length).trim();
      if (rest.startsWith(',')) rest = rest.slice(1).trim();
      else if (!rest.startsWith('}')) fail('a comma or } was expected after a label');
    }
    rest = rest.slice(1).trim();
  }
  if (rest !== '') fail(`${JSON.stringify(rest)} follows the selector`);
  for (const matcher of matchers) {
    if (matcher.operator === '=~' || matcher.operator === '!~') {
      try {
        new RegExp(`^(?:${matcher.value})$`);
      } catch (error) {
        fail(`label ${matcher.label}: ${(error as Error).message}`);
      }
    }
  }
  return { metric: name![0], matchers };
}

/** The samples of a text exposition (version 0.0.4); comment lines and malformed lines are skipped. */
export function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const sample = parseSampleLine(line);
    if (sample) samples.push(sample);
  }
  return samples;
}

/** The sum of the samples `selector` matches; undefined when none matches. */
export function sumMatching(samples: readonly Sample[], selector: CounterSelector): number | undefined {
  const tests = selector.matchers.map(matcherTest);
  let sum: number | undefined;
  for (const sample of samples) {
    if (sample.metric !== selector.metric) continue;
    if (!tests.every((test) => test(sample.labels))) continue;
    sum = (sum ?? 0) + sample.value;
  }
  return sum;
}

function matcherTest(matcher: LabelMatcher): (labels: Record<string, string>) => boolean {
  const pattern =
    matcher.operator === '=~' || matcher.operator === '!~' ? new RegExp(`^(?:${matcher.value})$`) : undefined;
  return (labels) => {
    const value = labels[matcher.label] ?? '';
    switch (matcher.operator) {
      case '=':
        return value === matcher.value;
      case '!=':
        return value !== matcher.value;
      case '=~':
        return pattern!.test(value);
      case '!~':
        return !pattern!.test(value);
    }
  };
}

function parseSampleLine(line: string): Sample | undefined {
  const name = NAME.exec(line);
  if (!name) return undefined;
  let rest = line.slice(name[0].length);
  const labels: Record<string, string> = {};
  if (rest.startsWith('{')) {
    rest = rest.slice(1).trimStart();
    while (!rest.startsWith('}')) {
      const label = LABEL.exec(rest);
      if (!label) return undefined;
      rest = rest.slice(label[0].length).trimStart();
      if (!rest.startsWith('=')) return undefined;
      const quoted = readQuoted(rest.slice(1).trimStart());
      if (!quoted) return undefined;
      labels[label[0]] = quoted.value;
      rest = rest.slice(1).trimStart().slice(quoted.length).trimStart();
      if (rest.startsWith(',')) rest = rest.slice(1).trimStart();
      else if (!rest.startsWith('}')) return undefined;
    }
    rest = rest.slice(1);
  }
  const [valueText] = rest.trim().split(/\s+/);
  if (valueText === undefined || valueText === '') return undefined;
  const value = parseSampleValue(valueText);
  return value === undefined ? undefined : { metric: name[0], labels, value };
}

function parseSampleValue(text: string): number | undefined {
  if (text === '+Inf' || text === 'Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  if (text === 'NaN') return Number.NaN;
  const value = Number(text);
  return text.trim() !== '' && !Number.isNaN(value) ? value : undefined;
}

/** A double-quoted string at the start of `text` with \\, \" and \n escapes: its value and length. */
function readQuoted(text: string): { value: string; length: number } | undefined {
  if (!text.startsWith('"')) return undefined;
  let value = '';
  for (let i = 1; i < text.length; i++) {
    const char = text[i]!;
    if (char === '"') return { value, length: i + 1 };
    if (char === '\\') {
      const next = text[++i];
      if (next === undefined) return undefined;
      value += next === 'n' ? '\n' : next;
    } else value += char;
  }
  return undefined;
}
