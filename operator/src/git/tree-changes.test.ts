// treeChanges against a real repository (a clone of a seeded bare remote): written files come
// back with git's bytes and modes, deleted ones as deletions, and the size bound holds. The
// parsers of git's raw output are checked on their own below.
import assert from 'node:assert/strict';
import { writeFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { git, remoteForFile, workspaceOn } from '../../../test/support/git-repos.js';
import { isGitLineageError } from './errors.js';
import { parseCatFileBatch, parseRawDiff, treeChanges } from './tree-changes.js';

const remote = remoteForFile();

/** Commits `files` (null deletes) on top of HEAD in `dir`, with `executable` paths chmod +x. */
async function commitFiles(
  dir: string,
  files: Record<string, Buffer | string | null>,
  executable: string[] = [],
): Promise<string> {
  for (const [path, content] of Object.entries(files)) {
    if (content === null) {
      git(dir, ['rm', '--quiet', '--', path]);
      continue;
    }
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), content);
    git(dir, ['add', '--', path]);
  }
  for (const path of executable) git(dir, ['update-index', '--chmod=+x', '--', path]);
  git(dir, ['commit', '--quiet', '-m', 'change']);
  return git(dir, ['rev-parse', 'HEAD']).trim();
}

test('the files a tree writes come back byte for byte with their modes; deletions as deletions', async () => {
  const { ws, access } = await workspaceOn(remote, 'changes');
  try {
    const base = git(ws.dir, ['rev-parse', 'HEAD']).trim();
    const bytes = Buffer.from([0, 1, 2, 0xff, 0x0a, 0x0d, 0x0a]);
    const next = await commitFiles(
      ws.dir,
      {
        'src/app.js': 'changed\r\n',
        'bin/run me.sh': '#!/bin/sh\n',
        'data/raw.bin': bytes,
        'src/cache.js': null,
      },
      ['bin/run me.sh'],
    );
    const changes = await treeChanges(ws.runner, base, `${next}^{tree}`, 1024);
    assert.deepEqual(
      changes.map((c) =>
        c.kind === 'write' ? [c.kind, c.path, c.mode, c.content.toString('hex')] : [c.kind, c.path],
      ),
      [
        ['write', 'bin/run me.sh', '100755', Buffer.from('#!/bin/sh\n').toString('hex')],
        ['write', 'data/raw.bin', '100644', bytes.toString('hex')],
        ['write', 'src/app.js', '100644', Buffer.from('changed\r\n').toString('hex')],
        ['delete', 'src/cache.js'],
      ],
    );
    assert.deepEqual(
      await treeChanges(ws.runner, next, next, 1024),
      [],
      'a tree against itself changes nothing',
    );
  } finally {
    await access.dispose();
  }
});

test('contents over the bound are refused as ChangesTooLarge, however the output is split', async () => {
  const { ws, access } = await workspaceOn(remote, 'too-large');
  try {
    const base = git(ws.dir, ['rev-parse', 'HEAD']).trim();
    const next = await commitFiles(ws.dir, { 'src/a.js': 'a'.repeat(60), 'src/b.js': 'b'.repeat(60) });
    assert.equal((await treeChanges(ws.runner, base, next, 120)).length, 2, 'exactly at the bound');
    await assert.rejects(treeChanges(ws.runner, base, next, 119), (e) =>
      isGitLineageError(e, 'ChangesTooLarge'),
    );
    const big = await commitFiles(ws.dir, { 'src/big.js': 'x'.repeat(1 << 20) });
    await assert.rejects(treeChanges(ws.runner, next, big, 1000), (e) =>
      isGitLineageError(e, 'ChangesTooLarge'),
    );
  } finally {
    await access.dispose();
  }
});

test('raw diff records: status, new mode, new blob and path; renames are unexpected', () => {
  const output = [
    ':100644 100644 1111111111111111111111111111111111111111 2222222222222222222222222222222222222222 M',
    'src/quote.mjs',
    ':000000 100755 0000000000000000000000000000000000000000 3333333333333333333333333333333333333333 A',
    'bin/run me.sh',
    ':100644 000000 4444444444444444444444444444444444444444 0000000000000000000000000000000000000000 D',
    'test/quote.test.mjs',
    '',
  ].join('\0');
  assert.deepEqual(parseRawDiff(output), [
    { status: 'M', mode: '100644', blob: '2'.repeat(40), path: 'src/quote.mjs' },
    { status: 'A', mode: '100755', blob: '3'.repeat(40), path: 'bin/run me.sh' },
    { status: 'D', mode: '000000', blob: '0'.repeat(40), path: 'test/quote.test.mjs' },
  ]);
  assert.deepEqual(parseRawDiff(''), []);
  assert.throws(() => parseRawDiff(':100644 100644 a b R100\0old\0new\0'), /rename/);
});

test('cat-file batch output: binary contents by name; missing objects throw', () => {
  const binary = Buffer.from([0, 1, 2, 10, 255]);
  const output = Buffer.concat([
    Buffer.from(`${'a'.repeat(40)} blob 5\n`),
    binary,
    Buffer.from('\n'),
    Buffer.from(`${'b'.repeat(40)} blob 0\n\n`),
  ]);
  const objects = parseCatFileBatch(output);
  assert.deepEqual(objects.get('a'.repeat(40)), binary);
  assert.deepEqual(objects.get('b'.repeat(40)), Buffer.alloc(0));
  assert.throws(() => parseCatFileBatch(Buffer.from(`${'c'.repeat(40)} missing\n`)), /missing/);
  assert.throws(() => parseCatFileBatch(Buffer.from(`${'c'.repeat(40)} blob 10\nabc`)), /cut short/);
});
