// What a HyperAgent reconcile should do, decided without I/O: whether a cycle is due (and its
// name), and the agent's status derived from its cycles: conditions, the running cycle, and what
// ended cycles tried and delivered (their candidates join the archive, a promoted revision the
// history). The HyperAgent reconciler is the
// one writer of the agent's status; the cycles' work reports into the cycles' own status.
import type { HyperAgentStatus } from '../api/schema.js';
import type { ParameterSpec } from '../api/parameters.js';
import {
  BENCHMARK_CONDITION,
  RUN_ANNOTATION,
  TRUST_ANNOTATION,
  type HyperAgent,
  type ImprovementCycle,
} from '../api/resources.js';
import { archiveEntriesOf } from '../cycle/archive-entries.js';
import { isTerminal, type CycleEvent } from '../cycle/machine.js';
import { recordEntries, retainArchive } from '../policy/archive.js';
import type { ArchiveEntry } from '../policy/archive-entry.js';
import { fromArchiveRecord, toArchiveRecord } from '../policy/archive-record.js';
import { benchmarkTrust } from '../policy/gain-ledger.js';
import { recordPromotion, revisionName } from '../rollout/promotion.js';
import { awaitsWatch } from '../rollout/promotion-watch.js';
import { setCondition } from './conditions.js';
import { cycleNameForSlot, decideSlot, validateSchedule } from './schedule.js';

export interface AgentPlan {
  /** A cycle to create for a due slot. Creation is idempotent: the name is derived from the slot. */
  createCycle?: { name: string; slot: Date };
  /** The schedule decision the status was derived from (a status recomputed on a conflict keeps it). */
  schedule: SchedulePlan;
  status: HyperAgentStatus;
  events: CycleEvent[];
  /** When the agent needs a visit even if nothing changes (the next slot). */
  requeueAfterMs?: number;
}

/** The cycles of `agent` that are still running (Pending counts: it has not ended). */
function activeCycles(cycles: readonly ImprovementCycle[]): ImprovementCycle[] {
  return cycles.filter((c) => !isTerminal(c.status?.phase));
}

/** Decides the next cycle and the status of `agent`, given the cycles it owns. */
export function planAgent(agent: HyperAgent, cycles: readonly ImprovementCycle[], now: Date): AgentPlan {
  const schedule = planSchedule(agent, cycles, now);
  const status = agentStatus(agent, cycles, schedule, now);
  const events = [...schedule.events, ...trustEvents(agent.status, status)];
  const wake =
    schedule.runAt && (!schedule.next || schedule.runAt < schedule.next) ? schedule.runAt : schedule.next;
  const requeueAfterMs =
    wake && !agent.spec.suspend ? Math.max(wake.getTime() - now.getTime(), 0) + 50 : undefined;
  return {
    ...(schedule.createCycle ? { createCycle: schedule.createCycle } : {}),
    schedule,
    status,
    events,
    ...(requeueAfterMs !== undefined ? { requeueAfterMs } : {}),
  };
}

/** When the agent's cycles run: the slot due now (or asked for), the next one, and what was wrong. */
export interface SchedulePlan {
  createCycle?: { name: string; slot: Date };
  /** The latest slot a cycle was started for. */
  lastSlot?: Date;
  /** The next slot of the schedule. */
  next?: Date;
  /** A run request dated ahead of now, waited for. */
  runAt?: Date;
  /** Why the schedule cannot be read. */
  scheduleError?: string;
  events: CycleEvent[];
}

/**
 * Whether a cycle starts now: a due slot of the schedule, or a run request (RUN_ANNOTATION), and
 * only when no cycle is running and the agent is not suspended.
 */
