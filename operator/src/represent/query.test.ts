import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ModuleNode, ServiceGraph } from './graph.js';
import {
  fanIn,
  findModule,
  hotSpotContext,
  importersOf,
  modulesForHotSpots,
  mostImported,
  neighbourhood,
  parametersUsedIn,
} from './query.js';

function module(path: string, imports: string[] = [], test = false): ModuleNode {
  return { path, language: 'typescript', lines: 1, imports, externalImports: [], exports: [], test };
}

// main → app → routes/quote → price → util ; db → util ; quote.test → routes/quote
const graph: ServiceGraph = {
  modules: [
    module('src/main.ts', ['src/app.ts']),
    module('src/app.ts', ['src/routes/quote.ts']),
    module('src/routes/quote.ts', ['src/price.ts']),
    module('src/price.ts', ['src/util.ts']),
    module('src/db.ts', ['src/util.ts']),
    module('src/util.ts'),
    module('test/quote.test.ts', ['src/routes/quote.ts'], true),
  ],
  parameters: [
    {
      name: 'cache-size',
      carrier: 'env:CACHE_SIZE',
      type: 'integer',
      min: 0,
      max: 9,
      usedIn: ['src/price.ts'],
    },
  ],
  apiSchemas: [],
  hotSpots: [
    { route: '/quote', p99Ms: 400, modules: ['src/routes/quote.ts'] },
    { route: '/health', p99Ms: 2, modules: ['src/app.ts', 'src/routes/quote.ts'] },
  ],
};

test('finding modules and their importers', () => {
  assert.equal(findModule(graph, './src/util.ts')?.path, 'src/util.ts');
  assert.equal(findModule(graph, 'src/nope.ts'), undefined);
  assert.deepEqual(importersOf(graph, 'src/util.ts'), ['src/db.ts', 'src/price.ts']);
  assert.deepEqual(importersOf(graph, 'src/main.ts'), []);
  assert.equal(fanIn(graph).get('src/routes/quote.ts'), 2);
  assert.deepEqual(mostImported(graph, 2), [
    { path: 'src/routes/quote.ts', importers: 2 },
    { path: 'src/util.ts', importers: 2 },
  ]);
});

test('neighbourhood walks imports both ways, nearest first, up to the depth', () => {
  assert.deepEqual(neighbourhood(graph, ['src/routes/quote.ts'], 0), ['src/routes/quote.ts']);
  assert.deepEqual(neighbourhood(graph, ['src/routes/quote.ts'], 1), [
    'src/routes/quote.ts',
    'src/app.ts',
    'src/price.ts',
    'test/quote.test.ts',
  ]);
  assert.deepEqual(neighbourhood(graph, ['src/routes/quote.ts'], 2, { tests: false }), [
    'src/routes/quote.ts',
    'src/app.ts',
    'src/price.ts',
    'src/main.ts',
    'src/util.ts',
  ]);
  assert.deepEqual(neighbourhood(graph, ['src/unknown.ts'], 3), []);
});

test('hot spot modules, their context, and parameters by module', () => {
  assert.deepEqual(modulesForHotSpots(graph), ['src/routes/quote.ts', 'src/app.ts']);
  assert.deepEqual(hotSpotContext(graph), [
    'src/app.ts',
    'src/routes/quote.ts',
    'src/main.ts',
    'src/price.ts',
  ]);
  assert.deepEqual(
    parametersUsedIn(graph, 'src/price.ts').map((parameter) => parameter.name),
    ['cache-size'],
  );
  assert.deepEqual(parametersUsedIn(graph, 'src/app.ts'), []);
});
