// The pure state machine of one improvement cycle:
//
//   Pending → Representing → Proposing → Evaluating → Selecting → [AwaitingApproval]
//     → Committing → Building → Canary → Promoted | RolledBack
//   any phase → Failed (with a reason) · Selecting → Rejected (no candidate passed)
//
// step() takes the cycle and what the reconciler observed (the outcome of the current phase's
// work, missing capabilities, a human's approval) and returns the next status, the events to
// record and when to look again. It does no I/O and reads no clock: time comes in as `now`.
import type { Candidate, CyclePhase, ImprovementCycleSpec, ImprovementCycleStatus } from '../api/schema.js';
import { TERMINAL_CYCLE_PHASES } from '../api/schema.js';
import { parseDuration } from '../util/duration.js';
import type { WorkOutcome } from './ports.js';

export type WorkKind = 'represent' | 'propose' | 'evaluate' | 'commit' | 'build' | 'canary';

/** The provider work each phase runs; phases not listed decide on their own. */
export const PHASE_WORK: Partial<Record<CyclePhase, WorkKind>> = {
  Representing: 'represent',
  Proposing: 'propose',
  Evaluating: 'evaluate',
  Committing: 'commit',
  Building: 'build',
  Canary: 'canary',
};

const NEXT_AFTER_WORK: Partial<Record<CyclePhase, CyclePhase>> = {
  Representing: 'Proposing',
  Proposing: 'Evaluating',
  Evaluating: 'Selecting',
  Committing: 'Building',
  Building: 'Canary',
};

const ENTRY_MESSAGES: Record<CyclePhase, string> = {
  Pending: 'Waiting to start',
  Representing: 'Building the service graph from the source',
  Proposing: 'Proposing candidates',
  Evaluating: 'Evaluating candidates in sandbox pods',
  Selecting: 'Selecting the best candidate',
  AwaitingApproval: 'Waiting for a human to approve the selected candidate',
  Committing: 'Committing the selected candidate',
  Building: 'Building the new revision',
  Canary: 'Running the canary',
  Promoted: 'The new revision is stable',
  RolledBack: 'The canary was rolled back; the stable revision serves all traffic',
  Rejected: 'No candidate was delivered',
  Failed: 'The cycle failed',
};

/** How long a cycle may wait for a human before the candidate is dropped. */
export const APPROVAL_TIMEOUT_MS = 24 * 3_600_000;
/** How soon to look again at work that did not say. */
export const DEFAULT_WORK_POLL_MS = 10_000;

export interface CycleObservations {
  /** Capabilities this cycle needs that the operator lacks (checked before any work starts). */
  missing: string[];
  /** Outcome of the current phase's work, when the phase has work. */
  work?: WorkOutcome;
  /** A human's decision on the selected candidate. */
  approval?: 'Approved' | 'Rejected';
  /**
   * Why the agent does not approve code changes on its own right now (its benchmark stopped
   * predicting production), read when Selecting; a code candidate then waits for a human.
   */
  codeApprovalHeld?: string;
}

export interface CycleEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export interface StepResult {
  status: ImprovementCycleStatus;
  events: CycleEvent[];
  /** Look again after this many ms; undefined when the cycle is over. */
  requeueAfterMs?: number;
}

/** True when the phase is an outcome: nothing more happens to the cycle. */
export function isTerminal(phase: CyclePhase | undefined): boolean {
  return phase !== undefined && TERMINAL_CYCLE_PHASES.includes(phase);
}

/** Decides the next status of a cycle from its current status and what was observed. */
export function step(
  spec: ImprovementCycleSpec,
  status: ImprovementCycleStatus,
  observations: CycleObservations,
  now: Date,
): StepResult {
  const phase = status.phase ?? 'Pending';
  if (isTerminal(phase)) return { status, events: [] };

  if (phase === 'Pending') {
    if (observations.missing.length > 0) {
      return fail(
        { ...status, startTime: now.toISOString() },
        'CapabilityMissing',
        `This operator cannot run the cycle: it has no ${observations.missing.join(', no ')}.`,
        now,
      );
    }
    return enter({ ...status, startTime: now.toISOString() }, 'Representing', now);
  }

  // The budget does not bind while a human decides, nor during the canary: a canary has its own
  // bounds (its steps, its analysis, the router's weight deadline) and ends Promoted or RolledBack;
  // failing the cycle under it would leave traffic split with nobody to finish the rollout.
  if (phase !== 'AwaitingApproval' && phase !== 'Canary' && status.startTime) {
    const budgetMs = parseDuration(spec.agentSpec.improvement.budget.maxDuration);
    if (now.getTime() - Date.parse(status.startTime) > budgetMs) {
      return fail(
        status,
        'CycleDeadlineExceeded',
        `The cycle ran longer than its budget of ${spec.agentSpec.improvement.budget.maxDuration} in phase ${phase}.`,
        now,
      );
    }
  }

  if (phase === 'Selecting') return select(spec, status, now, observations.codeApprovalHeld);
  if (phase === 'AwaitingApproval') return awaitApproval(status, observations.approval, now);
  return advanceWork(phase, status, observations.work, now);
}

