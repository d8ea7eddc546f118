import assert from 'node:assert/strict';
import { request } from 'node:http';
import { test } from 'node:test';
import { FX_RATES, priceOf } from '../src/pricing-server.js';
import { pricingFor, quoteServerFor } from './helpers.js';

async function getJson(url: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(url);
  return { status: response.status, body: await response.json() };
}

test('GET /quote answers the price in the currency asked for', async (t) => {
  const pricing = await pricingFor(t);
  const server = await quoteServerFor(t, pricing.url);
  const { status, body } = await getJson(`${server.url}/quote?symbol=ACME&currency=EUR`);
  assert.equal(status, 200);
  const expected = Math.round(priceOf('ACME') * (FX_RATES.EUR as number) * 100) / 100;
  assert.deepEqual(body, { symbol: 'ACME', currency: 'EUR', price: expected });
  const usd = await getJson(`${server.url}/quote?symbol=ACME`);
  assert.deepEqual(usd.body, { symbol: 'ACME', currency: 'USD', price: priceOf('ACME') }, 'USD by default');
});

test('GET /quote answers 400 to a bad symbol or currency, without calling the pricing API', async (t) => {
  const pricing = await pricingFor(t);
  const server = await quoteServerFor(t, pricing.url);
  for (const query of ['symbol=acme', 'symbol=TOOLONG', '', 'symbol=ACME&currency=XYZ']) {
    const { status, body } = await getJson(`${server.url}/quote?${query}`);
    assert.equal(status, 400, query);
    assert.match((body as { error: string }).error, /symbol|currency/);
  }
  assert.equal(pricing.calls.length, 0);
});

test('GET /quote answers 502 when the pricing API still fails after the retries', async (t) => {
  const pricing = await pricingFor(t, { faultRate: 1 });
  const server = await quoteServerFor(t, pricing.url, { QUOTE_RETRIES: '1' });
  const { status } = await getJson(`${server.url}/quote?symbol=ACME&currency=GBP`);
  assert.equal(status, 502);
  assert.equal(pricing.calls.length, 2, 'one attempt and one retry');
});

test('with a cache, a repeated quote is answered without calling the pricing API', async (t) => {
  const pricing = await pricingFor(t);
  const server = await quoteServerFor(t, pricing.url, { QUOTE_CACHE_SIZE: '100' });
  assert.equal((await getJson(`${server.url}/quote?symbol=ACME&currency=CHF`)).status, 200);
  const first = pricing.calls.map((call) => call.endpoint).sort();
  assert.deepEqual(
    [...new Set(first)],
    ['prices', 'rates'],
    'the first quote needs the FX rate and the price',
  );
  for (let i = 0; i < 3; i++) {
    assert.equal((await getJson(`${server.url}/quote?symbol=ACME&currency=CHF`)).status, 200);
  }
  assert.equal(pricing.calls.length, first.length, 'the repeats come from the cache');
});

test('GET /metrics exposes request, cache and pricing metrics; GET /healthz answers ok', async (t) => {
  const pricing = await pricingFor(t);
  const server = await quoteServerFor(t, pricing.url, { QUOTE_CACHE_SIZE: '10' });
  await getJson(`${server.url}/quote?symbol=ACME&currency=JPY`);
  await getJson(`${server.url}/quote?symbol=ACME&currency=JPY`);
  const health = await fetch(`${server.url}/healthz`);
  assert.equal(health.status, 200);
  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  for (const line of [
    /^http_requests_total\{method="GET",route="\/quote",code="200"\} 2$/m,
    /^http_requests_total\{method="GET",route="\/healthz",code="200"\} 1$/m,
    /^http_request_duration_seconds_bucket\{le="0.02",method="GET",route="\/quote",code="200"\} \d+$/m,
    /^quote_cache_requests_total\{result="miss"\} 2$/m,
    /^quote_cache_requests_total\{result="hit"\} 2$/m,
    /^quote_pricing_calls_total\{endpoint="rates",outcome="ok"\} \d+$/m,
    /^quote_pricing_calls_total\{endpoint="prices",outcome="ok"\} \d+$/m,
  ]) {
    assert.match(metrics, line);
  }
});

test('close() lets a request in flight finish, then refuses connections', async (t) => {
  const pricing = await pricingFor(t, { latencyMs: 100 });
  const server = await quoteServerFor(t, pricing.url);
  const inFlight = getJson(`${server.url}/quote?symbol=SLOW&currency=USD`);
  // In flight for certain once the pricing API holds its call (a fixed 30 ms sleep lost that race
  // on a busy node: close() came first and the request was refused).
  while (
    !/^pricing_calls_in_flight(\{[^}]*\})? [1-9]/m.test(await (await fetch(`${pricing.url}/metrics`)).text())
  ) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  const closed = server.close();
  assert.equal((await inFlight).status, 200);
  await closed;
  await assert.rejects(
    new Promise((resolve, reject) =>
      request(`${server.url}/healthz`).on('error', reject).on('response', resolve).end(),
    ),
    /ECONNREFUSED/,
  );
});
