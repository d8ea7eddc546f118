// The patch policy against git itself. The policy judges a diff with its own reader
// (parseGitDiff, jsdiff); the operator ships what `git apply` makes of it. Whatever the policy
// accepts, git must read the same way: the same paths, the same content, the same modes.
//
// Generated (test/support/git-patch-scenarios.ts): base trees of 100644 and 100755 files with LF,
// CRLF and mixed line endings, with and without final newlines, under names git quotes or splits
// awkwardly (spaces, ' b/' inside a name, quotes, backslashes, tabs, newlines, non-ASCII in octal
// or raw, bytes that are not UTF-8); edits that modify, delete, rename and copy (with and without
// content changes), chmod and add files. `git diff` itself writes the diffs (context 0 to 3,
// rename, copy and rewrite detection, quotePath on and off, blank context lines without their
// space), which are then perturbed as a careless or hostile writer would: stale line numbers,
// context cut or added, hunks dropped or swapped, carriage returns, "\ No newline" markers added
// or dropped, names quoted another way or swapped for another file's, lines dropped. The
// hand-written diffs of patch-scenarios.ts go through git too.
//
// Checked, against a scratch repository holding the base tree, with `git apply` run as the
// operator runs it:
// 1. A diff git writes (with context) is accepted exactly when git applies it, unless a rule
//    deliberately stricter than git refuses it (ExecutableBit for a file git does make
//    executable, UnsafePath naming a path the policy will not name); when accepted, the paths
//    the verdict reports are the paths git changes, and the tree the policy judged (judgedFiles,
//    in the modes the diff's headers give) is the tree git made, byte for byte, mode for mode.
// 2. A perturbed diff the policy accepts is applied by git the same way, wherever every hunk
//    sits where its header says. Where git may place a hunk elsewhere than jsdiff (no trailing
//    context, stale line numbers), the paths and modes must still agree; git may only refuse a
//    hunk (candidateFiles then refuses the diff) or write other content into the same files,
//    which placementMismatch must refuse. That is the one disagreement the operator allows the
//    policy, and it catches it itself.
// 3. A clean hand-written diff is accepted and applied by git as the policy judged it.
//
// Each case runs git a handful of times, so runs are few; one scratch repository serves them all.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { placementMismatch } from '../../operator/src/engine/candidate-files.js';
import type { ChangedFilesBundle } from '../../operator/src/git/changed-files.js';
import { parseGitDiff } from '../../operator/src/policy/diff-parse.js';
import {
  checkPatch,
  judgedFiles,
  type BaseTree,
  type PatchVerdict,
  type Refusal,
} from '../../operator/src/policy/patch-policy.js';
import { unsafePathProblem } from '../../operator/src/policy/repo-path.js';
import { cleanScenario, GENEROUS_LIMITS, POLICY, render, type Scenario } from '../support/patch-scenarios.js';
import {
  blobId,
  diffOptions,
  gitPath,
  gitScenario,
  isUtf8Path,
  pathsOf,
  pathText,
  hunkPerturbation,
  linePerturbation,
  perturb,
  ScratchRepo,
  type GitOutcome,
  type GitPath,
  type GitScenario,
  type Tree,
  type TreeEntry,
} from '../support/git-patch-scenarios.js';

const GIT_DIFF_RUNS = 250;
const LINE_PERTURBED_RUNS = 250;
const HUNK_PERTURBED_RUNS = 250;
const HAND_WRITTEN_RUNS = 150;

const repo = new ScratchRepo();
after(() => repo.dispose());

/** The base tree as the operator's snapshot hands it to the policy: names read as UTF-8 text. */
function policyBase(base: Tree): BaseTree {
  const files = new Map([...base].map(([path, file]) => [pathText(path), file.content]));
  return { read: (path) => files.get(path) };
}

type Accepted = Extract<PatchVerdict, { accepted: true }>;

