import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  QueryTemplateError,
  canaryQueryValues,
  renderMetricQueries,
  renderQuery,
  targetQueryValues,
  templateProblems,
  type QueryValues,
} from './query-template.js';

const VALUES: QueryValues = {
  namespace: 'shop',
  service: 'quote',
  canary: 'quote-canary',
  stable: 'quote',
  canaryService: 'quote-svc-canary',
};

test('placeholders are replaced by their label values', () => {
  assert.equal(
    renderQuery(
      'sum(rate(http_requests_total{namespace="{{namespace}}", service="{{service}}", pod=~"{{canary}}-.*"}[1m]))',
      VALUES,
    ),
    'sum(rate(http_requests_total{namespace="shop", service="quote", pod=~"quote-canary-.*"}[1m]))',
  );
  assert.equal(renderQuery("up{pod='{{ stable }}'}", VALUES), "up{pod='quote'}");
  assert.equal(renderQuery('up{pod=`{{canary}}`}', VALUES), 'up{pod=`quote-canary`}');
});

test('the stable variant of a ratio metric measures the stable version with the same query', () => {
  const metric = {
    name: 'error-rate',
    query: 'errors{pod=~"{{canary}}-.*", ns="{{namespace}}"}',
    maxRatioToStable: 1.5,
  };
  assert.deepEqual(renderMetricQueries(metric, VALUES), {
    canary: 'errors{pod=~"quote-canary-.*", ns="shop"}',
    stable: 'errors{pod=~"quote-.*", ns="shop"}',
  });
  assert.deepEqual(renderMetricQueries({ ...metric, maxRatioToStable: undefined }, VALUES), {
    canary: 'errors{pod=~"quote-canary-.*", ns="shop"}',
  });
});

test("a gateway's per-backend query names the Services; measuring the stable side it names the stable Service", () => {
  const metric = {
    name: 'gateway-errors',
    query: 'sum(rate(gw_requests_total{service=~".*-{{namespace}}-{{canaryService}}-[0-9]+"}[30s]))',
    maxRatioToStable: 2,
  };
  assert.deepEqual(renderMetricQueries(metric, VALUES), {
    canary: 'sum(rate(gw_requests_total{service=~".*-shop-quote-svc-canary-[0-9]+"}[30s]))',
    stable: 'sum(rate(gw_requests_total{service=~".*-shop-quote-[0-9]+"}[30s]))',
  });
});

test('the values of a canary name the canary Deployment and Service; the target alone names the stable ones', () => {
  assert.deepEqual(canaryQueryValues('shop', { deployment: 'quote-v1', service: 'quote' }), {
    namespace: 'shop',
    service: 'quote',
    canary: 'quote-v1-canary',
    stable: 'quote-v1',
    canaryService: 'quote-canary',
  });
  assert.deepEqual(targetQueryValues('shop', { deployment: 'quote-v1' }), {
    namespace: 'shop',
    service: 'quote-v1',
    canary: 'quote-v1',
    stable: 'quote-v1',
    canaryService: 'quote-v1',
  });
});

test('an unknown placeholder is refused with the known ones listed, before anything runs', () => {
  assert.throws(
    () => renderQuery('up{pod="{{pod}}"}', VALUES),
    (error: Error) =>
      error instanceof QueryTemplateError &&
      /unknown placeholder \{\{pod\}\} at offset 8; the known ones are \{\{namespace\}\}, \{\{service\}\}, \{\{canary\}\}, \{\{stable\}\}/.test(
        error.message,
      ),
  );
  assert.throws(
    () => renderMetricQueries({ name: 'latency', query: 'x{a="{{.Name}}"}' }, VALUES),
    /metric latency: cannot render the query: unknown placeholder \{\{\.Name\}\}/,
  );
});

test('a placeholder outside a quoted string is refused: values are label values, never PromQL', () => {
  assert.deepEqual(templateProblems('sum(rate({{service}}_total[1m]))'), [
    'placeholder {{service}} at offset 9 is outside a quoted string; it stands for a label value, so quote it, e.g. pod=~"{{canary}}-.*"',
  ]);
  assert.throws(() => renderQuery('up{job={{service}}}', VALUES), QueryTemplateError);
});

