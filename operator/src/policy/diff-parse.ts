// Reads a diff in git's format (as `git diff` prints it) into one change per file.
//
// The hunks, the quoted file names and most extended headers are read by jsdiff's parsePatch.
// This module adds what a policy needs on top: it splits the text at `diff --git` lines, insists
// that every line is git diff syntax (jsdiff skips lines it does not know, and text that one
// reader skips and another applies is how a patch smuggles a change past a check), reads the file
// mode from `index` lines and notices `GIT binary patch` data, both of which jsdiff ignores, and
// checks that the names a section gives in its `diff --git` line, its rename or copy lines and
// its `---`/`+++` lines agree and are safe repository paths. `applyHunks` applies a change's
// hunks the way git compares lines: line breaks included.
import { applyPatch, parsePatch, type StructuredPatch } from 'diff';
import type { Refusal } from './refusal.js';
import { unsafePathProblem } from './repo-path.js';

export type ChangeKind = 'add' | 'modify' | 'delete' | 'rename' | 'copy';

/** One file's change, its names checked to be safe relative paths inside the repository. */
export interface FileChange {
  /** Line of the change's `diff --git` header in the whole diff, counting from 1. */
  line: number;
  kind: ChangeKind;
  /** The path before the change; absent for an added file. Equals newPath for a modified file. */
  oldPath?: string;
  /** The path after the change; absent for a deleted file. */
  newPath?: string;
  /** A mode the change sets: `new file mode` or `new mode`. */
  newMode?: string;
  /** The mode an `index` line reports: the mode of a file whose mode the change keeps. */
  indexMode?: string;
  /** The header that marks the change as binary, when it is one; binary changes carry no hunks. */
  binary?: string;
  /** The text change for jsdiff's applyPatch; no hunks for renames, mode changes and empty files. */
  patch: StructuredPatch;
}

export interface ParsedDiff {
  /** How many `diff --git` sections the diff has, readable or not. */
  sectionCount: number;
  changes: FileChange[];
  /** Why some of the diff could not be read; a section with a problem yields no change. */
  problems: Refusal[];
}

const EXTENDED_HEADERS = [
  /^(?:old mode|new mode|deleted file mode|new file mode) [0-7]{6}$/,
  /^(?:rename|copy) (?:from|to) ./,
  /^(?:dis)?similarity index \d{1,3}%$/,
  /^index [0-9a-f]{4,64}\.\.[0-9a-f]{4,64}(?: [0-7]{6})?$/,
];
/** Extended header lines that only come together, one of each. */
const HEADER_PAIRS = [
  ['rename from', 'rename to'],
  ['copy from', 'copy to'],
  ['old mode', 'new mode'],
] as const;
const BINARY_MARKERS = [/^GIT binary patch$/, /^Binary files .* differ$/];
/** Regular file, executable file, symbolic link, submodule: every mode git writes for an entry. */
const KNOWN_MODES = new Set(['100644', '100755', '120000', '160000']);
/** What may follow the `---`/`+++` lines: hunk headers, hunk lines, and blank lines. */
const BODY_LINE = /^(?:[ +\-\\]|@@ |$)/;

