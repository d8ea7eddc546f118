// The tree a candidate's diffs make of its parent's tree, made by git alone: the parent's tree is
// read into a private index (GIT_INDEX_FILE in a scratch directory), each diff is applied to that
// index with `git apply --cached`, and the index is written as a tree. The work tree and the
// clone's own index are never read or written, so candidates of one cycle can be built at the
// same time, and a proposal round can run while a checkout sits at another commit.
//
// This is the only place a candidate's diff is turned into files: the sandbox evaluates this
// tree's changed files, the commit is this tree, the overlay layer holds its blobs. A diff that
// another applier (jsdiff) would place elsewhere gets git's placement here, everywhere.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GitLineageError } from './errors.js';
import type { GitRunner } from './runner.js';

export interface CandidateTreeInput {
  /** The commit the diffs apply to: the parent's (the base commit for the baseline). */
  start: string;
  /** Diffs as `git diff` prints them, applied in order. */
  diffs: readonly string[];
  /** Where the private index and the patch files go (then removed); inside the repository's git dir is best. */
  scratchRoot: string;
}

export type CandidateTree =
  | { applied: true; tree: string }
  /** `diff` is the index of the diff git refused; `message` is git's reason, on one line. */
  | { applied: false; diff: number; message: string };

/** Longest refusal message kept; git prints one line per failed hunk. */
const REFUSAL_MAX = 1000;

/**
 * The arguments of `git apply` for one patch file: to the index only, no fuzz (git's default:
 * every context line must match), whitespace taken as it is, never "fixed" or ignored whatever
 * the repository's configuration says.
 */
export function applyArgs(patchFile: string): string[] {
  return ['apply', '--cached', '--verbose', '--whitespace=nowarn', '--no-ignore-whitespace', patchFile];
}

/** git's reason for refusing a patch, from `git apply --verbose` output: its error lines, on one line. */
export function applyRefusal(output: string): string {
  const errors = output
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.startsWith('error:') || line.startsWith('fatal:'))
    // --verbose quotes the context it looked for; that is the candidate's text, not git's reason.
    .filter((line) => !line.endsWith('while searching for:'))
    .map((line) => line.replace(/^(error|fatal):\s*/, ''));
  const text =
    (errors.length > 0 ? errors.join('; ') : output.trim().replace(/\s+/g, ' ')) || 'git apply failed';
  return text.length > REFUSAL_MAX ? `${text.slice(0, REFUSAL_MAX - 1)}…` : text;
}

/**
 * Applies `diffs` in order to the tree of `start` and writes the result as a tree object. Returns
 * the tree id, or which diff git refused and why; throws GitLineageError CommitNotFound when
 * `start` is not in the repository, GitFailed when git fails otherwise.
 */
export async function candidateTree(runner: GitRunner, input: CandidateTreeInput): Promise<CandidateTree> {
  const startTree = await runner.run(['rev-parse', '--verify', '--end-of-options', `${input.start}^{tree}`]);
  const base = startTree.stdout.trim();
  if (startTree.exitCode !== 0 || !/^[0-9a-f]{40,64}$/.test(base)) {
    throw new GitLineageError(
      'CommitNotFound',
      `${input.start} is not a commit of ${runner.redact(runner.dir)}`,
    );
  }
  if (input.diffs.length === 0) return { applied: true, tree: base };

  const scratch = await mkdtemp(join(input.scratchRoot, 'candidate-tree-'));
  try {
    const env = { GIT_INDEX_FILE: join(scratch, 'index') };
    await runner.git(['read-tree', base], { env });
    for (const [index, diff] of input.diffs.entries()) {
      const patch = join(scratch, `${index}.diff`);
      await writeFile(patch, diff);
      const applied = await runner.run(applyArgs(patch), { env });
      if (applied.exitCode !== 0) {
        return { applied: false, diff: index, message: applyRefusal(`${applied.stderr}\n${applied.stdout}`) };
      }
    }
    return { applied: true, tree: (await runner.git(['write-tree'], { env })).trim() };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
