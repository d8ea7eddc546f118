// One cycle's path from proposal to lineage, as steps the cycle phases call:
//
//   proposeCandidates   parent choice → proposer → patch policy   (Proposing)
//   recordEvaluations   evaluations → archive entries            (after Evaluating)
//   commitPassed        accepted variants → git commits          (Committing)
//
// Every port (proposer, policy, git) is passed in, so the same steps run in the operator and in a
// test against a real repository. Nothing here throws for what the outside world does wrong: a
// proposer's failures come back as attempts, a refused patch as a candidate with verdict Refused.
import type { Candidate, HyperAgentSpec, ProposalRecord } from '../api/schema.js';
import { parameterStrings } from '../policy/archive-record.js';
import { startingValues } from '../propose/candidate-schema.js';
import type { ChangedFile, PatchVerdict } from '../policy/patch-policy.js';
import type { ProposalRequest, ProposalResult, ProposedCandidate } from '../propose/candidate.js';
import type { ArchiveEntry } from '../policy/archive-entry.js';
import type { ParameterValues } from '../api/parameters.js';
import type { Proposer } from '../propose/proposer.js';
import type { ServiceGraph } from '../represent/graph.js';
import { chooseCandidate } from './machine.js';

/** What a round knows about the agent and the cycle it runs in. */
export interface RoundContext {
  agent: { namespace: string; name: string };
  cycle: string;
  spec: HyperAgentSpec;
  /** The agent's archive, oldest first. */
  archive: readonly ArchiveEntry[];
  /** Parameter values the deployed service runs with. */
  current: ParameterValues;
  graph?: ServiceGraph;
  sources?: Readonly<Record<string, string>>;
  /** The cycle's wall-clock deadline. */
  deadline: Date;
  signal?: AbortSignal;
}

export interface ParentChoice {
  /** Undefined: start from the deployed baseline. */
  parent?: ArchiveEntry;
  /** The chance the choice had, shown in status so a person can see why. */
  probability?: number;
}

export interface ProposePorts {
  proposer: Proposer;
  chooseParent(archive: readonly ArchiveEntry[]): ParentChoice;
  /** Judges a diff against the tree of `parent` (the baseline when undefined). */
  checkPatch(diff: string, parent: ArchiveEntry | undefined): Promise<PatchVerdict>;
  /** Model name for the record, when the proposer has one. */
  model?: string;
}

/** A proposed candidate after policy: Pending goes on to evaluation, Refused stops here. */
export interface ReviewedCandidate {
  /** `c1`, `c2`…, unique within the cycle. */
  id: string;
  candidate: ProposedCandidate;
  verdict: 'Pending' | 'Refused';
  reasons: string[];
  /** For an accepted diff: what it changes. */
  files?: ChangedFile[];
}

export interface ProposedRound {
  request: ProposalRequest;
  result: ProposalResult;
  reviewed: ReviewedCandidate[];
  proposal: ProposalRecord;
}

const MAX_STATUS_ATTEMPTS = 16;
const MAX_REASONS = 32;
const MAX_REASON_LENGTH = 4096;

/** Chooses a parent, asks the proposer, and puts every code candidate through the patch policy. */
export async function proposeCandidates(context: RoundContext, ports: ProposePorts): Promise<ProposedRound> {
  const choice = ports.chooseParent(context.archive);
  const improvement = context.spec.improvement;
  const request: ProposalRequest = {
    agent: context.agent,
    cycle: context.cycle,
    goal: context.spec.goal,
    parameters: improvement.parameters,
    current: context.current,
    maxCandidates: improvement.maxCandidates,
    archive: context.archive,
    ...(choice.parent ? { parent: choice.parent } : {}),
    ...(context.graph ? { graph: context.graph } : {}),
    ...(context.sources ? { sources: context.sources } : {}),
    allowedPaths: context.spec.source.paths,
    protectedPaths: context.spec.source.protectedPaths,
    budget: {
      maxTokens: improvement.budget.maxTokens,
      maxCostUSD: improvement.budget.maxCostUSD,
      deadline: context.deadline,
    },
    seed: improvement.proposer.seed,
    ...(context.signal ? { signal: context.signal } : {}),
  };
  const result = await ports.proposer.propose(request);

  const reviewed: ReviewedCandidate[] = [];
  for (const [index, candidate] of result.candidates.slice(0, improvement.maxCandidates).entries()) {
    const id = `c${index + 1}`;
    const withParent: ProposedCandidate = choice.parent
      ? { ...candidate, parent: choice.parent.id }
      : candidate;
    if (candidate.kind === 'config') {
      reviewed.push({ id, candidate: withParent, verdict: 'Pending', reasons: [] });
      continue;
    }
    const verdict = await ports.checkPatch(candidate.diff, choice.parent);
    reviewed.push(
      verdict.accepted
        ? { id, candidate: withParent, verdict: 'Pending', reasons: [], files: verdict.files }
        : {
            id,
            candidate: withParent,
            verdict: 'Refused',
            reasons: verdict.reasons.map((reason) => `${reason.rule}: ${reason.message}`),
          },
    );
  }

  const proposal: ProposalRecord = {
    proposer: ports.proposer.type,
    ...(ports.model ? { model: ports.model } : {}),
    ...(choice.parent ? { parent: choice.parent.id } : {}),
    ...(choice.probability !== undefined ? { parentProbability: choice.probability } : {}),
    promptTokens: result.usage.promptTokens,
    completionTokens: result.usage.completionTokens,
    costUSD: result.usage.costUSD,
    attempts: result.attempts.slice(-MAX_STATUS_ATTEMPTS).map((attempt) => ({
      outcome: attempt.outcome,
      message: attempt.message.slice(0, 1024),
      durationMs: Math.max(0, Math.round(attempt.durationMs)),
    })),
  };
  return { request, result, reviewed, proposal };
}

