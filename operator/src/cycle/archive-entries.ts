// What a finished cycle adds to its agent's archive, read from the cycle's status alone: every
// candidate the policy refused or the sandbox judged, with its score, verdict and reasons, the full
// parameter values a config candidate ran with, the SHA-256 of a code candidate's diff, and its
// parent. The candidate the cycle delivered carries production's verdict: Promoted, or RolledBack
// with the canary's decisive measurement, and the gain ledger (predicted against observed).
//
// A candidate never evaluated (the cycle failed first) is left out: it was not tried, so a
// proposer may offer it again. The fold is idempotent by id (`<cycle>/<candidate>`), so reading
// the same cycle twice changes nothing.
import type { ImprovementCycle } from '../api/resources.js';
import type { Candidate } from '../api/schema.js';
import type { ParameterSpec } from '../api/parameters.js';
import type { ArchiveEntry, ArchiveVerdict } from '../policy/archive-entry.js';
import { parameterValues } from '../policy/archive-record.js';
import { isTerminal } from './machine.js';

/** The archive entries of `cycle` once it has ended; none while it runs. */
export function archiveEntriesOf(
  cycle: ImprovementCycle,
  declared: readonly ParameterSpec[],
): ArchiveEntry[] {
  const status = cycle.status;
  if (!status || !isTerminal(status.phase)) return [];
  const evaluatedAt = status.completionTime ?? status.phaseStartTime ?? status.startTime ?? cycle.spec.slot;
  const starting = parameterValues(status.proposal?.startingParameters ?? {}, declared);
  return (status.candidates ?? []).flatMap((candidate): ArchiveEntry[] => {
    const verdict = triedVerdict(candidate);
    if (!verdict) return [];
    const delivered = candidate.id === status.selected ? deliveredAs(cycle) : undefined;
    const reasons = [...(delivered?.reasons ?? []), ...(candidate.reasons ?? [])];
    const entry: ArchiveEntry = {
      id: `${cycle.metadata.name}/${candidate.id}`,
      cycle: cycle.metadata.name,
      kind: candidate.kind,
      summary: candidate.summary,
      ...(candidate.parent !== undefined ? { parent: candidate.parent } : {}),
      ...(candidate.kind === 'config'
        ? { parameters: { ...starting, ...parameterValues(candidate.parameters ?? {}, declared) } }
        : {}),
      ...(candidate.score !== undefined ? { score: candidate.score } : {}),
      verdict: delivered?.verdict ?? verdict,
      ...(reasons.length > 0 ? { reasons } : {}),
      ...(candidate.patch ? { diffSha256: candidate.patch.sha256 } : {}),
      ...(delivered && status.commit ? { commit: status.commit } : {}),
      ...(delivered && status.gain ? { gain: status.gain } : {}),
      evaluatedAt,
    };
    return [entry];
  });
}

/** The verdict of a candidate that was tried; undefined for one never evaluated. */
function triedVerdict(candidate: Candidate): ArchiveVerdict | undefined {
  switch (candidate.verdict) {
    case 'Passed':
    case 'Failed':
    case 'Refused':
      return candidate.verdict;
    default:
      return undefined;
  }
}

/** Production's verdict on the cycle's selected candidate, when it reached production. */
function deliveredAs(cycle: ImprovementCycle): { verdict: ArchiveVerdict; reasons: string[] } | undefined {
  const status = cycle.status ?? {};
  const watch = status.watch;
  if (status.phase === 'Promoted' && (watch?.phase === 'Reverting' || watch?.phase === 'Reverted')) {
    // the watch after promotion took it back: production's verdict is a rollback after all
    return { verdict: 'RolledBack', reasons: [`Reverted after promotion: ${watch.message}`] };
  }
  if (status.phase === 'Promoted') return { verdict: 'Promoted', reasons: [] };
  if (status.phase !== 'RolledBack') return undefined;
  const decision = status.canary?.decision;
  const why = decision?.message ?? status.message ?? 'The canary was rolled back.';
  return { verdict: 'RolledBack', reasons: [`Rolled back in production: ${why}`] };
}
