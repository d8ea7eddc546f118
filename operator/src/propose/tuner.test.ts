import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import type { ConfigCandidate } from './candidate.js';
import type { ArchiveEntry, ArchiveVerdict } from '../policy/archive-entry.js';
import type { ParameterSpec, ParameterValues } from '../api/parameters.js';
import { recordEntries } from '../policy/archive.js';
import { selectParent } from '../policy/parent-selection.js';
import { planTuning, TunerProposer } from './tuner.js';
import { locate, searchSpace } from './tuner-space.js';
import { TUNING_CURRENT, TUNING_PARAMETERS, tuningRequest } from '../../../test/support/tuning-space.js';

const PARAMETERS = TUNING_PARAMETERS;
const CURRENT = TUNING_CURRENT;
const request = tuningRequest;

let serial = 0;
function archived(parameters: ParameterValues, overrides: Partial<ArchiveEntry> = {}): ArchiveEntry {
  serial += 1;
  return {
    id: `cycle-${serial}/c0`,
    cycle: `cycle-${serial}`,
    kind: 'config',
    summary: 'archived',
    parameters,
    verdict: 'Passed',
    evaluatedAt: '2025-01-01T00:00:00Z',
    ...overrides,
  };
}

const configs = (candidates: readonly { kind: string }[]) => candidates as ConfigCandidate[];

/** The full values a candidate runs with. */
const fullValues = (start: ParameterValues, candidate: ConfigCandidate) => ({
  ...start,
  ...candidate.parameters,
});

/** A configuration's identity on the grid, for comparing proposals with the archive. */
function keyOf(specs: readonly ParameterSpec[], values: ParameterValues): string {
  return searchSpace(specs)
    .dimensions.map((dim) => {
      const location = locate(dim, values[dim.name]);
      return location?.exact ? String(location.level) : `off:${String(values[dim.name])}`;
    })
    .join(',');
}

/** Whether a value is one the parameter allows: in range, on the step grid, of the right type. */
function allowed(spec: ParameterSpec, value: unknown): boolean {
  switch (spec.type) {
    case 'boolean':
      return typeof value === 'boolean';
    case 'choice':
      return typeof value === 'string' && (spec.choices ?? []).includes(value);
    case 'integer':
    case 'number': {
      if (typeof value !== 'number' || spec.min === undefined || spec.max === undefined) return false;
      if (value < spec.min || value > spec.max) return false;
      if (spec.type === 'integer' && !Number.isInteger(value)) return false;
      const dim = searchSpace([spec]).dimensions[0];
      if (dim?.kind !== 'numeric') return false;
      const steps = (value - dim.lo) / dim.step;
      return Math.abs(steps - Math.round(steps)) < 1e-6;
    }
  }
}

test('the first round explores: maxCandidates changes against the current values, with summaries', async () => {
  const result = await new TunerProposer({ now: () => 5 }).propose(request());
  assert.equal(result.candidates.length, 4);
  assert.deepEqual(result.attempts, [
    {
      outcome: 'ok',
      message:
        'tuner: 4 exploration candidate(s) from a Halton design (0 of 6 scored results before refinement)',
      durationMs: 0,
    },
  ]);
  assert.deepEqual(result.usage, { promptTokens: 0, completionTokens: 0, costUSD: 0 });
  for (const candidate of configs(result.candidates)) {
    assert.equal(candidate.kind, 'config');
    assert.equal(candidate.parent, undefined);
    assert.ok(Object.keys(candidate.parameters).length > 0);
    for (const [name, value] of Object.entries(candidate.parameters)) {
      assert.notEqual(value, CURRENT[name], `${name} is listed but unchanged`);
    }
    const expected = Object.entries(candidate.parameters)
      .map(([name, value]) => `${name} ${String(CURRENT[name])}→${String(value)}`)
      .join(', ');
    assert.equal(candidate.summary, expected);
    assert.match(candidate.rationale, /^Exploration: point \d+ of a Halton sequence/);
  }
});

