import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import type { ProposalRequest } from './candidate.js';
import type { ArchiveEntry } from '../policy/archive-entry.js';
import type { ParameterSpec, ParameterValue } from '../api/parameters.js';
import {
  candidateJsonSchema,
  candidateResponseFormat,
  MAX_DIFF_CHARS,
  MAX_SUMMARY_CHARS,
  readCandidateAnswer,
  type AnswerReading,
} from './candidate-schema.js';
import { ARCHIVE, proposalRequest, sampleDiff } from '../../../test/support/proposal-request.js';

type Pair = { name: string; value: ParameterValue };

function config(parameters: Pair[], summary = 'change config'): Record<string, unknown> {
  return { kind: 'config', parameters, summary, rationale: 'because' };
}

function code(diff: string, summary = 'change code'): Record<string, unknown> {
  return { kind: 'code', diff, summary, rationale: 'because' };
}

function read(candidates: unknown[], request: ProposalRequest = proposalRequest()): AnswerReading {
  return readCandidateAnswer(JSON.stringify({ candidates }), request);
}

function accepted(reading: AnswerReading) {
  assert.ok(reading.ok, `expected a usable answer: ${JSON.stringify(reading)}`);
  return reading;
}

test('a valid answer becomes candidates: only changed parameters, one-line summaries, the parent', () => {
  const parent = ARCHIVE[1];
  const reading = accepted(
    read(
      [
        config(
          [
            { name: 'cache-size', value: 768 },
            { name: 'eviction', value: 'lru' },
          ],
          '  grow the\n cache  ',
        ),
        code(sampleDiff().trimEnd()),
      ],
      proposalRequest({ parent }),
    ),
  );
  assert.deepEqual(reading.dropped, []);
  assert.deepEqual(reading.candidates, [
    {
      kind: 'config',
      parameters: { 'cache-size': 768 },
      summary: 'grow the cache',
      rationale: 'because',
      parent: 'quote-c5/2',
    },
    { kind: 'code', diff: sampleDiff(), summary: 'change code', rationale: 'because', parent: 'quote-c5/2' },
  ]);
});

test('values given as strings are read by the declared type', () => {
  const reading = accepted(
    read([
      config([
        { name: 'cache-size', value: '512' },
        { name: 'ttl-seconds', value: '7.5' },
        { name: 'compression', value: 'true' },
        { name: 'eviction', value: 'fifo' },
      ]),
    ]),
  );
  assert.deepEqual(reading.candidates[0]?.kind === 'config' && reading.candidates[0].parameters, {
    'cache-size': 512,
    'ttl-seconds': 7.5,
    compression: true,
    eviction: 'fifo',
  });
});

test('an unusable answer as a whole gives errors and no candidates', () => {
  const request = proposalRequest();
  const cases: [string, RegExp][] = [
    ['Sure! Here are my candidates', /^not JSON/],
    ['', /^not JSON/],
    ['[1,2]', /JSON object/],
    ['{"ideas":[]}', /"candidates" must be a list/],
    ['{"candidates":{}}', /"candidates" must be a list/],
    ['{"candidates":[],"notes":"x"}', /Unexpected property/],
  ];
  for (const [text, error] of cases) {
    const reading = readCandidateAnswer(text, request);
    assert.equal(reading.ok, false, text);
    assert.ok(
      !reading.ok && reading.errors.some((e) => error.test(e)),
      `${text}: ${JSON.stringify(reading)}`,
    );
  }
});

test('a JSON object in a markdown fence is read', () => {
  const text =
    '```json\n' + JSON.stringify({ candidates: [config([{ name: 'compression', value: true }])] }) + '\n```';
  assert.equal(accepted(readCandidateAnswer(text, proposalRequest())).candidates.length, 1);
});

