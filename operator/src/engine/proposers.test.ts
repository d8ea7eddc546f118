import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseModelPrice } from './proposers.js';

test('--llm-price reads a model and its prices per million tokens', () => {
  assert.deepEqual(parseModelPrice('gpt-4o-mini=0.15:0.60'), {
    'gpt-4o-mini': { inputPerMillion: 0.15, outputPerMillion: 0.6 },
  });
  assert.deepEqual(parseModelPrice('org/model-7b=2:0'), {
    'org/model-7b': { inputPerMillion: 2, outputPerMillion: 0 },
  });
});

test('--llm-price refuses what it cannot read, naming the expected form', () => {
  for (const bad of ['gpt-4o', 'gpt-4o=0.15', '=1:2', 'm=-1:2', 'm=1:two', 'm=1:2:3']) {
    assert.throws(() => parseModelPrice(bad), /expected MODEL=INPUT:OUTPUT/, bad);
  }
});
