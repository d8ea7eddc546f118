// The archive of evaluated variants: every candidate an agent tried, kept across cycles so that
// parent selection can branch from earlier successes (stepping stones) and proposers can avoid
// repeating failures. It lives in the HyperAgent's status, and etcd objects must stay small, so
// it is kept within fixed bounds; accepted variants are also committed to git, which lets the
// archive be rebuilt after status is lost.
//
// Plain data in, plain data out: nothing here does I/O, and no function mutates its input.
import type { ArchiveEntry, ArchiveVerdict } from './archive-entry.js';

/** Verdicts that make an entry a stepping stone: a variant later candidates may start from. */
export const STEPPING_STONE_VERDICTS: ReadonlySet<ArchiveVerdict> = new Set<ArchiveVerdict>([
  'Passed',
  'Promoted',
]);

/** Whether later candidates may start from this entry (it passed, or it was promoted). */
export function isSteppingStone(entry: Pick<ArchiveEntry, 'verdict'>): boolean {
  return STEPPING_STONE_VERDICTS.has(entry.verdict);
}

/**
 * Adds entries to the archive (oldest first). An entry whose id is already archived updates it
 * in place, keeping its position and any field the update leaves out, so a later verdict
 * (Promoted, RolledBack) or a commit does not lose the score and parameters recorded before.
 * Duplicate ids within the input are folded the same way.
 */
export function recordEntries(
  archive: readonly ArchiveEntry[],
  entries: readonly ArchiveEntry[],
): ArchiveEntry[] {
  const result: ArchiveEntry[] = [];
  const position = new Map<string, number>();
  for (const entry of [...archive, ...entries]) {
    const at = position.get(entry.id);
    if (at === undefined) {
      position.set(entry.id, result.length);
      result.push(entry);
    } else {
      result[at] = mergeEntry(result[at] ?? entry, entry);
    }
  }
  return result;
}

/** An update's fields over the recorded ones; fields the update does not carry are kept. */
function mergeEntry(recorded: ArchiveEntry, update: ArchiveEntry): ArchiveEntry {
  const merged: ArchiveEntry = { ...recorded };
  for (const [key, value] of Object.entries(update) as [keyof ArchiveEntry, unknown][]) {
    if (value !== undefined) (merged as unknown as Record<string, unknown>)[key] = value;
  }
  return merged;
}

/**
 * Gives an archived entry a later verdict (Promoted after the canary, RolledBack after a failed
 * one), with reasons or the commit when they are known. An unknown id leaves the archive as it
 * was: the entry may have been dropped by retention, which is not an error.
 */
export function updateVerdict(
  archive: readonly ArchiveEntry[],
  id: string,
  verdict: ArchiveVerdict,
  details: { reasons?: string[]; commit?: string } = {},
): ArchiveEntry[] {
  return archive.map((entry) =>
    entry.id === id ? mergeEntry(entry, { ...entry, ...details, verdict }) : entry,
  );
}

/** How many candidates were started from each variant; `baseline` counts those without a parent. */
export interface ChildCounts {
  baseline: number;
  byId: ReadonlyMap<string, number>;
}

/**
 * Counts children per parent. Every attempt counts, failures included: a variant whose children
 * keep failing has been explored and should lose attention, not keep it.
 */
export function countChildren(archive: readonly ArchiveEntry[]): ChildCounts {
  let baseline = 0;
  const byId = new Map<string, number>();
  for (const entry of archive) {
    if (entry.parent === undefined) baseline += 1;
    else byId.set(entry.parent, (byId.get(entry.parent) ?? 0) + 1);
  }
  return { baseline, byId };
}

/** Children of one variant; `undefined` asks for the baseline's. */
export function childrenOf(counts: ChildCounts, id: string | undefined): number {
  return id === undefined ? counts.baseline : (counts.byId.get(id) ?? 0);
}

/**
 * The archived variants later candidates may start from, oldest first. The baseline is not an
 * entry: callers represent it by `parent: undefined`.
 */