test('the same request gives the same candidates; another seed gives others', () => {
  const archive = [archived({ ...CURRENT, 'cache-size': 256 }, { score: 1 })];
  const first = planTuning(request({ archive, seed: 9 }));
  assert.deepEqual(planTuning(request({ archive, seed: 9 })), first);
  assert.notDeepEqual(planTuning(request({ archive, seed: 10 })).candidates, first.candidates);
});

test('evaluated points, failures included, and the current values are never proposed', () => {
  const verdicts: ArchiveVerdict[] = ['Passed', 'Failed', 'Refused', 'RolledBack', 'Promoted'];
  let archive: ArchiveEntry[] = [];
  const proposed = new Set<string>([keyOf(PARAMETERS, CURRENT)]);
  for (let round = 0; round < 40; round++) {
    const plan = planTuning(request({ archive, seed: 3 }));
    if (plan.candidates.length === 0) break;
    for (const candidate of configs(plan.candidates)) {
      const values = fullValues(CURRENT, candidate);
      const key = keyOf(PARAMETERS, values);
      assert.ok(!proposed.has(key), `round ${round}: ${candidate.summary} proposed again`);
      proposed.add(key);
      const verdict = verdicts[proposed.size % verdicts.length] ?? 'Passed';
      const good = verdict === 'Passed' || verdict === 'Promoted';
      archive = [
        ...archive,
        archived(values, {
          verdict,
          score: good ? -Math.abs(Number(values['cache-size']) - 300) : undefined,
        }),
      ];
    }
  }
  assert.ok(proposed.size > 40);
});

test('across cycles, with parents, promotions and rollbacks, no point tried before is proposed again', () => {
  // Cycles as the operator runs them: a parent drawn from the archive, the round's candidates
  // recorded with recordEntries, every third one Failed, the best passing one delivered and then
  // rolled back (a later verdict for an entry already archived), and every third cycle another
  // promoted, which moves the current values.
  const score = (values: ParameterValues) =>
    -Math.abs(Number(values['cache-size']) - 384) / 16 - Math.abs(Number(values['batch-window-ms']) - 12);
  for (const seed of [1, 2, 3]) {
    let archive: ArchiveEntry[] = [];
    let current: ParameterValues = { ...CURRENT };
    const tried = new Map<string, string>([[keyOf(PARAMETERS, current), 'the first current values']]);
    const verdicts = new Set<string>();
    let rounds = 0;
    for (let round = 1; round <= 30; round++) {
      const cycle = `cycle-${round}`;
      const { parent } = selectParent({ archive, rng: xoroshiro128plus(seed * 1000 + round) });
      if (parent !== undefined) assert.ok(parent.verdict === 'Passed' || parent.verdict === 'Promoted');
      const plan = planTuning(request({ cycle, archive, parent, current, seed: seed * 1000 + round }));
      if (plan.candidates.length === 0) break;
      rounds += 1;
      const start = { ...current, ...parent?.parameters };
      const evaluated = configs(plan.candidates).map((candidate, i): ArchiveEntry => {
        const values = fullValues(start, candidate);
        const key = keyOf(PARAMETERS, values);
        const before = tried.get(key);
        assert.equal(before, undefined, `seed ${seed}, ${cycle}: ${candidate.summary} repeats ${before}`);
        tried.set(key, `${cycle}/c${i}`);
        const failed = i % 3 === 0;
        return {
          id: `${cycle}/c${i}`,
          cycle,
          kind: 'config',
          summary: candidate.summary,
          ...(parent === undefined ? {} : { parent: parent.id }),
          parameters: values,
          ...(failed ? { reasons: ['p99 above objective'] } : { score: score(values) }),
          verdict: failed ? 'Failed' : 'Passed',
          evaluatedAt: new Date(Date.UTC(2025, 0, round)).toISOString(),
        };
      });
      archive = recordEntries(archive, evaluated);
      const passed = evaluated
        .filter((entry) => entry.verdict === 'Passed')
        .sort((a, b) => (b.score ?? 0) - (a.score ?? 0));
      const [delivered, next] = passed;
      if (delivered !== undefined) {
        archive = recordEntries(archive, [
          { ...delivered, verdict: 'RolledBack', reasons: ['p99-vs-stable: ratio 3.1 > max 1.25'] },
        ]);
      }
      if (next !== undefined && round % 3 === 0) {
        archive = recordEntries(archive, [{ ...next, verdict: 'Promoted' }]);
        current = { ...(next.parameters ?? current) };
      }
      for (const entry of archive) verdicts.add(entry.verdict);
    }
    assert.ok(rounds >= 10, `seed ${seed}: only ${rounds} rounds`);
    assert.deepEqual([...verdicts].sort(), ['Failed', 'Passed', 'Promoted', 'RolledBack']);
  }
});

