// One entry of the agent's archive: a candidate that was tried, what became of it, and where it
// came from. Plain data: the archive's policies (archive.ts, parent-selection.ts), git's lineage
// and trailers, and every proposer speak it.
import type { ParameterValues } from '../api/parameters.js';
import type { GainLedger } from '../api/schema.js';

/** What became of a candidate that was tried, as the archive remembers it. */
export type ArchiveVerdict = 'Passed' | 'Failed' | 'Refused' | 'Promoted' | 'RolledBack';

/**
 * One evaluated candidate, kept across cycles. Accepted variants (Passed, Promoted) are stepping
 * stones: later candidates may start from them. Failures are kept too, so proposers do not
 * repeat them.
 */
export interface ArchiveEntry {
  /** `<cycle>/<candidate id>`, unique within the agent. */
  id: string;
  cycle: string;
  kind: 'config' | 'code';
  summary: string;
  /** Archive id of the parent; undefined = the baseline the cycle started from. */
  parent?: string;
  /** For config candidates: the full parameter values evaluated (parent's values plus the change). */
  parameters?: ParameterValues;
  /** Score on the goal; higher is better. Undefined when the candidate never got measured. */
  score?: number;
  verdict: ArchiveVerdict;
  /** One line per failed invariant or policy rule. */
  reasons?: string[];
  /** Git commit of the variant, when it was committed. */
  commit?: string;
  /** For code candidates: SHA-256 of the diff, so that the same change is not proposed again. */
  diffSha256?: string;
  /** For a delivered candidate: the gain the sandbox predicted against what production showed. */
  gain?: GainLedger;
  /** When it was evaluated (RFC 3339). */
  evaluatedAt: string;
}