/** The policy with every placement rule open, so that only reading and applying the diff decide. */
function judge(diff: string, base: Tree): PatchVerdict {
  return checkPatch({
    diff,
    allowedPaths: ['.'],
    protectedPaths: [],
    protectedImports: new Map(),
    objectiveFiles: [],
    testPaths: [],
    limits: GENEROUS_LIMITS,
    tree: policyBase(base),
  });
}

/** The whole tree the policy judged: the base, with judgedFiles' files in the modes the diff's headers give. */
function judgedTree(diff: string, base: Tree): Map<GitPath, TreeEntry> {
  const tree = entriesOf(base);
  const modes = new Map<string, string>();
  for (const change of parseGitDiff(diff).changes) {
    if (change.newPath === undefined) continue;
    // Without a mode line a file keeps its mode, a renamed or copied one its source's.
    const kept = change.oldPath === undefined ? undefined : base.get(gitPath(change.oldPath))?.mode;
    modes.set(change.newPath, change.newMode ?? kept ?? '100644');
  }
  for (const [path, content] of judgedFiles(diff, policyBase(base))) {
    if (content === null) tree.delete(gitPath(path));
    else tree.set(gitPath(path), { mode: modes.get(path) ?? '100644', blob: blobId(content) });
  }
  return tree;
}

/** The paths an accepted verdict says the diff changes: a rename changes both of its paths. */
function reportedPaths(verdict: Accepted): GitPath[] {
  const paths = verdict.files.flatMap((file) =>
    file.kind === 'rename' && file.oldPath !== undefined ? [file.path, file.oldPath] : [file.path],
  );
  return [...new Set(paths.map(gitPath))].sort();
}

/** The paths whose content or mode differs between two trees, or that only one of them has. */
function changedPaths(
  before: ReadonlyMap<GitPath, TreeEntry>,
  after: ReadonlyMap<GitPath, TreeEntry>,
): GitPath[] {
  const paths = new Set([...before.keys(), ...after.keys()]);
  return [...paths].filter((path) => !sameEntry(before.get(path), after.get(path))).sort();
}

function sameEntry(a: TreeEntry | undefined, b: TreeEntry | undefined): boolean {
  return a?.mode === b?.mode && a?.blob === b?.blob;
}

function entriesOf(tree: Tree): Map<GitPath, TreeEntry> {
  return new Map([...tree].map(([path, file]) => [path, { mode: file.mode, blob: blobId(file.content) }]));
}

/** A path for messages: its bytes, escaped. */
function show(path: GitPath): string {
  return (
    JSON.stringify(pathText(path)) +
    (isUtf8Path(path) ? '' : ` (bytes ${Buffer.from(path, 'latin1').toString('hex')})`)
  );
}

/**
 * Where the paths an accepted verdict reports differ from the paths git changes. A section may
 * name a file and leave it as it is (a line replaced by itself); git changes nothing there
 * either, which is agreement when the policy judged the file unchanged too.
 */
function reportDisagreement(
  diff: string,
  verdict: Accepted,
  base: Tree,
  made: ReadonlyMap<GitPath, TreeEntry>,
): string | undefined {
  const judgedChanges = new Set(changedPaths(entriesOf(base), judgedTree(diff, base)));
  const reported = reportedPaths(verdict).filter((path) => judgedChanges.has(path));
  const changed = changedPaths(entriesOf(base), made);
  if (reported.join('\0') === changed.join('\0')) return undefined;
  return `the verdict reports ${reported.map(show).join(', ')}; git changes ${changed.map(show).join(', ')}`;
}

/** A path where the tree the policy judged and the tree git made differ. */
interface EntryDisagreement {
  path: GitPath;
  judged?: TreeEntry;
  made?: TreeEntry;
}

function entryDisagreements(
  judged: ReadonlyMap<GitPath, TreeEntry>,
  made: ReadonlyMap<GitPath, TreeEntry>,
): EntryDisagreement[] {
  return changedPaths(judged, made).map((path) => ({ path, judged: judged.get(path), made: made.get(path) }));
}

