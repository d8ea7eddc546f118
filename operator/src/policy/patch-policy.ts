// The patch policy: whether a code candidate's diff may go on to be evaluated, decided from plain
// data. A candidate comes from an LLM or a tool, so its diff is treated as hostile text: it may
// reach only the paths the agent may change, never the anchors (protected paths, objective
// files, the tests), never escape the repository or smuggle in what a text review cannot see
// (symlinks, executables, submodules, binary data), stay within size limits, and apply exactly
// to the base tree. A refused candidate gets every reason that applies, not just the first, so
// whoever reads its status can fix them all at once.
//
// No I/O: the base tree comes in as a read function, and only paths already shown to be safe
// are ever passed to it.
import type { StructuredPatchHunk } from 'diff';
import { applyHunks, parseGitDiff, type ChangeKind, type FileChange } from './diff-parse.js';
import { describeChain, type AnchorImport } from './anchor-imports.js';
import type { Refusal } from './refusal.js';
import { coveringEntry } from './repo-path.js';
import { conventionFile, namedExplicitly } from './convention-files.js';
import { droppedTests, newDisablingMarkers } from './test-changes.js';

export type { ChangeKind } from './diff-parse.js';
export { REFUSAL_RULES, type Refusal, type RefusalRule } from './refusal.js';

export interface PatchLimits {
  /** Most files one candidate may change (a rename counts once). */
  maxFiles: number;
  /** Most lines one candidate may add and remove, together. */
  maxChangedLines: number;
  /** Most bytes the diff text may take, in UTF-8. */
  maxBytes: number;
}

/** The tree a diff is judged against: a file's content, or undefined when there is no such file. */
export interface BaseTree {
  read(path: string): string | undefined;
}

export interface PatchPolicyInput {
  /** The candidate, as `git diff` prints it. */
  diff: string;
  /** Files and directories the agent may change (spec.source.paths); '.' is the whole repository. */
  allowedPaths: readonly string[];
  /** Files and directories no candidate may touch (spec.source.protectedPaths). */
  protectedPaths: readonly string[];
  /** Paths protected because a protected file imports them, or would if they existed; with why. */
  protectedImports: ReadonlyMap<string, AnchorImport>;
  /** Files that define the objectives or benchmarks a candidate is judged by; never touched. */
  objectiveFiles: readonly string[];
  /** Files and directories holding tests: tests may be added there, never removed or switched off. */
  testPaths: readonly string[];
  limits: PatchLimits;
  tree: BaseTree;
}

/** One file an accepted diff changes, for the steps that apply and describe it. */
export interface ChangedFile {
  /** The path after the change; for a deleted file, the path it had. */
  path: string;
  /** The path before a rename or copy. */
  oldPath?: string;
  kind: ChangeKind;
  linesAdded: number;
  linesRemoved: number;
}

export type PatchVerdict = { accepted: true; files: ChangedFile[] } | { accepted: false; reasons: Refusal[] };

/** Decides whether a candidate's diff is acceptable; a refusal lists every rule it breaks. */
export function checkPatch(input: PatchPolicyInput): PatchVerdict {
  if (input.diff.trim() === '') {
    return {
      accepted: false,
      reasons: [{ rule: 'Empty', message: 'The diff is empty: it changes no file.' }],
    };
  }
  const parsed = parseGitDiff(input.diff);
  const reasons: Refusal[] = [...parsed.problems];
  for (const change of parsed.changes) {
    reasons.push(
      ...checkPlacement(change, input),
      ...checkConventionFiles(change, input.allowedPaths),
      ...checkModes(change),
      ...checkText(change),
      ...checkTests(change, input.testPaths),
      ...checkApplies(change, input.tree),
    );
  }
  const files = parsed.changes.map(describe);
  reasons.push(...checkLimits(input, parsed.sectionCount, files));
  if (reasons.length > 0) return { accepted: false, reasons: distinct(reasons) };
  return { accepted: true, files };
}

