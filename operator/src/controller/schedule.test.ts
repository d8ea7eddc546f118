import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cycleNameForSlot, decideSlot, validateSchedule } from './schedule.js';

const t = (iso: string) => new Date(iso);

test('interval: the first slot is the creation time, so a new agent starts at once', () => {
  const created = t('2026-01-01T10:00:30Z');
  const d = decideSlot({ interval: '1h' }, created, undefined, t('2026-01-01T10:00:31Z'));
  assert.deepEqual(d.due, created);
  assert.deepEqual(d.next, t('2026-01-01T11:00:30Z'));
});

test('interval: a slot that already ran is not due again, and missed slots collapse into the latest', () => {
  const created = t('2026-01-01T10:00:00Z');
  assert.equal(decideSlot({ interval: '1h' }, created, created, t('2026-01-01T10:59:59Z')).due, undefined);
  const late = decideSlot({ interval: '1h' }, created, created, t('2026-01-01T13:30:00Z'));
  assert.deepEqual(late.due, t('2026-01-01T13:00:00Z'));
  assert.deepEqual(late.next, t('2026-01-01T14:00:00Z'));
});

test('cron: the latest scheduled time at or before now is due, in UTC', () => {
  const created = t('2026-01-01T00:00:00Z');
  const d = decideSlot({ schedule: '0 3 * * *' }, created, undefined, t('2026-01-03T05:00:00Z'));
  assert.deepEqual(d.due, t('2026-01-03T03:00:00Z'));
  assert.deepEqual(d.next, t('2026-01-04T03:00:00Z'));
  const exact = decideSlot({ schedule: '0 3 * * *' }, created, undefined, t('2026-01-03T03:00:00Z'));
  assert.deepEqual(exact.due, t('2026-01-03T03:00:00Z'));
});

test('cron: no slot before the agent existed is due', () => {
  const d = decideSlot(
    { schedule: '0 3 * * *' },
    t('2026-01-03T04:00:00Z'),
    undefined,
    t('2026-01-03T05:00:00Z'),
  );
  assert.equal(d.due, undefined);
  assert.deepEqual(d.next, t('2026-01-04T03:00:00Z'));
});

test('cron: a slot that already ran is not due again', () => {
  const slot = t('2026-01-03T03:00:00Z');
  const d = decideSlot({ schedule: '0 3 * * *' }, t('2026-01-01T00:00:00Z'), slot, t('2026-01-03T09:00:00Z'));
  assert.equal(d.due, undefined);
});

test('cycle names are stable per slot and distinct across slots a minute apart', () => {
  assert.equal(
    cycleNameForSlot('quote', t('2026-01-01T10:00:59Z')),
    cycleNameForSlot('quote', t('2026-01-01T10:00:00Z')),
  );
  assert.notEqual(
    cycleNameForSlot('quote', t('2026-01-01T10:00:59Z')),
    cycleNameForSlot('quote', t('2026-01-01T10:01:59Z')),
  );
  assert.match(cycleNameForSlot('a'.repeat(52), t('2026-01-01T10:00:00Z')), /^[a-z0-9-]{1,63}$/);
});

test('an unparsable cron expression is explained', () => {
  assert.throws(() => validateSchedule({ schedule: '61 * * * *' }), /not a valid cron expression/);
  assert.doesNotThrow(() => validateSchedule({ schedule: '*/5 * * * *' }));
  assert.doesNotThrow(() => validateSchedule({ interval: '90m' }));
});