function describeEntry({ path, judged, made }: EntryDisagreement): string {
  const entry = (e: TreeEntry | undefined) => (e ? `${e.mode} ${e.blob.slice(0, 10)}` : 'absent');
  return `${show(path)}: the policy judged ${entry(judged)}, git made ${entry(made)}`;
}

/** Every way an accepted verdict and the tree the policy judged differ from what git made. */
function disagreements(
  diff: string,
  verdict: Accepted,
  base: Tree,
  made: ReadonlyMap<GitPath, TreeEntry>,
): string[] {
  const report = reportDisagreement(diff, verdict, base, made);
  const entries = entryDisagreements(judgedTree(diff, base), made).map(describeEntry);
  return [...(report ? [report] : []), ...entries];
}

/** Paths as diffs name them that the policy refuses to name at all, whatever the diff does with them. */
function unnameable(path: GitPath): boolean {
  return !isUtf8Path(path) || /\s$/.test(pathText(path)) || unsafePathProblem(pathText(path)) !== undefined;
}

/**
 * Whether refusing a diff git applies is one of the policy's deliberate rules: a file git does
 * make executable, or a name the policy refuses to name (the message names it).
 */
function deliberate(reason: Refusal, scenario: GitScenario, made: ReadonlyMap<GitPath, TreeEntry>): boolean {
  if (reason.rule === 'ExecutableBit' && reason.path !== undefined) {
    const path = gitPath(reason.path);
    return made.get(path)?.mode === '100755' && scenario.base.get(path)?.mode !== '100755';
  }
  if (reason.rule === 'UnsafePath') {
    return pathsOf(scenario).some(
      (path) => unnameable(path) && reason.message.includes(JSON.stringify(pathText(path))),
    );
  }
  return false;
}

/** git refused a hunk (its context or removed lines are not where git looks), not the diff's headers. */
function refusedAHunk(outcome: Extract<GitOutcome, { applied: false }>): boolean {
  return /^error: patch failed: .+:\d+$/m.test(outcome.message) && !/corrupt patch/.test(outcome.message);
}

/** The changed-files bundle the operator would build from git's tree, for placementMismatch. */
function bundleOf(base: Tree, made: ReadonlyMap<GitPath, TreeEntry>): ChangedFilesBundle {
  const changed = changedPaths(entriesOf(base), made);
  const written = changed.filter((path) => made.has(path));
  const contents = repo.blobs(written.map((path) => (made.get(path) as TreeEntry).blob));
  return {
    version: 1,
    base: '0'.repeat(40),
    tree: '0'.repeat(40),
    files: written.map((path) => {
      const entry = made.get(path) as TreeEntry;
      const content = contents.get(entry.blob) as string;
      return {
        path: pathText(path),
        mode: entry.mode as '100644',
        base64: Buffer.from(content).toString('base64'),
      };
    }),
    deleted: changed.filter((path) => !made.has(path)).map(pathText),
  };
}

function context(diff: string, outcome: GitOutcome, verdict: PatchVerdict): string {
  const git = outcome.applied ? 'git applied it' : `git refused it: ${outcome.message.trim()}`;
  const policy = verdict.accepted
    ? 'the policy accepted it'
    : `the policy refused it: ${JSON.stringify(verdict.reasons)}`;
  return `${policy}\n${git}\ndiff:\n${JSON.stringify(diff)}\n${diff}`;
}

