// buildServiceGraph on real directories: a git repository (listed by git) and a plain folder (walked).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import type { ModuleNode } from './graph.js';
import { NotADirectoryError, buildServiceGraph } from './represent.js';

const roots: string[] = [];
after(() => roots.forEach((root) => rmSync(root, { recursive: true, force: true })));

function fixture(files: Record<string, string | Buffer>): string {
  const root = mkdtempSync(join(tmpdir(), 'represent-'));
  roots.push(root);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return root;
}

function git(root: string, ...args: string[]): string {
  return execFileSync(
    'git',
    ['-C', root, '-c', 'user.name=test', '-c', 'user.email=test@example.com', ...args],
    {
      encoding: 'utf8',
      env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' },
    },
  ).trim();
}

const service: Record<string, string | Buffer> = {
  '.gitignore': 'generated/\n',
  'src/main.ts': [
    "import express from 'express';",
    "import { createApp } from './app.js';",
    "import * as routes from './routes';",
    'export async function start() {',
    "  const { metrics } = await import('./metrics.mjs');",
    '  return createApp(routes, metrics);',
    '}',
  ].join('\n'),
  'src/app.ts': "export { createApp } from './factory.js';\nexport * from './types.js';\n",
  'src/factory.ts': 'export function createApp(...args: unknown[]) { return args; }\n',
  'src/types.ts': 'export interface AppOptions { port: number }\nexport type Port = number;\n',
  'src/routes/index.ts': "export const quote = '/quote';\nexport enum Verb { Get }\n",
  'src/metrics.mts': "const { Histogram } = require('prom-client');\nexport default Histogram;\n",
  'src/legacy.cjs': "const price = require('./price.cjs');\nmodule.exports = price;\n",
  'src/price.cjs': 'exports.price = (n) => n * 2;\n',
  'src/app.test.ts': "import { createApp } from './app.js';\nimport { test } from 'node:test';\n",
  'scripts/seed.py': 'import os\n\nprint(os.environ.get("CACHE_SIZE"))\n',
  'config/app.yaml': 'cache:\n  size: 100\n',
  'api/openapi.yaml':
    'openapi: 3.1.0\ninfo:\n  title: Quote\n  version: "1"\npaths:\n  /quote:\n    get:\n      operationId: getQuote\n',
  'assets/logo.png': Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0x00, 0x01]),
  'data/huge.json': `[${'1,'.repeat(600 * 1024)}1]`,
};