/** Allowed, protected and objective paths. A copy only reads its source: only its target must be allowed. */
function checkPlacement(change: FileChange, input: PatchPolicyInput): Refusal[] {
  const named = pathsOf(change);
  const changed = change.kind === 'copy' ? [change.newPath as string] : named;
  const reasons: Refusal[] = [];
  for (const path of changed) {
    if (coveringEntry(path, input.allowedPaths) === undefined) {
      const allowed = input.allowedPaths.length > 0 ? input.allowedPaths.join(', ') : 'none';
      reasons.push({
        rule: 'OutsideAllowedPaths',
        path,
        message: `${path} is outside the paths this agent may change (${allowed}).`,
      });
    }
  }
  for (const path of named) {
    const protectedBy = coveringEntry(path, input.protectedPaths);
    if (protectedBy !== undefined) {
      reasons.push({
        rule: 'ProtectedPath',
        path,
        message: `${path} is protected by '${protectedBy}'; no candidate may touch it.`,
      });
    }
    const imported = input.protectedImports.get(path);
    if (imported !== undefined) {
      reasons.push({
        rule: 'ProtectedDependency',
        path,
        message: protectedDependencyMessage(path, imported),
      });
    }
    const objective = coveringEntry(path, input.objectiveFiles);
    if (objective !== undefined) {
      reasons.push({
        rule: 'ObjectiveFile',
        path,
        message: `${path} defines what candidates are judged by ('${objective}'); no candidate may touch it.`,
      });
    }
  }
  return reasons;
}

function protectedDependencyMessage(path: string, why: AnchorImport): string {
  const root = why.chain[0]!;
  const by = `${root} (protected by '${why.anchor}')`;
  if (why.shadows === undefined) {
    return `${path} is imported by ${by} through ${describeChain(why.chain)}: changing it changes the protected file's behaviour; no candidate may touch it.`;
  }
  const importer = why.chain[why.chain.length - 1]!;
  const through = why.chain.length > 1 ? `, reached through ${describeChain(why.chain)}` : '';
  const now =
    why.shadows.loads === undefined ? 'which finds no file today' : `which loads ${why.shadows.loads} today`;
  return `${path} would be loaded by the import '${why.shadows.specifier}' of ${importer} (${now}); ${importer} is part of ${by}${through}, so no candidate may create it.`;
}

/**
 * Files toolchains load by convention (package manifests, loader and compiler settings, installed
 * packages): refused unless `source.paths` names the file itself; under node_modules, always.
 */
function checkConventionFiles(change: FileChange, allowedPaths: readonly string[]): Refusal[] {
  return pathsOf(change).flatMap((path): Refusal[] => {
    const found = conventionFile(path);
    if (!found || (found.canBeAllowed && namedExplicitly(path, allowedPaths))) return [];
    const how = found.canBeAllowed ? ` unless source.paths names it ('${path}')` : '';
    return [
      {
        rule: 'ConventionFile',
        path,
        message: `${path} is ${found.kind}: toolchains load it by convention, so changing it reaches beyond the paths the agent allowed; candidates may not change it${how}.`,
      },
    ];
  });
}

/** Symlinks, submodules and executables: what the file becomes, beyond its text. */
function checkModes(change: FileChange): Refusal[] {
  if (change.kind === 'delete') return [];
  const path = change.newPath as string;
  const becomes = (mode: string) => change.newMode === mode || change.indexMode === mode;
  const reasons: Refusal[] = [];
  if (becomes('120000')) {
    reasons.push({
      rule: 'Symlink',
      path,
      message: `${path} would be a symbolic link (mode 120000); candidates may not add or change symlinks.`,
    });
  }
  if (becomes('160000')) {
    reasons.push({
      rule: 'Submodule',
      path,
      message: `${path} would be a git submodule (mode 160000); candidates may not add or change submodules.`,
    });
  }
  // An index line's 100755 only says the file was executable already; setting the bit needs a mode line.
  if (change.newMode === '100755') {
    reasons.push({
      rule: 'ExecutableBit',
      path,
      message: `${path} would become executable (mode 100755); candidates may not set the executable bit.`,
    });
  }
  return reasons;
}

