// What the agent's self-healing does this visit, decided without I/O (spec.healing): the triggers
// as read now folded into what status remembers of them (since when each has held), the incident
// this makes (detected once a trigger held for its duration, healed once none fires), and the
// decision of policy/incident-decision.ts about it: revert the recent promotion, start a
// remediation cycle, wait, or hold back. The HyperAgent reconciler reads the triggers, carries the
// action out and writes the status.
import { REVERT_ANNOTATION, type HyperAgent, type ImprovementCycle } from '../api/resources.js';
import type { HealingStatus, TriggerState } from '../api/schema.js';
import type { CycleEvent } from '../cycle/machine.js';
import { isTerminal } from '../cycle/machine.js';
import {
  decideIncident,
  type HealingDecision,
  type RecentPromotion,
  type TriggerObservation,
} from '../policy/incident-decision.js';
import type { TriggerReading } from '../rollout/incident-observer.js';
import { isRevertDecided } from '../rollout/promotion-watch.js';

export type { TriggerReading };
import { parseDuration } from '../util/duration.js';

export type HealingAction =
  | { kind: 'none' }
  /** Ask the cycle that promoted the revision to take it back (REVERT_ANNOTATION). */
  | { kind: 'revert'; cycle: string; reason: string }
  /** Start a remediation cycle now, for this incident. */
  | { kind: 'remediate'; summary: string; since: Date; detectedAt: Date; triggers: string[] };

export interface HealingPlan {
  status: HealingStatus;
  action: HealingAction;
  events: CycleEvent[];
  /** When to check again. */
  requeueAfterMs: number;
  /** Figures for the metrics, when the incident was detected or healed in this visit. */
  detected?: { detectSeconds: number };
  healed?: { healSeconds: number; mitigateSeconds?: number };
}

const DEFAULT_INTERVAL = '15s';
/** How an unknown reading keeps the last figure it knew, once. */
const LAST_KNOWN = '(last known: ';

/** Whether the triggers are due a check: never checked, or checked an interval ago. */
export function healingDue(agent: HyperAgent, now: Date): { due: boolean; afterMs: number } {
  const healing = agent.spec.healing;
  if (!healing) return { due: false, afterMs: 0 };
  const intervalMs = parseDuration(healing.interval ?? DEFAULT_INTERVAL);
  const checked = Date.parse(agent.status?.healing?.checkedAt ?? '');
  if (Number.isNaN(checked)) return { due: true, afterMs: intervalMs };
  const wait = checked + intervalMs - now.getTime();
  return wait <= 0 ? { due: true, afterMs: intervalMs } : { due: false, afterMs: wait };
}

/** Whether a cycle is a remediation cycle (it carries an incident). */
export function isRemediation(cycle: ImprovementCycle): boolean {
  return cycle.spec.incident !== undefined;
}

