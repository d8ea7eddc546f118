import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { advisedDelay, backoffDelay, retryDelay, type Backoff } from './retry.js';

const BACKOFF: Backoff = { initialMs: 100, maxMs: 1000, maxRetryAfterMs: 5000 };

test('backoff doubles up to its ceiling and draws from the upper half', () => {
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6].map((retry) => backoffDelay(retry, BACKOFF, () => 1)),
    [100, 200, 400, 800, 1000, 1000],
  );
  assert.deepEqual(
    [1, 2, 3].map((retry) => backoffDelay(retry, BACKOFF, () => 0)),
    [50, 100, 200],
  );
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 60 }),
      fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
      (retry, r) => {
        const delay = backoffDelay(retry, BACKOFF, () => r);
        return delay >= 50 && delay <= 1000;
      },
    ),
  );
});

test('the advised delay: retry-after-ms first, then retry-after as seconds or an HTTP date', () => {
  const now = Date.parse('2025-01-01T00:00:00Z');
  const headers = (entries: Record<string, string>) => new Headers(entries);
  assert.equal(advisedDelay(headers({ 'retry-after-ms': '250', 'retry-after': '9' }), now), 250);
  assert.equal(advisedDelay(headers({ 'retry-after': '1.5' }), now), 1500);
  assert.equal(advisedDelay(headers({ 'retry-after': 'Wed, 01 Jan 2025 00:00:30 GMT' }), now), 30_000);
  assert.equal(advisedDelay(headers({ 'retry-after': 'Tue, 31 Dec 2024 23:00:00 GMT' }), now), 0);
  assert.equal(advisedDelay(headers({ 'retry-after': 'soon' }), now), undefined);
  assert.equal(advisedDelay(headers({}), now), undefined);
  assert.equal(advisedDelay(undefined, now), undefined);
});

test('an advised delay is honoured up to the cap; without one, backoff applies', () => {
  assert.equal(
    retryDelay(1, 3_600_000, BACKOFF, () => 1),
    5000,
  );
  assert.equal(
    retryDelay(1, 20, BACKOFF, () => 1),
    20,
  );
  assert.equal(
    retryDelay(2, undefined, BACKOFF, () => 1),
    200,
  );
});
