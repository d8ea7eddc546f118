import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Value } from '@sinclair/typebox/value';
import { MAX_RESULT_BYTES, SandboxResult } from '../../operator/src/api/sandbox-protocol.js';
import { emptyResult, fitResult, joinNotes } from './result.js';

function evaluated(overrides: Partial<SandboxResult> = {}): SandboxResult {
  return {
    ...emptyResult('c1'),
    outcome: 'evaluated',
    commands: [{ name: 'test', exitCode: 0, timedOut: false, durationMs: 1200 }],
    tests: { format: 'tap', passed: 10, failed: 0, skipped: 1 },
    commandMs: 1200,
    isolationMs: 40,
    ...overrides,
  };
}

/** 16 keys × 20 runs of long figures: far more than a termination message holds. */
function bigBenchmark(): Record<string, number[]> {
  return Object.fromEntries(
    Array.from({ length: 16 }, (_, key) => [
      `figure_number_${key}`,
      Array.from({ length: 20 }, (_, run) => 1000 / (key + 3) + run / 7),
    ]),
  );
}

test('a small result is its compact JSON, unchanged', () => {
  const result = evaluated({ message: 'fine' });
  assert.equal(fitResult(result), JSON.stringify(result));
});

test('a long message is shortened first, and only as much as needed', () => {
  const result = evaluated({ message: 'x'.repeat(1024), benchmark: { p99_ms: [41.123456789] } });
  const fitted = fitResult(result, 600);
  const parsed = JSON.parse(fitted) as SandboxResult;
  assert.ok(Buffer.byteLength(fitted) <= 600);
  assert.ok(Buffer.byteLength(fitted) > 590, 'the message keeps what fits');
  assert.match(parsed.message ?? '', /^x+…$/);
  assert.deepEqual(parsed.benchmark, { p99_ms: [41.123456789] });
});

test('too many figures: the full budget holds them once rounded to six digits', () => {
  const fitted = fitResult(evaluated({ benchmark: bigBenchmark() }));
  assert.ok(Buffer.byteLength(fitted) <= MAX_RESULT_BYTES);
  const parsed = JSON.parse(fitted) as SandboxResult;
  assert.ok(Object.values(parsed.benchmark ?? {}).every((values) => values.length === 20));
  assert.equal(parsed.benchmark?.figure_number_0?.[1], Number((1000 / 3 + 1 / 7).toPrecision(6)));
});

test('less room: message gone, figures rounded, then later runs dropped, deterministically', () => {
  const result = evaluated({ message: 'benchmark run 3: something', benchmark: bigBenchmark() });
  const fitted = fitResult(result, 2000);
  assert.equal(fitted, fitResult(structuredClone(result), 2000));
  assert.ok(Buffer.byteLength(fitted) <= 2000);
  const parsed = JSON.parse(fitted) as SandboxResult;
  assert.ok(Value.Check(SandboxResult, parsed));
  assert.equal(parsed.message, undefined);
  const series = Object.values(parsed.benchmark ?? {});
  assert.equal(series.length, 16, 'every key is kept while runs can go');
  const runs = series[0]?.length ?? 0;
  assert.ok(runs > 1 && runs < 20, `kept ${runs} runs`);
  assert.ok(series.every((values) => values.length === runs));
  assert.equal(parsed.benchmark?.figure_number_0?.[1], Number((1000 / 3 + 1 / 7).toPrecision(6)));
  assert.deepEqual(parsed.tests, result.tests);
});

test('listed interface changes go after the message, still counted, before any figure', () => {
  const line = (i: number): string => `src/api.ts:export${i}:function:${'p'.repeat(150)}`;
  const side = { sha256: 'a'.repeat(64), items: 5 };
  const result = evaluated({
    message: 'interface changed',
    benchmark: { p99_ms: [41.123456789, 40.5] },
    interface: {
      source: 'exports',
      files: 1,
      before: side,
      after: { ...side, sha256: 'b'.repeat(64) },
      removed: [0, 1, 2, 3, 4].map(line),
      added: [5, 6, 7, 8, 9].map(line),
      more: 2,
    },
  });
  const fitted = fitResult(result, 1200);
  assert.ok(Buffer.byteLength(fitted) <= 1200);
  const parsed = JSON.parse(fitted) as SandboxResult;
  assert.equal(parsed.message, undefined);
  const kept = parsed.interface!.removed.length + parsed.interface!.added.length;
  assert.ok(kept < 10);
  assert.deepEqual(
    parsed.interface!.removed,
    result.interface!.removed.slice(0, parsed.interface!.removed.length),
  );
  assert.equal(parsed.interface!.more, 2 + 10 - kept);
  assert.deepEqual(parsed.benchmark, result.benchmark);
});

test('keys go last, from the end, once every key is down to one run', () => {
  const fitted = JSON.parse(fitResult(evaluated({ benchmark: bigBenchmark() }), 500)) as SandboxResult;
  const keys = Object.keys(fitted.benchmark ?? {});
  assert.ok(keys.length > 0 && keys.length < 16);
  assert.deepEqual(keys, Object.keys(bigBenchmark()).slice(0, keys.length));
});

test('a result that breaks the schema becomes an error result that says why', () => {
  const broken = { ...evaluated(), commandMs: -1 };
  const parsed = JSON.parse(fitResult(broken)) as SandboxResult;
  assert.equal(parsed.outcome, 'error');
  assert.equal(parsed.candidate, 'c1');
  assert.match(parsed.message ?? '', /invalid result \(\/commandMs: /);
});

test('notes join into one message within the schema limit', () => {
  assert.equal(joinNotes([]), undefined);
  assert.equal(joinNotes(['a', 'b']), 'a; b');
  const long = joinNotes(['y'.repeat(2000)]) ?? '';
  assert.equal(long.length, 1024);
  assert.ok(long.endsWith('…'));
});
