import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultedMinimalSpec } from '../../../test/support/agents.js';
import type { ParameterValues } from '../api/parameters.js';
import type { ArchiveEntry } from '../policy/archive-entry.js';
import type { PatchVerdict } from '../policy/patch-policy.js';
import { NO_USAGE, type ProposalRequest, type ProposedCandidate } from '../propose/candidate.js';
import { diffSha256 } from '../propose/diff-sha256.js';
import type { Proposer } from '../propose/proposer.js';
import { proposeCandidates, repeatOf, type RoundContext } from './proposal-round.js';

const SPEC = defaultedMinimalSpec({
  improvement: {
    interval: '1h',
    maxCandidates: 8,
    parameters: [
      { name: 'cache-size', env: 'CACHE_SIZE', type: 'integer', min: 1, max: 1024 },
      { name: 'ttl', env: 'TTL_SECONDS', type: 'integer', min: 1, max: 600 },
    ],
  },
});
const CURRENT: ParameterValues = { 'cache-size': 64, ttl: 10 };

function diff(line: string): string {
  return [
    'diff --git a/src/quote.ts b/src/quote.ts',
    '--- a/src/quote.ts',
    '+++ b/src/quote.ts',
    '@@ -1 +1 @@',
    '-export const cache = false;',
    `+${line}`,
    '',
  ].join('\n');
}
const ROLLED_BACK_DIFF = diff('export const cache = true; // refresh ahead');
const NEW_DIFF = diff('export const cache = true; // bounded');

function entry(
  id: string,
  fields: Partial<ArchiveEntry> & Pick<ArchiveEntry, 'kind' | 'verdict'>,
): ArchiveEntry {
  return { id, cycle: id.split('/')[0] ?? id, summary: id, evaluatedAt: '2026-01-01T00:00:00Z', ...fields };
}

/** The archive: a variant that passed, the change production rolled back on it, a rolled-back diff. */
const PARENT = entry('quote-1/c1', {
  kind: 'config',
  verdict: 'Passed',
  parameters: { 'cache-size': 128, ttl: 10 },
});
const ARCHIVE: ArchiveEntry[] = [
  PARENT,
  entry('quote-2/c1', {
    kind: 'config',
    verdict: 'RolledBack',
    parent: PARENT.id,
    parameters: { 'cache-size': 128, ttl: 30 },
    reasons: ['Rolled back in production: latency 1.6 times stable'],
  }),
  entry('quote-3/c2', {
    kind: 'code',
    verdict: 'RolledBack',
    diffSha256: diffSha256(ROLLED_BACK_DIFF),
    reasons: ['Rolled back in production: error rate 0.2 > max 0.05'],
  }),
];

function context(archive: readonly ArchiveEntry[] = ARCHIVE): RoundContext {
  return {
    agent: { namespace: 'shop', name: 'quote' },
    cycle: 'quote-4',
    spec: SPEC,
    archive,
    current: CURRENT,
    deadline: new Date('2026-01-01T01:00:00Z'),
  };
}

/** A proposer that answers every request with `candidates`, and remembers what it was asked. */
function fakeProposer(candidates: ProposedCandidate[]): Proposer & { requests: ProposalRequest[] } {
  const requests: ProposalRequest[] = [];
  return {
    type: 'tuner',
    requests,
    propose: async (request) => {
      requests.push(request);
      return { candidates, attempts: [{ outcome: 'ok', message: 'ok', durationMs: 1 }], usage: NO_USAGE };
    },
  };
}

const config = (summary: string, parameters: ParameterValues): ProposedCandidate => ({
  kind: 'config',
  summary,
  rationale: 'why not',
  parameters,
});
const code = (summary: string, text: string): ProposedCandidate => ({
  kind: 'code',
  summary,
  rationale: 'why not',
  diff: text,
});

