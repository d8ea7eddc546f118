import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { isGitLineageError } from './errors.js';
import { commitMessage } from './message.js';
import {
  candidateTrailers,
  formatTrailers,
  GOAL_MAX,
  normalizeRecord,
  parseTrailers,
  readCandidateRecord,
  TRAILER_KEYS,
  trailerValue,
  type CandidateRecord,
} from './trailers.js';

const RECORD: CandidateRecord = {
  agent: { namespace: 'shop', name: 'quote' },
  cycle: 'quote-20240601-1200',
  candidate: 'c2',
  parent: 'quote-20240501-1200/c1',
  goal: 'reduce p99 latency of GET /quote',
  proposer: 'openai',
  model: 'gpt-4o-mini',
  score: 0.125,
  verdict: 'Passed',
  kind: 'config',
  tree: '4b825dc642cb6eb9a060e54bf8d69288fbee4904',
  parameters: { CACHE_TTL: 30, USE_POOL: true, MODE: 'fast' },
};

function roundTrip(record: CandidateRecord, extra = ''): CandidateRecord | undefined {
  const message = commitMessage({
    summary: 'Raise the cache TTL',
    rationale: 'Misses dominate.',
    fallbackSubject: 'x',
    trailers: candidateTrailers(record),
  });
  return readCandidateRecord(parseTrailers(message + extra));
}

/** What `git interpret-trailers --parse` makes of a message, as key/value pairs. */
function gitParse(message: string): Array<{ key: string; value: string }> {
  const out = execFileSync('git', ['interpret-trailers', '--parse'], {
    input: message,
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/nonexistent', GIT_CONFIG_NOSYSTEM: '1' },
  });
  return out
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const colon = line.indexOf(':');
      return { key: line.slice(0, colon), value: line.slice(colon + 1).trim() };
    });
}

test('a full record round-trips through a commit message', () => {
  assert.deepEqual(roundTrip(RECORD), RECORD);
});

test('the trailers come in a fixed order and the baseline is written as such', () => {
  const { parent: _parent, model: _model, score: _score, ...baseline } = RECORD;
  const lines = formatTrailers(candidateTrailers(baseline)).split('\n');
  assert.deepEqual(
    lines.map((line) => line.split(':')[0]),
    [
      TRAILER_KEYS.agent,
      TRAILER_KEYS.cycle,
      TRAILER_KEYS.candidate,
      TRAILER_KEYS.parent,
      TRAILER_KEYS.goal,
      TRAILER_KEYS.proposer,
      TRAILER_KEYS.verdict,
      TRAILER_KEYS.kind,
      TRAILER_KEYS.tree,
      TRAILER_KEYS.parameters,
    ],
  );
  assert.ok(lines.includes('HyperAgent-Tree: 4b825dc642cb6eb9a060e54bf8d69288fbee4904'));
  assert.ok(lines.includes('HyperAgent-Parent: baseline'));
  assert.ok(lines.includes('HyperAgent-Agent: shop/quote'));
  assert.ok(lines.includes('HyperAgent-Parameters: {"CACHE_TTL":30,"USE_POOL":true,"MODE":"fast"}'));
  assert.deepEqual(roundTrip(baseline), baseline);
});

test('other trailers (Signed-off-by, Co-authored-by) are tolerated', () => {
  const extra = 'Signed-off-by: A Person <a@example.com>\nCo-authored-by: B <b@example.com>\n';
  assert.deepEqual(roundTrip(RECORD, extra), RECORD);
  const trailers = parseTrailers(
    commitMessage({
      summary: 's',
      rationale: '',
      fallbackSubject: 'x',
      trailers: candidateTrailers(RECORD),
    }) + extra,
  );
  assert.equal(trailerValue(trailers, 'signed-off-by'), 'A Person <a@example.com>');
});

test('a multi-line goal becomes one line and a long one is cut with an ellipsis', () => {
  const goal = `line one\nline two\r\n\tand\u2028three ${'x'.repeat(400)}`;
  const back = roundTrip({ ...RECORD, goal });
  assert.ok(back);
  assert.ok(!/[\n\r\t\u2028]/.test(back.goal));
  assert.ok(back.goal.startsWith('line one line two and three x'));
  assert.equal(Array.from(back.goal).length, GOAL_MAX);
  assert.ok(back.goal.endsWith('…'));
});

test('parseTrailers reads only the last paragraph, never the subject, and unfolds continuations', () => {
  assert.deepEqual(parseTrailers('Key: value\n'), []);
  assert.deepEqual(parseTrailers('Subject\n\nSome prose here.\nKey: value\n'), []);
  assert.deepEqual(parseTrailers('Subject\n\nKey: first\n  second\nOther-Key:x\n\n\n'), [
    { key: 'Key', value: 'first second' },
    { key: 'Other-Key', value: 'x' },
  ]);
  // git's own rule: prose is allowed in a block that has a trailer git writes itself.
  assert.deepEqual(parseTrailers('Subject\n\nKey: v\nSigned-off-by: me\nsome note\n'), [
    { key: 'Key', value: 'v' },
    { key: 'Signed-off-by', value: 'me' },
  ]);
  assert.equal(trailerValue(parseTrailers('S\n\nhyperagent-cycle: c1\n'), TRAILER_KEYS.cycle), 'c1');
});