export function planSchedule(
  agent: HyperAgent,
  cycles: readonly ImprovementCycle[],
  now: Date,
): SchedulePlan {
  const previous = agent.status ?? {};
  const events: CycleEvent[] = [];
  // a promotion still watched counts as running: the next cycle would confound the watch's figures,
  // and a revert must not undo what came after
  const idle =
    activeCycles(cycles).length === 0 && !cycles.some((c) => awaitsWatch(c.spec.agentSpec, c.status));
  const slots = cycles.map((c) => Date.parse(c.spec.slot));
  if (previous.lastScheduleTime) slots.push(Date.parse(previous.lastScheduleTime));
  const lastSlot = slots.length > 0 ? new Date(Math.max(...slots)) : undefined;

  let createCycle: SchedulePlan['createCycle'];
  let scheduleError: string | undefined;
  let next: Date | undefined;
  try {
    validateSchedule(agent.spec.improvement);
    const createdAt = new Date(agent.metadata.creationTimestamp ?? now);
    const decision = decideSlot(agent.spec.improvement, createdAt, lastSlot, now);
    next = decision.next;
    if (decision.due && !agent.spec.suspend && idle) {
      createCycle = { name: cycleNameForSlot(agent.metadata.name, decision.due), slot: decision.due };
    }
  } catch (error) {
    scheduleError = (error as Error).message;
  }
  let runAt: Date | undefined;
  if (!createCycle) {
    const run = planRunRequest(agent.metadata.annotations?.[RUN_ANNOTATION], lastSlot);
    if (run.invalid) {
      events.push({ type: 'Warning', reason: 'InvalidRunRequest', message: run.invalid });
    } else if (run.slot && !agent.spec.suspend && idle) {
      if (run.slot.getTime() <= now.getTime()) {
        createCycle = { name: cycleNameForSlot(agent.metadata.name, run.slot), slot: run.slot };
        events.push({
          type: 'Normal',
          reason: 'RunRequested',
          message: 'A cycle was asked for outside the schedule',
        });
      } else runAt = run.slot;
    }
  }
  if (createCycle) {
    events.push({ type: 'Normal', reason: 'CycleCreated', message: `Started cycle ${createCycle.name}` });
  }
  return {
    ...(createCycle ? { createCycle } : {}),
    ...(lastSlot ? { lastSlot } : {}),
    ...(next ? { next } : {}),
    ...(runAt ? { runAt } : {}),
    ...(scheduleError !== undefined ? { scheduleError } : {}),
    events,
  };
}

/**
 * The agent's status as its cycles and schedule make it: phase, the running cycle (and its canary,
 * mirrored for `kubectl get ha`), the last cycle, the schedule times, the Ready, Progressing,
 * Degraded and BenchmarkPredictive conditions, the revisions promoted cycles delivered (history,
 * stableRevision), and the archive of what ended cycles tried.
 */