test('a failing region is learned from: its points are never retried and the search ends at its edge', () => {
  // Everything with a window above 25 fails; the best point that passes sits on that edge.
  const fails = (values: ParameterValues) => Number(values['batch-window-ms']) > 25;
  let archive: ArchiveEntry[] = [];
  const failed = new Set<string>();
  let converged = false;
  for (let round = 0; round < 60 && !converged; round++) {
    const plan = planTuning(request({ archive, seed: 5 }));
    converged = plan.converged;
    for (const candidate of configs(plan.candidates)) {
      const values = fullValues(CURRENT, candidate);
      const key = keyOf(PARAMETERS, values);
      assert.ok(!failed.has(key), `a failed point was proposed again: ${candidate.summary}`);
      if (fails(values)) failed.add(key);
      archive = [
        ...archive,
        fails(values)
          ? archived(values, { verdict: 'Failed', reasons: ['p99 above objective'] })
          : archived(values, {
              score: Number(values['batch-window-ms']) - Number(values['cache-size']) / 1024,
            }),
      ];
    }
  }
  assert.ok(converged);
  assert.ok(failed.size > 0);
  const best = archive
    .filter((e) => e.score !== undefined)
    .sort((a, b) => (b.score ?? 0) - (a.score ?? 0))[0];
  assert.equal(best?.parameters?.['batch-window-ms'], 25);
  assert.equal(best?.parameters?.['cache-size'], 16);
});

test('a converged search proposes nothing and says so', () => {
  const small: ParameterSpec[] = [
    { name: 'compress', env: 'COMPRESS', type: 'boolean' },
    { name: 'eviction', env: 'EVICTION', type: 'choice', choices: ['lru', 'fifo'] },
  ];
  const current = { compress: false, eviction: 'fifo' };
  const archive = [
    archived({ compress: true, eviction: 'fifo' }, { score: 2 }),
    archived({ compress: false, eviction: 'lru' }, { score: 1 }),
  ];
  const open = planTuning(request({ parameters: small, current, archive }));
  assert.equal(open.converged, false);
  assert.deepEqual(
    configs(open.candidates).map((c) => c.parameters),
    [{ compress: true, eviction: 'lru' }],
  );

  const done = planTuning(
    request({
      parameters: small,
      current,
      archive: [...archive, archived({ compress: true, eviction: 'lru' }, { verdict: 'Failed' })],
    }),
  );
  assert.equal(done.converged, true);
  assert.deepEqual(done.candidates, []);
  assert.match(
    done.message,
    /^search converged: every neighbour of cycle-\d+\/c0 \(score 2, the best so far\)/,
  );
});