// Tab, form feed and carriage return occur in source files; other control characters do not, and
// U+FFFD is what bytes that were not UTF-8 turn into on the way here.
// eslint-disable-next-line no-control-regex -- control characters are exactly what is looked for
const NON_TEXT = /[\u0000-\u0008\u000b\u000e-\u001f\u007f\ufffd]/;

/** Binary content, declared by git or hidden in added lines. */
function checkText(change: FileChange): Refusal[] {
  const path = (change.newPath ?? change.oldPath) as string;
  if (change.binary) {
    return [
      {
        rule: 'Binary',
        path,
        message: `${path} has binary content ('${change.binary}'); candidates may change text only.`,
      },
    ];
  }
  for (const hunk of change.patch.hunks) {
    let lineNumber = hunk.newStart;
    for (const line of hunk.lines) {
      if (line.startsWith('+')) {
        const found = NON_TEXT.exec(line.slice(1))?.[0];
        if (found !== undefined) {
          return [
            {
              rule: 'Binary',
              path,
              message: `${path} would get non-text content: its line ${lineNumber} holds ${describeCharacter(found)}; candidates may change text only.`,
            },
          ];
        }
      }
      if (line.startsWith('+') || line.startsWith(' ')) lineNumber++;
    }
  }
  return [];
}