/** Splits `text` into file changes; what cannot be read is reported as Malformed or UnsafePath. */
export function parseGitDiff(text: string): ParsedDiff {
  const lines = text.split('\n');
  const starts: number[] = [];
  lines.forEach((line, index) => {
    if (line.startsWith('diff --git ')) starts.push(index);
  });
  const problems: Refusal[] = [];
  const firstText = lines.findIndex((line) => line.trim() !== '');
  if (starts.length === 0) {
    return { sectionCount: 0, changes: [], problems: [malformed("it has no 'diff --git' line")] };
  }
  if (firstText < (starts[0] as number)) {
    problems.push(malformed(`line ${firstText + 1} comes before the first 'diff --git' line`));
  }
  // git reads every line up to its line break; without one, the last line is a corrupt hunk line
  // or a header git cannot read. Only a '\ No newline at end of file' marker may end the text so.
  const last = lines.at(-1) as string;
  if (last !== '' && !last.startsWith('\\')) {
    problems.push(
      malformed(`its last line (${lines.length}) has no line break, which git reads as a corrupt patch`),
    );
  }
  if (starts.some((start) => lines[start]?.endsWith('\r'))) {
    problems.push(malformed('it has Windows line endings (CRLF); git prints LF'));
    return { sectionCount: starts.length, changes: [], problems };
  }

  const changes: FileChange[] = [];
  starts.forEach((start, n) => {
    const end = starts[n + 1] ?? lines.length;
    // A section followed by another ends with a whole line. An empty one may be a blank context
    // line written without its space (git writes it so with diff.suppressBlankEmpty, and reads
    // it so), but jsdiff takes an empty last line for the end of the text: the section is given
    // its line break back.
    const sectionLines = lines.slice(start, end);
    if (n + 1 < starts.length && sectionLines.at(-1) === '') sectionLines.push('');
    const section = parseSection(sectionLines, start + 1);
    if ('problem' in section) problems.push(section.problem);
    else changes.push(section.change);
  });
  problems.push(...pathsChangedTwice(changes));
  return { sectionCount: starts.length, changes, problems };
}

type SectionResult = { change: FileChange } | { problem: Refusal };

