// The demo's report (out/demo-report.json): figures measured on the live service by Prometheus
// and read from the cycles' status, what the issue asks to see, and a check of the pass marks.
// Pure, so the arithmetic and the pass marks are unit-tested.
import type { HyperAgent, ImprovementCycle } from '../../operator/src/api/resources.js';
import type { Candidate } from '../../operator/src/api/schema.js';

/** The published HyperAgents result the demo must beat, and the project's own goal. */
export const REQUIRED_REDUCTION_PCT = 23;
export const TARGET_REDUCTION_PCT = 30;

export interface CycleSummary {
  name: string;
  phase: string;
  reason?: string;
  /** Why a cycle ended Rejected or Failed, as its status says. */
  message?: string;
  seconds: number;
  candidates: {
    id: string;
    verdict: string;
    score?: number;
    summary: string;
    /** The primary objective's medians in the sandbox, and who measured them. */
    goal?: { key: string; baseline: number; candidate: number; measuredBy: string };
    /** The checks it failed, `name: message` each, so a failed run says why without the cluster. */
    failed_checks?: string[];
  }[];
  selected?: string;
  revision?: string;
}

export interface DemoReport {
  p99_ms_before: number;
  p99_ms_after: number;
  p99_reduction_pct: number;
  /**
   * The sandbox's own measurement of the first cycle's winner: p99 of the unchanged service and
   * of the winner, both measured by the judge from outside the service (null when not measured).
   */
  sandbox_p99_ms: { baseline: number; winner: number; measured_by: string } | null;
  candidates_evaluated: number;
  promoted_revision: string | null;
  promoted_parameters: Record<string, unknown>;
  /** From the decision to roll back to the cycle ending RolledBack (stable alone again). */
  rollback_seconds: number | null;
  /** Requests the load generator saw fail (5xx or no answer) from the good canary's start until the promoted version ran alone. */
  failed_requests_during_rollouts: number;
  requests_during_rollouts: number;
  bad_canary: {
    cycle: string;
    outcome: string;
    decision: string | null;
    failed_requests: number;
    requests: number;
  };
  load_rps: number;
  cycles: CycleSummary[];
  /** The agent's archive at the end: every candidate it tried, by verdict. */
  archive: { entries: number; by_verdict: Record<string, number> };
  /** For each delivered candidate: the gain the sandbox predicted against what production showed, percent. */
  gains: GainRow[];
  /** The third act: an incident the agent healed, with its times and the errors clients saw. */
  healing: HealingReport;
  started_at: string;
  finished_at: string;
  duration_seconds: number;
}

export interface ErrorWindow {
  failed: number;
  total: number;
  /** failed / total, percent; null without requests. */
  ratio_pct: number | null;
}

export interface HealingReport {
  /** The share of pricing calls made to fail, and the retries the service ran with then. */
  fault_rate: number;
  retries_before: number;
  fault_at: string;
  incident: string | null;
  remediation_cycle: string | null;
  remediation_outcome: string;
  /** The parameters the remedy runs with, once promoted. */
  remedy: Record<string, string> | null;
  /** From the fault's start to the incident detected (its trigger held for its duration). */
  time_to_detect_s: number | null;
  /** From the fault's start to the remedy promoted. */
  time_to_mitigate_s: number | null;
  /** From the fault's start to no trigger firing. */
  time_to_heal_s: number | null;
  /** What the load generator saw: 15 s before the fault, from the fault to healed, 30 s after. */
  client_errors: { before: ErrorWindow; during: ErrorWindow; after: ErrorWindow };
}

/** The healed error ratio must be below this, percent (the issue's pass mark). */
export const HEALED_ERROR_PCT = 0.5;
/** The incident must be detected within this many seconds of the fault. */
export const DETECT_WITHIN_S = 60;
/** The whole demo must take less than this. */
export const DEMO_WITHIN_S = 15 * 60;

export function errorWindow(failed: number, total: number): ErrorWindow {
  const f = Math.max(0, Math.round(failed));
  const t = Math.max(0, Math.round(total));
  return { failed: f, total: t, ratio_pct: t > 0 ? round((100 * f) / t, 3) : null };
}

export interface GainRow {
  candidate: string;
  outcome: string;
  predicted_pct: number | null;
  canary_pct: number | null;
  production_pct: number | null;
  ratio: number | null;
}

/** The archive's size and verdicts, and the ledger of each delivered candidate, from the agent's status. */
export function archiveFigures(agent: HyperAgent): Pick<DemoReport, 'archive' | 'gains'> {
  const archive = agent.status?.archive ?? [];
  const byVerdict: Record<string, number> = {};
  for (const entry of archive) byVerdict[entry.verdict] = (byVerdict[entry.verdict] ?? 0) + 1;
  return {
    archive: { entries: archive.length, by_verdict: byVerdict },
    gains: archive
      .filter((entry) => entry.gain !== undefined)
      .map((entry) => ({
        candidate: entry.id,
        outcome: entry.verdict,
        predicted_pct: entry.gain?.predicted ?? null,
        canary_pct: entry.gain?.canary ?? null,
        production_pct: entry.gain?.production ?? null,
        ratio: entry.gain?.ratio ?? null,
      })),
  };
}