test('refinement polls around the best, then halves the step when nothing nearby is better', () => {
  const best = { ...CURRENT, 'cache-size': 512, 'batch-window-ms': 24, compress: true, eviction: 'lru' };
  const archive = [
    ...Array.from({ length: 6 }, (_, i) =>
      archived({ ...CURRENT, 'cache-size': 16 * (i + 1) }, { score: -10 - i }),
    ),
    archived(best, { score: 5 }),
  ];
  const plan = planTuning(request({ archive, maxCandidates: 20 }));
  // The best was found far from the one before it, so the first candidate repeats that step.
  const [pattern, ...polls] = configs(plan.candidates);
  assert.match(
    pattern?.rationale ?? '',
    /^Refinement, pattern move: repeats the step from cycle-\d+\/c0 \(score -10\)/,
  );
  const moves = polls.map((c) => fullValues(CURRENT, c));
  // Each poll changes one parameter of the best; the first radius is a quarter of each range.
  for (const values of moves) {
    const changed = Object.keys(best).filter((name) => values[name] !== best[name as keyof typeof best]);
    assert.equal(changed.length, 1, JSON.stringify(values));
  }
  assert.ok(moves.some((v) => v['cache-size'] === 512 + 16 * 16));
  assert.ok(moves.some((v) => v['batch-window-ms'] === 24 - 13));
  assert.match(
    polls[0]?.rationale ?? '',
    /^Refinement \(pattern search\) around cycle-\d+\/c0 \(score 5, the best so far\)/,
  );

  // Once the whole first poll is evaluated without improvement, the next one uses half the step.
  const firstPoll = [pattern ? fullValues(CURRENT, pattern) : {}, ...moves.slice(0, 7)];
  const polled = [...archive, ...firstPoll.map((values) => archived(values, { score: 0 }))];
  const next = planTuning(request({ archive: polled, maxCandidates: 1 }));
  const [halved] = configs(next.candidates);
  assert.ok(halved);
  assert.match(halved.rationale, /Larger steps around it found nothing better/);
});

test('candidates start from the parent: changes relative to it, parent id set, best of its branch', () => {
  const parent = archived({ ...CURRENT, 'cache-size': 512, 'batch-window-ms': 10 }, { score: 1 });
  const child = archived(
    { ...CURRENT, 'cache-size': 640, 'batch-window-ms': 10 },
    { score: 2, parent: parent.id },
  );
  const elsewhere = archived({ ...CURRENT, 'cache-size': 32 }, { score: 50 });
  const design = Array.from({ length: 6 }, (_, i) =>
    archived({ ...CURRENT, 'batch-window-ms': 40 + i }, { score: -5 }),
  );
  const plan = planTuning(request({ archive: [...design, parent, child, elsewhere], parent }));
  assert.ok(plan.candidates.length > 0);
  for (const candidate of configs(plan.candidates)) {
    assert.equal(candidate.parent, parent.id);
    for (const [name, value] of Object.entries(candidate.parameters)) {
      assert.notEqual(value, parent.parameters?.[name]);
    }
    assert.match(
      candidate.rationale,
      new RegExp(`(around|to) ${child.id} \\(score 2, the best in the branch of ${parent.id}\\)`),
    );
  }
});

test('values are read from text and off-grid start values are moved onto the grid', () => {
  const current = {
    'cache-size': 100,
    'batch-window-ms': '0',
    compress: 'false',
    eviction: 'fifo',
  } as unknown as ParameterValues;
  const plan = planTuning(request({ current }));
  for (const candidate of configs(plan.candidates)) {
    assert.ok(allowed(PARAMETERS[0] as ParameterSpec, candidate.parameters['cache-size']));
    assert.match(candidate.summary, /cache-size 100→\d+/);
  }
  // A value recorded as text counts as evaluated like the number it spells.
  const asText = {
    'cache-size': '256',
    'batch-window-ms': '5',
    compress: 'true',
    eviction: 'lru',
  } as unknown as ParameterValues;
  const key = keyOf(PARAMETERS, { 'cache-size': 256, 'batch-window-ms': 5, compress: true, eviction: 'lru' });
  assert.equal(keyOf(PARAMETERS, asText), key);
});

test('nothing to tune, or no room for candidates, gives no candidates and a reason', () => {
  const untunable: ParameterSpec[] = [
    { name: 'workers', env: 'WORKERS', type: 'integer', min: 4, max: 4 },
    { name: 'mode', env: 'MODE', type: 'choice', choices: ['only'] },
  ];
  const none = planTuning(request({ parameters: untunable }));
  assert.deepEqual(none.candidates, []);
  assert.equal(
    none.message,
    'no parameter to tune (workers: fewer than two integers between min and max; mode: fewer than two choices)',
  );
  assert.deepEqual(planTuning(request({ maxCandidates: 0 })).candidates, []);
});