function parseSection(lines: string[], firstLine: number): SectionResult {
  const at = (index: number) => firstLine + index;
  let bodyStart = lines.length;
  let binary: string | undefined;
  let indexMode: string | undefined;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] as string;
    if (/^(?:---|\+\+\+|@@) /.test(line)) {
      bodyStart = i;
      break;
    }
    if (BINARY_MARKERS.some((marker) => marker.test(line))) {
      // What follows is encoded binary data; the change is refused whatever it holds.
      binary = line.startsWith('GIT') ? 'GIT binary patch' : 'Binary files ... differ';
      bodyStart = i;
      break;
    }
    if (line === '' && lines.slice(i).every((rest) => rest === '')) break;
    if (!EXTENDED_HEADERS.some((header) => header.test(line))) {
      return { problem: malformed(`line ${at(i)} is not part of a git diff header: ${shorten(line)}`) };
    }
    indexMode = /^index \S+ ([0-7]{6})$/.exec(line)?.[1] ?? indexMode;
  }
  if (!binary && bodyStart < lines.length) {
    if (!lines[bodyStart]?.startsWith('--- ') || !lines[bodyStart + 1]?.startsWith('+++ ')) {
      return {
        problem: malformed(`the hunks at line ${at(bodyStart)} lack the '---' and '+++' lines git prints`),
      };
    }
    const stray = lines.findIndex((line, i) => i >= bodyStart && !BODY_LINE.test(line));
    if (stray >= 0) {
      return {
        problem: malformed(`line ${at(stray)} is not part of a hunk: ${shorten(lines[stray] as string)}`),
      };
    }
  }

  let gitLine: StructuredPatch | undefined;
  let header: StructuredPatch | undefined;
  let full: StructuredPatch[];
  try {
    gitLine = parsePatch(lines[0] as string)[0];
    header = parsePatch(lines.slice(0, bodyStart).join('\n'))[0];
    full = binary ? [header as StructuredPatch] : parsePatch(lines.join('\n'));
  } catch (error) {
    // jsdiff counts lines from the start of the text it was given: this section.
    const detail = (error as Error).message.replace(
      /\bline (\d+)/g,
      (_, k: string) => `line ${at(Number(k) - 1)}`,
    );
    const sentence = detail.trim().replace(/\.$/, '');
    return { problem: malformed(sentence.charAt(0).toLowerCase() + sentence.slice(1)) };
  }
  const patch = full[0];
  if (!gitLine?.oldFileName || !gitLine.newFileName) {
    // jsdiff reads unquoted names only with git's a/ and b/ prefixes; anything else is a path
    // this policy will not guess at. A quoted name it cannot read is broken quoting.
    const quoted = (lines[0] as string).startsWith('diff --git "');
    if (quoted) return { problem: malformed(`line ${firstLine} has a badly quoted file name`) };
    return {
      problem: unsafe(
        `The diff at line ${firstLine} names its file without git's a/ and b/ prefixes; only diffs as 'git diff' prints them are accepted.`,
      ),
    };
  }
  if (!header || !patch) return { problem: malformed(`the section at line ${firstLine} cannot be read`) };
  if (full.length !== 1) {
    return { problem: malformed(`the section at line ${firstLine} holds more than one '---'/'+++' pair`) };
  }
  const miscounted = miscountedHunk(lines, patch);
  if (miscounted !== undefined) {
    return {
      problem: malformed(
        `the hunk at line ${at(miscounted)} holds a different number of lines than its header says`,
      ),
    };
  }
  const unread = binary ? undefined : unreadBodyLine(lines, bodyStart, patch);
  if (unread !== undefined) {
    return {
      problem: malformed(`line ${at(unread)} is not part of a hunk: ${shorten(lines[unread] as string)}`),
    };
  }
  const marker = misplacedMarker(lines, patch);
  if (marker !== undefined) {
    return {
      problem: malformed(
        `the '\\ No newline at end of file' at line ${at(marker)} does not follow the last line of the file's old or new text`,
      ),
    };
  }
  for (const mode of [header.newMode, indexMode]) {
    if (mode !== undefined && !KNOWN_MODES.has(mode)) {
      return { problem: malformed(`the section at line ${firstLine} sets the unknown file mode ${mode}`) };
    }
  }

  // git reads a rename, a copy or a mode change only from both of its lines, once each (and
  // refuses the patch otherwise); jsdiff takes either line alone, a rename's or copy's other name
  // from the 'diff --git' line.
  for (const pair of HEADER_PAIRS) {
    const count = (start: string) =>
      lines.slice(1, bodyStart).filter((l) => l.startsWith(`${start} `)).length;
    const [first, second] = pair.map(count) as [number, number];
    if (first + second > 0 && (first !== 1 || second !== 1)) {
      return {
        problem: malformed(
          `the section at line ${firstLine} needs one '${pair[0]}' and one '${pair[1]}' line`,
        ),
      };
    }
  }
  const flags = [header.isCreate, header.isDelete, header.isRename, header.isCopy].filter(Boolean).length;
  if (flags > 1) {
    return {
      problem: malformed(
        `the section at line ${firstLine} says its file is more than one of new, deleted, renamed, copied`,
      ),
    };
  }
  // A new file has no old text for a hunk to hold: git refuses context or removed lines in one
  // ("depends on old contents"), where jsdiff matches an empty line to the empty file.
  if (header.isCreate && patch.hunks.some((hunk) => hunk.oldLines > 0)) {
    return { problem: malformed(`the new file at line ${firstLine} has hunks with old lines`) };
  }
  const kind: ChangeKind = header.isCreate
    ? 'add'
    : header.isDelete
      ? 'delete'
      : header.isRename
        ? 'rename'
        : header.isCopy
          ? 'copy'
          : 'modify';

  const names = checkNames(
    lines[0] as string,
    gitLine,
    header,
    patch,
    bodyStart < lines.length && !binary,
    firstLine,
  );
  if ('problem' in names) return names;
  const { oldPath, newPath } = names;
  if ((kind === 'rename' || kind === 'copy') && oldPath === newPath) {
    return {
      problem: malformed(`the section at line ${firstLine} renames or copies ${oldPath} onto itself`),
    };
  }
  if (kind === 'modify' && !binary && patch.hunks.length === 0 && header.newMode === undefined) {
    return { problem: malformed(`the section for ${oldPath} at line ${firstLine} changes nothing`) };
  }

  const change: FileChange = { line: firstLine, kind, patch };
  if (kind !== 'add') change.oldPath = oldPath;
  if (kind !== 'delete') change.newPath = newPath;
  if (header.newMode !== undefined) change.newMode = header.newMode;
  if (indexMode !== undefined) change.indexMode = indexMode;
  if (binary) change.binary = binary;
  return { change };
}

