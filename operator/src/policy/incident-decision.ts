// What the agent does about an incident, decided without I/O (issue 19's self-healing): the
// triggers the agent declared (PromQL conditions, its pods' crash loops and OOM kills) as observed
// now, what it promoted recently, and what it already did about incidents. Every decision says why,
// so each one can become an Event a person reads.
//
// The order of the rules is the point:
//   1. a trigger counts only once it has held for its whole duration (debounce: one bad scrape is
//      not an incident);
//   2. one remediation at a time;
//   3. a revision promoted within the revert window is the first suspect: put the one before it
//      back (mitigation in seconds), once per promotion;
//   4. otherwise a remediation cycle, unless the cool-down since the last one has not passed or
//      the daily cap is reached.

/** One declared trigger as observed now. */
export interface TriggerObservation {
  name: string;
  /** Whether its condition is true now. */
  firing: boolean;
  /** Since when it has been true without a break (when it is firing). */
  firingSince?: Date;
  /** How long it must hold before it is an incident. */
  forMs: number;
  /** The figure and threshold, or the pod signal, in words. */
  message: string;
}

/** The latest promotion of the agent, and whether the agent already reverted it. */
export interface RecentPromotion {
  revision: string;
  promotedAt: Date;
  /** The revision before it, to put back. */
  previous?: string;
  /** The agent already reverted this promotion (a revert that did not help is not repeated). */
  reverted: boolean;
}

/** What the agent did about earlier incidents. */
export interface HealingHistory {
  /** A cycle of the agent that has not ended (a remediation or a scheduled one): one at a time. */
  activeRemediation?: string;
  /** Start times of remediation cycles (any age; only the last 24 h count towards the cap). */
  remediationStarts: readonly Date[];
  /** When the last remediation cycle ended. */
  lastRemediationEnd?: Date;
}

export interface HealingLimits {
  /** A promotion younger than this is reverted first. */
  revertWithinMs: number;
  /** Time after a remediation ends before another may start. */
  cooldownMs: number;
  /** Most remediation cycles started in any 24 hours. */
  maxPerDay: number;
}

export type HealingDecision =
  | { action: 'none'; reason: string }
  /** A trigger fires but has not held long enough; look again after `afterMs`. */
  | { action: 'wait'; reason: string; afterMs: number }
  | { action: 'revert'; to: string; from: string; incident: string; reason: string }
  | { action: 'remediate'; incident: string; reason: string }
  /** An incident, but a limit holds the remediation back; look again after `afterMs` when it can lift. */
  | { action: 'held'; incident: string; limit: HealingLimit; reason: string; afterMs?: number };

/** What holds a remediation back: another cycle running, the cool-down, or the daily cap. */
export type HealingLimit = 'OneAtATime' | 'Cooldown' | 'DailyCap';

const DAY_MS = 24 * 3_600_000;

/** The decision for now; pure, so the same observations always give the same answer. */
export function decideIncident(
  triggers: readonly TriggerObservation[],
  promotion: RecentPromotion | undefined,
  history: HealingHistory,
  limits: HealingLimits,
  now: Date,
): HealingDecision {
  const firing = triggers.filter((trigger) => trigger.firing);
  if (firing.length === 0) return { action: 'none', reason: 'No trigger fires.' };
  const held = firing.filter((trigger) => heldFor(trigger, now) >= trigger.forMs);
  if (held.length === 0) {
    const soonest = Math.min(...firing.map((trigger) => trigger.forMs - heldFor(trigger, now)));
    return {
      action: 'wait',
      reason: `${firing.map((trigger) => trigger.name).join(', ')} fires but has not held for its duration yet.`,
      afterMs: Math.max(0, soonest),
    };
  }
  // a message that names its trigger already stands alone ("error-ratio 0.05 > max 0.01")
  const incident = held
    .map((trigger) =>
      trigger.message.startsWith(trigger.name) ? trigger.message : `${trigger.name}: ${trigger.message}`,
    )
    .join('; ');

  if (history.activeRemediation) {
    return {
      action: 'held',
      incident,
      limit: 'OneAtATime',
      reason: `Incident (${incident}), but cycle ${history.activeRemediation} is still running: one cycle at a time.`,
    };
  }
  const age = promotion ? now.getTime() - promotion.promotedAt.getTime() : Infinity;
  if (promotion && !promotion.reverted && promotion.previous && age <= limits.revertWithinMs) {
    return {
      action: 'revert',
      incident,
      to: promotion.previous,
      from: promotion.revision,
      reason: `Incident (${incident}) ${Math.round(age / 1000)}s after ${promotion.revision} was promoted: ${promotion.previous}, the revision before it, goes back first.`,
    };
  }
  if (history.lastRemediationEnd) {
    const wait = history.lastRemediationEnd.getTime() + limits.cooldownMs - now.getTime();
    if (wait > 0) {
      return {
        action: 'held',
        incident,
        limit: 'Cooldown',
        reason: `Incident (${incident}), but the last remediation ended ${Math.round((now.getTime() - history.lastRemediationEnd.getTime()) / 1000)}s ago: the cool-down lasts ${Math.round(limits.cooldownMs / 1000)}s.`,
        afterMs: wait,
      };
    }
  }
  const today = history.remediationStarts
    .map((start) => start.getTime())
    .filter((start) => start > now.getTime() - DAY_MS && start <= now.getTime())
    .sort((a, b) => a - b);
  if (today.length >= limits.maxPerDay) {
    return {
      action: 'held',
      incident,
      limit: 'DailyCap',
      reason: `Incident (${incident}), but ${today.length} remediation cycles started in the last 24 h, the daily cap.`,
      afterMs: (today[today.length - limits.maxPerDay] ?? now.getTime()) + DAY_MS - now.getTime(),
    };
  }
  return { action: 'remediate', incident, reason: `Incident (${incident}): a remediation cycle starts.` };
}

/** How long a firing trigger has held; 0 when it is not firing or does not say since when. */
function heldFor(trigger: TriggerObservation, now: Date): number {
  if (!trigger.firing || !trigger.firingSince) return 0;
  return Math.max(0, now.getTime() - trigger.firingSince.getTime());
}