export function steppingStones(archive: readonly ArchiveEntry[]): ArchiveEntry[] {
  return archive.filter(isSteppingStone);
}

/** How much of the archive is kept in status. */
export interface RetentionLimits {
  /** Most stepping stones kept; beyond it the least promising go first. */
  maxSteppingStones: number;
  /** Most failed, refused and rolled-back entries kept; the oldest go first. */
  maxFailures: number;
  /**
   * Failures, newest first, that keep all their reasons; older ones keep their first reason only
   * (what was tried, and why it failed, is what proposers need of an old failure).
   */
  maxDetailedFailures?: number;
  /** Most bytes the archive may take as JSON; beyond it the oldest failures go, then the least promising stones. */
  maxBytes?: number;
  /** Most reasons kept per entry, a final "more" line included. */
  maxReasons: number;
  /** Longest reason, in characters. */
  maxReasonLength: number;
  /** Longest summary, in characters. */
  maxSummaryLength: number;
}

/**
 * Bounds that keep the archive under etcd's 1.5 MiB object limit with room for the rest of the
 * status (maxBytes), and within the schema's 256 entries. Failures are kept long, so that a point
 * tried months ago is not proposed again: a typical old failure takes a few hundred bytes, so 192
 * of them fit easily; only archives of unusually large entries reach the byte bound.
 */
export const DEFAULT_RETENTION: RetentionLimits = {
  maxSteppingStones: 32,
  maxFailures: 192,
  maxDetailedFailures: 32,
  maxBytes: 768 * 1024,
  maxReasons: 8,
  maxReasonLength: 512,
  maxSummaryLength: 256,
};

/**
 * What of the archive to keep in status, oldest first, with long text cut down. Stepping stones
 * are kept up to their cap; beyond it the newest Promoted entry (what runs now) stays, then the
 * highest scores, newer before older at equal score. Failures are kept up to their own cap,
 * newest first, because proposers learn most from what failed recently.
 */
export function retainArchive(
  archive: readonly ArchiveEntry[],
  limits: RetentionLimits = DEFAULT_RETENTION,
): ArchiveEntry[] {
  const entries = recordEntries([], archive);
  const stones: number[] = [];
  const failures: number[] = [];
  entries.forEach((entry, index) => (isSteppingStone(entry) ? stones : failures).push(index));

  const failuresKept = failures.slice(Math.max(0, failures.length - Math.max(0, limits.maxFailures)));
  const detailed = new Set(
    failuresKept.slice(Math.max(0, failuresKept.length - (limits.maxDetailedFailures ?? Infinity))),
  );
  const stonesKept = rankStones(entries, stones).slice(0, Math.max(0, limits.maxSteppingStones));
  const keep = new Set<number>([...failuresKept, ...stonesKept]);

  const shaped = new Map<number, ArchiveEntry>();
  entries.forEach((entry, index) => {
    if (!keep.has(index)) return;
    const compact = isSteppingStone(entry) || detailed.has(index) ? entry : firstReasonOnly(entry);
    shaped.set(index, truncateEntry(compact, limits));
  });
  if (limits.maxBytes !== undefined) {
    // Over the byte bound: the oldest failures go first, then the least promising stones.
    const dropOrder = [...failuresKept, ...[...stonesKept].reverse()];
    let bytes = jsonBytes([...shaped.values()]);
    for (const index of dropOrder) {
      if (bytes <= limits.maxBytes) break;
      bytes -= jsonBytes([shaped.get(index)]) - 2 + 1;
      shaped.delete(index);
    }
  }
  return [...shaped.entries()].sort(([a], [b]) => a - b).map(([, entry]) => entry);
}

function firstReasonOnly(entry: ArchiveEntry): ArchiveEntry {
  return entry.reasons && entry.reasons.length > 1 ? { ...entry, reasons: entry.reasons.slice(0, 1) } : entry;
}

