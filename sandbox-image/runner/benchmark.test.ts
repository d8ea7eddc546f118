import assert from 'node:assert/strict';
import { test } from 'node:test';
import { collectRuns, readRunFigures, type Figures } from './benchmark.js';

const KEYS = ['p99_ms', 'rps', 'errors'];

test('the output file wins over stdout when the command wrote it', () => {
  const figures = readRunFigures('{"p99_ms": 41.2, "rps": 900}\n', '{"p99_ms": 1, "rps": 2}\n', KEYS);
  assert.deepEqual(figures, { figures: { p99_ms: 41.2, rps: 900 }, source: 'file' });
});

test('without a file, the last stdout line that is a JSON object counts', () => {
  const stdout = [
    'warming up',
    '{"p99_ms": 50}',
    'measuring…',
    '{"p99_ms": 42.5, "rps": 1000}',
    'done',
    '',
  ].join('\n');
  assert.deepEqual(readRunFigures(undefined, stdout, KEYS), {
    figures: { p99_ms: 42.5, rps: 1000 },
    source: 'stdout',
  });
  assert.deepEqual(readRunFigures('  \n', '{"rps": 3}', KEYS), { figures: { rps: 3 }, source: 'stdout' });
});

test('unwanted, non-numeric, non-finite and inherited keys are dropped', () => {
  const stdout = '{"p99_ms": "41", "rps": 900, "extra": 1, "errors": null}';
  assert.deepEqual(readRunFigures(undefined, stdout, KEYS).figures, { rps: 900 });
  assert.deepEqual(
    readRunFigures(undefined, '{"a": 1}', ['constructor', 'toString', '__proto__']).figures,
    {},
  );
  assert.deepEqual(
    readRunFigures(undefined, '{"__proto__": 7}', ['__proto__']).figures,
    JSON.parse('{"__proto__": 7}'),
  );
});

test('a run without figures says why', () => {
  assert.deepEqual(readRunFigures(undefined, 'just text\n[1,2]\n"string"\n', KEYS), {
    figures: {},
    source: 'none',
    problem: 'no JSON object on stdout and no output file',
  });
  assert.deepEqual(readRunFigures('not json', '{"rps": 1}', KEYS), {
    figures: {},
    source: 'none',
    problem: 'HYPERAGENT_BENCHMARK_OUTPUT file is not a JSON object',
  });
});

test('runs are collected per key in run order; keys no run reported are absent', () => {
  const runs: Figures[] = [{ p99_ms: 41.2, rps: 900 }, { p99_ms: 40.8 }, { p99_ms: 41, rps: 910 }];
  assert.deepEqual(collectRuns(runs, KEYS), { p99_ms: [41.2, 40.8, 41], rps: [900, 910] });
  assert.deepEqual(collectRuns([], KEYS), {});
});
