// Writes diffs the way `git diff` prints them, for tests that need many of them: the hunks come
// from jsdiff's structuredPatch, the headers (diff --git, modes, renames, index, ---/+++) are
// written here as git writes them, so a test can also write them slightly wrong on purpose.
import { structuredPatch } from 'diff';

export type EditKind = 'add' | 'modify' | 'delete' | 'rename';

/** One file's change, described by its content before and after. */
export interface FileEdit {
  kind: EditKind;
  /** The path before; for an added file, unused. */
  oldPath: string;
  /** The path after; equal to oldPath except for a rename. */
  newPath: string;
  before: string;
  after: string;
  /** `new file mode` of an added file (100644 when absent). */
  newFileMode?: string;
  /** `old mode` / `new mode` lines of a modified file. */
  modeChange?: { from: string; to: string };
  /** The mode on the `index` line of a modified file (100644 when absent). */
  indexMode?: string;
}

/** Deliberate departures from git's format, for tests of what a policy refuses. */
export interface Distortion {
  /** Prefixes in place of `a/` and `b/` (git's --no-prefix prints none). */
  prefixes?: [oldPrefix: string, newPrefix: string];
  /** Names for the `---` and `+++` lines in place of the right ones, prefixes included. */
  fileHeaders?: [oldName: string, newName: string];
}

/** The whole diff for `edits`, in order. */
export function gitDiff(edits: readonly FileEdit[]): string {
  return edits.map((edit) => gitDiffSection(edit)).join('');
}

/** One file's section of a git diff, ending with a newline. */
export function gitDiffSection(edit: FileEdit, distortion: Distortion = {}): string {
  const [oldPrefix, newPrefix] = distortion.prefixes ?? ['a/', 'b/'];
  const oldName = quoteGitPath(oldPrefix + edit.oldPath);
  const newName = quoteGitPath(newPrefix + edit.newPath);
  const lines = [`diff --git ${oldName} ${newName}`];
  const changed = edit.before !== edit.after;
  const before = fakeObjectId(edit.before);
  const after = fakeObjectId(edit.after);
  if (edit.kind === 'add') {
    lines.push(`new file mode ${edit.newFileMode ?? '100644'}`, `index 0000000..${after}`);
  } else if (edit.kind === 'delete') {
    lines.push('deleted file mode 100644', `index ${before}..0000000`);
  } else {
    if (edit.kind === 'rename') {
      lines.push(
        `similarity index ${changed ? 60 : 100}%`,
        `rename from ${quoteGitPath(edit.oldPath)}`,
        `rename to ${quoteGitPath(edit.newPath)}`,
      );
    }
    if (edit.modeChange) lines.push(`old mode ${edit.modeChange.from}`, `new mode ${edit.modeChange.to}`);
    // git names the mode on the index line only when the change keeps it.
    const mode = edit.modeChange ? '' : ` ${edit.indexMode ?? '100644'}`;
    if (changed) lines.push(`index ${before}..${after}${mode}`);
  }
  if (changed) {
    const [oldHeader, newHeader] = distortion.fileHeaders ?? [
      edit.kind === 'add' ? '/dev/null' : oldName,
      edit.kind === 'delete' ? '/dev/null' : newName,
    ];
    lines.push(`--- ${oldHeader}`, `+++ ${newHeader}`, ...hunkLines(edit.before, edit.after));
  }
  return lines.join('\n') + '\n';
}

/** The hunks between two contents, three lines of context, with git's hunk headers. */
export function hunkLines(before: string, after: string): string[] {
  const { hunks } = structuredPatch('a', 'b', before, after, undefined, undefined, { context: 3 });
  return hunks.flatMap((hunk) => [
    `@@ -${range(hunk.oldStart, hunk.oldLines)} +${range(hunk.newStart, hunk.newLines)} @@`,
    ...hunk.lines,
  ]);
}

/** How many lines a diff from `before` to `after` adds and removes. */
export function changedLineCounts(before: string, after: string): { added: number; removed: number } {
  const lines = hunkLines(before, after);
  return {
    added: lines.filter((line) => line.startsWith('+')).length,
    removed: lines.filter((line) => line.startsWith('-')).length,
  };
}

/** A path as git prints it: C-quoted when it holds a quote, a backslash or a control character. */
export function quoteGitPath(name: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are what forces quoting
  if (!/["\\\u0000-\u001f\u007f]/.test(name)) return name;
  const escapes: Record<string, string> = { '"': '\\"', '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };
  let quoted = '';
  for (const character of name) {
    const code = character.codePointAt(0) as number;
    if (escapes[character]) quoted += escapes[character];
    else if (code < 0x20 || code === 0x7f) quoted += `\\${code.toString(8).padStart(3, '0')}`;
    else quoted += character;
  }
  return `"${quoted}"`;
}

// jsdiff stores a zero-length range one line later than the unified format prints it.
function range(start: number, count: number): string {
  if (count === 0) return `${start - 1},0`;
  return count === 1 ? `${start}` : `${start},${count}`;
}

/** A stand-in for git's abbreviated object id: 7 hex digits that differ with the content. */
function fakeObjectId(content: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < content.length; i++) hash = Math.imul(hash ^ content.charCodeAt(i), 0x01000193);
  return ((hash >>> 0) % 0xfffffff)
    .toString(16)
    .padStart(7, '0')
    .replace(/^0{7}$/, '0000001');
}
