// What a unified diff asks for, file by file, and the text each file ends up with. Pure: the
// filesystem side is patch.ts. Diffs are read in `git diff` form (`a/` and `b/` prefixes, new,
// deleted, renamed and copied files, mode lines) by the `diff` package.
import { applyPatch, parsePatch, type StructuredPatch } from 'diff';
import { safeRelativePath } from './relative-path.js';

/** A patch that cannot be applied; the message names the patch, the file and the hunk. */
export class PatchFailure extends Error {
  override name = 'PatchFailure';
}

export interface FileChange {
  /** Path read from, relative to the source directory; absent when the file is created. */
  from?: string;
  /** Path written to; absent when the file is deleted. */
  to?: string;
  /** Whether `from` disappears (a deletion or a rename). */
  removesSource: boolean;
  /** Permission bits the file must end with, when the diff says (`new file mode 100755`). */
  mode?: number;
  patch: StructuredPatch;
}

const NO_FILE = '/dev/null';

/** The file changes of one diff, in order; throws PatchFailure for changes the runner refuses. */
export function planChanges(patchName: string, text: string): FileChange[] {
  let parsed: StructuredPatch[];
  try {
    parsed = parsePatch(text);
  } catch (error) {
    throw new PatchFailure(`patch ${patchName} cannot be parsed: ${(error as Error).message}`);
  }
  return parsed.filter((patch) => !isEmptyEntry(patch)).map((patch) => planChange(patchName, patch));
}

function planChange(patchName: string, patch: StructuredPatch): FileChange {
  const shown = patch.newFileName ?? patch.oldFileName ?? '(unnamed file)';
  const refuse = (why: string): never => {
    throw new PatchFailure(`patch ${patchName}: ${why}`);
  };
  if (patch.oldFileName === undefined && patch.newFileName === undefined) {
    refuse('a hunk has no file names (expected `--- a/<path>` and `+++ b/<path>`)');
  }
  if (patch.isBinary) refuse(`binary change to ${shown} cannot be applied from a text diff`);
  const created = patch.isCreate === true || patch.oldFileName === NO_FILE;
  const deleted = patch.isDelete === true || patch.newFileName === NO_FILE;
  const from = created ? undefined : checkedPath(patchName, patch.oldFileName, 'a/');
  const to = deleted ? undefined : checkedPath(patchName, patch.newFileName, 'b/');
  const change: FileChange = { removesSource: deleted || patch.isRename === true, patch };
  if (from !== undefined) change.from = from;
  if (to !== undefined) change.to = to;
  const mode = modeOf(patchName, shown, deleted ? undefined : patch.newMode);
  if (mode !== undefined) change.mode = mode;
  return change;
}

/** A header-only entry that changes nothing (git prints these for some mode-less metadata). */
function isEmptyEntry(patch: StructuredPatch): boolean {
  return (
    patch.oldFileName === undefined &&
    patch.newFileName === undefined &&
    patch.hunks.length === 0 &&
    !patch.isGit
  );
}

function checkedPath(patchName: string, name: string | undefined, prefix: 'a/' | 'b/'): string {
  const stripped = name?.startsWith(prefix) ? name.slice(prefix.length) : name;
  const path = stripped === undefined ? undefined : safeRelativePath(stripped);
  if (path === undefined) {
    throw new PatchFailure(
      `patch ${patchName}: path ${JSON.stringify(name ?? '')} leaves the source directory`,
    );
  }
  return path;
}

/** Regular files only: a symbolic link or submodule in a diff cannot be applied as text. */
function modeOf(patchName: string, shown: string, mode: string | undefined): number | undefined {
  if (mode === undefined) return undefined;
  const type = mode.slice(0, -3);
  if (type !== '100' && type !== '10') {
    throw new PatchFailure(
      `patch ${patchName}: ${shown} has mode ${mode}; only regular files can be patched`,
    );
  }
  return Number.parseInt(mode.slice(-3), 8);
}

export type HunkOutcome = { ok: true; text: string } | { ok: false; hunk: number; header: string };

/** The text after every hunk, or the first hunk (1-based) that does not fit exactly. */
export function applyHunks(source: string, patch: StructuredPatch): HunkOutcome {
  if (patch.hunks.length === 0) return { ok: true, text: source };
  const whole = applyPatch(source, patch);
  if (whole !== false) return { ok: true, text: whole };
  // applyPatch only says "no"; the first prefix of hunks that fails names the culprit.
  const failing = patch.hunks.findIndex(
    (_, index) => applyPatch(source, { ...patch, hunks: patch.hunks.slice(0, index + 1) }) === false,
  );
  const index = failing === -1 ? patch.hunks.length - 1 : failing;
  const hunk = patch.hunks[index];
  const header = hunk
    ? `@@ -${hunk.oldStart},${hunk.oldLines} +${hunk.newStart},${hunk.newLines} @@`
    : '@@ ? @@';
  return { ok: false, hunk: index + 1, header };
}
