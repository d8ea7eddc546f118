import assert from 'node:assert/strict';
import { test } from 'node:test';
import { listedSymbols } from '../src/symbols.js';
import {
  MAX_SYMBOLS_PER_CALL,
  PricingClient,
  PricingError,
  type CallOutcome,
} from '../src/pricing-client.js';
import { priceOf } from '../src/pricing-server.js';
import { pricingFor, scripted } from './helpers.js';

function clientFor(url: string, options: { batchWindowMs?: number; retries?: number } = {}) {
  const attempts: CallOutcome[] = [];
  const client = new PricingClient({
    baseUrl: url,
    retries: options.retries ?? 2,
    timeoutMs: 1_000,
    batchWindowMs: options.batchWindowMs ?? 0,
    onCall: (_endpoint, outcome) => attempts.push(outcome),
  });
  return { client, attempts };
}

test('without a batch window every price miss is its own call', async (t) => {
  const pricing = await pricingFor(t);
  const { client } = clientFor(pricing.url);
  const symbols = ['AAA', 'BBB', 'CCC'];
  assert.deepEqual(await Promise.all(symbols.map((s) => client.price(s))), symbols.map(priceOf));
  assert.deepEqual(
    pricing.calls.map((call) => call.symbols),
    symbols.map((s) => [s]),
  );
});

test('a batch window coalesces concurrent price misses into one call', async (t) => {
  const pricing = await pricingFor(t);
  const { client } = clientFor(pricing.url, { batchWindowMs: 20 });
  const symbols = ['AAA', 'BBB', 'CCC', 'AAA'];
  assert.deepEqual(await Promise.all(symbols.map((s) => client.price(s))), symbols.map(priceOf));
  assert.equal(pricing.calls.length, 1);
  assert.deepEqual(pricing.calls[0]?.symbols, ['AAA', 'BBB', 'CCC'], 'each symbol asked for once');
});

test(`a batch never carries more than ${MAX_SYMBOLS_PER_CALL} symbols`, async (t) => {
  const pricing = await pricingFor(t);
  const { client } = clientFor(pricing.url, { batchWindowMs: 50 });
  const symbols = listedSymbols(40);
  assert.deepEqual(await Promise.all(symbols.map((s) => client.price(s))), symbols.map(priceOf));
  assert.deepEqual(
    pricing.calls.map((call) => call.symbols.length),
    [16, 16, 8],
  );
  assert.deepEqual(pricing.calls.flatMap((call) => call.symbols).sort(), symbols);
});

test('a 503 is retried and the retry answers', async (t) => {
  const pricing = await pricingFor(t, { faultRate: 0.5, random: scripted(0, 0.9) });
  const { client, attempts } = clientFor(pricing.url, { retries: 2 });
  assert.equal(await client.price('ACME'), priceOf('ACME'));
  assert.deepEqual(attempts, ['http_5xx', 'ok']);
});

test('the client gives up after QUOTE_RETRIES retries, and never retries a 4xx', async (t) => {
  const failing = await pricingFor(t, { faultRate: 1 });
  const { client, attempts } = clientFor(failing.url, { retries: 2 });
  await assert.rejects(
    client.rate('EUR'),
    (error: unknown) => error instanceof PricingError && error.status === 503,
  );
  assert.deepEqual(attempts, ['http_5xx', 'http_5xx', 'http_5xx'], 'one attempt and two retries');

  const limited = await pricingFor(t, { maxBatch: 1 });
  const batching = clientFor(limited.url, { batchWindowMs: 20, retries: 2 });
  const refused = await Promise.allSettled([batching.client.price('AAA'), batching.client.price('BBB')]);
  assert.deepEqual(
    refused.map((result) => result.status === 'rejected' && (result.reason as PricingError).status),
    [413, 413],
  );
  assert.deepEqual(batching.attempts, ['http_4xx']);
});
