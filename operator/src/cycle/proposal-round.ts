// One cycle's path from proposal to lineage, as steps the cycle phases call:
//
//   proposeCandidates   parent choice → proposer → never-repeat → patch policy   (Proposing)
//
// What the candidates became is folded into the archive from the cycle's status once it ends
// (archive-entries.ts). Every port (proposer, policy) is passed in, so the same step runs in the
// operator and in a test against a real repository. Nothing here throws for what the outside world does wrong: a
// proposer's failures come back as attempts, a refused patch as a candidate with verdict Refused.
import type { Candidate, HyperAgentSpec, IncidentEvidence, ProposalRecord } from '../api/schema.js';
import { parameterStrings } from '../policy/archive-record.js';
import { repeatedAttempt, startingValues } from '../propose/candidate-schema.js';
import type { ChangedFile, PatchVerdict } from '../policy/patch-policy.js';
import type { ProposalRequest, ProposalResult, ProposedCandidate } from '../propose/candidate.js';
import type { ArchiveEntry } from '../policy/archive-entry.js';
import type { ParameterValues } from '../api/parameters.js';
import type { Proposer } from '../propose/proposer.js';
import type { ServiceGraph } from '../represent/graph.js';

/** What a round knows about the agent and the cycle it runs in. */
export interface RoundContext {
  agent: { namespace: string; name: string };
  cycle: string;
  spec: HyperAgentSpec;
  /** A remediation cycle's incident and its evidence. */
  incident?: IncidentEvidence;
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
    ...(context.incident ? { incident: context.incident } : {}),
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

  const starting = startingValues({
    current: context.current,
    ...(choice.parent ? { parent: choice.parent } : {}),
  });
  const reviewed: ReviewedCandidate[] = [];
  for (const [index, candidate] of result.candidates.slice(0, improvement.maxCandidates).entries()) {
    const id = `c${index + 1}`;
    const withParent: ProposedCandidate = choice.parent
      ? { ...candidate, parent: choice.parent.id }
      : candidate;
    // Whatever the proposer: a change the agent already tried is not tried again.
    const repeated = repeatOf(candidate, starting, context);
    if (repeated) {
      reviewed.push({ id, candidate: withParent, verdict: 'Refused', reasons: [repeated] });
      continue;
    }
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
    startingParameters: parameterStrings(starting),
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

/**
 * Why a candidate repeats an archived attempt (the same full parameter values for a config
 * candidate, the same diff for a code one), or undefined when it is new.
 */
export function repeatOf(
  candidate: ProposedCandidate,
  starting: ParameterValues,
  context: Pick<RoundContext, 'archive' | 'current' | 'spec'>,
): string | undefined {
  const match = repeatedAttempt(
    candidate.kind === 'code'
      ? { kind: 'code', diff: candidate.diff }
      : { kind: 'config', values: { ...starting, ...candidate.parameters } },
    { ...context, parameters: context.spec.improvement.parameters },
  );
  if (!match) return undefined;
  const why = match.reasons?.[0] ? `: ${match.reasons[0]}` : '';
  return `Repeated: the same change as ${match.id}, already tried (${match.verdict}${why})`.slice(
    0,
    MAX_REASON_LENGTH,
  );
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
