import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { redactSecrets } from './redact.js';

const KEY = 'sk-proj-Zq81LmN0pQrStUvWxYz0123456789';

test('the key, its fragments, bearer tokens and credential headers are redacted', () => {
  const cases: [string, string][] = [
    [`key ${KEY} end`, 'key [REDACTED] end'],
    ['Authorization: Bearer abc.def-ghi', 'Authorization: Bearer [REDACTED]'],
    ['{"authorization":"Basic dXNlcjpwYXNz"}', '{"authorization":"Basic [REDACTED]"}'],
    ["headers: { 'x-api-key': 'k-123' }", "headers: { 'x-api-key': '[REDACTED]' }"],
    ['api-key=hunter2; next', 'api-key=[REDACTED]; next'],
    ['Incorrect API key provided: sk-abcdefgh1234', 'Incorrect API key provided: sk-[REDACTED]'],
    ['nothing secret here: sk-short', 'nothing secret here: sk-short'],
  ];
  for (const [text, want] of cases) assert.equal(redactSecrets(text, [KEY]), want);
  assert.doesNotMatch(redactSecrets(`partial ${KEY.slice(5, 25)} echo`, [KEY]), /Zq81LmN0pQrS/);
});

test('property: text around the key never keeps the key', () => {
  fc.assert(
    fc.property(fc.string(), fc.string(), (before, after) => {
      assert.ok(!redactSecrets(`${before}${KEY}${after}`, [KEY]).includes(KEY));
    }),
  );
});
