// candidateTree against real repositories: the tree git makes of a parent's tree and diffs, in a
// private index, leaving the clone's work tree and index alone; refusals carry git's reason.
import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
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
import { applyArgs, applyRefusal, candidateTree } from './candidate-tree.js';
import { isGitLineageError } from './errors.js';

const remote = remoteForFile();

test('a diff becomes a tree in a private index; the work tree and the clone index stay as they were', async () => {
  const { ws, access } = await workspaceOn(remote, 'apply');
  try {
    const indexBefore = await readFile(join(ws.gitDir, 'index'));
    const made = await candidateTree(ws.runner, {
      start: 'HEAD',
      diffs: [RAISE_TIMEOUT_DIFF],
      scratchRoot: ws.gitDir,
    });
    assert.ok(made.applied, JSON.stringify(made));
    assert.match(git(ws.dir, ['cat-file', 'blob', `${made.tree}:src/app.js`]), /^const timeoutMs = 250;/);
    assert.equal(git(ws.dir, ['diff-tree', '-r', '--name-only', 'HEAD', made.tree]).trim(), 'src/app.js');
    assert.equal(git(ws.dir, ['status', '--porcelain']), '');
    assert.deepEqual(await readFile(join(ws.gitDir, 'index')), indexBefore);
    assert.deepEqual(
      (await readdir(ws.gitDir)).filter((name) => name.startsWith('candidate-tree-')),
      [],
      'no scratch left behind',
    );
  } finally {
    await access.dispose();
  }
});

test("diffs apply in order, and no diff at all is the start commit's tree", async () => {
  const { ws, access } = await workspaceOn(remote, 'order');
  try {
    const second = [
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
    const made = await candidateTree(ws.runner, {
      start: 'HEAD',
      diffs: [RAISE_TIMEOUT_DIFF, second],
      scratchRoot: ws.gitDir,
    });
    assert.ok(made.applied);
    assert.match(git(ws.dir, ['cat-file', 'blob', `${made.tree}:src/app.js`]), /250;\nconst retries = 0;/);
    const none = await candidateTree(ws.runner, { start: 'HEAD', diffs: [], scratchRoot: ws.gitDir });
    assert.deepEqual(none, { applied: true, tree: git(ws.dir, ['rev-parse', 'HEAD^{tree}']).trim() });
  } finally {
    await access.dispose();
  }
});

test("a diff git refuses is a refusal naming the diff and git's reason, not an error", async () => {
  const { ws, access } = await workspaceOn(remote, 'refused');
  try {
    const made = await candidateTree(ws.runner, {
      start: 'HEAD',
      diffs: [RAISE_TIMEOUT_DIFF, STALE_DIFF],
      scratchRoot: ws.gitDir,
    });
    assert.equal(made.applied, false);
    assert.equal(!made.applied && made.diff, 1);
    assert.match(
      !made.applied ? made.message : '',
      /^patch failed: src\/app\.js:1; src\/app\.js: patch does not apply$/,
    );
    const garbage = await candidateTree(ws.runner, {
      start: 'HEAD',
      diffs: ['not a diff\n'],
      scratchRoot: ws.gitDir,
    });
    assert.equal(garbage.applied, false);
    assert.match(!garbage.applied ? garbage.message : '', /No valid patches/);
  } finally {
    await access.dispose();
  }
});

test('a start that is not a commit of the repository is CommitNotFound', async () => {
  const { ws, access } = await workspaceOn(remote, 'missing');
  try {
    await assert.rejects(
      candidateTree(ws.runner, {
        start: 'f'.repeat(40),
        diffs: [RAISE_TIMEOUT_DIFF],
        scratchRoot: ws.gitDir,
      }),
      (e) => isGitLineageError(e, 'CommitNotFound'),
    );
  } finally {
    await access.dispose();
  }
});

test('a hunk without trailing context goes where git puts it (the end of the file), not where jsdiff does', async () => {
  const { ws, access } = await workspaceOn(remote, 'placement');
  try {
    await writeFile(join(ws.dir, 'src/twice.txt'), END_OF_FILE_TEXT);
    git(ws.dir, ['add', 'src/twice.txt']);
    git(ws.dir, ['commit', '--quiet', '-m', 'twice']);
    const made = await candidateTree(ws.runner, {
      start: 'HEAD',
      diffs: [END_OF_FILE_DIFF],
      scratchRoot: ws.gitDir,
    });
    assert.ok(made.applied);
    const byGit = git(ws.dir, ['cat-file', 'blob', `${made.tree}:src/twice.txt`]);
    assert.equal(byGit, 'a\nx\ny\nz\nx\ny\nNEW\n');
    // The same diff through jsdiff, as the patch policy and the old sandbox applied it.
    assert.equal(applyPatch(END_OF_FILE_TEXT, END_OF_FILE_DIFF), 'a\nx\ny\nNEW\nz\nx\ny\n');
  } finally {
    await access.dispose();
  }
});

test('candidates built at the same time do not see each other', async () => {
  const { ws, access } = await workspaceOn(remote, 'concurrent');
  try {
    const diffFor = (value: number) => RAISE_TIMEOUT_DIFF.replace('timeoutMs = 250', `timeoutMs = ${value}`);
    const values = [101, 102, 103, 104, 105, 106];
    const made = await Promise.all(
      values.map((value) =>
        candidateTree(ws.runner, { start: 'HEAD', diffs: [diffFor(value)], scratchRoot: ws.gitDir }),
      ),
    );
    for (const [index, result] of made.entries()) {
      assert.ok(result.applied);
      assert.equal(
        git(ws.dir, ['cat-file', 'blob', `${result.tree}:src/app.js`]).split('\n')[0],
        `const timeoutMs = ${values[index]};`,
      );
    }
  } finally {
    await access.dispose();
  }
});

test('git apply runs on the index only, without fuzz, taking whitespace as it is', () => {
  assert.deepEqual(applyArgs('/x/0.diff'), [
    'apply',
    '--cached',
    '--verbose',
    '--whitespace=nowarn',
    '--no-ignore-whitespace',
    '/x/0.diff',
  ]);
  assert.doesNotMatch(applyArgs('p').join(' '), /-C|--recount|--unidiff-zero|--3way|--reject/);
});

test("git's refusal is its error lines on one line, bounded", () => {
  assert.equal(
    applyRefusal('Checking patch a.js...\nerror: patch failed: a.js:3\nerror: a.js: patch does not apply\n'),
    'patch failed: a.js:3; a.js: patch does not apply',
  );
  assert.equal(
    applyRefusal('error: while searching for:\nq\ny\n\nerror: patch failed: f:2\n'),
    'patch failed: f:2',
    "the candidate's own lines are not git's reason",
  );
  assert.equal(applyRefusal('something\nodd\n'), 'something odd');
  assert.equal(applyRefusal(''), 'git apply failed');
  assert.equal(applyRefusal(`error: ${'x'.repeat(5000)}`).length, 1000);
});
