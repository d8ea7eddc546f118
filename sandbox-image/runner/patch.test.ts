import assert from 'node:assert/strict';
import { chmod, mkdir, readFile, readdir, stat, symlink, writeFile, rename, rm } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { applyPatchFiles } from './patch.js';
import { applyHunks, PatchFailure, planChanges } from './patch-plan.js';
import { safeRelativePath } from './relative-path.js';
import { gitDiff, tempDir, writeFiles } from './test-helpers.js';

const BEFORE = {
  'package.json': '{ "name": "svc" }\n',
  'src/app.js': ['const a = 1;', 'const b = 2;', 'const c = 3;', 'export { a, b, c };', ''].join('\n'),
  'src/old-name.js': 'line 1\nline 2\nline 3\nline 4\nline 5\nline 6\nline 7\nline 8\n',
  'src/gone.js': 'bye\n',
  'README.md': 'no newline at end',
};

/** A source directory holding `files`, as the init container leaves it. */
async function sourceWith(files: Record<string, string>): Promise<string> {
  const source = await tempDir('hyperagent-src-');
  await writeFiles(source, files);
  return source;
}

/** Every regular file under `dir` (except .git) with its text and permission bits. */
async function tree(dir: string): Promise<Record<string, string>> {
  const found: Record<string, string> = {};
  const walk = async (folder: string): Promise<void> => {
    for (const entry of await readdir(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      if (entry.isDirectory() && entry.name !== '.git') await walk(path);
      if (entry.isFile()) {
        const mode = ((await stat(path)).mode & 0o111) !== 0 ? 'x' : '-';
        found[relative(dir, path)] = `${mode} ${await readFile(path, 'utf8')}`;
      }
    }
  };
  await walk(dir);
  return found;
}

test('a real git diff with edits, new, deleted, renamed and executable files applies exactly', async () => {
  const { diff, repo } = await gitDiff(BEFORE, async (repo) => {
    await writeFile(
      join(repo, 'src/app.js'),
      BEFORE['src/app.js'].replace('const b = 2;', 'const b = 20;\nconst d = 4;'),
    );
    await rename(join(repo, 'src/old-name.js'), join(repo, 'src/new-name.js'));
    await writeFile(join(repo, 'src/new-name.js'), BEFORE['src/old-name.js'].replace('line 8', 'line eight'));
    await rm(join(repo, 'src/gone.js'));
    await mkdir(join(repo, 'scripts/deep'), { recursive: true });
    await writeFile(join(repo, 'scripts/deep/run.sh'), '#!/bin/sh\necho hi\n');
    await chmod(join(repo, 'scripts/deep/run.sh'), 0o755);
    await writeFile(join(repo, 'README.md'), 'now with a newline\n');
    await writeFile(join(repo, 'empty.txt'), '');
  });
  assert.match(diff, /rename from src\/old-name\.js/);
  assert.match(diff, /deleted file mode/);
  assert.match(diff, /new file mode 100755/);
  const source = await sourceWith(BEFORE);
  const outcome = await applyPatchFiles(source, [{ name: '0001-candidate.diff', text: diff }]);
  assert.deepEqual(outcome, { ok: true, files: 6 });
  assert.deepEqual(await tree(source), await tree(repo));
});

test('patches apply in order, the second on top of the first', async () => {
  const first = await gitDiff(BEFORE, (repo) =>
    writeFile(join(repo, 'src/app.js'), 'const a = 1;\nexport { a };\n'),
  );
  const afterFirst = { ...BEFORE, 'src/app.js': 'const a = 1;\nexport { a };\n' };
  const second = await gitDiff(afterFirst, (repo) =>
    writeFile(join(repo, 'src/app.js'), 'const a = 100;\nexport { a };\n'),
  );
  const source = await sourceWith(BEFORE);
  const outcome = await applyPatchFiles(source, [
    { name: 'parent.diff', text: first.diff },
    { name: 'candidate.diff', text: second.diff },
  ]);
  assert.equal(outcome.ok, true);
  assert.equal(await readFile(join(source, 'src/app.js'), 'utf8'), 'const a = 100;\nexport { a };\n');
});

test('a hunk that does not fit fails and names the patch, the file and the hunk', async () => {
  const long = Array.from({ length: 40 }, (_, index) => `line ${index + 1}`).join('\n') + '\n';
  const { diff } = await gitDiff({ 'src/long.txt': long }, (repo) =>
    writeFile(
      join(repo, 'src/long.txt'),
      long.replace('line 2\n', 'line two\n').replace('line 30\n', 'line thirty\n'),
    ),
  );
  const drifted = long.replace('line 29\n', 'line twenty-nine\n');
  const source = await sourceWith({ 'src/long.txt': drifted });
  const outcome = await applyPatchFiles(source, [{ name: 'candidate.diff', text: diff }]);
  assert.equal(outcome.ok, false);
  assert.match(
    outcome.ok ? '' : outcome.message,
    /^patch candidate\.diff: hunk 2 of 2 \(@@ -27,7 \+27,7 @@\) does not apply to src\/long\.txt$/,
  );
  assert.equal(
    await readFile(join(source, 'src/long.txt'), 'utf8'),
    drifted,
    'nothing is written for a failed patch',
  );
});

test('a patch for a missing file, or creating an existing one, fails', async () => {
  const edit = await gitDiff(BEFORE, (repo) => writeFile(join(repo, 'src/gone.js'), 'still here\n'));
  const withoutFile = await sourceWith({ 'src/app.js': BEFORE['src/app.js'] });
  const missing = await applyPatchFiles(withoutFile, [{ name: 'p.diff', text: edit.diff }]);
  assert.deepEqual(missing, { ok: false, message: 'patch p.diff: src/gone.js does not exist in the source' });

  const create = await gitDiff({}, (repo) => writeFiles(repo, { 'src/app.js': 'new\n' }));
  const existing = await applyPatchFiles(await sourceWith(BEFORE), [{ name: 'p.diff', text: create.diff }]);
  assert.deepEqual(existing, { ok: false, message: 'patch p.diff: src/app.js already exists in the source' });
});

test('paths that leave the source directory are refused', async () => {
  const escape = (oldPath: string, newPath: string): string =>
    [`--- ${oldPath}`, `+++ ${newPath}`, '@@ -0,0 +1 @@', '+owned', ''].join('\n');
  const source = await sourceWith(BEFORE);
  for (const [oldPath, newPath] of [
    ['/dev/null', 'b/../outside.txt'],
    ['/dev/null', 'b/src/../../outside.txt'],
    ['/dev/null', '/etc/passwd'],
  ] as const) {
    const outcome = await applyPatchFiles(source, [{ name: 'evil.diff', text: escape(oldPath, newPath) }]);
    assert.equal(outcome.ok, false, newPath);
    assert.match(outcome.ok ? '' : outcome.message, /leaves the source directory/);
  }
});

test('a symbolic link in the source cannot carry a write outside it', async () => {
  const outside = await tempDir('hyperagent-outside-');
  const source = await sourceWith(BEFORE);
  await symlink(outside, join(source, 'linked'));
  const text = ['--- /dev/null', '+++ b/linked/planted.txt', '@@ -0,0 +1 @@', '+owned', ''].join('\n');
  const outcome = await applyPatchFiles(source, [{ name: 'evil.diff', text }]);
  assert.deepEqual(outcome, {
    ok: false,
    message: 'linked/planted.txt resolves outside the source directory',
  });
  assert.deepEqual(await readdir(outside), []);
});

test('binary changes and symbolic links in a diff are refused with a reason', () => {
  const binary = [
    'diff --git a/logo.png b/logo.png',
    'index 1234567..89abcde 100644',
    'Binary files a/logo.png and b/logo.png differ',
    '',
  ].join('\n');
  assert.throws(
    () => planChanges('b.diff', binary),
    new PatchFailure('patch b.diff: binary change to b/logo.png cannot be applied from a text diff'),
  );
  const link = [
    'diff --git a/l b/l',
    'new file mode 120000',
    'index 0000000..1234567',
    '--- /dev/null',
    '+++ b/l',
    '@@ -0,0 +1 @@',
    '+/etc/passwd',
    '\\ No newline at end of file',
    '',
  ].join('\n');
  assert.throws(() => planChanges('l.diff', link), /only regular files can be patched/);
});

test('the plan of a git diff names sources, targets and modes', async () => {
  const { diff } = await gitDiff(BEFORE, async (repo) => {
    await rename(join(repo, 'src/gone.js'), join(repo, 'src/moved.js'));
    await writeFile(join(repo, 'tool.sh'), 'echo\n');
    await chmod(join(repo, 'tool.sh'), 0o755);
  });
  const plan = planChanges('p.diff', diff).map(({ from, to, removesSource, mode }) => ({
    from,
    to,
    removesSource,
    mode,
  }));
  assert.deepEqual(plan, [
    { from: 'src/gone.js', to: 'src/moved.js', removesSource: true, mode: undefined },
    { from: undefined, to: 'tool.sh', removesSource: false, mode: 0o755 },
  ]);
});

test('applyHunks names the first hunk that does not fit', () => {
  const [patch] = planChanges(
    'p.diff',
    ['--- a/f', '+++ b/f', '@@ -1,2 +1,2 @@', ' a', '-b', '+B', '@@ -5,2 +5,2 @@', ' e', '-f', '+F', ''].join(
      '\n',
    ),
  );
  assert.ok(patch);
  assert.deepEqual(applyHunks('a\nb\nc\nd\ne\nf\n', patch.patch), { ok: true, text: 'a\nB\nc\nd\ne\nF\n' });
  assert.deepEqual(applyHunks('a\nb\nc\nd\ne\nx\n', patch.patch), {
    ok: false,
    hunk: 2,
    header: '@@ -5,2 +5,2 @@',
  });
  assert.deepEqual(applyHunks('a\nx\nc\nd\ne\nf\n', patch.patch), {
    ok: false,
    hunk: 1,
    header: '@@ -1,2 +1,2 @@',
  });
});

test('safeRelativePath keeps paths inside and refuses the rest', () => {
  const cases: [string, string | undefined][] = [
    ['src/app.ts', 'src/app.ts'],
    ['./src//app.ts', 'src/app.ts'],
    ['a/b/', 'a/b/'],
    ['', undefined],
    ['.', undefined],
    ['..', undefined],
    ['../x', undefined],
    ['src/../x', undefined],
    ['src\\..\\x', undefined],
    ['/etc/passwd', undefined],
    ['C:/windows', undefined],
    ['nul\0byte', undefined],
  ];
  for (const [input, expected] of cases) assert.equal(safeRelativePath(input), expected, input);
});