test('each bad candidate is dropped with its reason; its valid siblings are kept', () => {
  const good = config([{ name: 'cache-size', value: 320 }], 'the good one');
  const cases: [unknown, RegExp][] = [
    [config([{ name: 'threads', value: 4 }]), /parameter "threads" is not declared/],
    [config([{ name: 'cache-size', value: 'big' }]), /'cache-size' must be an integer, got "big"/],
    [config([{ name: 'cache-size', value: 100.5 }]), /must be an integer/],
    [config([{ name: 'cache-size', value: 8 }]), /= 8 is below min 16/],
    [config([{ name: 'cache-size', value: 8192 }]), /= 8192 is above max 4096/],
    [config([{ name: 'cache-size', value: 100 }]), /= 100 is not on the grid 16 \+ k × 16/],
    [config([{ name: 'ttl-seconds', value: 1.25 }]), /not on the grid 0.5 \+ k × 0.5/],
    [config([{ name: 'compression', value: 1 }]), /'compression' must be a boolean/],
    [config([{ name: 'eviction', value: 'random' }]), /"random" is not one of \["lru","lfu","fifo"\]/],
    [
      config([
        { name: 'eviction', value: 'lfu' },
        { name: 'eviction', value: 'fifo' },
      ]),
      /'eviction' is given twice/,
    ],
    [config([{ name: 'cache-size', value: 256 }]), /changes nothing/],
    [config([]), /config: \/parameters: Expected array length to be greater or equal to 1/],
    [config([{ name: 'cache-size', value: 1024 }]), /repeats archived attempt quote-c5\/1 \(Failed\)/],
    [
      config([{ name: 'cache-size', value: 512 }], 'x'.repeat(MAX_SUMMARY_CHARS + 1)),
      /\/summary: Expected string length/,
    ],
    [config([{ name: 'cache-size', value: 512 }], '   '), /summary is blank/],
    [{ ...config([{ name: 'cache-size', value: 512 }]), risk: 'low' }, /Unexpected property/],
    [code(''), /code: \/diff: Expected string length greater or equal to 1/],
    [code('  \n '), /the diff is empty/],
    [code('--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n'), /no 'diff --git' line/],
    [code('x'.repeat(MAX_DIFF_CHARS + 1)), /\/diff: Expected string length less or equal/],
    [{ kind: 'rewrite', summary: 'x', rationale: 'y' }, /"kind" must be "config" or "code", got "rewrite"/],
    [42, /"kind" must be "config" or "code", got nothing/],
  ];
  for (const [bad, reason] of cases) {
    const reading = accepted(read([bad, good]));
    assert.deepEqual(
      reading.candidates.map((c) => c.summary),
      ['the good one'],
      JSON.stringify(bad).slice(0, 80),
    );
    assert.equal(reading.dropped.length, 1, JSON.stringify(reading.dropped));
    assert.match(reading.dropped[0] ?? '', /^candidate 1: /);
    assert.match(reading.dropped[0] ?? '', reason);
  }
});

test('duplicates are dropped, then valid candidates beyond maxCandidates, with notes', () => {
  const reading = accepted(
    read(
      [
        config([{ name: 'cache-size', value: 320 }], 'a'),
        config([{ name: 'cache-size', value: 320 }], 'a again'),
        config([{ name: 'cache-size', value: 8 }], 'bad'),
        config([{ name: 'cache-size', value: 336 }], 'b'),
        code(sampleDiff(), 'c'),
        code(sampleDiff('src/db.ts'), 'd'),
      ],
      proposalRequest({ maxCandidates: 2 }),
    ),
  );
  assert.deepEqual(
    reading.candidates.map((c) => c.summary),
    ['a', 'b'],
  );
  assert.deepEqual(reading.dropped, [
    'candidate 2: same change as candidate 1',
    "candidate 3: config: parameter 'cache-size' = 8 is below min 16",
    '2 valid candidate(s) beyond maxCandidates=2 dropped',
  ]);
});

test('a diff whose SHA-256 an archived attempt carries is dropped; a different diff passes', () => {
  // Hashed here with node:crypto itself, as status hashes the diff, not with the reader's helper.
  const hash = createHash('sha256').update(sampleDiff(), 'utf8').digest('hex');
  const rolledBack: ArchiveEntry = {
    id: 'quote-c6/3',
    cycle: 'quote-c6',
    kind: 'code',
    summary: 'type the cache',
    verdict: 'RolledBack',
    reasons: ['p99-vs-stable: ratio 3.1 > max 1.25'],
    diffSha256: hash,
    evaluatedAt: '2025-01-06T05:00:00Z',
  };
  const reading = accepted(
    read(
      // The first lacks its final newline: the reader adds it, and the hash is of the diff as kept.
      [code(sampleDiff().trimEnd(), 'again'), code(sampleDiff('src/db.ts'), 'elsewhere')],
      proposalRequest({ archive: [...ARCHIVE, rolledBack] }),
    ),
  );
  assert.deepEqual(
    reading.candidates.map((c) => c.summary),
    ['elsewhere'],
  );
  assert.deepEqual(reading.dropped, ['candidate 1: code: repeats archived attempt quote-c6/3 (RolledBack)']);
});

test('config changes apply to the parent: a value equal to the parent’s is no change', () => {
  const parent = ARCHIVE[1]; // cache-size 512
  const reading = accepted(
    read(
      [config([{ name: 'cache-size', value: 512 }]), config([{ name: 'cache-size', value: 256 }], 'back')],
      proposalRequest({ parent, archive: [] }),
    ),
  );
  assert.deepEqual(
    reading.candidates.map((c) => (c.kind === 'config' ? c.parameters : {})),
    [{ 'cache-size': 256 }],
  );
  assert.match(reading.dropped[0] ?? '', /changes nothing/);
});