/**
 * The index in `lines` of a hunk header whose counts jsdiff had to correct, if any. jsdiff reads
 * a header such as `@@ -3 +3,2 @@` over two added lines as a pure insertion, where git refuses
 * the hunk: what git would refuse must not pass here.
 */
function miscountedHunk(lines: readonly string[], patch: StructuredPatch): number | undefined {
  const headers = lines.flatMap((line, index) => (line.startsWith('@@ ') ? [index] : []));
  for (const [n, index] of headers.entries()) {
    const declared = /^@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@/.exec(lines[index] as string);
    const hunk = patch.hunks[n];
    if (!declared || !hunk) return index;
    if (Number(declared[1] ?? 1) !== hunk.oldLines || Number(declared[2] ?? 1) !== hunk.newLines) {
      return index;
    }
  }
  return undefined;
}

/**
 * The index in `lines` of a line after the '---'/'+++' lines that no hunk holds, if any: jsdiff
 * skips such lines and reads the hunks after them, git refuses the patch (garbage before the
 * first hunk; a hunk after a blank line, where git expects no more). Only empty lines may follow
 * the last hunk, which git skips too.
 */
function unreadBodyLine(
  lines: readonly string[],
  bodyStart: number,
  patch: StructuredPatch,
): number | undefined {
  if (bodyStart >= lines.length) return undefined;
  let next = bodyStart + 2;
  for (const hunk of patch.hunks) {
    if (!lines[next]?.startsWith('@@ ')) return next;
    next += 1 + hunk.lines.length;
  }
  const stray = lines.slice(next).findIndex((line) => line !== '');
  return stray < 0 ? undefined : next + stray;
}

/**
 * The index in `lines` of a '\ No newline at end of file' marker that does not end the old or
 * the new text of the file's last hunk, if any. git takes the line break off whatever line comes
 * before a marker, wherever it is, joining that line to the next one; jsdiff looks for markers in
 * the last hunk only and takes them to be about the file's final newline. They agree only where
 * the marker does end a side: after the last context line, the last removed or the last added one.
 */
function misplacedMarker(lines: readonly string[], patch: StructuredPatch): number | undefined {
  const headers = lines.flatMap((line, index) => (line.startsWith('@@ ') ? [index] : []));
  const sides = (line: string | undefined) => ({
    old: line !== undefined && /^(?:[ -]|$)/.test(line),
    new: line !== undefined && /^(?:[ +]|$)/.test(line),
  });
  for (const [n, hunk] of patch.hunks.entries()) {
    for (const [i, line] of hunk.lines.entries()) {
      if (!line.startsWith('\\')) continue;
      const ended = sides(hunk.lines[i - 1]);
      const later = hunk.lines.slice(i + 1).map(sides);
      const endsASide =
        n === patch.hunks.length - 1 &&
        (ended.old || ended.new) &&
        !later.some((side) => (ended.old && side.old) || (ended.new && side.new));
      if (!endsASide) return (headers[n] as number) + 1 + i;
    }
  }
  return undefined;
}

/**
 * The section's paths without git's `a/` and `b/` prefixes, once every place that names them
 * agrees: the `diff --git` line with the rename or copy lines, and both with `---`/`+++`, where
 * only an added file may come from /dev/null and only a deleted one go to it.
 */
