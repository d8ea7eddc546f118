import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  coveringEntry,
  entriesCoveringNothing,
  isWithin,
  normalizeSpecPath,
  specPathProblem,
  unsafePathProblem,
} from './repo-path.js';

test('spec entries match files and whole directory segments only', () => {
  assert.equal(isWithin('src/a.ts', 'src'), true);
  assert.equal(isWithin('src', 'src'), true);
  assert.equal(isWithin('srcx/a.ts', 'src'), false);
  assert.equal(isWithin('src.ts', 'src'), false);
  assert.equal(isWithin('src/a.ts', 'src/a'), false);
  assert.equal(isWithin('src/a.ts', 'src/a.ts'), true);
  assert.equal(isWithin('anything/at/all', '.'), true);
  assert.equal(isWithin('src/a.ts', './src/'), true);
  assert.equal(coveringEntry('deploy/app.yaml', ['src', 'deploy/']), 'deploy/');
  assert.equal(coveringEntry('docs/a.md', ['src', 'deploy']), undefined);
});

test('spec entries are read in plain form', () => {
  assert.equal(normalizeSpecPath('.'), '');
  assert.equal(normalizeSpecPath('./'), '');
  assert.equal(normalizeSpecPath('./src/'), 'src');
  assert.equal(normalizeSpecPath('src/a.ts'), 'src/a.ts');
});

test('plain relative paths are safe; anything that could leave the tree or hide a path is not', () => {
  for (const safe of [
    'a',
    'src/a.ts',
    'src/.github/x.yml',
    'docs/my file.md',
    'src/..hidden',
    'src/été.ts',
  ]) {
    assert.equal(unsafePathProblem(safe), undefined, safe);
  }
  for (const unsafe of [
    '',
    '..',
    'a/../b',
    '/abs',
    'a\\b',
    'a\0b',
    'a\tb',
    'a\u007fb',
    'a//b',
    './a',
    'a/',
    '.git/config',
    'sub/.Git/hooks/x',
  ]) {
    assert.notEqual(unsafePathProblem(unsafe), undefined, JSON.stringify(unsafe));
  }
});

test('spec entries are plain paths: a glob is refused with the path to write instead', () => {
  assert.equal(specPathProblem('src/safety'), undefined);
  assert.equal(specPathProblem('src/quote.test.ts'), undefined);
  assert.equal(
    specPathProblem('src/safety/**'),
    "'src/safety/**' is a repository path, not a glob pattern (* is not allowed): name the directory ('src/safety' covers everything under it) or the file",
  );
  assert.match(
    specPathProblem('src/*.{ts,js}') ?? '',
    /\(\* \{ \} are not allowed\): name the directory \('src'/,
  );
  assert.match(specPathProblem('**/*.py') ?? '', /name the file or the directory itself/);
  for (const entry of ['a?', 'a[0]', '!src']) assert.ok(specPathProblem(entry), entry);
});

test('entries covering no file are found, so a typo in a protected path does not go unnoticed', () => {
  const files = ['src/safety/limits.ts', 'src/quote.ts', 'README.md'];
  assert.deepEqual(entriesCoveringNothing(['src/safety', 'src/safty', 'README.md', 'src/quote'], files), [
    'src/safty',
    'src/quote',
  ]);
  assert.deepEqual(entriesCoveringNothing(['.', './src/'], files), []);
  assert.deepEqual(entriesCoveringNothing(['.'], []), ['.']);
});