test('a change already tried is refused as Repeated, whatever the proposer, and a new one goes on', async () => {
  const proposer = fakeProposer([
    // from the parent (cache-size 128, ttl 10) this is cache-size 128, ttl 30: what production rolled back
    config('longer ttl', { ttl: 30 }),
    config('longer ttl still', { ttl: 60 }),
    code('refresh ahead', ROLLED_BACK_DIFF),
    code('bounded cache', NEW_DIFF),
  ]);
  const checked: string[] = [];
  const round = await proposeCandidates(context(), {
    proposer,
    chooseParent: () => ({ parent: PARENT, probability: 0.5 }),
    checkPatch: async (text): Promise<PatchVerdict> => {
      checked.push(text);
      return { accepted: true, files: [] };
    },
  });
  assert.equal(proposer.requests[0]?.parent?.id, PARENT.id);
  assert.deepEqual(
    round.reviewed.map((reviewed) => [reviewed.id, reviewed.candidate.summary, reviewed.verdict]),
    [
      ['c1', 'longer ttl', 'Refused'],
      ['c2', 'longer ttl still', 'Pending'],
      ['c3', 'refresh ahead', 'Refused'],
      ['c4', 'bounded cache', 'Pending'],
    ],
  );
  const [c1, c2, c3, c4] = round.reviewed;
  assert.match(
    c1?.reasons[0] ?? '',
    /^Repeated: the same change as quote-2\/c1, already tried \(RolledBack: /,
  );
  assert.match(c1?.reasons[0] ?? '', /latency 1\.6 times stable/, 'with why it failed');
  assert.match(
    c3?.reasons[0] ?? '',
    /^Repeated: the same change as quote-3\/c2, already tried \(RolledBack: /,
  );
  assert.deepEqual(c2?.reasons, []);
  assert.deepEqual(c4?.reasons, []);
  assert.equal(c1?.candidate.parent, PARENT.id, 'a refused candidate still records its parent');
  assert.deepEqual(checked, [NEW_DIFF], 'a repeated diff does not reach the patch policy');
  assert.deepEqual(round.proposal.startingParameters, { 'cache-size': '128', ttl: '10' });
});

test('the same full values are a repeat however the change is expressed', () => {
  const archive = [
    entry('quote-2/c1', { kind: 'config', verdict: 'Failed', parameters: { 'cache-size': 128, ttl: 30 } }),
  ];
  const repeat = (candidate: ProposedCandidate, starting: ParameterValues) =>
    repeatOf(candidate, starting, { archive, current: CURRENT, spec: SPEC });
  // from the baseline, both parameters change; from a parent at cache-size 128, only the ttl
  assert.match(
    repeat(config('both', { 'cache-size': 128, ttl: 30 }), CURRENT) ?? '',
    /^Repeated: .*quote-2\/c1/,
  );
  assert.match(repeat(config('ttl', { ttl: 30 }), { 'cache-size': 128, ttl: 10 }) ?? '', /^Repeated: /);
  // the same partial change from another starting point is another point
  assert.equal(repeat(config('ttl', { ttl: 30 }), CURRENT), undefined);
  assert.equal(repeat(config('ttl', { ttl: 31 }), { 'cache-size': 128, ttl: 10 }), undefined);
});

test('an archived entry missing a parameter declared since is read with the current value', () => {
  const archive = [
    entry('quote-0/c1', { kind: 'config', verdict: 'Failed', parameters: { 'cache-size': 256 } }),
  ];
  const context = { archive, current: CURRENT, spec: SPEC };
  assert.match(repeatOf(config('big', { 'cache-size': 256 }), CURRENT, context) ?? '', /^Repeated: /);
  assert.equal(repeatOf(config('big, long', { 'cache-size': 256, ttl: 20 }), CURRENT, context), undefined);
});

test('a diff is a repeat only when the same text was archived', () => {
  const hashes = { archive: ARCHIVE, current: CURRENT, spec: SPEC };
  assert.match(repeatOf(code('again', ROLLED_BACK_DIFF), CURRENT, hashes) ?? '', /^Repeated: .*quote-3\/c2/);
  assert.equal(repeatOf(code('new', NEW_DIFF), CURRENT, hashes), undefined);
  assert.equal(repeatOf(code('new', `${ROLLED_BACK_DIFF} `), CURRENT, hashes), undefined);
});
