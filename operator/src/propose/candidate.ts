// What a proposer hands back, and what it is told. Plain data: the engine (archive, policy, git)
// and every proposer (tuner, openai) speak these types, and nothing here does I/O.
import type { ParameterSpec, ParameterValues } from '../api/parameters.js';
import type { IncidentEvidence } from '../api/schema.js';
import type { ArchiveEntry } from '../policy/archive-entry.js';
import type { ServiceGraph } from '../represent/graph.js';

interface CandidateBase {
  /** What the candidate changes, in one line (for status, events and the commit subject). */
  summary: string;
  /** Why the proposer expects it to help (for reviewers and the commit body). */
  rationale: string;
  /** Archive id of the variant this candidate starts from; undefined = the deployed baseline. */
  parent?: string;
}

/** Parameter changes only: the new pod template carries the values, no image is built. */
export interface ConfigCandidate extends CandidateBase {
  kind: 'config';
  /** Only the parameters that change, by name. */
  parameters: ParameterValues;
}

/** A source change, as a unified diff in `git diff` form against the parent's tree. */
export interface CodeCandidate extends CandidateBase {
  kind: 'code';
  diff: string;
}

export type ProposedCandidate = ConfigCandidate | CodeCandidate;

/** The cycle's spending limits, as a proposer must honour them. */
export interface ProposalBudget {
  maxTokens: number;
  maxCostUSD: number;
  /** Wall-clock instant after which no more requests may start. */
  deadline: Date;
}

/** Everything a proposer is told for one proposal round. */
export interface ProposalRequest {
  agent: { namespace: string; name: string };
  cycle: string;
  goal: string;
  /** A remediation cycle's incident and its evidence: what the candidates must remedy. */
  incident?: IncidentEvidence;
  /** Declared tunables. */
  parameters: readonly ParameterSpec[];
  /** Values the deployed service runs with now (declared parameters only). */
  current: ParameterValues;
  /** Most candidates to return. */
  maxCandidates: number;
  /** Past attempts of this agent, failures included, oldest first. */
  archive: readonly ArchiveEntry[];
  /** The variant to start from, chosen by parent selection; undefined = the baseline. */
  parent?: ArchiveEntry;
  /** The service graph (modules, parameters, API schemas, hot spots), when represented. */
  graph?: ServiceGraph;
  /**
   * Excerpts of source files by repository path, when the caller read some (for example the
   * modules around the hot spots). Proposers never read the repository themselves.
   */
  sources?: Readonly<Record<string, string>>;
  /** Paths the agent may change and must never change, to steer code proposals. */
  allowedPaths: readonly string[];
  protectedPaths: readonly string[];
  budget: ProposalBudget;
  /** Seed for deterministic proposers. */
  seed: number;
  signal?: AbortSignal;
}

/** Tokens and money a proposal round consumed. */
export interface ProposalUsage {
  promptTokens: number;
  completionTokens: number;
  costUSD: number;
}

/**
 * One try to get candidates (an LLM request, say), recorded whatever its outcome so the
 * cycle can show what happened: `ok`, or why it gave nothing usable.
 */
export interface ProposalAttempt {
  outcome: 'ok' | 'malformed' | 'timeout' | 'rate-limited' | 'server-error' | 'refused' | 'budget' | 'error';
  /** Human-readable detail; never contains credentials. */
  message: string;
  durationMs: number;
}

export interface ProposalResult {
  candidates: ProposedCandidate[];
  attempts: ProposalAttempt[];
  usage: ProposalUsage;
}

export const NO_USAGE: ProposalUsage = { promptTokens: 0, completionTokens: 0, costUSD: 0 };
