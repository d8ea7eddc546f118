import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDuration } from './duration.js';

test('parses Go-style durations', () => {
  assert.equal(parseDuration('30s'), 30_000);
  assert.equal(parseDuration('1h30m'), 5_400_000);
  assert.equal(parseDuration('250ms'), 250);
  assert.equal(parseDuration('1.5m'), 90_000);
  assert.equal(parseDuration('2h0m5s'), 7_205_000);
});

test('refuses what the CRD pattern refuses', () => {
  for (const bad of ['', '5', 'm', '5 m', '1d', '-1s', '1h 30m']) {
    assert.throws(() => parseDuration(bad), /invalid duration/, bad);
  }
});