test('a git checkout: tracked files only, imports resolved, exports, parameters, schemas, commit', async () => {
  const root = fixture({ ...service, 'generated/out.ts': 'export const ignored = 1;\n' });
  git(root, 'init', '-q');
  git(root, 'add', '-A');
  git(root, 'commit', '-q', '-m', 'fixture');
  const head = git(root, 'rev-parse', 'HEAD');
  // untracked files are not part of the commit the graph describes
  writeFileSync(join(root, 'src/untracked.ts'), 'export const draft = 1;\n');

  const graph = await buildServiceGraph(root, {
    parameters: [
      { name: 'cache-size', env: 'CACHE_SIZE', type: 'integer', min: 0, max: 1000 },
      { name: 'cache-size-config', configKey: 'cache.size', type: 'integer', min: 0, max: 1000 },
    ],
  });

  assert.equal(graph.commit, head);
  const byPath = new Map<string, ModuleNode>(graph.modules.map((module) => [module.path, module]));
  assert.deepEqual(
    [...byPath.keys()],
    [
      '.gitignore',
      'api/openapi.yaml',
      'config/app.yaml',
      'scripts/seed.py',
      'src/app.test.ts',
      'src/app.ts',
      'src/factory.ts',
      'src/legacy.cjs',
      'src/main.ts',
      'src/metrics.mts',
      'src/price.cjs',
      'src/routes/index.ts',
      'src/types.ts',
    ],
  );
  assert.equal(graph.skippedFiles, 2, 'the binary and the file over 1 MiB');

  assert.deepEqual(byPath.get('src/main.ts')?.imports, [
    'src/app.ts',
    'src/metrics.mts',
    'src/routes/index.ts',
  ]);
  assert.deepEqual(byPath.get('src/main.ts')?.externalImports, ['express']);
  assert.deepEqual(byPath.get('src/main.ts')?.exports, [{ name: 'start', kind: 'function' }]);
  assert.deepEqual(byPath.get('src/app.ts')?.imports, ['src/factory.ts', 'src/types.ts']);
  assert.deepEqual(byPath.get('src/app.ts')?.exports, [
    { name: 'createApp', kind: 'reexport', from: './factory.js' },
    { name: '*', kind: 'reexport', from: './types.js' },
  ]);
  assert.deepEqual(byPath.get('src/types.ts')?.exports, [
    { name: 'AppOptions', kind: 'interface' },
    { name: 'Port', kind: 'type' },
  ]);
  assert.deepEqual(byPath.get('src/routes/index.ts')?.exports, [
    { name: 'quote', kind: 'variable' },
    { name: 'Verb', kind: 'enum' },
  ]);
  assert.deepEqual(byPath.get('src/metrics.mts')?.externalImports, ['prom-client']);
  assert.deepEqual(byPath.get('src/metrics.mts')?.exports, [{ name: 'default', kind: 'default' }]);
  assert.deepEqual(byPath.get('src/legacy.cjs')?.imports, ['src/price.cjs']);
  assert.deepEqual(byPath.get('src/price.cjs')?.exports, [{ name: 'price', kind: 'function' }]);
  assert.equal(byPath.get('src/app.test.ts')?.test, true);
  assert.deepEqual(byPath.get('src/app.test.ts')?.imports, ['src/app.ts']);
  assert.equal(byPath.get('src/app.ts')?.test, false);
  assert.deepEqual(byPath.get('scripts/seed.py'), {
    path: 'scripts/seed.py',
    language: 'python',
    lines: 3,
    imports: [],
    externalImports: [],
    exports: [],
    test: false,
  });

  assert.deepEqual(
    graph.parameters.map((parameter) => [parameter.carrier, parameter.usedIn]),
    [
      ['env:CACHE_SIZE', ['scripts/seed.py']],
      ['config:cache.size', ['config/app.yaml']],
    ],
  );
  assert.deepEqual(graph.apiSchemas, [
    {
      path: 'api/openapi.yaml',
      title: 'Quote',
      version: '1',
      operations: [{ method: 'GET', path: '/quote', operationId: 'getQuote' }],
    },
  ]);
  assert.deepEqual(graph.hotSpots, []);
  assert.equal(graph.hotSpotsNote, 'Prometheus was not asked: no address given.');
  assert.doesNotThrow(() => JSON.parse(JSON.stringify(graph)));
});

test('a plain directory is walked, skipping dependencies and build output', async () => {
  const root = fixture({
    'index.js': "const lib = require('./lib');\nmodule.exports = lib;\n",
    'lib/index.js': 'exports.run = function () {};\n',
    'node_modules/dep/index.js': 'module.exports = 1;\n',
    'dist/bundle.js': 'bundled\n',
    'build/out.js': 'built\n',
    'coverage/lcov.info': 'TN:\n',
    '__tests__/index.js': "require('../index.js');\n",
  });
  const graph = await buildServiceGraph(root);
  assert.equal(graph.commit, undefined);
  assert.deepEqual(
    graph.modules.map((module) => [module.path, module.imports, module.test]),
    [
      ['__tests__/index.js', ['index.js'], true],
      ['index.js', ['lib/index.js'], false],
      ['lib/index.js', [], false],
    ],
  );
});

test('a git repository without commits is listed by git, without a commit', async () => {
  const root = fixture({ 'a.ts': 'export const a = 1;\n', 'b.ts': 'export const b = 2;\n' });
  git(root, 'init', '-q');
  git(root, 'add', 'a.ts');
  const graph = await buildServiceGraph(root);
  assert.equal(graph.commit, undefined);
  assert.deepEqual(
    graph.modules.map((module) => module.path),
    ['a.ts'],
  );
});

test('a missing directory is a NotADirectoryError', async () => {
  const root = fixture({ 'file.txt': 'x' });
  await assert.rejects(buildServiceGraph(join(root, 'nope')), NotADirectoryError);
  await assert.rejects(buildServiceGraph(join(root, 'file.txt')), /is not a directory/);
});