/** How one candidate fared in its sandbox. */
export interface Evaluation {
  passed: boolean;
  score?: number;
  /** One line per failed invariant, with figures. */
  reasons: string[];
}

/**
 * The archive entries of a round: refused candidates as Refused, evaluated ones as Passed or
 * Failed with their score, candidates never evaluated as Failed saying so. Config entries carry
 * the full parameter values they ran with (parent's values plus the change).
 */
export function recordEvaluations(
  context: RoundContext,
  reviewed: readonly ReviewedCandidate[],
  evaluations: ReadonlyMap<string, Evaluation>,
  now: Date,
): ArchiveEntry[] {
  return reviewed.map(({ id, candidate, verdict, reasons }) => {
    const evaluation = evaluations.get(id);
    const entry: ArchiveEntry = {
      id: `${context.cycle}/${id}`,
      cycle: context.cycle,
      kind: candidate.kind,
      summary: candidate.summary,
      ...(candidate.parent !== undefined ? { parent: candidate.parent } : {}),
      verdict:
        verdict === 'Refused'
          ? 'Refused'
          : evaluation === undefined || !evaluation.passed
            ? 'Failed'
            : 'Passed',
      evaluatedAt: now.toISOString(),
    };
    if (candidate.kind === 'config') {
      const parent = context.archive.find((past) => past.id === candidate.parent);
      entry.parameters = { ...startingValues({ current: context.current, parent }), ...candidate.parameters };
    }
    if (evaluation?.score !== undefined) entry.score = evaluation.score;
    const why =
      verdict === 'Refused' ? reasons : (evaluation?.reasons ?? ['The candidate was never evaluated.']);
    if (why.length > 0) entry.reasons = why;
    return entry;
  });
}

export interface CommitPorts {
  /** Commits the selected variant on the cycle branch and pushes it; returns the commit id. */
  commit(entry: ArchiveEntry, candidate: ProposedCandidate): Promise<string>;
}

/**
 * Commits the cycle's selected variant (the best passed one, as Selecting chooses) on the cycle branch. One cycle
 * delivers one variant, so its branch holds one commit; the other passed variants stay in the
 * archive as stepping stones. A failed commit is reported, never thrown: the cycle records it.
 */
export async function commitSelected(
  reviewed: readonly ReviewedCandidate[],
  entries: readonly ArchiveEntry[],
  ports: CommitPorts,
): Promise<{ entries: ArchiveEntry[]; selected?: ArchiveEntry; failure?: string }> {
  const best = chooseCandidate(entries);
  const candidate = best && reviewed.find((item) => best.id.endsWith(`/${item.id}`))?.candidate;
  if (!best || !candidate) return { entries: [...entries] };
  try {
    const selected = { ...best, commit: await ports.commit(best, candidate) };
    return { entries: entries.map((entry) => (entry.id === best.id ? selected : entry)), selected };
  } catch (error) {
    return {
      entries: [...entries],
      failure: `${best.id}: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
}

/**
 * Whether a past variant can be built upon: a config variant always (its values are in the
 * archive), a code variant only when its commit holds the tree its diff produced.
 */
export function usableAsParent(entry: ArchiveEntry): boolean {
  return entry.kind === 'config' || entry.commit !== undefined;
}

/** The candidates of a round as the cycle's status shows them. */
export function candidateStatuses(
  reviewed: readonly ReviewedCandidate[],
  entries: readonly ArchiveEntry[] = [],
): Candidate[] {
  return reviewed.map(({ id, candidate, verdict, reasons }) => {
    const entry = entries.find((item) => item.id.endsWith(`/${id}`));
    const shown = entry?.reasons ?? reasons;
    return {
      id,
      kind: candidate.kind,
      summary: candidate.summary.slice(0, 4096),
      rationale: candidate.rationale.slice(0, 4096),
      ...(candidate.parent !== undefined ? { parent: candidate.parent } : {}),
      ...(candidate.kind === 'config' ? { parameters: parameterStrings(candidate.parameters) } : {}),
      ...(entry?.score !== undefined ? { score: entry.score } : {}),
      verdict: entry
        ? entry.verdict === 'Refused'
          ? 'Refused'
          : entry.verdict === 'Passed'
            ? 'Passed'
            : 'Failed'
        : verdict,
      ...(shown.length > 0
        ? { reasons: shown.slice(0, MAX_REASONS).map((reason) => reason.slice(0, MAX_REASON_LENGTH)) }
        : {}),
    };
  });
}
