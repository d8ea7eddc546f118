// The repository snapshot's import reader (operator/src/git/base-tree.ts) on a real git
// repository: every root and every script module the roots reach is read, however many there are.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readRepositorySnapshot } from '../../operator/src/git/base-tree.js';

test('the imports of many roots, and of the modules they reach, are all read from the commit', async () => {
  const repo = mkdtempSync(join(tmpdir(), 'base-tree-'));
  try {
    const git = (...args: string[]) =>
      execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], { cwd: repo });
    mkdirSync(join(repo, 'src/stand-in'), { recursive: true });
    const roots: string[] = [];
    for (let n = 0; n < 20; n++) {
      roots.push(`src/stand-in/part-${n}.ts`);
      writeFileSync(
        join(repo, roots[n]!),
        "import { delay } from '../shared.js';\nexport const part = delay;\n",
      );
    }
    writeFileSync(
      join(repo, 'src/shared.ts'),
      "import type { T } from './types.js';\nexport const delay = 1;\n",
    );
    writeFileSync(join(repo, 'src/types.ts'), 'export type T = number;\n');
    git('init', '-q');
    git('add', '-A');
    git('commit', '-q', '-m', 'base');
    // an edit that is not committed must not count: the snapshot reads the commit
    writeFileSync(join(repo, 'src/shared.ts'), "import './uncommitted.js';\n");

    const snapshot = await readRepositorySnapshot(repo, 'HEAD', () => roots);
    assert.deepEqual([...snapshot.imports.keys()].sort(), [...roots, 'src/shared.ts'].sort());
    for (const root of roots) {
      assert.deepEqual(
        snapshot.imports.get(root)?.map((edge) => edge.specifier),
        ['../shared.js'],
      );
    }
    assert.deepEqual(snapshot.imports.get('src/shared.ts'), [], 'a type-only import loads nothing');
  } finally {
    rmSync(repo, { recursive: true, force: true });
  }
});