/** The plan for this visit, given the triggers as read now. `agent.spec.healing` must be set. */
export function planHealing(
  agent: HyperAgent,
  cycles: readonly ImprovementCycle[],
  readings: readonly TriggerReading[],
  now: Date,
): HealingPlan {
  const healing = agent.spec.healing!;
  const intervalMs = parseDuration(healing.interval ?? DEFAULT_INTERVAL);
  const previous = agent.status?.healing;
  const triggers = trackTriggers(previous?.triggers ?? [], readings, now);
  const forMs = new Map(healing.triggers.map((t) => [t.name, parseDuration(t.for ?? '1m')]));
  // a trigger counts as firing only on a reading that says so now: an unknown one (Prometheus
  // down) keeps its `since`, but neither detects an incident nor, below, heals one
  const unknown = new Set(readings.filter((r) => r.state === 'unknown').map((r) => r.name));
  const observations: TriggerObservation[] = triggers.map((t) => ({
    name: t.name,
    firing: t.firing && !unknown.has(t.name),
    ...(t.since ? { firingSince: new Date(t.since) } : {}),
    forMs: forMs.get(t.name) ?? 60_000,
    message: t.message,
  }));
  const remediations = (previous?.remediations ?? []).filter(
    (start) => Date.parse(start) > now.getTime() - 24 * 3_600_000,
  );
  // a promotion made after the trouble began did not cause it (a remedy, say): never the suspect
  const began = Math.min(
    ...observations.filter((o) => o.firing && o.firingSince).map((o) => o.firingSince!.getTime()),
  );
  const decision = decideIncident(
    observations,
    recentPromotion(agent, cycles, began),
    {
      ...activeCycle(cycles, previous?.incident, remediations[remediations.length - 1], now, intervalMs),
      remediationStarts: remediations.map((start) => new Date(start)),
      ...lastRemediationEnd(cycles),
    },
    {
      revertWithinMs: parseDuration(healing.revertWithin ?? '30m'),
      cooldownMs: parseDuration(healing.cooldown ?? '10m'),
      maxPerDay: healing.maxPerDay ?? 4,
    },
    now,
  );

  const events: CycleEvent[] = [];
  let incident = previous?.incident;
  let lastIncident = previous?.lastIncident;
  let action: HealingAction = { kind: 'none' };
  const plan: Partial<HealingPlan> = {};
  const firingSince = observations
    .filter((o) => o.firing && o.firingSince)
    .map((o) => o.firingSince!.getTime());

  // the remedy reached production: the incident is mitigated, whether or not it has healed yet
  const remedy = incident?.cycle ? cycles.find((c) => c.metadata.name === incident!.cycle) : undefined;
  const remedied = remedyReachedProduction(remedy);
  if (incident && remedied && !incident.mitigatedAt) incident = { ...incident, mitigatedAt: remedied };
  const stillUnknown = triggers.some((t) => t.firing && unknown.has(t.name));
  if (decision.action === 'none' || (decision.action === 'wait' && !incident)) {
    if (incident && !stillUnknown) {
      // no trigger fires any more: the incident is over
      const detected = Date.parse(incident.detectedAt);
      const mitigated = incident.mitigatedAt ? Date.parse(incident.mitigatedAt) : undefined;
      lastIncident = {
        summary: incident.summary,
        since: incident.since,
        detectedAt: incident.detectedAt,
        ...(incident.mitigatedAt ? { mitigatedAt: incident.mitigatedAt } : {}),
        healedAt: now.toISOString(),
      };
      plan.healed = {
        healSeconds: (now.getTime() - detected) / 1000,
        ...(mitigated !== undefined ? { mitigateSeconds: (mitigated - detected) / 1000 } : {}),
      };
      events.push({
        type: 'Normal',
        reason: 'IncidentHealed',
        message: `No trigger fires any more: the incident (${incident.summary}) healed ${seconds(now.getTime() - detected)} after it was detected.`,
      });
      incident = undefined;
    }
  } else {
    const newIncident = !incident;
    const summary = decision.action === 'wait' ? (incident?.summary ?? '') : incidentOf(decision);
    if (newIncident) {
      const since = firingSince.length > 0 ? Math.min(...firingSince) : now.getTime();
      incident = {
        summary,
        since: new Date(since).toISOString(),
        detectedAt: now.toISOString(),
        action: 'Waiting',
        message: decision.reason,
      };
      plan.detected = { detectSeconds: (now.getTime() - since) / 1000 };
      events.push({ type: 'Warning', reason: 'IncidentDetected', message: `Incident: ${summary}.` });
    }
    const current = incident!;
    switch (decision.action) {
      case 'revert': {
        const cycle = promotingCycle(cycles, decision.from);
        if (cycle) {
          action = { kind: 'revert', cycle: cycle.metadata.name, reason: decision.reason };
          incident = {
            ...current,
            action: 'Reverted',
            message: decision.reason,
            revertedCycle: cycle.metadata.name,
            mitigatedAt: now.toISOString(),
          };
          events.push({ type: 'Warning', reason: 'IncidentRevert', message: decision.reason });
        }
        break;
      }
      case 'remediate':
        if (
          current.revertedCycle !== undefined &&
          revertStillSettling(current, cycles, observations, intervalMs, now)
        ) {
          // the revert needs its rollout and the triggers' windows before it can be said not to help
          break;
        }
        action = {
          kind: 'remediate',
          summary: current.summary,
          since: new Date(current.since),
          detectedAt: new Date(current.detectedAt),
          triggers: observations.filter((o) => o.firing).map((o) => o.name),
        };
        // the reconciler names the cycle once it exists (remediationStarted)
        break;
      case 'held': {
        const remediating =
          current.action === 'Remediating' &&
          activeCycle(cycles, current, remediations[remediations.length - 1], now, intervalMs)
            .activeRemediation !== undefined;
        const next = remediating ? 'Remediating' : 'Held';
        // one Event per limit that holds it back: the reason's figures change at every check
        if (next === 'Held' && (current.action !== 'Held' || current.heldBy !== decision.limit)) {
          events.push({ type: 'Normal', reason: 'RemediationHeld', message: decision.reason });
        }
        incident =
          next === 'Held'
            ? { ...current, action: 'Held', heldBy: decision.limit, message: decision.reason }
            : current;
        break;
      }
      case 'wait':
        break;
    }
  }

  const status: HealingStatus = {
    checkedAt: now.toISOString(),
    triggers,
    ...(incident ? { incident } : {}),
    ...(remediations.length > 0 ? { remediations } : {}),
    ...(lastIncident ? { lastIncident } : {}),
  };
  const soon = decision.action === 'wait' || decision.action === 'held' ? decision.afterMs : undefined;
  return {
    status,
    action,
    events,
    requeueAfterMs: Math.max(0, Math.min(intervalMs, soon ?? intervalMs)),
    ...plan,
  };
}

