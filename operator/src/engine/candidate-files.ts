// Proposing's last step: what each candidate's files are, decided once, by git. A candidate that
// passed the patch policy and changes files (its own diff, or a parent that is a code variant)
// gets the tree git makes of its parent's tree and its diff, and the changed-files bundle of that
// tree against the cycle's base commit. The sandbox evaluates the bundle, the commit is the tree,
// the overlay ships its blobs: one application of the diff for all three. A diff git refuses, or
// a tree no bundle can carry, refuses the candidate here, in the patch policy's terms.
import type { CandidateTree } from '../git/candidate-tree.js';
import { candidateTree } from '../git/candidate-tree.js';
import { isGitLineageError } from '../git/errors.js';
import type { GitRunner } from '../git/runner.js';
import { treeChanges } from '../git/tree-changes.js';
import type { Refusal } from '../policy/refusal.js';
import {
  CHANGED_FILES_LIMITS,
  ChangedFilesError,
  changedFilesOf,
  serializeChangedFiles,
  type ChangedFilesBundle,
} from '../git/changed-files.js';

export interface FilesRequest {
  /** The cycle's base commit: what the sandbox's source holds, and what bundles are relative to. */
  base: string;
  /** The commit of the parent when it is a code variant; its tree is where the diffs start. */
  parentCommit?: string;
  /** Candidates that passed the patch policy, with their own diff when they are code candidates. */
  candidates: readonly { id: string; diff?: string }[];
  /** Where private indexes go (the clone's git directory). */
  scratchRoot: string;
}

export type CandidateFiles =
  { tree: string; bundle: ChangedFilesBundle; text: string } | { refusal: Refusal };

/**
 * The tree and bundle of every candidate that changes files, or why it is refused; candidates
 * that change nothing (config candidates of a baseline parent) are left out. All are built at
 * once, each in its own index. Throws GitLineageError when git fails for a reason that is not the
 * candidate's (the parent's commit missing, git not running).
 */
export async function candidateFiles(
  runner: GitRunner,
  request: FilesRequest,
): Promise<Map<string, CandidateFiles>> {
  const start = request.parentCommit ?? request.base;
  const built = await Promise.all(
    request.candidates
      .filter((candidate) => candidate.diff !== undefined || request.parentCommit !== undefined)
      .map(async (candidate) => {
        const diffs = candidate.diff === undefined ? [] : [candidate.diff];
        const tree = await candidateTree(runner, { start, diffs, scratchRoot: request.scratchRoot });
        return [candidate.id, await filesOf(runner, request, start, diffs.length, tree)] as const;
      }),
  );
  return new Map(built);
}

async function filesOf(
  runner: GitRunner,
  request: FilesRequest,
  start: string,
  diffs: number,
  made: CandidateTree,
): Promise<CandidateFiles> {
  const parent = request.parentCommit
    ? `the parent's tree (${short(start)})`
    : `the base tree (${short(start)})`;
  if (!made.applied) {
    return refuse('DoesNotApply', `Git does not apply the diff to ${parent}: ${made.message}`);
  }
  if (diffs > 0 && made.tree === (await treeOf(runner, start))) {
    return refuse('Empty', `The diff leaves ${parent} as it is: it changes no file.`);
  }
  try {
    const changes = await treeChanges(runner, request.base, made.tree, CHANGED_FILES_LIMITS.maxBytes);
    const bundle = changedFilesOf(request.base, made.tree, changes);
    return { tree: made.tree, bundle, text: serializeChangedFiles(bundle) };
  } catch (error) {
    if (isGitLineageError(error, 'ChangesTooLarge')) {
      return refuse(
        'TooLarge',
        `The files the candidate changes against the base commit hold more than the ${CHANGED_FILES_LIMITS.maxBytes} bytes a sandbox is given.`,
      );
    }
    if (error instanceof ChangedFilesError) {
      return refuse(error.rule, `The candidate's tree cannot be evaluated: ${error.message}`);
    }
    throw error;
  }
}

async function treeOf(runner: GitRunner, commit: string): Promise<string> {
  return (await runner.git(['rev-parse', '--verify', '--end-of-options', `${commit}^{tree}`])).trim();
}

function refuse(rule: Refusal['rule'], message: string): { refusal: Refusal } {
  return { refusal: { rule, message } };
}

function short(commit: string): string {
  return commit.slice(0, 12);
}

/**
 * Where the files the patch policy judged (jsdiff's application of the diff) differ from the
 * files git put in the candidate's tree: a hunk the two place differently (no trailing context,
 * a context that occurs twice). Such a diff is refused: the policy would have judged one change
 * while the commit shipped another. Undefined when they agree.
 */
export function placementMismatch(
  judged: ReadonlyMap<string, string | null>,
  bundle: ChangedFilesBundle,
  base: (path: string) => string | undefined,
): Refusal | undefined {
  const written = new Map(
    bundle.files.map((file) => [file.path, Buffer.from(file.base64, 'base64').toString('utf8')]),
  );
  const deleted = new Set(bundle.deleted);
  for (const [path, text] of judged) {
    const shipped = deleted.has(path) ? null : (written.get(path) ?? base(path) ?? null);
    if (shipped === text) continue;
    return {
      rule: 'DoesNotApply',
      path,
      message: `git and the patch policy apply the diff to ${path} differently (a hunk git places elsewhere than its line numbers say): the policy would have judged one change while another shipped, so the diff is refused. Give every hunk enough context to place it in one way only.`,
    };
  }
  return undefined;
}
