// The cycle's inputs ConfigMap: its keys, and its size as the API server counts it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inputKeys, inputsSize } from './cycle-inputs.js';

test('the key of a bundle in the inputs ConfigMap', () => {
  assert.equal(inputKeys.files('c1'), 'c1.files.json');
});

test('the inputs size counts values in UTF-8 bytes', () => {
  assert.equal(inputsSize({ a: 'xyz', bb: '\u00e9' }), 5);
});