/** The status after a remediation cycle was created for the incident. */
export function remediationStarted(status: HealingStatus, cycle: string, now: Date): HealingStatus {
  const incident = status.incident;
  return {
    ...status,
    remediations: [...(status.remediations ?? []), now.toISOString()].slice(-48),
    ...(incident
      ? {
          incident: {
            ...incident,
            action: 'Remediating',
            cycle,
            message: `Remediation cycle ${cycle} started.`,
          },
        }
      : {}),
  };
}

/** Each trigger's state with `since` kept while it keeps firing; an unknown reading changes nothing. */
export function trackTriggers(
  previous: readonly TriggerState[],
  readings: readonly TriggerReading[],
  now: Date,
): TriggerState[] {
  return readings.map((reading) => {
    const before = previous.find((t) => t.name === reading.name);
    if (reading.state === 'unknown') {
      if (!before) return { name: reading.name, firing: false, message: reading.message.slice(0, 1024) };
      const marker = before.message.indexOf(LAST_KNOWN);
      const known = marker >= 0 ? before.message.slice(marker + LAST_KNOWN.length, -1) : before.message;
      const kept = ` ${LAST_KNOWN}${known.slice(0, 400)})`;
      return { ...before, message: `${reading.message.slice(0, 1024 - kept.length)}${kept}` };
    }
    const firing = reading.state === 'firing';
    const since = firing ? (before?.firing && before.since ? before.since : now.toISOString()) : undefined;
    return {
      name: reading.name,
      firing,
      ...(since ? { since } : {}),
      ...(reading.value !== undefined && Number.isFinite(reading.value) ? { value: reading.value } : {}),
      message: reading.message.slice(0, 1024),
    };
  });
}