test('a diff git writes itself is accepted exactly when git applies it, and judged as git applies it', () => {
  fc.assert(
    fc.property(gitScenario, diffOptions(1), (scenario, options) => {
      repo.store(scenario.base, scenario.edited);
      const diff = repo.diff(options);
      const verdict = judge(diff, scenario.base);
      const outcome = repo.apply(diff);
      const told = context(diff, outcome, verdict);
      if (!outcome.applied) {
        assert.equal(verdict.accepted, false, `the policy accepted a diff git refuses\n${told}`);
        return;
      }
      // git reads its own diff back into the edited tree: the harness is sound. (Not so for names
      // that are not UTF-8 printed raw: as text, their bytes are lost.)
      if (options.quotePath || pathsOf(scenario).every(isUtf8Path)) {
        assert.deepEqual(outcome.tree, entriesOf(scenario.edited), `git's round trip\n${told}`);
      }
      if (!verdict.accepted) {
        const undeliberate = verdict.reasons.filter((reason) => !deliberate(reason, scenario, outcome.tree));
        assert.deepEqual(undeliberate, [], `the policy refused a diff git applies\n${told}`);
        return;
      }
      assert.deepEqual(disagreements(diff, verdict, scenario.base, outcome.tree), [], told);
      // git's own hunks sit where their headers say: the oracle the properties below rely on agrees.
      assert.ok(placedAsStated(diff, scenario.base), `not placed as stated\n${told}`);
    }),
    { numRuns: GIT_DIFF_RUNS, includeErrorInReport: true },
  );
});

/**
 * Whether every hunk of the diff sits exactly where its header says, in order, its old lines there
 * in the base, and meets git's anchors: a hunk without trailing context ends the file, one whose
 * old text starts at line 0 or 1 starts it. Then git (which starts looking at the new start) and
 * jsdiff (at the old start) both try the stated place first, and nothing but how each reads the
 * lines can make them differ. Otherwise they may place a hunk differently. Line breaks are left
 * out of the comparison on purpose: how the two readers treat them is part of what is checked.
 */
function placedAsStated(diff: string, base: Tree): boolean {
  const { read } = policyBase(base);
  return parseGitDiff(diff).changes.every((change) => {
    const source = change.oldPath === undefined ? '' : (read(change.oldPath) ?? '');
    const units = source === '' ? [] : source.replace(/\n$/, '').split('\n');
    let [end, delta] = [0, 0];
    return change.patch.hunks.every((hunk) => {
      const lines = hunk.lines.filter((line) => !line.startsWith('\\'));
      const oldText = lines.flatMap((line) => (line.startsWith('+') ? [] : [line.slice(1)]));
      const lastChange = lines.findLastIndex((line) => line.startsWith('+') || line.startsWith('-'));
      const trailing = lines.length - 1 - lastChange;
      // jsdiff's starts are one past the printed ones where a side has no lines.
      const at = hunk.oldStart - 1;
      const printedOld = hunk.oldLines === 0 ? at : hunk.oldStart;
      const printedNew = hunk.newLines === 0 ? hunk.newStart - 1 : hunk.newStart;
      const gitStart = Math.max(0, printedNew - 1);
      const fits =
        at >= end &&
        at + oldText.length <= units.length &&
        oldText.every((unit, k) => units[at + k] === unit) &&
        (printedOld > 1 || at === 0) &&
        (trailing > 0 || at + oldText.length === units.length) &&
        // A pure deletion's new start names the line before it; git's first try is one early
        // and fits only where both places hold the same lines, so it deletes the same text.
        (gitStart === at + delta || (hunk.newLines === 0 && gitStart + 1 === at + delta));
      [end, delta] = [at + oldText.length, delta + hunk.newLines - hunk.oldLines];
      return fits;
    });
  });
}

/**
 * What an accepted diff must have in common with what git makes of it. Where every hunk sits
 * where its header says, everything: git applies it, to the same paths, content and modes. Where
 * git may place a hunk elsewhere than jsdiff, git may refuse the hunk (candidateFiles refuses the
 * diff as DoesNotApply), or change the same paths in the same modes with other content, which
 * placementMismatch must then refuse.
 */
