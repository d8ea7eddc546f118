import { test } from 'node:test';
import assert from 'node:assert/strict';
import { median } from './median.js';

test('the median is the middle value, or the mean of the two middle ones; NaN for no values', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median([-5]), -5);
  assert.ok(Number.isNaN(median([])));
  const values = [5, 1, 4];
  median(values);
  assert.deepEqual(values, [5, 1, 4], 'the input is not sorted in place');
});