/** The agent's latest promotion no later than `before` (ms), and whether it was taken back already. */
function recentPromotion(
  agent: HyperAgent,
  cycles: readonly ImprovementCycle[],
  notAfter: number,
): RecentPromotion | undefined {
  const promoted = cycles
    .filter((c) => c.status?.phase === 'Promoted' && c.status.promotion)
    .filter((c) => !(Date.parse(c.status!.promotion!.promotedAt) > notAfter))
    .sort(
      (a, b) => Date.parse(b.status!.promotion!.promotedAt) - Date.parse(a.status!.promotion!.promotedAt),
    )[0];
  const entry = promoted?.status?.promotion;
  if (!promoted || !entry) return undefined;
  const history = agent.status?.history ?? [];
  const before = history.find((h) => Date.parse(h.promotedAt) < Date.parse(entry.promotedAt));
  return {
    revision: entry.revision,
    promotedAt: new Date(entry.promotedAt),
    previous: before?.revision ?? 'the revision before it',
    reverted:
      isRevertDecided(promoted.status?.watch) ||
      promoted.metadata.annotations?.[REVERT_ANNOTATION] !== undefined,
  };
}

function promotingCycle(cycles: readonly ImprovementCycle[], revision: string): ImprovementCycle | undefined {
  return cycles.find((c) => c.status?.phase === 'Promoted' && c.status.promotion?.revision === revision);
}

/**
 * The cycle that keeps a remediation from starting: one that has not ended, a remediation first
 * (one cycle at a time: two would race to deliver), or the remediation this incident started
 * within the last two checks, which a cache may not list yet.
 */
function activeCycle(
  cycles: readonly ImprovementCycle[],
  incident: HealingStatus['incident'] | undefined,
  lastStart: string | undefined,
  now: Date,
  intervalMs: number,
): { activeRemediation?: string } {
  const running = cycles.filter((c) => !isTerminal(c.status?.phase));
  const active = running.find(isRemediation) ?? running[0];
  if (active) return { activeRemediation: active.metadata.name };
  const started = incident?.cycle;
  if (started && incident.action === 'Remediating' && !cycles.some((c) => c.metadata.name === started)) {
    const at = Date.parse(lastStart ?? '');
    if (!Number.isNaN(at) && now.getTime() - at < 2 * intervalMs) return { activeRemediation: started };
  }
  return {};
}

function lastRemediationEnd(cycles: readonly ImprovementCycle[]): { lastRemediationEnd?: Date } {
  const ends = cycles
    .filter((c) => isRemediation(c) && isTerminal(c.status?.phase))
    .map((c) => Date.parse(c.status?.completionTime ?? ''))
    .filter((t) => !Number.isNaN(t));
  return ends.length > 0 ? { lastRemediationEnd: new Date(Math.max(...ends)) } : {};
}

function incidentOf(decision: HealingDecision): string {
  return ('incident' in decision ? decision.incident : decision.reason).slice(0, 1024);
}

/**
 * Whether a revert asked for in this incident may still be taking effect: its cycle has not put the
 * revision before back yet, or it did less than the longest trigger duration (plus two checks) ago.
 */
function revertStillSettling(
  incident: NonNullable<HealingStatus['incident']>,
  cycles: readonly ImprovementCycle[],
  observations: readonly TriggerObservation[],
  intervalMs: number,
  now: Date,
): boolean {
  const cycle = cycles.find((c) => c.metadata.name === incident.revertedCycle);
  const watch = cycle?.status?.watch;
  if (cycle && watch?.phase !== 'Reverted') return true;
  const settled = Date.parse(watch?.revertedTime ?? incident.mitigatedAt ?? '');
  const longest = Math.max(0, ...observations.map((o) => o.forMs));
  return !Number.isNaN(settled) && now.getTime() < settled + longest + 2 * intervalMs;
}

function seconds(ms: number): string {
  return `${Math.round(ms / 1000)}s`;
}

/**
 * When a remedy cycle's revision reached production: its promotion, or, while the cycle is still
 * promoting (the stable Deployment rolls out the remedy, then the canary is taken away), the
 * decision to promote. An incident can heal in between, and its mitigation still counts.
 */
function remedyReachedProduction(remedy: ImprovementCycle | undefined): string | undefined {
  const status = remedy?.status;
  if (status?.phase === 'Promoted') return status.promotion?.promotedAt;
  const canary = status?.canary;
  return canary?.phase === 'Promoting' && canary.decision?.action === 'Promote'
    ? canary.decision.time
    : undefined;
}