function assertAgreesWithGit(diff: string, base: Tree, verdict: Accepted, outcome: GitOutcome): void {
  const told = context(diff, outcome, verdict);
  const asStated = placedAsStated(diff, base);
  if (!outcome.applied) {
    assert.ok(!asStated && refusedAHunk(outcome), `the policy accepted a diff git refuses\n${told}`);
    return;
  }
  if (asStated) {
    assert.deepEqual(disagreements(diff, verdict, base, outcome.tree), [], told);
    return;
  }
  assert.equal(reportDisagreement(diff, verdict, base, outcome.tree), undefined, told);
  const differ = entryDisagreements(judgedTree(diff, base), outcome.tree);
  const notContent = differ.filter(({ judged, made }) => !judged || !made || judged.mode !== made.mode);
  assert.deepEqual(notContent.map(describeEntry), [], told);
  if (differ.length === 0) return;
  const tree = policyBase(base);
  const mismatch = placementMismatch(judgedFiles(diff, tree), bundleOf(base, outcome.tree), (path) =>
    tree.read(path),
  );
  assert.ok(mismatch, `placementMismatch let ${differ.map(describeEntry).join('; ')} through\n${told}`);
}

test('an accepted diff with its lines or names written otherwise than git writes them is applied by git as the policy judged it', () => {
  fc.assert(
    fc.property(
      gitScenario,
      diffOptions(1),
      fc.array(linePerturbation, { minLength: 1, maxLength: 3 }),
      (scenario, options, perturbations) => {
        repo.store(scenario.base, scenario.edited);
        const diff = perturb(repo.diff(options), perturbations);
        const verdict = judge(diff, scenario.base);
        if (verdict.accepted) assertAgreesWithGit(diff, scenario.base, verdict, repo.apply(diff));
      },
    ),
    { numRuns: LINE_PERTURBED_RUNS, includeErrorInReport: true },
  );
});

test('an accepted diff whose hunks git may place elsewhere changes the paths git changes, and the operator refuses what differs', () => {
  fc.assert(
    fc.property(
      gitScenario,
      diffOptions(0),
      fc.array(fc.oneof(hunkPerturbation, linePerturbation), { maxLength: 3 }),
      (scenario, options, perturbations) => {
        repo.store(scenario.base, scenario.edited);
        const diff = perturb(repo.diff(options), perturbations);
        const verdict = judge(diff, scenario.base);
        if (verdict.accepted) assertAgreesWithGit(diff, scenario.base, verdict, repo.apply(diff));
      },
    ),
    { numRuns: HUNK_PERTURBED_RUNS, includeErrorInReport: true },
  );
});

/** A hand-written scenario's base as git holds it: a file whose diff drops the executable bit has it. */
function handWrittenBase(scenario: Scenario): Tree {
  const executable = new Set(
    scenario.sections.flatMap(({ edit }) => (edit.modeChange?.from === '100755' ? [edit.oldPath] : [])),
  );
  return new Map(
    [...scenario.tree].map(([path, content]) => [
      gitPath(path),
      { mode: executable.has(path) ? ('100755' as const) : ('100644' as const), content },
    ]),
  );
}

test('a clean hand-written diff (patch-scenarios) is applied by git as the policy judged it', () => {
  fc.assert(
    fc.property(cleanScenario, (scenario) => {
      const base = handWrittenBase(scenario);
      repo.store(base, base);
      const diff = render(scenario);
      const verdict = checkPatch({ diff, ...POLICY, limits: GENEROUS_LIMITS, tree: policyBase(base) });
      const outcome = repo.apply(diff);
      const told = context(diff, outcome, verdict);
      assert.ok(verdict.accepted, told);
      assert.ok(outcome.applied, `the policy accepted a diff git refuses\n${told}`);
      if (!verdict.accepted || !outcome.applied) return;
      assert.deepEqual(disagreements(diff, verdict, base, outcome.tree), [], told);
    }),
    { numRuns: HAND_WRITTEN_RUNS, includeErrorInReport: true },
  );
});
