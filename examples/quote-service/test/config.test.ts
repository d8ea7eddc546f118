import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../src/config.js';
import { ConfigError } from '../src/env.js';

test('the configuration defaults to no cache, no batching and two retries', () => {
  assert.deepEqual(loadConfig({}), {
    port: 8080,
    pricingUrl: 'http://pricing:8080',
    cacheSize: 0,
    cacheTtlMs: 5_000,
    rateTtlMs: 60_000,
    batchWindowMs: 0,
    retries: 2,
    timeoutMs: 1_000,
  });
  const tuned = loadConfig({
    QUOTE_CACHE_SIZE: '1000',
    QUOTE_BATCH_WINDOW_MS: '5',
    PRICING_URL: 'http://pricing/',
  });
  assert.equal(tuned.cacheSize, 1000);
  assert.equal(tuned.batchWindowMs, 5);
  assert.equal(tuned.pricingUrl, 'http://pricing', 'no trailing slash');
});

test('invalid settings are refused with the variable, the range and the value', () => {
  const refused = (env: Record<string, string>, message: RegExp) =>
    assert.throws(
      () => loadConfig(env),
      (error: unknown) => error instanceof ConfigError && message.test(error.message),
    );
  refused({ QUOTE_CACHE_SIZE: 'lots' }, /^QUOTE_CACHE_SIZE must be a number from 0 to 1000000, got "lots"$/);
  refused({ QUOTE_CACHE_SIZE: '-1' }, /QUOTE_CACHE_SIZE must be a number from 0/);
  refused({ QUOTE_RETRIES: '1.5' }, /^QUOTE_RETRIES must be a whole number, got "1.5"$/);
  refused({ QUOTE_BATCH_WINDOW_MS: '0x10' }, /QUOTE_BATCH_WINDOW_MS must be a number/);
  refused({ PRICING_URL: 'pricing:8080' }, /^PRICING_URL must be an http or https URL/);
  refused({ PRICING_URL: 'not a url' }, /^PRICING_URL must be an absolute http\(s\) URL/);
});
