import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildModules, countLines } from './modules.js';
import { isTestPath, languageOf } from './language.js';

test('TS/JS modules get resolved imports and packages; other files are described at file level', () => {
  const modules = buildModules(
    new Map([
      [
        'src/server.ts',
        "import express from 'express';\nimport { price } from './price.js';\nimport './server.js';\n",
      ],
      [
        'src/price.ts',
        "import { z } from 'zod';\nimport { missing } from './missing.js';\nexport const price = 1;\n",
      ],
      ['app.py', 'import os\nprint(os.environ["X"])\n'],
      ['Dockerfile', 'FROM node:20\n'],
      ['src/price.test.ts', "import { price } from './price.js';\n"],
    ]),
  );
  assert.deepEqual(
    modules.map((module) => module.path),
    ['Dockerfile', 'app.py', 'src/price.test.ts', 'src/price.ts', 'src/server.ts'],
  );
  const byPath = new Map(modules.map((module) => [module.path, module]));
  const server = byPath.get('src/server.ts');
  // a self-import is not an edge; an unresolved relative import is neither local nor a package
  assert.deepEqual(server?.imports, ['src/price.ts']);
  assert.deepEqual(server?.externalImports, ['express']);
  assert.deepEqual(byPath.get('src/price.ts')?.imports, []);
  assert.deepEqual(byPath.get('src/price.ts')?.externalImports, ['zod']);
  assert.deepEqual(byPath.get('app.py'), {
    path: 'app.py',
    language: 'python',
    lines: 2,
    imports: [],
    externalImports: [],
    exports: [],
    test: false,
  });
  assert.equal(byPath.get('Dockerfile')?.language, 'dockerfile');
  assert.equal(byPath.get('src/price.test.ts')?.test, true);
  assert.deepEqual(byPath.get('src/price.test.ts')?.imports, ['src/price.ts']);
});

test('tests are recognised by path convention', () => {
  for (const path of [
    'src/a.test.ts',
    'src/a.spec.js',
    'test/helpers.ts',
    'packages/x/tests/data.json',
    'src/__tests__/a.tsx',
    'pkg/server_test.go',
    'tests_py/test_app.py',
  ]) {
    assert.equal(isTestPath(path), true, path);
  }
  for (const path of ['src/testing.ts', 'src/contest.ts', 'latest/a.ts', 'src/test.ts', 'README.md']) {
    assert.equal(isTestPath(path), false, path);
  }
});

test('languages by extension and lines as an editor counts them', () => {
  assert.equal(languageOf('a/b.MTS'), 'typescript');
  assert.equal(languageOf('a/b.cjs'), 'javascript');
  assert.equal(languageOf('config/app.yml'), 'yaml');
  assert.equal(languageOf('LICENSE'), 'text');
  assert.equal(countLines(''), 0);
  assert.equal(countLines('one'), 1);
  assert.equal(countLines('one\n'), 1);
  assert.equal(countLines('one\ntwo'), 2);
  assert.equal(countLines('\n\n'), 2);
});
