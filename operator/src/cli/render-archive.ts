// What `kubectl hyperagent archive` and `trust` print, from the agent alone (pure, so tests need
// no cluster). The archive shows every candidate the agent remembers with the gain the sandbox
// predicted beside the gain the canary or production showed: the evidence a person weighs before
// trusting the benchmark again after the agent stopped approving code changes itself.
import { BENCHMARK_CONDITION, type HyperAgent } from '../api/resources.js';
import type { ArchiveRecord, Condition, GainLedger } from '../api/schema.js';
import { formatNumber, table } from './render-status.js';

/** Terminal width assumed when output goes to a pipe or file, where none is known. */
export const DEFAULT_WIDTH = 120;

/** A summary or reason is never cut shorter than this, however narrow the terminal. */
const MIN_TEXT_WIDTH = 20;

/** Verdicts in the order the footer counts them: delivered first, then the sandbox's. */
const VERDICTS: readonly ArchiveRecord['verdict'][] = [
  'Promoted',
  'RolledBack',
  'Passed',
  'Failed',
  'Refused',
];

/**
 * The archive, newest first (as `history` lists revisions), fitted to `width` columns by cutting
 * the summary; a RolledBack row has its first reason (the measurement that decided) below it.
 * A footer counts the verdicts and, when the benchmark is not trusted, says why and how to trust it.
 */
export function renderArchive(agent: HyperAgent, width = DEFAULT_WIDTH): string {
  const name = agent.metadata.name;
  // The operator appends to the archive, so storage order is oldest first.
  const records = [...(agent.status?.archive ?? [])].reverse();
  const distrust = benchmarkDistrust(agent);
  if (records.length === 0) return `No archived candidates for ${name} yet.\n${distrust}`;

  const header = ['ID', 'KIND', 'VERDICT', 'SCORE', 'PARENT', 'GAIN', 'SUMMARY'];
  const cells = records.map((record) => [
    record.id,
    record.kind,
    record.verdict,
    record.score !== undefined ? formatNumber(record.score) : '-',
    record.parent ?? '-',
    formatGain(record.gain),
  ]);
  const summaryWidth = Math.max(MIN_TEXT_WIDTH, width - fixedColumnsWidth(header.slice(0, -1), cells));
  const rows = records.map((record, index) => [...cells[index]!, cut(oneLine(record.summary), summaryWidth)]);

  const [headerLine, ...rowLines] = table(header, rows).trimEnd().split('\n');
  const lines = [headerLine!];
  rowLines.forEach((line, index) => {
    lines.push(line);
    const decisive = records[index]!.verdict === 'RolledBack' ? records[index]!.reasons?.[0] : undefined;
    if (decisive) lines.push(`  ↳ ${cut(oneLine(decisive), Math.max(MIN_TEXT_WIDTH, width - 4))}`);
  });
  return `${lines.join('\n')}\n${verdictCounts(records)}\n${distrust}`;
}

/**
 * Predicted against observed gain, e.g. `+48% → +51% (prod)` or `+12% → -210% (canary)`:
 * production when it was measured, else the canary; `?` for a figure not (yet) known.
 */
export function formatGain(gain: GainLedger | undefined): string {
  if (!gain) return '-';
  const predicted = gain.predicted !== undefined ? percent(gain.predicted) : '?';
  const observed =
    gain.production !== undefined
      ? `${percent(gain.production)} (prod)`
      : gain.canary !== undefined
        ? `${percent(gain.canary)} (canary)`
        : '?';
  return `${predicted} → ${observed}`;
}

/**
 * What `kubectl hyperagent trust` reports after setting the annotation at `at`: what changes for
 * approvals depends on whether trust was lost and on spec.approval, which the annotation does not
 * override (AboveRisk and Always keep code changes waiting for a person regardless).
 */
export function describeTrust(agent: HyperAgent, at: Date): string {
  const { name, namespace } = agent.metadata;
  const done = `${namespace}/${name}: benchmark trusted again as of ${at.toISOString()}; only deliveries after this count towards losing that trust again.`;
  const condition = benchmarkCondition(agent);
  if (condition?.status !== 'False') {
    return `${done}\nThe agent had not stopped trusting its benchmark (${BENCHMARK_CONDITION} is ${condition?.status ?? 'not set'}): approvals are as before.\n`;
  }
  const approval = agent.spec.approval;
  const approvals =
    approval === 'Auto'
      ? 'Code changes are approved automatically again, as spec.approval Auto says (a code change judged only by figures its own code reported still waits for a person).'
      : approval === 'Always'
        ? 'spec.approval is Always: every candidate still waits for a person.'
        : `spec.approval is ${approval}: code changes still wait for a person, parameter changes do not.`;
  return `${done}\n${approvals}\n`;
}

function benchmarkCondition(agent: HyperAgent): Condition | undefined {
  return agent.status?.conditions?.find((condition) => condition.type === BENCHMARK_CONDITION);
}

/** Why the agent no longer approves code changes itself, and the way back; empty while it does. */
function benchmarkDistrust(agent: HyperAgent): string {
  const condition = benchmarkCondition(agent);
  if (condition?.status !== 'False') return '';
  return (
    `Benchmark not predictive (${condition.reason}): ${condition.message}\n` +
    `  code changes wait for a person; to trust the benchmark again: kubectl hyperagent trust ${agent.metadata.name}\n`
  );
}

/** `5 candidates: 1 Promoted, 1 RolledBack, 3 Failed`, verdicts that never occurred left out. */
function verdictCounts(records: readonly ArchiveRecord[]): string {
  const counts = VERDICTS.map(
    (verdict) => [verdict, records.filter((r) => r.verdict === verdict).length] as const,
  )
    .filter(([, count]) => count > 0)
    .map(([verdict, count]) => `${count} ${verdict}`);
  return `${records.length} candidate${records.length === 1 ? '' : 's'}: ${counts.join(', ')}`;
}

/** Width of every column before the last, as `table` pads them, with its two-space gaps. */
function fixedColumnsWidth(header: readonly string[], rows: readonly (readonly string[])[]): number {
  return header.reduce(
    (sum, title, column) => sum + Math.max(title.length, ...rows.map((row) => row[column]!.length)) + 2,
    0,
  );
}

/** Whole percent from 10% up, one decimal below, so small gains do not read as zero. */
function percent(value: number): string {
  const rounded = Math.abs(value) >= 10 ? Math.round(value) : Math.round(value * 10) / 10;
  if (rounded === 0) return '0%';
  return `${rounded > 0 ? '+' : ''}${rounded}%`;
}

/** Summaries and reasons come from proposers and judges: newlines would break the table. */
function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

function cut(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, width - 1)}…`;
}