test('numbers without a step get a grid of 100 intervals, with clean decimals', () => {
  const specs: ParameterSpec[] = [
    { name: 'ratio', configKey: 'cache.ratio', type: 'number', min: 0, max: 1 },
  ];
  const plan = planTuning(request({ parameters: specs, current: { ratio: 0.5 }, maxCandidates: 8 }));
  for (const candidate of configs(plan.candidates)) {
    const value = candidate.parameters['ratio'];
    assert.equal(typeof value, 'number');
    assert.equal(String(value), (Math.round(Number(value) * 100) / 100).toString());
  }
});

const specArb: fc.Arbitrary<ParameterSpec> = fc.oneof(
  fc
    .record({
      min: fc.integer({ min: -1000, max: 1000 }),
      span: fc.integer({ min: 1, max: 5000 }),
      step: fc.option(fc.integer({ min: 1, max: 64 }), { nil: undefined }),
    })
    .map(({ min, span, step }) => ({
      name: 'p',
      env: 'P',
      type: 'integer' as const,
      min,
      max: min + span,
      step,
    })),
  fc
    .record({
      min: fc.double({ min: -1e4, max: 1e4, noNaN: true }),
      span: fc.double({ min: 1e-3, max: 1e4, noNaN: true }),
      intervals: fc.option(fc.integer({ min: 1, max: 500 }), { nil: undefined }),
    })
    .map(({ min, span, intervals }) => ({
      name: 'p',
      env: 'P',
      type: 'number' as const,
      min,
      max: min + span,
      step: intervals === undefined ? undefined : span / intervals,
    })),
  fc.constant({ name: 'p', env: 'P', type: 'boolean' as const }),
  fc
    .uniqueArray(fc.string({ minLength: 1, maxLength: 8 }), { minLength: 2, maxLength: 6 })
    .map((choices) => ({ name: 'p', env: 'P', type: 'choice' as const, choices })),
);

test('property: for random parameters, every candidate is in range, on the grid, new, and not the start', () => {
  fc.assert(
    fc.property(
      fc
        .array(specArb, { minLength: 1, maxLength: 5 })
        .map((specs) => specs.map((spec, i) => ({ ...spec, name: `p${i}` }))),
      fc.integer(),
      fc.integer({ min: 1, max: 6 }),
      fc.array(fc.double({ min: -100, max: 100, noNaN: true }), { minLength: 40, maxLength: 40 }),
      (specs, seed, maxCandidates, scores) => {
        const space = searchSpace(specs);
        const current: ParameterValues = {};
        for (const dim of space.dimensions) {
          current[dim.name] = dim.kind === 'numeric' ? dim.lo : (dim.values[0] ?? false);
        }
        const seen = new Set<string>([keyOf(specs, current)]);
        let archive: ArchiveEntry[] = [];
        for (let round = 0; round < 5; round++) {
          const plan = planTuning(request({ parameters: specs, current, archive, seed, maxCandidates }));
          assert.ok(plan.candidates.length <= maxCandidates);
          for (const candidate of configs(plan.candidates)) {
            const values = fullValues(current, candidate);
            for (const spec of specs) {
              if (spec.name in candidate.parameters) {
                assert.ok(
                  allowed(spec, candidate.parameters[spec.name]),
                  `${spec.name}=${String(candidate.parameters[spec.name])}`,
                );
              }
            }
            const key = keyOf(specs, values);
            assert.ok(!key.includes('off:'), `off the grid: ${JSON.stringify(values)}`);
            assert.ok(!seen.has(key), `repeated: ${candidate.summary}`);
            seen.add(key);
            const score = scores[archive.length % scores.length] ?? 0;
            archive = [...archive, archived(values, score < -50 ? { verdict: 'Failed' } : { score })];
          }
        }
      },
    ),
    { numRuns: 150 },
  );
});