test('the strict JSON schema is derived from the same TypeBox schema and fits strict mode', () => {
  const schema = candidateJsonSchema(3);
  const allowed = new Set([
    'type',
    'properties',
    'required',
    'additionalProperties',
    'items',
    'anyOf',
    'enum',
    'description',
    'minItems',
    'maxItems',
  ]);
  const visit = (node: unknown, path: string): void => {
    if (Array.isArray(node)) return node.forEach((item, i) => visit(item, `${path}/${i}`));
    if (typeof node !== 'object' || node === null) return;
    const fields = node as Record<string, unknown>;
    for (const key of Object.keys(fields)) assert.ok(allowed.has(key), `${path}: keyword ${key}`);
    if (fields.type === 'object') {
      assert.equal(fields.additionalProperties, false, path);
      assert.deepEqual(
        [...(fields.required as string[])].sort(),
        Object.keys(fields.properties as object).sort(),
        path,
      );
    }
    for (const [key, value] of Object.entries(fields)) {
      if (key === 'properties') {
        for (const [name, sub] of Object.entries(value as object)) visit(sub, `${path}/${name}`);
      } else visit(value, `${path}/${key}`);
    }
  };
  visit(schema, '');
  const candidates = (schema.properties as Record<string, Record<string, unknown>>).candidates;
  assert.equal(candidates?.maxItems, 3);
  const variants = (candidates?.items as { anyOf: { properties: { kind: unknown } }[] }).anyOf;
  assert.deepEqual(
    variants.map((v) => v.properties.kind),
    [
      { type: 'string', enum: ['config'] },
      { type: 'string', enum: ['code'] },
    ],
  );
  const format = candidateResponseFormat(40);
  assert.equal(format.json_schema.strict, true);
  assert.equal(
    (format.json_schema.schema.properties as Record<string, { maxItems: number }>).candidates?.maxItems,
    16,
  );
  // the derived schema drops length limits; validation still has them
  assert.match(
    JSON.stringify(accepted(read([config([{ name: 'cache-size', value: 512 }], 'x'.repeat(201))])).dropped),
    /length less or equal to 200/,
  );
});

test('property: no text, JSON or not, makes the reader throw', () => {
  const request = proposalRequest({ maxCandidates: 4 });
  const answers = fc.oneof(
    fc.string(),
    fc.json(),
    fc.anything().map((value) => JSON.stringify({ candidates: [value] }) ?? ''),
    fc
      .array(
        fc.record(
          {
            kind: fc.constantFrom('config', 'code', 'other'),
            parameters: fc.array(
              fc.record({ name: fc.constantFrom('cache-size', 'eviction', 'nope'), value: fc.jsonValue() }),
            ),
            diff: fc.string(),
            summary: fc.string(),
            rationale: fc.string(),
          },
          { requiredKeys: [] },
        ),
      )
      .map((candidates) => JSON.stringify({ candidates })),
  );
  fc.assert(
    fc.property(answers, (text) => {
      const reading = readCandidateAnswer(text, request);
      if (reading.ok) assert.ok(reading.candidates.length <= 4);
      else assert.ok(reading.errors.length > 0);
    }),
    { numRuns: 400 },
  );
});

const SPECS: ParameterSpec[] = [
  ...proposalRequest().parameters,
  { name: 'ratio', env: 'RATIO', type: 'number', min: 0, max: 1, step: 0.1 },
];

function valueOf(spec: ParameterSpec): fc.Arbitrary<ParameterValue> {
  switch (spec.type) {
    case 'integer':
    case 'number': {
      const min = spec.min ?? 0;
      const step = spec.step ?? 1;
      const steps = Math.floor(((spec.max ?? min) - min) / step + 1e-9);
      return fc.integer({ min: 0, max: steps }).map((k) => min + k * step);
    }
    case 'boolean':
      return fc.boolean();
    case 'choice':
      return fc.constantFrom(...(spec.choices ?? []));
  }
}

test('property: valid generated candidates are always accepted, up to maxCandidates', () => {
  const request = proposalRequest({
    parameters: SPECS,
    archive: [],
    current: { ...proposalRequest().current, ratio: 0.5 },
  });
  const change = fc
    .subarray(SPECS, { minLength: 1 })
    .chain((specs) =>
      fc.tuple(...specs.map((spec) => valueOf(spec).map((value) => ({ name: spec.name, value })))),
    )
    .filter((pairs) => pairs.some((pair) => request.current[pair.name] !== pair.value))
    .map((pairs) => pairs.filter((pair) => request.current[pair.name] !== pair.value));
  const candidate = fc.oneof(
    change.map((pairs) => config(pairs)),
    fc.stringMatching(/^[a-z]{1,8}$/).map((name) => code(sampleDiff(`src/${name}.ts`))),
  );
  const key = (c: Record<string, unknown>) =>
    c.kind === 'code'
      ? String(c.diff)
      : JSON.stringify([...(c.parameters as Pair[])].sort((a, b) => a.name.localeCompare(b.name)));
  fc.assert(
    fc.property(
      fc.uniqueArray(candidate, { selector: key, maxLength: 6 }),
      fc.integer({ min: 1, max: 8 }),
      (list, max) => {
        const reading = accepted(read(list, { ...request, maxCandidates: max }));
        assert.equal(reading.candidates.length, Math.min(list.length, max));
        assert.deepEqual(
          reading.dropped,
          list.length > max
            ? [`${list.length - max} valid candidate(s) beyond maxCandidates=${max} dropped`]
            : [],
        );
      },
    ),
    { numRuns: 300 },
  );
});
