// The tuner against a synthetic objective with one optimum on the grid and mixed parameter types:
// each round's candidates are scored by a known function and archived, as a cycle would, until
// the tuner says it has converged. The figures printed here (evaluations and rounds to the
// optimum, per seed) are the ones quoted for the tuner's performance.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { recordEntries } from '../policy/archive.js';
import type { ArchiveEntry } from '../policy/archive-entry.js';
import type { ParameterValues } from '../api/parameters.js';
import { TunerProposer } from './tuner.js';
import { TUNING_CURRENT, tuningRequest } from '../../../test/support/tuning-space.js';

const EVICTION_BONUS: Record<string, number> = { lru: 2, fifo: 0, random: -1 };

/** Unique maximum 3 at cache 384, window 12, compression on, LRU. */
function objective(values: ParameterValues): number {
  const cache = (Number(values['cache-size']) - 384) / 64;
  const window = (Number(values['batch-window-ms']) - 12) / 4;
  const eviction = EVICTION_BONUS[String(values['eviction'])] ?? Number.NaN;
  return -cache * cache - window * window + (values['compress'] === true ? 1 : 0) + eviction;
}
const OPTIMUM = 3;
const BUDGET = 150;
const MAX_CANDIDATES = 4;

interface Run {
  /** Evaluations up to and including the first one of the optimum; undefined if never. */
  evaluationsToOptimum: number | undefined;
  roundsToOptimum: number | undefined;
  evaluations: number;
  rounds: number;
  converged: boolean;
  best: number;
  /** Every summary proposed, in order, to compare runs. */
  summaries: string[];
}

async function run(seed: number, maxCandidates = MAX_CANDIDATES, limit = 100): Promise<Run> {
  const tuner = new TunerProposer();
  let archive: ArchiveEntry[] = [];
  const result: Run = {
    evaluationsToOptimum: undefined,
    roundsToOptimum: undefined,
    evaluations: 0,
    rounds: 0,
    converged: false,
    best: -Infinity,
    summaries: [],
  };
  while (result.rounds < limit) {
    const cycle = `cycle-${result.rounds + 1}`;
    const request = tuningRequest({ cycle, goal: 'maximise the objective', maxCandidates, archive, seed });
    const { candidates, attempts } = await tuner.propose(request);
    assert.equal(attempts.length, 1);
    if (candidates.length === 0) {
      result.converged = attempts[0]?.message.startsWith('search converged') ?? false;
      break;
    }
    result.rounds += 1;
    const evaluated = candidates.map((candidate, i): ArchiveEntry => {
      assert.equal(candidate.kind, 'config');
      const parameters = { ...TUNING_CURRENT, ...(candidate.kind === 'config' ? candidate.parameters : {}) };
      const score = objective(parameters);
      result.evaluations += 1;
      result.best = Math.max(result.best, score);
      result.summaries.push(candidate.summary);
      if (score === OPTIMUM && result.evaluationsToOptimum === undefined) {
        result.evaluationsToOptimum = result.evaluations;
        result.roundsToOptimum = result.rounds;
      }
      return {
        id: `${cycle}/c${i}`,
        cycle,
        kind: 'config',
        summary: candidate.summary,
        parameters,
        score,
        verdict: 'Passed',
        evaluatedAt: new Date(Date.UTC(2025, 0, 1) + result.rounds * 3_600_000).toISOString(),
      };
    });
    archive = recordEntries(archive, evaluated);
  }
  return result;
}

const SEEDS = [1, 2, 3, 42, 1234, 20250101];

test(`the tuner finds the optimum within ${BUDGET} evaluations (maxCandidates ${MAX_CANDIDATES}) and then converges`, async () => {
  for (const seed of SEEDS) {
    const result = await run(seed);
    console.log(
      `seed ${seed}: optimum after ${result.evaluationsToOptimum} evaluations in ${result.roundsToOptimum} rounds; ` +
        `converged after ${result.evaluations} evaluations in ${result.rounds} rounds`,
    );
    assert.ok(result.evaluationsToOptimum !== undefined, `seed ${seed}: optimum never proposed`);
    assert.ok(
      result.evaluationsToOptimum <= BUDGET,
      `seed ${seed}: ${result.evaluationsToOptimum} evaluations`,
    );
    assert.ok(result.converged, `seed ${seed}: did not converge`);
    assert.equal(result.best, OPTIMUM);
  }
});

test('other batch sizes find the optimum too', async () => {
  for (const maxCandidates of [1, 8]) {
    for (const seed of SEEDS.slice(0, 3)) {
      const result = await run(seed, maxCandidates, 200);
      console.log(
        `maxCandidates ${maxCandidates}, seed ${seed}: optimum after ${result.evaluationsToOptimum} evaluations ` +
          `in ${result.roundsToOptimum} rounds; converged after ${result.evaluations} evaluations`,
      );
      assert.ok((result.evaluationsToOptimum ?? Infinity) <= BUDGET);
      assert.ok(result.converged);
    }
  }
});

test('a whole search is repeatable for a seed and differs between seeds', async () => {
  const first = await run(42);
  const again = await run(42);
  const other = await run(43);
  assert.deepEqual(again.summaries, first.summaries);
  assert.notDeepEqual(other.summaries, first.summaries);
});
