import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { ArchiveEntry } from '../policy/archive-entry.js';
import { buildPrompt, estimateMessageTokens, neighbourhoodOf, rankArchive } from './prompt.js';
import { ARCHIVE, GRAPH, proposalRequest } from '../../../test/support/proposal-request.js';
import { countPromptTokens } from '../../../test/support/llm-server.js';

function userText(maxChars?: number, overrides = {}) {
  const prompt = buildPrompt(proposalRequest(overrides), maxChars === undefined ? {} : { maxChars });
  return { prompt, system: prompt.messages[0]?.content ?? '', user: prompt.messages[1]?.content ?? '' };
}

test('the prompt states the goal, parameters with ranges and values, paths, and the answer format', () => {
  const { prompt, system, user } = userText();
  assert.deepEqual(
    prompt.messages.map((m) => m.role),
    ['system', 'user'],
  );
  assert.match(system, /Answer with only a JSON object/);
  assert.match(system, /at most 3 candidate\(s\)/);
  assert.match(system, /either config changes .* or code changes/);
  assert.match(user, /## Goal\nReduce the p99 latency of GET \/quote/);
  assert.match(
    user,
    /- cache-size \(env CACHE_SIZE\): integer from 16 to 4096 in steps of 16; current 256; read in src\/cache.ts/,
  );
  assert.match(user, /- eviction \(env EVICTION\): one of "lru", "lfu", "fifo"; current "lru"/);
  assert.match(user, /- compression \(config http.compression\): boolean; current false/);
  assert.match(user, /Changes apply to the deployed version/);
  assert.match(
    user,
    /May change: src\/\nMust never change: test\/, .hyperagent\/\nNo file contents are included/,
  );
  assert.match(user, /Answer with only the JSON object described in the instructions.$/);
  assert.deepEqual(prompt.omitted, []);
  assert.equal(prompt.chars, system.length + user.length);
});

test('past attempts appear with their verdicts and reasons, newest first, failures included', () => {
  const { user } = userText();
  const lines = user.split('\n').filter((line) => /^- quote-c\d\/\d /.test(line));
  assert.deepEqual(lines, [
    '- quote-c6/2 [RolledBack] config eviction="lfu": evict least frequently used; rolled back in production on: canary error rate 3.1% above 1%',
    '- quote-c6/1 [Refused] code: memoise the price lookup; reasons: touches the protected path test/quote.test.ts',
    '- quote-c5/2 [Passed] config cache-size=512: double the cache; score 0.12',
    '- quote-c5/1 [Failed] config cache-size=1024: quadruple the cache; reasons: memory 612Mi above the 512Mi limit',
  ]);
});

test('with a parent, production rollbacks rank first, then its siblings; the parent is the starting point', () => {
  const parent = ARCHIVE[1] as ArchiveEntry;
  const child: ArchiveEntry = {
    id: 'quote-c6/3',
    cycle: 'quote-c6',
    kind: 'config',
    summary: 'from the doubled cache, a longer ttl',
    parent: parent.id,
    parameters: { ...parent.parameters, 'ttl-seconds': 30 },
    verdict: 'Failed',
    reasons: ['stale prices served'],
    evaluatedAt: '2025-01-06T04:00:00Z',
  };
  const archive = [...ARCHIVE.slice(0, 3), child, ...ARCHIVE.slice(3)];
  assert.deepEqual(
    rankArchive(archive, parent).map((e) => e.id),
    ['quote-c6/2', 'quote-c6/3', 'quote-c6/1', 'quote-c5/1'],
  );
  const { user } = userText(undefined, { parent, archive });
  assert.match(user, /archived variant quote-c5\/2 \(Passed, score 0.12\): double the cache/);
  assert.match(user, /cache-size .*; current 256; starting point 512/);
  assert.ok(user.indexOf('- quote-c6/3 ') < user.indexOf('- quote-c6/1 '));
});

test('production rollbacks come first, with the measurement that stopped them and predicted against observed gain', () => {
  const rolledBack: ArchiveEntry = {
    id: 'quote-c3/1',
    cycle: 'quote-c3',
    kind: 'code',
    summary: 'batch the price lookups',
    score: 14.2,
    verdict: 'RolledBack',
    reasons: ['p99-vs-stable: ratio 3.1 > max 1.25 over 3 of 5 measurements'],
    gain: {
      objective: 'p99-latency',
      predicted: 14.2,
      canary: -210.04,
      message: 'rolled back during analysis',
    },
    evaluatedAt: '2025-01-03T03:00:00Z',
  };
  const promoted: ArchiveEntry = {
    id: 'quote-c4/1',
    cycle: 'quote-c4',
    kind: 'config',
    summary: 'a shorter ttl',
    parameters: { 'cache-size': 256, 'ttl-seconds': 2, compression: false, eviction: 'lru' },
    score: 8,
    verdict: 'Promoted',
    gain: { objective: 'p99-latency', predicted: 8, canary: 6.5, production: 5.25, ratio: 0.66, message: '' },
    evaluatedAt: '2025-01-04T03:00:00Z',
  };
  // Both are older than every attempt of the shared archive, which is kept oldest first.
  const archive = [rolledBack, promoted, ...ARCHIVE];
  assert.deepEqual(
    rankArchive(archive).map((e) => e.id),
    ['quote-c6/2', 'quote-c3/1', 'quote-c6/1', 'quote-c5/2', 'quote-c5/1', 'quote-c4/1'],
  );
  const { system, user } = userText(undefined, { archive });
  const lines = user.split('\n').filter((line) => /^- quote-c\d\/\d /.test(line));
  assert.equal(
    lines[1],
    '- quote-c3/1 [RolledBack] code: batch the price lookups; score 14.2; ' +
      'rolled back in production on: p99-vs-stable: ratio 3.1 > max 1.25 over 3 of 5 measurements; ' +
      'gain in p99-latency: sandbox predicted +14.2%, canary showed -210%',
  );
  assert.equal(
    lines[5],
    '- quote-c4/1 [Promoted] config ttl-seconds=2: a shorter ttl; score 8; ' +
      'gain in p99-latency: sandbox predicted +8%, canary showed +6.5%, production showed +5.3%',
  );
  assert.match(system, /A production rollback passed the sandbox but not production/);
});

test('a long summary gives way to what became of the attempt, within the line limit', () => {
  const entry: ArchiveEntry = {
    id: 'quote-c3/1',
    cycle: 'quote-c3',
    kind: 'code',
    summary: 'x'.repeat(256),
    verdict: 'RolledBack',
    reasons: [`error-rate: 4.2% > max 1% ${'y'.repeat(150)}`],
    gain: { objective: 'error-rate', predicted: 3, canary: -300, message: '' },
    evaluatedAt: '2025-01-03T03:00:00Z',
  };
  const { user } = userText(undefined, { archive: [entry] });
  const line = user.split('\n').find((l) => l.startsWith('- quote-c3/1 ')) ?? '';
  assert.ok(line.length <= 500, `${line.length} chars`);
  assert.match(
    line,
    /x…; rolled back in production on: error-rate: 4.2% > max 1% y+; gain in error-rate: sandbox predicted \+3%, canary showed -300%$/,
  );
});

test('the modules around the hot spots: the hot module, its imports and importers, no tests', () => {
  assert.deepEqual(
    neighbourhoodOf(GRAPH, proposalRequest()).map((m) => m.path),
    ['src/routes/quote.ts', 'src/cache.ts', 'src/prices.ts', 'src/server.ts', 'src/db.ts'],
  );
  const { user } = userText();
  assert.match(user, /- hot spot GET \/quote: p99 240 ms at 35 req\/s; in src\/routes\/quote.ts/);
  assert.match(
    user,
    /- src\/routes\/quote.ts \(typescript, 40 lines\); exports quote function; imports src\/cache.ts, src\/prices.ts/,
  );
  assert.doesNotMatch(user, /test\/quote.test.ts \(/);
  assert.doesNotMatch(user, /src\/unrelated/);
  // no file contents unless the request carries them
  assert.doesNotMatch(user, /Source excerpts/);
});

test('without hot spots or parameter usage, the largest modules under the allowed paths stand in', () => {
  const graph = { ...GRAPH, hotSpots: [], parameters: [], hotSpotsNote: 'Prometheus unreachable' };
  const modules = neighbourhoodOf(graph, { parameters: [], allowedPaths: ['src/routes'] });
  assert.deepEqual(
    modules.map((m) => m.path),
    ['src/routes/quote.ts'],
  );
  const { user } = userText(undefined, { graph });
  assert.match(user, /- no hot spots: Prometheus unreachable/);
});

test('source excerpts given in the request are included, nearest modules first, long ones cut', () => {
  const sources = {
    'src/zz.ts': 'export const z = 1;',
    'src/cache.ts': 'export function cache() {\n  return new Map();\n}',
    'src/prices.ts': 'x'.repeat(20_000),
  };
  const { user } = userText(undefined, { sources });
  assert.match(user, /### src\/cache.ts\n```\nexport function cache\(\) \{/);
  assert.ok(user.indexOf('### src/cache.ts') < user.indexOf('### src/prices.ts'));
  assert.ok(user.indexOf('### src/prices.ts') < user.indexOf('### src/zz.ts'));
  assert.match(user, /x{8000}\n… \(truncated\)/);
  // a fence longer than any run of backticks in the excerpt
  const fenced = userText(undefined, { sources: { 'src/a.md': 'text ``` more' } }).user;
  assert.match(fenced, /````\ntext ``` more\n````/);
});

test('a small budget cuts the optional sections, says what it left out, and keeps the required part and rollbacks', () => {
  const archive: ArchiveEntry[] = Array.from({ length: 200 }, (_, i) => ({
    id: `old-${i}/1`,
    cycle: `old-${i}`,
    kind: 'config',
    summary: `attempt number ${i}`,
    parameters: { 'cache-size': 16 * (i + 1) },
    verdict: 'Failed',
    reasons: [`reason ${i}`],
    evaluatedAt: '2024-12-01T00:00:00Z',
  }));
  archive.unshift({
    id: 'oldest/1',
    cycle: 'oldest',
    kind: 'code',
    summary: 'inline the price cache',
    verdict: 'RolledBack',
    reasons: ['p99-vs-stable: ratio 3.1 > max 1.25'],
    evaluatedAt: '2024-11-01T00:00:00Z',
  });
  const { prompt, user } = userText(6000, { archive });
  assert.ok(prompt.chars <= 6000, `${prompt.chars} chars`);
  assert.match(user, /## Goal/);
  assert.match(user, /- cache-size/);
  assert.match(user, /- oldest\/1 \[RolledBack\] .*ratio 3.1 > max 1.25/, 'a rollback is kept, however old');
  assert.match(user, /- old-199\/1 \[Failed\]/, 'the newest attempt is kept');
  assert.doesNotMatch(user, /- old-0\/1 /, 'the oldest is left out');
  assert.match(user, /\(\d+ past attempts left out to fit the prompt\)/);
  assert.ok(prompt.omitted.some((line) => /past attempts left out/.test(line)));
  // the graph gets its share too
  assert.match(user, /hot spot GET \/quote/);
});

test('property: the prompt never exceeds its budget unless the required part alone does', () => {
  const entry = fc.record({
    summary: fc.string({ maxLength: 300 }),
    reasons: fc.array(fc.string({ maxLength: 200 }), { maxLength: 3 }),
    verdict: fc.constantFrom('Passed', 'Failed', 'Refused', 'RolledBack' as const),
    gain: fc.option(
      fc.record({
        objective: fc.string({ maxLength: 63 }),
        predicted: fc.double({ noNaN: true }),
        canary: fc.option(fc.double({ noNaN: true }), { nil: undefined }),
        message: fc.string({ maxLength: 100 }),
      }),
      { nil: undefined },
    ),
  });
  fc.assert(
    fc.property(
      fc.array(entry, { maxLength: 120 }),
      fc.dictionary(fc.constantFrom('src/cache.ts', 'src/db.ts', 'src/x.ts'), fc.string({ maxLength: 3000 })),
      fc.integer({ min: 0, max: 40_000 }),
      (entries, sources, maxChars) => {
        const archive = entries.map((e, i): ArchiveEntry => ({
          ...e,
          id: `c${i}/1`,
          cycle: `c${i}`,
          kind: 'code',
          evaluatedAt: '2025-01-01T00:00:00Z',
        }));
        const request = proposalRequest({ archive, sources });
        const bare = { ...GRAPH, modules: [], hotSpots: [] };
        const required = buildPrompt({ ...request, archive: [], graph: bare, sources: undefined }).chars;
        const prompt = buildPrompt(request, { maxChars });
        assert.ok(prompt.chars <= Math.max(maxChars, required), `${prompt.chars} > ${maxChars}`);
        assert.deepEqual(buildPrompt(request, { maxChars }), prompt, 'deterministic');
      },
    ),
    { numRuns: 300 },
  );
});

test('the token estimate errs high against a word count', () => {
  const { prompt } = userText();
  assert.ok(estimateMessageTokens(prompt.messages) >= countPromptTokens(prompt.messages));
});
