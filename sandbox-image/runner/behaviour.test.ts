import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareAnswers, normalizeBody } from './behaviour.js';

test('JSON bodies compare by content: key order does not matter, declared fields are left out', () => {
  const a = normalizeBody('{"price": 1.5, "symbol": "ACME", "at": "2026-12-06T03:00:00Z"}', ['at']);
  const b = normalizeBody('{"at": "2026-12-06T04:00:00Z", "symbol": "ACME", "price": 1.5}', ['at']);
  assert.equal(a, b);
  assert.equal(a, '{"price":1.5,"symbol":"ACME"}');
  assert.equal(
    normalizeBody('{"items":[{"id":1,"v":2},{"id":2,"v":3}],"meta":{"requestId":"x"}}', [
      'items.*.id',
      'meta.requestId',
    ]),
    '{"items":[{"v":2},{"v":3}],"meta":{}}',
  );
  assert.equal(normalizeBody('plain text', ['at']), 'plain text');
});

test('the first differing request is reported with both answers', () => {
  const comparison = compareAnswers(
    ['GET /quote?symbol=ACME', 'GET /quote?symbol=BOLT', 'GET /quote?symbol=CRUX'],
    [
      { status: 200, body: '{"price":1}' },
      { status: 200, body: '{"price":2}' },
      { status: 400, body: 'bad' },
    ],
    [{ status: 200, body: '{"price":1}' }, { status: 200, body: '{"price":2.5}' }, 'connection refused'],
  );
  assert.deepEqual(comparison, {
    compared: 3,
    differing: 2,
    first: { request: 'GET /quote?symbol=BOLT', baseline: '200 {"price":2}', candidate: '200 {"price":2.5}' },
  });
  assert.deepEqual(compareAnswers(['a'], [{ status: 200, body: 'x' }], [{ status: 200, body: 'x' }]), {
    compared: 1,
    differing: 0,
  });
});

test('an answer given only under load that differs is a difference too, marked so', () => {
  const comparison = compareAnswers(
    ['GET /quote?symbol=ACME'],
    [{ status: 200, body: '{"price":40}' }],
    [{ status: 200, body: '{"price":40}' }],
    new Map([[0, new Set(['200 {"price":40}', '200 {"price":0}'])]]),
  );
  assert.deepEqual(comparison, {
    compared: 1,
    differing: 1,
    first: {
      request: 'GET /quote?symbol=ACME',
      baseline: '200 {"price":40}',
      candidate: '200 {"price":0} (under load)',
    },
  });
});

test('a 503 under load is a difference, unless the unchanged service also answered it under load', () => {
  const alone = [{ status: 200, body: '{"price":40}' }];
  const shed = new Map([[0, new Set(['503 busy'])]]);
  const shedding = compareAnswers(['GET /quote?symbol=ACME'], alone, alone, shed);
  assert.equal(shedding.differing, 1);
  assert.equal(shedding.first?.candidate, '503 busy (under load)');
  assert.equal(compareAnswers(['GET /quote?symbol=ACME'], alone, alone, shed, shed).differing, 0);
});

test('two failed requests are alike whatever the transport said (reset or refused is a race)', () => {
  const comparison = compareAnswers(
    ['GET /a', 'GET /b'],
    ['no answer: socket hang up', 'no answer: connect ECONNREFUSED 127.0.0.1:8080'],
    ['no answer: connect ECONNREFUSED 127.0.0.1:8080', { status: 200, body: 'ok' }],
  );
  assert.deepEqual(comparison, {
    compared: 2,
    differing: 1,
    first: {
      request: 'GET /b',
      baseline: 'no answer: connect ECONNREFUSED 127.0.0.1:8080',
      candidate: '200 ok',
    },
  });
});