export function agentStatus(
  agent: HyperAgent,
  cycles: readonly ImprovementCycle[],
  schedule: SchedulePlan,
  now: Date,
): HyperAgentStatus {
  const generation = agent.metadata.generation;
  const previous = agent.status ?? {};
  const active = activeCycles(cycles).sort(bySlot);
  const finished = cycles.filter((c) => isTerminal(c.status?.phase)).sort(bySlot);
  const lastFinished = finished[finished.length - 1];
  const { createCycle, next, lastSlot, scheduleError } = schedule;
  const running = createCycle
    ? { name: createCycle.name, phase: 'Pending' }
    : active[0] && {
        name: active[0].metadata.name,
        phase: active[0].status?.phase ?? 'Pending',
      };

  let conditions = previous.conditions;
  conditions = setCondition(
    conditions,
    scheduleError
      ? { type: 'Ready', status: 'False', reason: 'InvalidSchedule', message: scheduleError }
      : agent.spec.suspend
        ? { type: 'Ready', status: 'True', reason: 'Suspended', message: 'Suspended: no new cycle starts' }
        : {
            type: 'Ready',
            status: 'True',
            reason: 'Scheduled',
            message: `Next cycle due at ${next?.toISOString()}`,
          },
    generation,
    now,
  );
  conditions = setCondition(
    conditions,
    running
      ? {
          type: 'Progressing',
          status: 'True',
          reason: 'CycleRunning',
          message: `Cycle ${running.name} is ${running.phase}`,
        }
      : { type: 'Progressing', status: 'False', reason: 'Idle', message: 'No cycle is running' },
    generation,
    now,
  );
  const failed = lastFinished?.status?.phase === 'Failed';
  conditions = setCondition(
    conditions,
    failed
      ? {
          type: 'Degraded',
          status: 'True',
          reason: lastFinished.status?.reason ?? 'CycleFailed',
          message: `Cycle ${lastFinished.metadata.name} failed: ${lastFinished.status?.message ?? ''}`,
        }
      : { type: 'Degraded', status: 'False', reason: 'AsExpected', message: 'The last cycle did not fail' },
    generation,
    now,
  );

  const declared = agent.spec.improvement.parameters;
  const archive = withArchive(previous.archive ?? [], finished, declared);
  const trust = benchmarkTrust(archive, trustedSince(agent));
  conditions = setCondition(
    conditions,
    !trust.predictive
      ? { type: BENCHMARK_CONDITION, status: 'False', reason: 'ProductionDisagrees', message: trust.message }
      : trust.measured === 0
        ? { type: BENCHMARK_CONDITION, status: 'Unknown', reason: 'NotMeasured', message: trust.message }
        : {
            type: BENCHMARK_CONDITION,
            status: 'True',
            reason: trust.latestShortfall ? 'OneShortfall' : 'ProductionAgrees',
            message: trust.message,
          },
    generation,
    now,
  );

  const status: HyperAgentStatus = {
    ...withPromotions(previous, finished, agent.spec.rollout.rollback.keepHistory),
    ...(archive.length > 0 ? { archive: archive.map(toArchiveRecord) } : {}),
    observedGeneration: generation,
    phase: running ? running.phase : agent.spec.suspend ? 'Suspended' : 'Idle',
    conditions,
  };
  if (running) status.activeCycle = running.name;
  else delete status.activeCycle;
  // The canary of the running cycle, mirrored for `kubectl get ha` (Canary and Weight columns).
  const delivering = active[0]?.status?.phase === 'Canary' ? active[0] : undefined;
  const canary = delivering?.status?.canary;
  if (delivering && canary && !['Promoted', 'RolledBack'].includes(canary.phase)) {
    status.canary = {
      revision: revisionName(delivering.metadata.name, delivering.status?.selected),
      step: canary.stepIndex,
      weight: canary.weight,
    };
  } else delete status.canary;
  if (createCycle) status.lastScheduleTime = createCycle.slot.toISOString();
  else if (lastSlot) status.lastScheduleTime = lastSlot.toISOString();
  if (next && !agent.spec.suspend) status.nextScheduleTime = next.toISOString();
  else delete status.nextScheduleTime;
  if (lastFinished) {
    status.lastCycle = {
      name: lastFinished.metadata.name,
      phase: lastFinished.status?.phase ?? 'Unknown',
      ...(lastFinished.status?.reason ? { reason: lastFinished.status.reason } : {}),
      ...(lastFinished.status?.completionTime ? { completionTime: lastFinished.status.completionTime } : {}),
    };
  }
  return status;
}

/**
 * The archive with what the ended cycles tried folded in (by id, so a cycle read again changes
 * nothing), oldest first by evaluation time, within the retention bounds. Entries of cycles that
 * no longer exist stay as status kept them.
 */
export function withArchive(
  records: NonNullable<HyperAgentStatus['archive']>,
  finished: readonly ImprovementCycle[],
  declared: readonly ParameterSpec[],
): ArchiveEntry[] {
  const previous = records.map((record) => fromArchiveRecord(record, declared));
  const folded = recordEntries(
    previous,
    finished.flatMap((cycle) => archiveEntriesOf(cycle, declared)),
  );
  // Time order, so an entry that retention dropped and an old cycle brings back sorts where it
  // was and is dropped again, rather than counting as the newest.
  const ordered = folded
    .map((entry, index) => ({ entry, index, time: Date.parse(entry.evaluatedAt) }))
    .sort((a, b) => (a.time || 0) - (b.time || 0) || a.index - b.index)
    .map(({ entry }) => entry);
  return retainArchive(ordered);
}