test('damaged or foreign records read as undefined', () => {
  const base = candidateTrailers(RECORD);
  const without = (key: string) => base.filter((t) => t.key !== key);
  const replaced = (key: string, value: string) => base.map((t) => (t.key === key ? { key, value } : t));
  assert.equal(readCandidateRecord([]), undefined);
  assert.equal(readCandidateRecord(without(TRAILER_KEYS.cycle)), undefined);
  assert.equal(readCandidateRecord(without(TRAILER_KEYS.parent)), undefined);
  assert.equal(readCandidateRecord(replaced(TRAILER_KEYS.score, 'fast')), undefined);
  assert.equal(readCandidateRecord(replaced(TRAILER_KEYS.parameters, '{"a":')), undefined);
  assert.equal(readCandidateRecord(replaced(TRAILER_KEYS.parameters, '{"a":null}')), undefined);
  assert.equal(readCandidateRecord(replaced(TRAILER_KEYS.verdict, 'Maybe')), undefined);
  assert.equal(readCandidateRecord(replaced(TRAILER_KEYS.agent, 'Shop/quote')), undefined);
  assert.equal(readCandidateRecord(replaced(TRAILER_KEYS.parent, 'not an id')), undefined);
  assert.equal(readCandidateRecord(replaced(TRAILER_KEYS.tree, 'HEAD^{tree}')), undefined);
  // Commits made before trees were recorded have none, and still read.
  const { tree: _tree, ...older } = RECORD;
  assert.deepEqual(readCandidateRecord(without(TRAILER_KEYS.tree)), older);
});

test('what no trailer can carry is refused with a named error', () => {
  const refused = (record: CandidateRecord, code: string) =>
    assert.throws(
      () => candidateTrailers(record),
      (e: unknown) => isGitLineageError(e) && e.code === code,
    );
  refused({ ...RECORD, cycle: 'Bad_Cycle' }, 'InvalidName');
  refused({ ...RECORD, agent: { namespace: 'shop', name: '-x' } }, 'InvalidName');
  refused({ ...RECORD, candidate: '../c1' }, 'InvalidName');
  refused({ ...RECORD, score: Number.NaN }, 'InvalidCandidate');
  refused({ ...RECORD, parameters: { A: Infinity } }, 'InvalidCandidate');
  refused({ ...RECORD, parent: 'main' }, 'InvalidCandidate');
  refused({ ...RECORD, tree: 'abc' }, 'InvalidCandidate');
});

test('git interpret-trailers --parse reads the same trailers', () => {
  const message = commitMessage({
    summary: 'Raise the cache TTL',
    rationale: 'Misses dominate.\n---\nnot a patch\n\nKey-Like: prose',
    fallbackSubject: 'x',
    trailers: candidateTrailers(RECORD),
  });
  assert.deepEqual(gitParse(message), candidateTrailers(RECORD));
});

// --- properties -------------------------------------------------------------------------------

const label = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?$/);
const token = fc
  .stringMatching(/^[A-Za-z0-9]([A-Za-z0-9._-]{0,20}[A-Za-z0-9])?$/)
  .filter((s) => !s.includes('..'));
const anyText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.string({ unit: 'grapheme', maxLength: 80 }),
  fc.constantFrom('', ' ', '\n', '---', 'a\n---\nb', 'Key: value', '# comment', '\u2028\u0085\r\n'),
);
const finite = fc.double({ noNaN: true, noDefaultInfinity: true });
const parameterValue = fc.oneof(
  finite,
  fc.integer(),
  fc.boolean(),
  fc.string({ unit: 'binary', maxLength: 40 }),
);

const record: fc.Arbitrary<CandidateRecord> = fc.record(
  {
    agent: fc.record({ namespace: label, name: label }),
    cycle: label,
    candidate: token,
    parent: fc.tuple(label, token).map(([c, k]) => `${c}/${k}`),
    goal: anyText,
    proposer: fc.constantFrom('tuner', 'openai'),
    model: anyText,
    score: finite,
    verdict: fc.constantFrom('Passed', 'Failed', 'Refused', 'Promoted', 'RolledBack'),
    kind: fc.constantFrom('config', 'code'),
    tree: fc.stringMatching(/^[0-9a-f]{40}$/),
    parameters: fc.dictionary(fc.string({ unit: 'binary', minLength: 1, maxLength: 20 }), parameterValue, {
      maxKeys: 6,
    }),
  },
  { requiredKeys: ['agent', 'cycle', 'candidate', 'goal', 'proposer', 'verdict', 'kind'] },
);

test('property: any record reads back as its normal form, whatever surrounds it', () => {
  fc.assert(
    fc.property(record, anyText, anyText, fc.boolean(), (r, summary, rationale, signed) => {
      const message =
        commitMessage({ summary, rationale, fallbackSubject: 'Candidate', trailers: candidateTrailers(r) }) +
        (signed ? 'Signed-off-by: A <a@example.com>\n' : '');
      const back = readCandidateRecord(parseTrailers(message));
      assert.deepEqual(back, normalizeRecord(r));
      assert.deepEqual(normalizeRecord(normalizeRecord(r)), normalizeRecord(r));
    }),
    { numRuns: 200 },
  );
});

test('property: git interpret-trailers --parse agrees with parseTrailers', () => {
  fc.assert(
    fc.property(record, anyText, anyText, (r, summary, rationale) => {
      const message = commitMessage({
        summary,
        rationale,
        fallbackSubject: 'Candidate',
        trailers: candidateTrailers(r),
      });
      assert.deepEqual(gitParse(message), parseTrailers(message));
    }),
    { numRuns: 40 },
  );
});
