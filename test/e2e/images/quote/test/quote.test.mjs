import assert from 'node:assert/strict';
import { test } from 'node:test';
import { p99Ms, quote } from '../src/quote.mjs';

test('quotes a known symbol', () => {
  assert.deepEqual(quote('ACME'), { symbol: 'ACME', price: 40 });
});

test('refuses a malformed symbol', () => {
  assert.throws(() => quote('acme'));
});

test('latency is lowest at the sweet spot', () => {
  assert.ok(p99Ms(384, 12) < p99Ms(64, 0));
});