/** Bytes of the values as a JSON array. */
function jsonBytes(values: readonly unknown[]): number {
  return Buffer.byteLength(JSON.stringify(values), 'utf8');
}

/** Stone indices, the ones to keep first. */
function rankStones(entries: readonly ArchiveEntry[], stones: readonly number[]): number[] {
  let newestPromoted: number | undefined;
  for (const index of stones) if (entries[index]?.verdict === 'Promoted') newestPromoted = index;
  const score = (index: number) => {
    const value = entries[index]?.score;
    return value !== undefined && Number.isFinite(value) ? value : -Infinity;
  };
  return [...stones].sort((a, b) => {
    if (a === newestPromoted || b === newestPromoted) return a === newestPromoted ? -1 : 1;
    return score(b) - score(a) || b - a;
  });
}

/** An entry with its summary and reasons cut to the limits. */
export function truncateEntry(
  entry: ArchiveEntry,
  limits: RetentionLimits = DEFAULT_RETENTION,
): ArchiveEntry {
  const summary = truncateText(entry.summary, limits.maxSummaryLength);
  const reasons = entry.reasons === undefined ? undefined : truncateReasons(entry.reasons, limits);
  if (summary === entry.summary && reasons === entry.reasons) return entry;
  return reasons === undefined ? { ...entry, summary } : { ...entry, summary, reasons };
}

function truncateReasons(reasons: string[], limits: RetentionLimits): string[] {
  const max = Math.max(0, Math.floor(limits.maxReasons));
  const cut = (text: string) => truncateText(text, limits.maxReasonLength);
  let kept: string[];
  if (reasons.length <= max) kept = reasons.map(cut);
  else if (max === 0) kept = [];
  else {
    // The last slot says how many were left out, so a reader knows the list is not complete.
    const shown = reasons.slice(0, max - 1).map(cut);
    kept = [...shown, cut(`… and ${reasons.length - shown.length} more`)];
  }
  const unchanged = kept.length === reasons.length && kept.every((reason, i) => reason === reasons[i]);
  return unchanged ? reasons : kept;
}

/**
 * Text of at most `max` characters, counted in code points so a cut never splits a surrogate
 * pair; a cut text ends in an ellipsis.
 */
export function truncateText(text: string, max: number): string {
  const limit = Math.max(0, Math.floor(max));
  if (text.length <= limit) return text;
  const points = Array.from(text);
  if (points.length <= limit) return text;
  return limit === 0 ? '' : points.slice(0, limit - 1).join('') + '…';
}

/**
 * The archive after a restart: status is primary, and the accepted variants recovered from git
 * (their commit trailers) fill in stepping stones status no longer holds. Recovered entries that
 * are not stepping stones, or whose id status already has, are ignored. Status keeps its order;
 * recovered entries are placed among them by `evaluatedAt`.
 */
export function mergeRecoveredArchive(
  status: readonly ArchiveEntry[],
  recovered: readonly ArchiveEntry[],
): ArchiveEntry[] {
  const known = new Set(status.map((entry) => entry.id));
  const missing = recordEntries(
    [],
    recovered.filter((entry) => isSteppingStone(entry) && !known.has(entry.id)),
  )
    .map((entry, index) => ({ entry, index, time: timeOf(entry) }))
    .sort((a, b) => a.time - b.time || a.index - b.index)
    .map(({ entry }) => entry);

  const result: ArchiveEntry[] = [];
  let next = 0;
  for (const entry of status) {
    const time = timeOf(entry);
    while (next < missing.length && timeOf(missing[next] as ArchiveEntry) < time)
      result.push(missing[next++] as ArchiveEntry);
    result.push(entry);
  }
  result.push(...missing.slice(next));
  return result;
}

/** Milliseconds of `evaluatedAt`; an unreadable time sorts last rather than failing the merge. */
function timeOf(entry: ArchiveEntry): number {
  const time = Date.parse(entry.evaluatedAt);
  return Number.isNaN(time) ? Infinity : time;
}
