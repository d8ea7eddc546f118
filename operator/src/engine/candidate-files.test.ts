// candidateFiles against a real repository: one application of each diff, by git, gives the tree
// in status, the bundle the sandbox evaluates, the commit and the overlay layer's files, and
// they agree byte for byte, also for a diff that jsdiff (the patch policy's applier) places
// elsewhere. What git refuses, or what a bundle cannot carry, refuses the candidate.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { applyPatch } from 'diff';
import {
  END_OF_FILE_DIFF,
  END_OF_FILE_TEXT,
  git,
  RAISE_TIMEOUT_DIFF,
  remoteForFile,
  STALE_DIFF,
  workspaceOn,
} from '../../../test/support/git-repos.js';
import { commitChanges } from '../git/commit-changes.js';
import { commitCandidate } from '../git/commit.js';
import { candidateFiles, type CandidateFiles } from './candidate-files.js';
import { CHANGED_FILES_LIMITS, parseChangedFiles } from '../git/changed-files.js';

const remote = remoteForFile();
let seeded: Promise<string> | undefined;

/** main with a file whose last lines also occur near its start; its commit is the cycle's base. */
function baseCommit(): Promise<string> {
  seeded ??= (async () => {
    const { ws, access } = await workspaceOn(remote, 'seed-twice');
    try {
      await writeFile(join(ws.dir, 'src/twice.txt'), END_OF_FILE_TEXT);
      git(ws.dir, ['add', 'src/twice.txt']);
      git(ws.dir, ['commit', '--quiet', '-m', 'twice']);
      git(ws.dir, ['push', '--quiet', 'origin', 'HEAD:main']);
      return git(ws.dir, ['rev-parse', 'HEAD']).trim();
    } finally {
      await access.dispose();
    }
  })();
  return seeded;
}

function built(files: Map<string, CandidateFiles>, id: string): Extract<CandidateFiles, { tree: string }> {
  const made = files.get(id);
  assert.ok(made && 'tree' in made, JSON.stringify(made));
  return made;
}

function refusal(files: Map<string, CandidateFiles>, id: string): { rule: string; message: string } {
  const made = files.get(id);
  assert.ok(made && 'refusal' in made, JSON.stringify(made));
  return made.refusal;
}

test('a diff jsdiff places elsewhere: the tree, the bundle, the commit and the overlay files agree byte for byte', async () => {
  const base = await baseCommit();
  const { ws, access } = await workspaceOn(remote, 'agree');
  try {
    const files = await candidateFiles(ws.runner, {
      base,
      candidates: [{ id: 'c1', diff: END_OF_FILE_DIFF }],
      scratchRoot: ws.gitDir,
    });
    const made = built(files, 'c1');
    const expected = Buffer.from('a\nx\ny\nz\nx\ny\nNEW\n');
    // jsdiff would have evaluated another file; git's placement is the one everything uses.
    assert.notEqual(applyPatch(END_OF_FILE_TEXT, END_OF_FILE_DIFF), expected.toString());

    const treeBlob = Buffer.from(git(ws.dir, ['cat-file', 'blob', `${made.tree}:src/twice.txt`]));
    assert.deepEqual(treeBlob, expected);

    const bundle = parseChangedFiles(made.text, { base, tree: made.tree });
    assert.deepEqual(bundle, made.bundle);
    assert.deepEqual(
      bundle.files.map((f) => [f.path, f.mode, Buffer.from(f.base64, 'base64')]),
      [['src/twice.txt', '100644', expected]],
    );
    assert.deepEqual(bundle.deleted, []);

    const committed = await commitCandidate(ws, {
      cycle: 'cycle-agree',
      candidate: 'c1',
      proposal: { kind: 'code', summary: 'append', rationale: '', diff: END_OF_FILE_DIFF },
      goal: 'g',
      proposer: 'tuner',
      tree: made.tree,
    });
    assert.equal(git(ws.dir, ['rev-parse', `${committed.commit}^{tree}`]).trim(), made.tree);
    assert.deepEqual(Buffer.from(git(ws.dir, ['show', `${committed.commit}:src/twice.txt`])), expected);

    const layer = await commitChanges(ws, base, committed.commit, made.tree, CHANGED_FILES_LIMITS.maxBytes);
    assert.deepEqual(
      layer.changes.map((c) => (c.kind === 'write' ? [c.path, c.mode, c.content] : [c.path])),
      bundle.files.map((f) => [f.path, f.mode, Buffer.from(f.base64, 'base64')]),
    );
    await assert.rejects(
      commitChanges(ws, base, committed.commit, 'f'.repeat(40), CHANGED_FILES_LIMITS.maxBytes),
      /holds the tree [0-9a-f]{40}, not the tree f{40} the candidate was evaluated as/,
    );
  } finally {
    await access.dispose();
  }
});

