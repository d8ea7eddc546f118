import assert from 'node:assert/strict';
import { test } from 'node:test';
import { conventionFile, namedExplicitly } from './convention-files.js';

test('files toolchains load by convention are recognised, in any directory', () => {
  const recognised = [
    'src/package.json',
    'package-lock.json',
    'src/.npmrc',
    'src/tsconfig.json',
    'tsconfig.build.json',
    'babel.config.js',
    '.mocharc.yml',
    'vitest.config.ts',
    'pyproject.toml',
    'rates/conftest.py',
    'tests/conftest.py',
    'requirements-dev.txt',
    'site/sitecustomize.py',
    'lib/hook.pth',
    'go.mod',
    'svc/go.sum',
    'pom.xml',
    'build.gradle.kts',
  ];
  for (const path of recognised) assert.equal(conventionFile(path)?.canBeAllowed, true, path);
  for (const path of ['src/quote.ts', 'src/package.ts', 'docs/tsconfig.md', 'rates/test_rates.py', 'main.go'])
    assert.equal(conventionFile(path), undefined, path);
});

test('anything under node_modules is an installed package that no agent may let a candidate write', () => {
  for (const path of ['src/node_modules/express/index.js', 'node_modules/.bin/tsx', 'a/node_modules'])
    assert.deepEqual(conventionFile(path)?.canBeAllowed, false, path);
});

test('only an entry naming the file itself allows it; a directory above it does not', () => {
  assert.equal(namedExplicitly('src/package.json', ['src', 'src/package.json']), true);
  assert.equal(namedExplicitly('src/package.json', ['./src/package.json']), true);
  assert.equal(namedExplicitly('src/package.json', ['src', '.']), false);
});