/** The selected candidate's sandbox p99 (both sides), when the sandbox measured it. */
export function sandboxP99(cycle: CycleSummary): DemoReport['sandbox_p99_ms'] {
  const winner = cycle.candidates.find((candidate) => candidate.id === cycle.selected);
  const goal = winner?.goal;
  if (!goal || goal.key !== 'p99_ms') return null;
  return { baseline: goal.baseline, winner: goal.candidate, measured_by: goal.measuredBy };
}

export function reductionPct(before: number, after: number): number {
  if (!(before > 0) || !Number.isFinite(after)) return Number.NaN;
  return round(((before - after) / before) * 100, 1);
}

export function round(value: number, digits = 2): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

export function summarizeCycle(cycle: ImprovementCycle): CycleSummary {
  const status = cycle.status ?? {};
  const start = Date.parse(status.startTime ?? cycle.metadata.creationTimestamp?.toString() ?? '');
  const end = Date.parse(status.completionTime ?? '');
  return {
    name: cycle.metadata.name ?? '',
    phase: status.phase ?? 'Unknown',
    ...(status.reason ? { reason: status.reason } : {}),
    ...((status.phase === 'Rejected' || status.phase === 'Failed') && status.message
      ? { message: status.message }
      : {}),
    seconds: Number.isFinite(start) && Number.isFinite(end) ? Math.round((end - start) / 1000) : -1,
    candidates: (status.candidates ?? []).map((c) => ({
      id: c.id,
      verdict: c.verdict ?? 'Pending',
      ...(c.score === undefined ? {} : { score: round(c.score, 1) }),
      summary: c.summary,
      ...(c.goal ? { goal: c.goal } : {}),
      ...failedChecks(c),
    })),
    ...(status.selected ? { selected: status.selected } : {}),
  };
}

/** Why a candidate did not pass: its failed checks or, refused before the sandbox, its reasons. */
function failedChecks(candidate: Pick<Candidate, 'verdict' | 'checks' | 'reasons'>): {
  failed_checks?: string[];
} {
  const failed = (candidate.checks ?? [])
    .filter((check) => check.status === 'Failed')
    .map((check) => `${check.name}: ${check.message}`);
  if (failed.length === 0 && candidate.verdict === 'Refused') failed.push(...(candidate.reasons ?? []));
  return failed.length > 0 ? { failed_checks: failed } : {};
}

/** What a cycle that did not end as planned ended with, and why each candidate failed. */
function endedWith(cycle: CycleSummary | undefined, outcome: string): string {
  if (!cycle) return outcome;
  const why = cycle.candidates
    .filter((candidate) => candidate.failed_checks)
    .map((candidate) => `${candidate.id} failed ${candidate.failed_checks!.join('; ')}`);
  const how = `${outcome}${cycle.reason ? ` (${cycle.reason})` : ''} after ${cycle.seconds} s`;
  return [cycle.message ? `${how}: ${cycle.message.replace(/\.$/, '')}` : how, ...why].join('; ');
}

/** Seconds from the canary's Rollback decision to the cycle ending RolledBack; null when it did not. */
export function rollbackSeconds(cycle: ImprovementCycle): number | null {
  const decision = cycle.status?.canary?.decision;
  if (cycle.status?.phase !== 'RolledBack' || decision?.action !== 'Rollback') return null;
  const from = Date.parse(decision.time);
  const to = Date.parse(cycle.status.completionTime ?? '');
  return Number.isFinite(from) && Number.isFinite(to) ? round((to - from) / 1000, 1) : null;
}

/** Why the report misses the issue's pass marks; empty when it meets them all. */
export function shortfalls(report: DemoReport): string[] {
  const problems: string[] = [];
  if (!(report.p99_reduction_pct >= REQUIRED_REDUCTION_PCT)) {
    problems.push(
      `p99 fell ${report.p99_reduction_pct}% (${report.p99_ms_before} ms → ${report.p99_ms_after} ms); at least ${REQUIRED_REDUCTION_PCT}% is required`,
    );
  }
  if (!report.promoted_revision) problems.push('no revision was promoted');
  if (report.rollback_seconds === null) {
    problems.push(
      `the bad candidate's canary was not rolled back (cycle ended ${endedWith(
        report.cycles.find((cycle) => cycle.name === report.bad_canary.cycle),
        report.bad_canary.outcome,
      )})`,
    );
  }
  for (const verdict of ['Promoted', 'RolledBack']) {
    if (!report.archive.by_verdict[verdict]) problems.push(`the agent's archive holds no ${verdict} entry`);
  }
  for (const row of report.gains) {
    if (row.predicted_pct === null) problems.push(`${row.candidate} has no predicted gain`);
    // a canary rolled back at its first measurement may have no finite figure against stable yet;
    // a promoted one passed every step's measurements, so it must have one
    if (row.outcome === 'Promoted' && row.canary_pct === null)
      problems.push(`${row.candidate} has no gain measured on its canary`);
    if (row.outcome === 'Promoted' && row.production_pct === null)
      problems.push(`${row.candidate} has no gain measured in production after its promotion`);
  }
  if (report.gains.length < 2)
    problems.push(`only ${report.gains.length} delivered candidates have a gain ledger`);
  const healing = report.healing;
  if (healing.remediation_outcome !== 'Promoted') {
    problems.push(`the remediation cycle ended ${healing.remediation_outcome}, not Promoted`);
  }
  if (healing.time_to_detect_s === null || healing.time_to_detect_s > DETECT_WITHIN_S) {
    problems.push(
      `the incident was detected ${healing.time_to_detect_s ?? 'never'} s after the fault; at most ${DETECT_WITHIN_S} s`,
    );
  }
  if (healing.time_to_heal_s === null) problems.push('the incident did not heal');
  const after = healing.client_errors.after.ratio_pct;
  if (after === null || !(after < HEALED_ERROR_PCT)) {
    problems.push(
      `the error ratio after healing is ${after ?? 'unmeasured'}%; below ${HEALED_ERROR_PCT}% is required`,
    );
  }
  if (report.duration_seconds >= DEMO_WITHIN_S) {
    problems.push(`the demo took ${report.duration_seconds} s; less than ${DEMO_WITHIN_S} s is required`);
  }
  if (report.failed_requests_during_rollouts !== 0) {
    problems.push(
      `${report.failed_requests_during_rollouts} requests failed while the good version rolled out`,
    );
  }
  return problems;
}

