import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ServiceGraph } from './graph.js';
import { renderGraph } from './render.js';

const graph: ServiceGraph = {
  commit: '0123456789abcdef0123456789abcdef01234567',
  modules: [
    {
      path: 'src/app.ts',
      language: 'typescript',
      lines: 40,
      imports: ['src/price.ts'],
      externalImports: ['express'],
      exports: [
        { name: 'createApp', kind: 'function' },
        { name: '*', kind: 'reexport', from: './price.js' },
      ],
      test: false,
    },
    {
      path: 'src/price.ts',
      language: 'typescript',
      lines: 12,
      imports: [],
      externalImports: [],
      exports: [{ name: 'Price', kind: 'interface' }],
      test: false,
    },
    {
      path: 'src/price.test.ts',
      language: 'typescript',
      lines: 8,
      imports: ['src/price.ts'],
      externalImports: ['node:test'],
      exports: [],
      test: true,
    },
    {
      path: 'api.yaml',
      language: 'yaml',
      lines: 9,
      imports: [],
      externalImports: [],
      exports: [],
      test: false,
    },
  ],
  skippedFiles: 1,
  parameters: [
    {
      name: 'cache-size',
      carrier: 'env:CACHE_SIZE',
      type: 'integer',
      min: 0,
      max: 100,
      step: 5,
      usedIn: ['src/app.ts'],
    },
    { name: 'mode', carrier: 'config:server.mode', type: 'choice', choices: ['fast', 'safe'], usedIn: [] },
  ],
  apiSchemas: [
    {
      path: 'api.yaml',
      title: 'Quote API',
      version: '1.0.0',
      operations: [{ method: 'GET', path: '/quote', operationId: 'getQuote' }],
    },
  ],
  hotSpots: [
    { route: '/quote', method: 'GET', p99Ms: 412.4, rps: 5.25, modules: ['src/app.ts'] },
    { route: '/health', method: 'GET', p99Ms: 2.5, modules: [] },
  ],
};

test('the text summary states the key facts of every section', () => {
  const text = renderGraph(graph);
  const expected = [
    /^Commit: +0123456789ab$/m,
    /^Modules: +4 \(3 typescript, 1 yaml\), 1 tests, 1 skipped/m,
    /^Imports: +2 between modules; 2 packages \(express, node:test\)$/m,
    /^Most imported modules:\n +IMPORTERS +MODULE +EXPORTS\n +2 +src\/price\.ts +Price$/m,
    /^ +src\/app\.ts +function createApp, \* from \.\/price\.js$/m,
    /^ +cache-size +env:CACHE_SIZE +integer +0\.\.100 step 5 +src\/app\.ts$/m,
    /^ +mode +config:server\.mode +choice +fast\|safe +\(not mentioned in the source\)$/m,
    /^ +api\.yaml \(Quote API 1\.0\.0\)\n +GET +\/quote +getQuote$/m,
    /^ +\/quote +GET +412 ms +5\.25 +src\/app\.ts$/m,
    /^ +\/health +GET +2\.5 ms +\(no module mentions the route\)$/m,
  ];
  for (const pattern of expected) assert.match(text, pattern);
  assert.doesNotMatch(text, /src\/price\.test\.ts +/, 'tests are not listed among exports');
  assert.ok(text.endsWith('\n'));
});

test('without hot spots the note says why', () => {
  const text = renderGraph({
    ...graph,
    hotSpots: [],
    hotSpotsNote: 'cannot reach Prometheus at http://p: fetch failed: connect ECONNREFUSED 10.0.0.9:80.',
  });
  assert.match(
    text,
    /^Hot spots: none\. cannot reach Prometheus at http:\/\/p: fetch failed: connect ECONNREFUSED 10\.0\.0\.9:80\.$/m,
  );
  assert.match(text, /^Hot spots: +none$/m);
});

test('long sections are cut and point at --json', () => {
  const modules = Array.from({ length: 5 }, (_, index) => ({
    path: `src/m${index}.ts`,
    language: 'typescript',
    lines: 1,
    imports: [],
    externalImports: [],
    exports: [{ name: `f${index}`, kind: 'function' as const }],
    test: false,
  }));
  const text = renderGraph({ modules, parameters: [], apiSchemas: [], hotSpots: [] }, { maxRows: 2 });
  assert.match(text, /… 3 more modules with exports \(see --json\)/);
  assert.match(text, /^Commit: +\(not a git checkout\)$/m);
});