function describeCharacter(character: string): string {
  if (character === '\0') return 'a NUL byte';
  if (character === '\ufffd') return 'U+FFFD, the mark of bytes that were not valid UTF-8';
  const code = character.codePointAt(0) ?? 0;
  return `the control character U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** Tests may be added and changed, not deleted, dropped from a file or switched off. */
function checkTests(change: FileChange, testPaths: readonly string[]): Refusal[] {
  const oldEntry = change.oldPath === undefined ? undefined : coveringEntry(change.oldPath, testPaths);
  const newEntry = change.newPath === undefined ? undefined : coveringEntry(change.newPath, testPaths);
  const keep = 'candidates may add tests but not remove them';
  if (change.kind === 'delete' && oldEntry !== undefined) {
    const path = change.oldPath as string;
    return [
      {
        rule: 'TestDeleted',
        path,
        message: `${path} holds tests ('${oldEntry}') and would be deleted; ${keep}.`,
      },
    ];
  }
  if (change.kind === 'rename' && oldEntry !== undefined && newEntry === undefined) {
    const path = change.oldPath as string;
    return [
      {
        rule: 'TestDeleted',
        path,
        message: `${path} holds tests ('${oldEntry}') and would move to ${change.newPath}, outside the test paths; ${keep}.`,
      },
    ];
  }
  if (oldEntry === undefined && newEntry === undefined) return [];

  const path = (change.newPath ?? change.oldPath) as string;
  const { added, removed } = changedLines(change.patch.hunks);
  const reasons: Refusal[] = [];
  const dropped = droppedTests(removed, added);
  if (dropped.length > 0) {
    const tests = dropped.length === 1 ? 'the test' : 'the tests';
    reasons.push({
      rule: 'TestRemoved',
      path,
      message: `${path} would lose ${tests} ${dropped.join(', ')}; ${keep}.`,
    });
  }
  const markers = newDisablingMarkers(removed, added);
  if (markers.length > 0) {
    reasons.push({
      rule: 'TestDisabled',
      path,
      message: `${path} would skip tests or run only some of them (it adds ${markers.join(', ')}); every test must keep running.`,
    });
  }
  return reasons;
}

/** Whether the change applies exactly to the base tree, as `git apply` without fuzz would. */
function checkApplies(change: FileChange, tree: BaseTree): Refusal[] {
  const refuse = (path: string, message: string): Refusal[] => [{ rule: 'DoesNotApply', path, message }];
  // A binary change cannot be checked against text; it is refused as Binary already.
  if (change.binary) return [];
  if (change.kind !== 'modify' && change.kind !== 'delete' && change.newPath !== undefined) {
    if (tree.read(change.newPath) !== undefined) {
      return refuse(
        change.newPath,
        `${change.newPath} already exists in the base tree, so the diff cannot create it.`,
      );
    }
  }
  let source = '';
  if (change.oldPath !== undefined) {
    const current = tree.read(change.oldPath);
    if (current === undefined) {
      return refuse(
        change.oldPath,
        `${change.oldPath} does not exist in the base tree, so the diff cannot change it.`,
      );
    }
    source = current;
  }
  const path = (change.oldPath ?? change.newPath) as string;
  let result: string | false;
  try {
    result = applyHunks(source, change.patch);
  } catch {
    result = false;
  }
  if (result === false) {
    return refuse(
      path,
      `The diff does not apply to ${path}: its context or removed lines differ from the base tree.`,
    );
  }
  if (change.kind === 'delete' && result !== '') {
    return refuse(path, `The diff deletes ${path} but does not remove all of its content.`);
  }
  return [];
}

function checkLimits(
  input: PatchPolicyInput,
  sectionCount: number,
  files: readonly ChangedFile[],
): Refusal[] {
  const { maxFiles, maxChangedLines, maxBytes } = input.limits;
  const reasons: Refusal[] = [];
  if (sectionCount > maxFiles) {
    reasons.push({
      rule: 'TooManyFiles',
      message: `The diff changes ${sectionCount} files; the limit is ${maxFiles}.`,
    });
  }
  const changedLines = files.reduce((sum, file) => sum + file.linesAdded + file.linesRemoved, 0);
  if (changedLines > maxChangedLines) {
    reasons.push({
      rule: 'TooManyChangedLines',
      message: `The diff adds and removes ${changedLines} lines in all; the limit is ${maxChangedLines}.`,
    });
  }
  const bytes = Buffer.byteLength(input.diff, 'utf8');
  if (bytes > maxBytes) {
    reasons.push({ rule: 'TooLarge', message: `The diff is ${bytes} bytes long; the limit is ${maxBytes}.` });
  }
  return reasons;
}

function describe(change: FileChange): ChangedFile {
  const { added, removed } = changedLines(change.patch.hunks);
  const file: ChangedFile = {
    path: (change.newPath ?? change.oldPath) as string,
    kind: change.kind,
    linesAdded: added.length,
    linesRemoved: removed.length,
  };
  if (change.kind === 'rename' || change.kind === 'copy') file.oldPath = change.oldPath;
  return file;
}

/** The lines a change adds and removes, without their '+' and '-'. */
function changedLines(hunks: readonly StructuredPatchHunk[]): { added: string[]; removed: string[] } {
  const added: string[] = [];
  const removed: string[] = [];
  for (const hunk of hunks) {
    for (const line of hunk.lines) {
      if (line.startsWith('+')) added.push(line.slice(1));
      else if (line.startsWith('-')) removed.push(line.slice(1));
    }
  }
  return { added, removed };
}

/** The old and new paths of a change, once each. */
function pathsOf(change: FileChange): string[] {
  return [...new Set([change.oldPath, change.newPath])].filter((path): path is string => path !== undefined);
}

/** The same reason found twice (a rename onto itself, say) is told once. */
function distinct(reasons: readonly Refusal[]): Refusal[] {
  const seen = new Set<string>();
  return reasons.filter((reason) => {
    const key = `${reason.rule}\0${reason.path ?? ''}\0${reason.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * The files as the policy judged them: each path the diff touches, with its text after jsdiff
 * applied the diff to `tree` (null when the diff removes it). Paths whose hunks do not apply are
 * left out (the policy refuses those). The caller compares this with what git made of the same
 * diff: where the two differ, the policy judged a change other than the one that would ship.
 */
export function judgedFiles(diff: string, tree: BaseTree): Map<string, string | null> {
  const files = new Map<string, string | null>();
  for (const change of parseGitDiff(diff).changes) {
    if (change.kind === 'rename' && change.oldPath !== undefined) files.set(change.oldPath, null);
    if (change.kind === 'delete') {
      if (change.oldPath !== undefined) files.set(change.oldPath, null);
      continue;
    }
    const source = change.oldPath !== undefined ? tree.read(change.oldPath) : '';
    if (source === undefined || change.newPath === undefined) continue;
    let result: string | false;
    try {
      result = applyHunks(source, change.patch);
    } catch {
      result = false;
    }
    if (result !== false) files.set(change.newPath, result);
  }
  return files;
}