export function formatSummary(report: DemoReport): string {
  const mark = report.p99_reduction_pct >= TARGET_REDUCTION_PCT ? 'goal met' : 'below the 30% goal';
  const rows: [string, string][] = [
    ['p99 before (no cache, no batching)', `${report.p99_ms_before} ms`],
    ['p99 after promotion', `${report.p99_ms_after} ms`],
    ['p99 reduction', `${report.p99_reduction_pct}% (${mark}; the HyperAgents paper reports 23%)`],
    [
      'p99 in the sandbox, judge-measured',
      report.sandbox_p99_ms
        ? `${report.sandbox_p99_ms.baseline} ms unchanged → ${report.sandbox_p99_ms.winner} ms winner (${report.sandbox_p99_ms.measured_by})`
        : 'not measured',
    ],
    ['candidates evaluated in sandboxes', String(report.candidates_evaluated)],
    [
      'promoted revision',
      `${report.promoted_revision ?? 'none'} ${formatParameters(report.promoted_parameters)}`,
    ],
    [
      'failed requests while it rolled out',
      `${report.failed_requests_during_rollouts} of ${report.requests_during_rollouts}`,
    ],
    [
      'bad candidate',
      `${report.bad_canary.outcome}${report.bad_canary.decision ? ` — ${report.bad_canary.decision}` : ''}`,
    ],
    ['rollback took', report.rollback_seconds === null ? 'no rollback' : `${report.rollback_seconds} s`],
    [
      'requests failed on the bad canary',
      `${report.bad_canary.failed_requests} of ${report.bad_canary.requests} (before it was rolled back)`,
    ],
    [
      'archive',
      `${report.archive.entries} candidates (${Object.entries(report.archive.by_verdict)
        .map(([verdict, count]) => `${count} ${verdict}`)
        .join(', ')})`,
    ],
    ...report.gains.map((row): [string, string] => [
      `gain of ${row.candidate}`,
      `${row.outcome}: sandbox predicted ${percent(row.predicted_pct)}, canary showed ${percent(row.canary_pct)}, production ${percent(row.production_pct)}${row.ratio === null ? '' : ` (ratio ${row.ratio})`}`,
    ]),
    [
      'incident (third act)',
      `${report.healing.incident ?? 'none detected'} — pricing failing ${Math.round(report.healing.fault_rate * 100)}% of calls`,
    ],
    [
      'detected / mitigated / healed',
      `${seconds(report.healing.time_to_detect_s)} / ${seconds(report.healing.time_to_mitigate_s)} / ${seconds(report.healing.time_to_heal_s)} after the fault (remedy ${report.healing.remediation_outcome}${report.healing.remedy ? ` ${formatParameters(report.healing.remedy)}` : ''})`,
    ],
    [
      'client errors',
      `before ${windowText(report.healing.client_errors.before)}, during ${windowText(report.healing.client_errors.during)}, after ${windowText(report.healing.client_errors.after)}`,
    ],
    ['demo took', `${Math.round(report.duration_seconds / 60)} min`],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  return rows.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`).join('\n');
}

function seconds(value: number | null): string {
  return value === null ? 'n/a' : `${value} s`;
}

function windowText(window: ErrorWindow): string {
  return `${window.ratio_pct ?? 'n/a'}% (${window.failed}/${window.total})`;
}

function formatParameters(parameters: Record<string, unknown>): string {
  const entries = Object.entries(parameters);
  return entries.length === 0 ? '' : `(${entries.map(([k, v]) => `${k}=${String(v)}`).join(', ')})`;
}

function percent(value: number | null): string {
  if (value === null) return 'n/a';
  return `${value > 0 ? '+' : ''}${value}%`;
}