test("a diff jsdiff accepts but git refuses is refused as DoesNotApply, with git's reason", async () => {
  const base = await baseCommit();
  const { ws, access } = await workspaceOn(remote, 'refused');
  try {
    // A hunk at line 1 without trailing context: for git it must span the whole file.
    const wholeFile = [
      'diff --git a/src/app.js b/src/app.js',
      '--- a/src/app.js',
      '+++ b/src/app.js',
      '@@ -1,2 +1,2 @@',
      ' const timeoutMs = 100;',
      '-const retries = 1;',
      '+const retries = 0;',
      '',
    ].join('\n');
    const seeded = git(ws.dir, ['show', `${base}:src/app.js`]);
    assert.notEqual(applyPatch(seeded, wholeFile), false, 'jsdiff applies it');
    const files = await candidateFiles(ws.runner, {
      base,
      candidates: [
        { id: 'c1', diff: wholeFile },
        { id: 'c2', diff: STALE_DIFF },
        { id: 'c3', diff: RAISE_TIMEOUT_DIFF },
      ],
      scratchRoot: ws.gitDir,
    });
    for (const id of ['c1', 'c2']) {
      const why = refusal(files, id);
      assert.equal(why.rule, 'DoesNotApply');
      assert.match(
        why.message,
        /^Git does not apply the diff to the base tree \([0-9a-f]{12}\): patch failed: src\/app\.js:1; src\/app\.js: patch does not apply$/,
      );
    }
    assert.ok('tree' in files.get('c3')!, 'the others are not held back');
  } finally {
    await access.dispose();
  }
});

test("from a code parent: its commit is the start, and a config candidate gets the parent's tree", async () => {
  const base = await baseCommit();
  const { ws, access } = await workspaceOn(remote, 'parent');
  try {
    const first = await candidateFiles(ws.runner, {
      base,
      candidates: [{ id: 'c1', diff: RAISE_TIMEOUT_DIFF }],
      scratchRoot: ws.gitDir,
    });
    const parent = await commitCandidate(ws, {
      cycle: 'cycle-parent',
      candidate: 'c1',
      proposal: { kind: 'code', summary: 'timeout', rationale: '', diff: RAISE_TIMEOUT_DIFF },
      goal: 'g',
      proposer: 'tuner',
      tree: built(first, 'c1').tree,
    });
    const onTop = [
      'diff --git a/src/app.js b/src/app.js',
      '--- a/src/app.js',
      '+++ b/src/app.js',
      '@@ -1,3 +1,3 @@',
      ' const timeoutMs = 250;',
      '-const retries = 1;',
      '+const retries = 0;',
      ' export { timeoutMs, retries };',
      '',
    ].join('\n');
    const files = await candidateFiles(ws.runner, {
      base,
      parentCommit: parent.commit,
      candidates: [{ id: 'c1', diff: onTop }, { id: 'c2' }],
      scratchRoot: ws.gitDir,
    });
    const code = built(files, 'c1');
    assert.deepEqual(
      code.bundle.files.map((f) => [f.path, Buffer.from(f.base64, 'base64').toString()]),
      [['src/app.js', 'const timeoutMs = 250;\nconst retries = 0;\nexport { timeoutMs, retries };\n']],
      "relative to the base: the parent's change and its own",
    );
    const config = built(files, 'c2');
    assert.equal(config.tree, git(ws.dir, ['rev-parse', `${parent.commit}^{tree}`]).trim());
    assert.deepEqual(
      config.bundle.files.map((f) => f.path),
      ['src/app.js'],
    );

    const none = await candidateFiles(ws.runner, {
      base,
      candidates: [{ id: 'c1' }],
      scratchRoot: ws.gitDir,
    });
    assert.equal(none.size, 0, 'a config candidate of the baseline changes no file');
  } finally {
    await access.dispose();
  }
});

test('a diff that changes nothing, and files too large for a sandbox, are refused', async () => {
  const base = await baseCommit();
  const { ws, access } = await workspaceOn(remote, 'limits');
  try {
    const same = [
      'diff --git a/src/app.js b/src/app.js',
      '--- a/src/app.js',
      '+++ b/src/app.js',
      '@@ -1,3 +1,3 @@',
      '-const timeoutMs = 100;',
      '+const timeoutMs = 100;',
      ' const retries = 1;',
      ' export { timeoutMs, retries };',
      '',
    ].join('\n');
    const lines = Array.from({ length: 20_000 }, (_, i) => `export const value${i} = ${i}; // padding`);
    const huge = [
      'diff --git a/src/huge.js b/src/huge.js',
      'new file mode 100644',
      '--- /dev/null',
      '+++ b/src/huge.js',
      `@@ -0,0 +1,${lines.length} @@`,
      ...lines.map((line) => `+${line}`),
      '',
    ].join('\n');
    const files = await candidateFiles(ws.runner, {
      base,
      candidates: [
        { id: 'c1', diff: same },
        { id: 'c2', diff: huge },
      ],
      scratchRoot: ws.gitDir,
    });
    assert.deepEqual(refusal(files, 'c1'), {
      rule: 'Empty',
      message: `The diff leaves the base tree (${base.slice(0, 12)}) as it is: it changes no file.`,
    });
    assert.equal(refusal(files, 'c2').rule, 'TooLarge');
    assert.match(refusal(files, 'c2').message, /more than the 524288 bytes a sandbox is given/);
  } finally {
    await access.dispose();
  }
});
