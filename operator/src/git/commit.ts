// One commit per accepted candidate, on the cycle branch `hyperagent/<agent>/<cycle>`, starting
// from the parent's commit (the base branch head for the baseline).
//
// The commit is exactly the tree that was evaluated. That tree was made when the candidate was
// proposed (candidate-tree.ts: the parent's tree in a private index, the diff applied by git);
// here it is made again the same way from the stored diff, and the commit is written only when
// the result is the same tree id, with commit-tree and a HyperAgent-Tree trailer. The work tree
// is never touched. The branch then moves with a compare-and-swap update-ref. A crash at any
// point leaves either no commit on the branch or the whole commit, never a half-applied work
// tree that the next attempt would have to clean up.
//
// Idempotent: if the cycle branch (local, or on the remote after a restart with a fresh clone)
// already has a commit whose trailers name this agent, cycle and candidate, that commit is
// returned (when it holds the expected tree) and nothing new is written.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ProposedCandidate } from '../propose/candidate.js';
import type { ArchiveVerdict } from '../policy/archive-entry.js';
import type { ParameterValues } from '../api/parameters.js';
import { candidateTree } from './candidate-tree.js';
import { GitLineageError } from './errors.js';
import { candidateCommits, resolveCommit } from './history.js';
import { commitMessage } from './message.js';
import { archiveId, cycleBranch } from './refs.js';
import { candidateTrailers, normalizeRecord, type CandidateRecord, type ProposerName } from './trailers.js';
import { localRef, remoteRef, type Workspace } from './workspace.js';

export interface CommitCandidateInput {
  cycle: string;
  /** Candidate id within the cycle. */
  candidate: string;
  proposal: ProposedCandidate;
  /** The archive entry the candidate starts from, with its commit; undefined = the baseline. */
  parent?: { id: string; commit: string };
  /** Full parameter values (parent's plus the change); required for config candidates. */
  parameters?: ParameterValues;
  goal: string;
  proposer: ProposerName;
  model?: string;
  score?: number;
  /** Defaults to Passed: only accepted candidates are committed. */
  verdict?: ArchiveVerdict;
  /**
   * The tree that was evaluated (status `tree`). The commit is written only when the candidate's
   * diff, applied to the parent's tree, makes this tree again; without it, whatever the diff makes.
   */
  tree?: string;
}

export interface CommittedCandidate {
  commit: string;
  /** Short branch name, `hyperagent/<agent>/<cycle>`. */
  branch: string;
  /** True when the commit was already there (an earlier attempt made it). */
  reused: boolean;
}

/**
 * Commits an accepted candidate on its cycle branch, or returns the commit an earlier attempt
 * made. Throws InvalidName/InvalidCandidate for input that cannot be recorded, CommitNotFound
 * when the parent's commit is missing, BranchConflict when the cycle branch exists but does not
 * start at the parent, PatchDoesNotApply (with git's message) when the diff does not apply,
 * TreeMismatch when it makes another tree than `tree` (or an earlier attempt's commit holds
 * another); in every error case nothing is committed.
 */