/** An Event when the agent stops trusting its benchmark, and one when it trusts it again. */
function trustEvents(before: HyperAgentStatus | undefined, after: HyperAgentStatus): CycleEvent[] {
  const was = before?.conditions?.find((c) => c.type === BENCHMARK_CONDITION);
  const is = after.conditions?.find((c) => c.type === BENCHMARK_CONDITION);
  if (is?.status === 'False' && was?.status !== 'False')
    return [{ type: 'Warning', reason: 'BenchmarkNotPredictive', message: is.message }];
  if (was?.status === 'False' && is?.status !== 'False')
    return [
      {
        type: 'Normal',
        reason: 'BenchmarkTrusted',
        message: 'Code changes are approved as the approval policy says again.',
      },
    ];
  return [];
}

/** When a person last said to trust the benchmark again (TRUST_ANNOTATION), if they did. */
function trustedSince(agent: HyperAgent): Date | undefined {
  const value = agent.metadata.annotations?.[TRUST_ANNOTATION];
  const time = value ? Date.parse(value) : NaN;
  return Number.isNaN(time) ? undefined : new Date(time);
}

/**
 * `status` with the promotions of `finished` (in slot order) that are newer than its history:
 * each joins the history as its newest entry and becomes the stable revision (recordPromotion).
 * A promotion already recorded, or older than the newest entry (trimmed from the history, or
 * followed by a later one), changes nothing, so a manual rollback's stableRevision stands.
 */
export function withPromotions(
  status: HyperAgentStatus,
  finished: readonly ImprovementCycle[],
  keepHistory: number,
): HyperAgentStatus {
  let result = status;
  for (const cycle of finished) {
    const entry = cycle.status?.phase === 'Promoted' ? cycle.status.promotion : undefined;
    if (!entry) continue;
    const history = result.history ?? [];
    const newest = history[0];
    if (history.some((known) => known.revision === entry.revision)) continue;
    if (newest && Date.parse(entry.promotedAt) <= Date.parse(newest.promotedAt)) continue;
    result = recordPromotion(result, entry, keepHistory);
  }
  for (const cycle of finished) {
    // a promotion the watch took back: the revision before it is stable again
    const entry = cycle.status?.promotion;
    const watch = cycle.status?.watch;
    if (!entry || watch?.phase !== 'Reverted' || result.stableRevision !== entry.revision) continue;
    const { stableRevision: _reverted, ...rest } = result;
    result = watch.revertedTo ? { ...rest, stableRevision: watch.revertedTo } : rest;
  }
  return result;
}

/**
 * A run request (the RUN_ANNOTATION's time) still to answer: the slot of its cycle, or why the
 * value cannot be read. Answered once a cycle's slot is at or after the request. Cycle names count
 * minutes, so the slot is pushed past the minute of the last slot when the request shares it.
 * A `slot` after `now` is waited for.
 */
export function planRunRequest(
  value: string | undefined,
  lastSlot: Date | undefined,
): { slot?: Date; invalid?: string } {
  if (value === undefined || value === '') return {};
  const requested = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(value) || Number.isNaN(requested)) {
    return {
      invalid: `${RUN_ANNOTATION}: ${JSON.stringify(value)} is not an RFC 3339 time; set it to the current time (kubectl hyperagent run does) to start a cycle now`,
    };
  }
  if (lastSlot && requested <= lastSlot.getTime()) return {};
  // a request dated ahead of our clock waits for its time: a slot before it would not answer it
  let slot = requested;
  if (lastSlot) slot = Math.max(slot, (Math.floor(lastSlot.getTime() / 60_000) + 1) * 60_000);
  return { slot: new Date(slot) };
}

function bySlot(a: ImprovementCycle, b: ImprovementCycle): number {
  return Date.parse(a.spec.slot) - Date.parse(b.spec.slot);
}
