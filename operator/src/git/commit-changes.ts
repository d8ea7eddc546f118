// What a commit changes, read from git for the image that ships it: the files of its tree that
// differ from another commit, with their contents as git stores them.
import { GitLineageError } from './errors.js';
import { resolveCommit } from './history.js';
import { treeChanges, type TreeChange } from './tree-changes.js';
import type { Workspace } from './workspace.js';

/**
 * The files the tree of `commit` changes relative to commit `from`, with contents, and the commit
 * time of `commit`; `tree`, when given, is the tree the commit must hold (the evaluated one). The
 * blobs come from the reader the sandbox's changed-files bundle was made with (treeChanges), so an
 * overlay layer holds what was evaluated. Throws GitLineageError: CommitNotFound when a commit is
 * not in the clone, TreeMismatch when `commit` does not hold `tree`, ChangesTooLarge when the
 * contents pass `maxBytes`.
 */
export async function commitChanges(
  ws: Workspace,
  from: string,
  commit: string,
  tree: string | undefined,
  maxBytes: number,
): Promise<{ changes: TreeChange[]; committedAt: number }> {
  const [fromSha, toSha] = await Promise.all([
    resolveCommit(ws.runner, from),
    resolveCommit(ws.runner, commit),
  ]);
  if (!fromSha || !toSha) {
    const missing = fromSha ? commit : from;
    throw new GitLineageError(
      'CommitNotFound',
      `commit ${missing} is not in ${ws.repo} (fetched branches and tags)`,
    );
  }
  const committed = (
    await ws.runner.git(['rev-parse', '--verify', '--end-of-options', `${toSha}^{tree}`])
  ).trim();
  if (tree !== undefined && committed !== tree) {
    throw new GitLineageError(
      'TreeMismatch',
      `commit ${toSha.slice(0, 12)} holds the tree ${committed}, not the tree ${tree} the candidate was evaluated as`,
    );
  }
  const changes = await treeChanges(ws.runner, fromSha, committed, maxBytes);
  const committedAt = Number((await ws.runner.git(['log', '-1', '--format=%ct', toSha])).trim());
  return { changes, committedAt: Number.isFinite(committedAt) ? committedAt : 0 };
}
