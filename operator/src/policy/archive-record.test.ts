import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Value } from '@sinclair/typebox/value';
import { ArchiveRecord } from '../api/schema.js';
import type { ArchiveEntry } from './archive-entry.js';
import type { ParameterSpec } from '../api/parameters.js';
import { fromArchiveRecord, parameterValues, toArchiveRecord } from './archive-record.js';

const DECLARED: ParameterSpec[] = [
  { name: 'cache-size', env: 'CACHE_SIZE', type: 'integer', min: 0, max: 1024 },
  { name: 'ratio', env: 'RATIO', type: 'number', min: 0, max: 1 },
  { name: 'compress', env: 'COMPRESS', type: 'boolean' },
  { name: 'policy', configKey: 'cache.policy', type: 'choice', choices: ['lru', 'fifo'] },
];

test('an entry survives the trip through status with its parameter types', () => {
  const entry: ArchiveEntry = {
    id: 'cycle-1/c2',
    cycle: 'cycle-1',
    kind: 'config',
    summary: 'CACHE_SIZE 64→256',
    parameters: { 'cache-size': 256, ratio: 0.25, compress: true, policy: 'lru' },
    score: 12.5,
    verdict: 'Passed',
    commit: 'a'.repeat(40),
    evaluatedAt: '2026-11-26T10:00:00.000Z',
  };
  const record = toArchiveRecord(entry);
  assert.deepEqual(record.parameters, {
    'cache-size': '256',
    ratio: '0.25',
    compress: 'true',
    policy: 'lru',
  });
  assert.ok(
    Value.Check(ArchiveRecord, record),
    [...Value.Errors(ArchiveRecord, record)].map((e) => e.message).join(),
  );
  assert.deepEqual(fromArchiveRecord(record, DECLARED), entry);
});

test('values that no longer fit the declarations are dropped, not guessed', () => {
  assert.deepEqual(
    parameterValues(
      { 'cache-size': '12.5', ratio: 'fast', compress: 'yes', policy: 'random', gone: '1' },
      DECLARED,
    ),
    {},
  );
});

test('long reasons and summaries are cut to what status allows', () => {
  fc.assert(
    fc.property(
      fc.string({ maxLength: 2000 }),
      fc.array(fc.string({ maxLength: 2000 }), { maxLength: 20 }),
      (summary, reasons) => {
        const record = toArchiveRecord({
          id: 'c/1',
          cycle: 'c',
          kind: 'code',
          summary,
          reasons,
          verdict: 'Refused',
          evaluatedAt: '2026-11-26T10:00:00.000Z',
        });
        return Value.Check(ArchiveRecord, record);
      },
    ),
    { numRuns: 300 },
  );
});