export async function commitCandidate(
  ws: Workspace,
  input: CommitCandidateInput,
): Promise<CommittedCandidate> {
  const branch = cycleBranch(ws.agent, input.cycle);
  const record: CandidateRecord = {
    agent: ws.agent,
    cycle: input.cycle,
    candidate: input.candidate,
    parent: input.parent?.id,
    goal: input.goal,
    proposer: input.proposer,
    model: input.model,
    score: input.score,
    verdict: input.verdict ?? 'Passed',
    kind: input.proposal.kind,
    parameters: input.parameters,
  };
  // Refuses what no trailer can carry before anything is read or written.
  normalizeRecord({ ...record, ...(input.tree !== undefined ? { tree: input.tree } : {}) });
  checkConsistency(input);

  await ws.fetch();
  const local = await resolveCommit(ws.runner, localRef(branch));
  const remote = await resolveCommit(ws.runner, remoteRef(branch));

  const existing = await findCandidateCommit(ws, branch, input.cycle, input.candidate);
  if (existing !== undefined) {
    await assertTree(ws, existing, input.tree, `the commit ${existing} an earlier attempt made`);
    if (local === undefined && remote !== undefined) {
      await ws.runner.git(['update-ref', localRef(branch), remote, '']);
    }
    return { commit: existing, branch, reused: true };
  }

  const start = await startCommit(ws, input.parent);
  const head = local ?? remote;
  if (head !== undefined && head !== start) {
    throw new GitLineageError(
      'BranchConflict',
      `branch ${branch} is at ${head}, but candidate ${input.candidate} starts from ${start}`,
    );
  }

  const tree = await rebuildTree(ws, input, start);
  const trailers = candidateTrailers({ ...record, tree });
  const scratch = await mkdtemp(join(ws.gitDir, 'hyperagent-'));
  try {
    const messageFile = join(scratch, 'message');
    await writeFile(
      messageFile,
      commitMessage({
        summary: input.proposal.summary,
        rationale: input.proposal.rationale,
        fallbackSubject: `Candidate ${archiveId(input.cycle, input.candidate)}`,
        trailers,
      }),
    );
    const commit = (await ws.runner.git(['commit-tree', tree, '-p', start, '-F', messageFile])).trim();
    // Compare-and-swap: the branch moves only from where it was seen (or is created only if it
    // still does not exist), so two attempts racing cannot both land.
    const reason = `hyperagent: commit ${archiveId(input.cycle, input.candidate)}`;
    const swap = await ws.runner.run(['update-ref', '-m', reason, localRef(branch), commit, local ?? '']);
    if (swap.exitCode !== 0) {
      throw ws.runner.failure(['update-ref'], swap, 'BranchConflict');
    }
    return { commit, branch, reused: false };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/**
 * The commit on the cycle branch (local or remote-tracking) whose trailers name this agent,
 * cycle and candidate, if any.
 */
export async function findCandidateCommit(
  ws: Workspace,
  branch: string,
  cycle: string,
  candidate: string,
): Promise<string | undefined> {
  const refs: string[] = [];
  for (const ref of [localRef(branch), remoteRef(branch)]) {
    if ((await resolveCommit(ws.runner, ref)) !== undefined) refs.push(ref);
  }
  const commits = await candidateCommits(ws.runner, ws.agent, refs);
  return commits.find((c) => c.record.cycle === cycle && c.record.candidate === candidate)?.commit;
}

function checkConsistency(input: CommitCandidateInput): void {
  if (input.proposal.parent !== input.parent?.id) {
    throw new GitLineageError(
      'InvalidCandidate',
      `the candidate names parent ${input.proposal.parent ?? 'baseline'}, the request ${input.parent?.id ?? 'baseline'}`,
    );
  }
  if (input.proposal.kind === 'config' && input.parameters === undefined) {
    throw new GitLineageError(
      'InvalidCandidate',
      'a config candidate is recorded with its full parameter values: pass parameters',
    );
  }
}

async function startCommit(ws: Workspace, parent: CommitCandidateInput['parent']): Promise<string> {
  // A parent is named by its commit id only, never by a ref someone could move.
  const commit =
    parent === undefined
      ? await resolveCommit(ws.runner, ws.baseRef)
      : /^[0-9a-f]{7,64}$/i.test(parent.commit)
        ? await resolveCommit(ws.runner, parent.commit)
        : undefined;
  if (commit === undefined) {
    throw new GitLineageError(
      'CommitNotFound',
      parent === undefined
        ? `the base branch ${ws.branch} was not found on the remote`
        : `the commit ${parent.commit} of parent ${parent.id} is not in the repository`,
    );
  }
  return commit;
}

// Config candidates change the pod template, not files: their commit keeps the parent's tree
// (an empty commit) and its trailers carry the values. A code candidate's tree is its diff on the
// parent's tree, made the way it was made when the candidate was proposed.
async function rebuildTree(ws: Workspace, input: CommitCandidateInput, start: string): Promise<string> {
  const made = await candidateTree(ws.runner, {
    start,
    diffs: input.proposal.kind === 'code' ? [input.proposal.diff] : [],
    scratchRoot: ws.gitDir,
  });
  if (!made.applied) {
    throw new GitLineageError(
      'PatchDoesNotApply',
      `the diff of candidate ${input.candidate} does not apply to ${start}: ${made.message}`,
    );
  }
  if (input.tree !== undefined && made.tree !== input.tree) {
    throw new GitLineageError(
      'TreeMismatch',
      `candidate ${input.candidate} applied to ${start} makes the tree ${made.tree}, not the tree ${input.tree} that was evaluated`,
    );
  }
  return made.tree;
}

async function assertTree(
  ws: Workspace,
  commit: string,
  expected: string | undefined,
  what: string,
): Promise<void> {
  if (expected === undefined) return;
  const tree = (
    await ws.runner.git(['rev-parse', '--verify', '--end-of-options', `${commit}^{tree}`])
  ).trim();
  if (tree !== expected) {
    throw new GitLineageError(
      'TreeMismatch',
      `${what} holds the tree ${tree}, not the tree ${expected} that was evaluated`,
    );
  }
}
