import assert from 'node:assert/strict';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { readInside } from './safe-read.js';
import { tempDir } from './test-helpers.js';

test('reads a regular file inside the root, relative or absolute', async () => {
  const root = await tempDir();
  await mkdir(join(root, 'reports'));
  await writeFile(join(root, 'reports/junit.xml'), '<testsuite/>');
  assert.equal(await readInside(root, 'reports/junit.xml'), '<testsuite/>');
  assert.equal(await readInside(root, join(root, 'reports/junit.xml')), '<testsuite/>');
});

test('refuses links, paths outside the root, special files and oversized files', async () => {
  const root = await tempDir();
  const outside = await tempDir();
  await writeFile(join(outside, 'secret'), 'nonce');
  await symlink(join(outside, 'secret'), join(root, 'junit.xml'));
  await symlink(outside, join(root, 'elsewhere'));
  await writeFile(join(root, 'big.xml'), 'x'.repeat(100));
  assert.equal(await readInside(root, 'junit.xml'), undefined, 'a link to a file outside');
  assert.equal(await readInside(root, 'elsewhere/secret'), undefined, 'through a linked folder');
  assert.equal(await readInside(root, join(outside, 'secret')), undefined, 'an absolute path outside');
  assert.equal(await readInside(root, '../secret'), undefined);
  assert.equal(await readInside(root, '/dev/zero'), undefined);
  assert.equal(await readInside(root, 'big.xml', 10), undefined, 'over the bound');
  assert.equal(await readInside(root, 'missing.xml'), undefined);
});
