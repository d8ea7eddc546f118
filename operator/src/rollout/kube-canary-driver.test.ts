import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CANARY_REQUEST_ANNOTATIONS } from '../api/resources.js';
import { initialCanaryState, type CanaryState } from './canary-machine.js';
import { committedBy, requestsOf } from './kube-canary-driver.js';

const NOW = new Date('2026-01-01T00:00:00Z');
const at = (phase: CanaryState['phase'], weight: number): CanaryState => ({
  ...initialCanaryState(NOW),
  phase,
  weight,
});

test('a visit acts only on what the persisted state already commits to', () => {
  const table: [CanaryState | undefined, Parameters<typeof committedBy>[1], boolean][] = [
    // nothing persisted yet: even the first weight waits for the state that asks for it
    [undefined, { type: 'setWeight', weight: 10 }, false],
    [at('Progressing', 10), { type: 'setWeight', weight: 10 }, true],
    // a new step's weight, decided in this visit, waits for the step to be persisted
    [at('Progressing', 10), { type: 'setWeight', weight: 50 }, false],
    [at('Paused', 50), { type: 'setWeight', weight: 50 }, true],
    // weight 0 after a failed analysis waits for RollingBack to be persisted
    [at('Progressing', 50), { type: 'setWeight', weight: 0 }, false],
    [at('RollingBack', 0), { type: 'setWeight', weight: 0 }, true],
    [at('RollingBack', 0), { type: 'removeCanary' }, true],
    // promotion after the last step waits for Promoting to be persisted
    [at('Progressing', 50), { type: 'promote' }, false],
    [at('Promoting', 50), { type: 'promote' }, true],
    [at('Promoting', 50), { type: 'removeCanary' }, true],
    [at('Progressing', 50), { type: 'removeCanary' }, false],
    [at('Promoted', 0), { type: 'removeCanary' }, false],
    [at('RolledBack', 0), { type: 'setWeight', weight: 0 }, false],
  ];
  for (const [state, action, expected] of table) {
    assert.equal(
      committedBy(state, action),
      expected,
      `${state?.phase ?? 'nothing'} → ${JSON.stringify(action)}`,
    );
  }
});

test('pause, resume and abort requests are read from the cycle annotations with their tokens', () => {
  assert.deepEqual(requestsOf(undefined), []);
  assert.deepEqual(
    requestsOf({
      [CANARY_REQUEST_ANNOTATIONS.pause]: '2026-01-01T00:00:00Z',
      [CANARY_REQUEST_ANNOTATIONS.abort]: '2026-01-01T00:01:00Z',
      [CANARY_REQUEST_ANNOTATIONS.resume]: '',
      other: 'x',
    }),
    [
      { action: 'pause', token: '2026-01-01T00:00:00Z' },
      { action: 'abort', token: '2026-01-01T00:01:00Z' },
    ],
  );
});
