import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findCondition, setCondition } from './conditions.js';

const t0 = new Date('2026-01-01T00:00:00Z');
const t1 = new Date('2026-01-01T00:05:00Z');

test('a new condition gets the current time as transition time', () => {
  const list = setCondition(
    undefined,
    { type: 'Ready', status: 'True', reason: 'Scheduled', message: 'ok' },
    3,
    t0,
  );
  assert.deepEqual(list, [
    {
      type: 'Ready',
      status: 'True',
      reason: 'Scheduled',
      message: 'ok',
      observedGeneration: 3,
      lastTransitionTime: t0.toISOString(),
    },
  ]);
});

test('the transition time moves only when the status changes', () => {
  let list = setCondition(undefined, { type: 'Ready', status: 'True', reason: 'A', message: 'a' }, 1, t0);
  list = setCondition(list, { type: 'Ready', status: 'True', reason: 'B', message: 'b' }, 2, t1);
  assert.equal(findCondition(list, 'Ready')?.lastTransitionTime, t0.toISOString());
  assert.equal(findCondition(list, 'Ready')?.reason, 'B');
  list = setCondition(list, { type: 'Ready', status: 'False', reason: 'C', message: 'c' }, 2, t1);
  assert.equal(findCondition(list, 'Ready')?.lastTransitionTime, t1.toISOString());
  assert.equal(list.length, 1);
});