test('unclosed placeholders and empty values are refused; all problems are named at once', () => {
  assert.match(templateProblems('up{job="{{service"}')[0] ?? '', /unclosed placeholder at offset 8/);
  assert.throws(
    () => renderQuery('up{a="{{canary}}", b="{{nope}}"}', { ...VALUES, canary: '' }),
    /no value for \{\{canary\}\}.*; unknown placeholder \{\{nope\}\}/,
  );
  assert.deepEqual(templateProblems('up{a="{{canary}}"} # {{namespace}}'), []);
});

test('quotes and escapes inside strings do not confuse where a string ends', () => {
  // the \" keeps the first string open, so {{canary}} is still inside it
  assert.equal(renderQuery('x{a="say \\"{{canary}}\\""}', VALUES), 'x{a="say \\"quote-canary\\""}');
  // a quote of the other kind inside a string does not close it
  assert.equal(renderQuery('x{a="it\'s {{canary}}"}', VALUES), 'x{a="it\'s quote-canary"}');
  // raw strings know no escapes: the backslash is literal and the backtick ends the string
  assert.deepEqual(templateProblems('x{a=`\\`} {{canary}}'), [
    'placeholder {{canary}} at offset 9 is outside a quoted string; it stands for a label value, so quote it, e.g. pod=~"{{canary}}-.*"',
  ]);
});

test('values are escaped for the literal they land in', () => {
  const nasty = { ...VALUES, canary: 'a"b\'c\\d\ne\tf\u0001' };
  assert.equal(renderQuery('x{p="{{canary}}"}', nasty), 'x{p="a\\"b\'c\\\\d\\ne\\tf\\u0001"}');
  assert.equal(renderQuery("x{p='{{canary}}'}", nasty), "x{p='a\"b\\'c\\\\d\\ne\\tf\\u0001'}");
  assert.throws(() => renderQuery('x{p=`{{canary}}`}', { ...VALUES, canary: 'a`b' }), /cannot contain `/);
  // after a regex matcher the value matches itself only: regex metacharacters are escaped too
  assert.equal(
    renderQuery('x{p=~"{{canary}}-.*"}', { ...VALUES, canary: 'v1.2+x' }),
    'x{p=~"v1\\\\.2\\\\+x-.*"}',
  );
  assert.equal(renderQuery('x{p!~ "{{canary}}"}', { ...VALUES, canary: 'a.b' }), 'x{p!~ "a\\\\.b"}');
  // in a comment the value cannot end the line and start code
  assert.equal(renderQuery('up # {{canary}}', { ...VALUES, canary: 'x\nvector(1)' }), 'up # x\\nvector(1)');
});

/** Reads a double- or single-quoted PromQL literal back (the escapes used are also JSON's). */
function unquote(literal: string): string {
  const body = literal.slice(1, -1);
  if (literal.startsWith('"')) return JSON.parse(literal) as string;
  return JSON.parse(`"${body.replaceAll("\\'", "'").replaceAll('"', '\\"')}"`) as string;
}

test('property: any value survives the round trip through a string literal', () => {
  fc.assert(
    fc.property(fc.string({ minLength: 1, unit: 'binary' }), fc.constantFrom('"', "'"), (value, quote) => {
      const rendered = renderQuery(`x{p=${quote}{{canary}}${quote}}`, { ...VALUES, canary: value });
      const literal = rendered.slice('x{p='.length, -1);
      assert.equal(unquote(literal), value);
    }),
    { numRuns: 2000 },
  );
});

test('property: after =~ a value matches itself and nothing longer', () => {
  fc.assert(
    fc.property(fc.string({ minLength: 1, unit: 'binary' }), (value) => {
      const rendered = renderQuery('x{p=~"{{canary}}"}', { ...VALUES, canary: value });
      const pattern = new RegExp(`^(?:${unquote(rendered.slice('x{p=~'.length, -1))})$`, 's');
      assert.ok(pattern.test(value), `${JSON.stringify(value)} should match ${pattern}`);
      assert.ok(!pattern.test(`${value}x`));
    }),
    { numRuns: 2000 },
  );
});
