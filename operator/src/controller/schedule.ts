// When an agent's next improvement cycle is due, and what the cycle for a slot is called.
//
// Like a CronJob with concurrencyPolicy Forbid: each scheduled time ("slot") runs at most once,
// missed slots collapse into the most recent one, and the cycle name is derived from the slot so
// that the API server itself refuses a second cycle for the same slot, even across operator
// crashes and restarts.
import { Cron } from 'croner';
import { parseDuration } from '../util/duration.js';

export interface ScheduleSpec {
  schedule?: string;
  interval?: string;
}

export interface SlotDecision {
  /** The most recent slot at or before `now` that has not run yet, if any. */
  due?: Date;
  /** The first slot after `now`. */
  next: Date;
}

/** Throws a user-readable error when the schedule cannot be evaluated (for the Ready condition). */
export function validateSchedule(spec: ScheduleSpec): void {
  if (spec.schedule !== undefined) {
    try {
      new Cron(spec.schedule, { timezone: 'UTC', paused: true });
    } catch (error) {
      throw new Error(
        `schedule '${spec.schedule}' is not a valid cron expression: ${(error as Error).message}`,
      );
    }
  } else if (spec.interval !== undefined) {
    parseDuration(spec.interval);
  } else {
    throw new Error('neither schedule nor interval is set');
  }
}

/**
 * Decides which slot is due. Interval slots are `createdAt + k * interval` (the first at creation,
 * so a new agent starts working at once); cron slots follow the expression in UTC.
 * `lastSlot` is the latest slot that already has a cycle.
 */
export function decideSlot(
  spec: ScheduleSpec,
  createdAt: Date,
  lastSlot: Date | undefined,
  now: Date,
): SlotDecision {
  let latest: Date | undefined;
  let next: Date;
  if (spec.schedule !== undefined) {
    const cron = new Cron(spec.schedule, { timezone: 'UTC', paused: true });
    const [previous] = cron.previousRuns(1, new Date(now.getTime() + 1));
    latest = previous && previous.getTime() >= floorToMinute(createdAt).getTime() ? previous : undefined;
    next = cron.nextRun(now) ?? new Date(8.64e15);
  } else {
    const interval = parseDuration(spec.interval ?? '');
    const elapsed = now.getTime() - createdAt.getTime();
    const k = Math.floor(Math.max(elapsed, 0) / interval);
    latest = elapsed >= 0 ? new Date(createdAt.getTime() + k * interval) : undefined;
    next = new Date(createdAt.getTime() + (elapsed >= 0 ? k + 1 : 0) * interval);
  }
  const due = latest && (!lastSlot || latest.getTime() > lastSlot.getTime()) ? latest : undefined;
  return due ? { due, next } : { next };
}

/**
 * Name of the cycle that fills `slot`: the agent name and the slot in minutes since the epoch.
 * Slots are at least a minute apart, so names never collide; agent names are at most 52
 * characters (a CRD rule), so the result stays a valid label value.
 */
export function cycleNameForSlot(agent: string, slot: Date): string {
  return `${agent}-${Math.floor(slot.getTime() / 60_000)}`;
}

function floorToMinute(date: Date): Date {
  return new Date(Math.floor(date.getTime() / 60_000) * 60_000);
}