function checkNames(
  gitLineText: string,
  gitLine: StructuredPatch,
  header: StructuredPatch,
  patch: StructuredPatch,
  hasFileHeaders: boolean,
  line: number,
): { oldPath: string; newPath: string } | { problem: Refusal } {
  const oldName = header.oldFileName ?? '';
  const newName = header.newFileName ?? '';
  // jsdiff trims the names on '---'/'+++' lines, where git ends an unquoted name only at a tab:
  // a name that ends in whitespace cannot be read the same way in both places, so it is refused
  // for what it is rather than as headers that disagree.
  const padded = [oldName, newName].find((name) => /\s$/.test(name));
  if (padded !== undefined) {
    const path = JSON.stringify(padded.replace(/^[ab]\//, ''));
    return {
      problem: unsafe(
        `The diff names the path ${path}, which ends with whitespace; diff readers drop it, so such names are not accepted.`,
      ),
    };
  }
  // Unquoted names with spaces can make a 'diff --git' line that splits more than one way
  // ('diff --git a/with space.ts b/a b/c.ts': is the new name 'b/a b/c.ts' or 'b/c.ts'?). jsdiff
  // picks one split; git takes a renamed or copied file's names from its rename or copy lines.
  // The line agrees with those lines if it is exactly their two names.
  const splitAgrees = gitLine.oldFileName === oldName && gitLine.newFileName === newName;
  if (!splitAgrees && gitLineText !== `diff --git ${oldName} ${newName}`) {
    return {
      problem: unsafe(
        `The diff names different files at line ${line}: 'diff --git' says ${show(gitLine.oldFileName)} and ${show(gitLine.newFileName)}, its rename or copy lines say ${show(oldName)} and ${show(newName)}.`,
      ),
    };
  }
  if (hasFileHeaders) {
    const expectedOld = header.isCreate ? '/dev/null' : oldName;
    const expectedNew = header.isDelete ? '/dev/null' : newName;
    if (patch.oldFileName === '/dev/null' && !header.isCreate) {
      return {
        problem: unsafe(
          `The diff at line ${line} takes ${show(oldName)} from /dev/null, but only a new file may.`,
        ),
      };
    }
    if (patch.newFileName === '/dev/null' && !header.isDelete) {
      return {
        problem: unsafe(
          `The diff at line ${line} sends ${show(newName)} to /dev/null, but only a deleted file may.`,
        ),
      };
    }
    if (patch.oldFileName !== expectedOld || patch.newFileName !== expectedNew) {
      return {
        problem: unsafe(
          `The diff names different files at line ${line}: 'diff --git' says ${show(oldName)} and ${show(newName)}, its '---' and '+++' lines say ${show(patch.oldFileName)} and ${show(patch.newFileName)}.`,
        ),
      };
    }
  }
  if (!oldName.startsWith('a/') || !newName.startsWith('b/')) {
    return {
      problem: unsafe(
        `The diff at line ${line} names ${show(oldName)} and ${show(newName)} without git's a/ and b/ prefixes; only diffs as 'git diff' prints them are accepted.`,
      ),
    };
  }
  const oldPath = oldName.slice(2);
  const newPath = newName.slice(2);
  for (const path of new Set([oldPath, newPath])) {
    const problem = unsafePathProblem(path) ?? notUtf8Problem(path);
    if (problem) return { problem: unsafe(problem) };
  }
  if (!header.isRename && !header.isCopy && oldPath !== newPath) {
    return {
      problem: unsafe(
        `The diff at line ${line} names ${oldPath} and ${newPath} as one file without rename or copy lines.`,
      ),
    };
  }
  return { oldPath, newPath };
}

/**
 * U+FFFD in a name: bytes that are not UTF-8, octal-quoted (`"\377"`) or raw, decode to it, so
 * the policy cannot tell which file the name is. git writes the real bytes: the policy would judge
 * one path (and read the base under a name several files share) while git changes another.
 */
function notUtf8Problem(path: string): string | undefined {
  if (!path.includes('\ufffd')) return undefined;
  return `The diff names the path ${JSON.stringify(path)}, which is not valid UTF-8 (or holds U+FFFD); only UTF-8 names can be checked.`;
}

/**
 * A path two sections both change: git would apply one on top of the other, or refuse. A copy
 * only reads its source, and git reads it as the base has it whatever else the diff does to it
 * (as judgedFiles does), so one file may be the source of several copies, or copied and changed.
 */
function pathsChangedTwice(changes: readonly FileChange[]): Refusal[] {
  const firstSeen = new Map<string, number>();
  const problems: Refusal[] = [];
  for (const change of changes) {
    const changed = change.kind === 'copy' ? [change.newPath] : [change.oldPath, change.newPath];
    for (const path of new Set(changed)) {
      if (path === undefined) continue;
      const earlier = firstSeen.get(path);
      if (earlier === undefined) {
        firstSeen.set(path, change.line);
        continue;
      }
      const detail = `${path} is changed by the sections at lines ${earlier} and ${change.line}`;
      problems.push(malformed(detail, path));
    }
  }
  return problems;
}

function malformed(detail: string, path?: string): Refusal {
  return { rule: 'Malformed', ...(path ? { path } : {}), message: `The diff cannot be read: ${detail}.` };
}

function unsafe(message: string): Refusal {
  return { rule: 'UnsafePath', message };
}

/** A name as it can be shown in a message: control characters and the like escaped. */
function show(name: string | undefined): string {
  return name !== undefined && /^[\x20-\x7e]+$/.test(name) ? name : JSON.stringify(name ?? '');
}

function shorten(line: string): string {
  return JSON.stringify(line.length > 80 ? `${line.slice(0, 77)}...` : line);
}

/**
 * The text `patch`'s hunks make of `source`, or false when they do not apply exactly (no fuzz).
 *
 * jsdiff compares lines without their line breaks and reads '\ No newline at end of file' as a
 * note about the final newline, found in the last hunk only; git compares lines with their line
 * breaks, a marker taking the break off the line before it. So jsdiff applies, where git refuses,
 * a context line to a last line that has no break or an empty one to the end of a text that has,
 * and where a marker follows a context line it keeps a final newline git takes away. Here every
 * line that has a break carries a sentinel character in its place while jsdiff applies the hunks,
 * so lines match only when their breaks do, and a line a marker leaves without a break joins the
 * next one, as in git.
 */
export function applyHunks(source: string, patch: StructuredPatch): string | false {
  const sentinel = unusedCharacter([source, ...patch.hunks.flatMap((hunk) => hunk.lines)]);
  if (sentinel === undefined) return false;
  const lines = source.split('\n');
  const marked = lines.map((line, i) => (i < lines.length - 1 ? line + sentinel : line)).join('\n');
  const hunks = patch.hunks.map((hunk) => ({
    ...hunk,
    lines: hunk.lines.flatMap((line, i) => {
      if (line.startsWith('\\')) return [];
      const broken = !hunk.lines[i + 1]?.startsWith('\\');
      // An empty line is a context line whose space was dropped (git reads it so too).
      return [(line === '' ? ' ' : line) + (broken ? sentinel : '')];
    }),
  }));
  let result: string | false;
  try {
    result = applyPatch(marked, { ...patch, hunks }, { fuzzFactor: 0, autoConvertLineEndings: false });
  } catch {
    return false;
  }
  if (result === false) return false;
  return result
    .split('\n')
    .map((line) => (line.endsWith(sentinel) ? `${line.slice(0, -1)}\n` : line))
    .join('');
}

/** A character none of `texts` holds, from Unicode's private use area; undefined if they hold them all. */
function unusedCharacter(texts: readonly string[]): string | undefined {
  for (let code = 0xe000; code <= 0xf8ff; code++) {
    const character = String.fromCharCode(code);
    if (!texts.some((text) => text.includes(character))) return character;
  }
  return undefined;
}