function advanceWork(
  phase: CyclePhase,
  status: ImprovementCycleStatus,
  work: WorkOutcome | undefined,
  now: Date,
): StepResult {
  if (!work || work.state === 'running') {
    const merged = work?.status ? { ...status, ...work.status } : status;
    const next =
      work?.message && work.message !== merged.message ? { ...merged, message: work.message } : merged;
    return { status: next, events: [], requeueAfterMs: work?.retryAfterMs ?? DEFAULT_WORK_POLL_MS };
  }
  if (work.state === 'failed') return fail(status, work.reason, work.message, now);

  const merged: ImprovementCycleStatus = { ...status, ...work.status };
  if (phase === 'Canary') {
    if (work.result === 'Promoted') return finish(merged, 'Promoted', 'Promoted', work.message, now);
    return finish(merged, 'RolledBack', 'RolledBack', work.message, now);
  }
  if (phase === 'Proposing' && (merged.candidates?.length ?? 0) === 0) {
    return finish(
      merged,
      'Rejected',
      'NoCandidates',
      work.message ?? 'The proposer offered no candidate.',
      now,
    );
  }
  return enter(merged, NEXT_AFTER_WORK[phase] as CyclePhase, now, work.message);
}

/**
 * Picks the passing candidate with the best score (cycle candidates or archive entries alike);
 * none passing ends the cycle Rejected.
 */
export function chooseCandidate<T extends { verdict?: string; score?: number }>(
  candidates: readonly T[] | undefined,
): T | undefined {
  let best: T | undefined;
  for (const candidate of candidates ?? []) {
    if (candidate.verdict !== 'Passed') continue;
    if (!best || (candidate.score ?? -Infinity) > (best.score ?? -Infinity)) best = candidate;
  }
  return best;
}

/** Whether a human must approve this candidate under the agent's approval policy. */
export function needsApproval(
  policy: ImprovementCycleSpec['agentSpec']['approval'],
  candidate: Candidate,
): boolean {
  if (policy === 'Always') return true;
  // Figures the candidate's own code reported can be forged by it: a code change judged only by
  // them waits for a human, whatever the policy.
  if (candidate.kind === 'code' && candidate.goal?.measuredBy === 'SelfReported') return true;
  if (policy === 'AboveRisk') return candidate.kind === 'code';
  return false;
}

function select(
  spec: ImprovementCycleSpec,
  status: ImprovementCycleStatus,
  now: Date,
  codeApprovalHeld?: string,
): StepResult {
  const best = chooseCandidate(status.candidates);
  if (!best) {
    const tried = status.candidates?.length ?? 0;
    return finish(
      status,
      'Rejected',
      'NoCandidatePassed',
      `None of ${tried} candidates passed verification.`,
      now,
    );
  }
  const selected = { ...status, selected: best.id };
  const why = `Selected candidate ${best.id} (score ${best.score ?? 'n/a'}): ${best.summary}`;
  if (needsApproval(spec.agentSpec.approval, best)) return enter(selected, 'AwaitingApproval', now, why);
  if (codeApprovalHeld && best.kind === 'code') {
    return enter(selected, 'AwaitingApproval', now, `${why}. It waits for a human: ${codeApprovalHeld}`);
  }
  return enter(selected, 'Committing', now, why);
}

function awaitApproval(
  status: ImprovementCycleStatus,
  approval: CycleObservations['approval'],
  now: Date,
): StepResult {
  if (approval === 'Approved') return enter(status, 'Committing', now, 'Approved by a human');
  if (approval === 'Rejected') {
    return finish(status, 'Rejected', 'RejectedByUser', 'A human rejected the selected candidate.', now);
  }
  const waited = now.getTime() - Date.parse(status.phaseStartTime ?? now.toISOString());
  if (waited >= APPROVAL_TIMEOUT_MS) {
    return finish(status, 'Rejected', 'ApprovalTimedOut', 'No human approved the candidate within 24h.', now);
  }
  return { status, events: [], requeueAfterMs: APPROVAL_TIMEOUT_MS - waited };
}

function enter(status: ImprovementCycleStatus, phase: CyclePhase, now: Date, message?: string): StepResult {
  const text = message ?? ENTRY_MESSAGES[phase];
  return {
    status: { ...status, phase, reason: phase, message: text, phaseStartTime: now.toISOString() },
    events: [{ type: 'Normal', reason: phase, message: text }],
    requeueAfterMs: 0,
  };
}

function finish(
  status: ImprovementCycleStatus,
  phase: 'Promoted' | 'RolledBack' | 'Rejected',
  reason: string,
  message: string | undefined,
  now: Date,
): StepResult {
  const text = message ?? ENTRY_MESSAGES[phase];
  return {
    status: {
      ...status,
      phase,
      reason,
      message: text,
      phaseStartTime: now.toISOString(),
      completionTime: now.toISOString(),
    },
    events: [{ type: phase === 'Promoted' ? 'Normal' : 'Warning', reason, message: text }],
  };
}

function fail(status: ImprovementCycleStatus, reason: string, message: string, now: Date): StepResult {
  return {
    status: {
      ...status,
      phase: 'Failed',
      reason,
      message,
      phaseStartTime: now.toISOString(),
      completionTime: now.toISOString(),
    },
    events: [{ type: 'Warning', reason, message }],
  };
}
