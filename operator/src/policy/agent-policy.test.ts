import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultedMinimalSpec } from '../../../test/support/agents.js';
import { importRootsOf, objectiveFilesOf, policyInputFor, testPathsOf } from './agent-policy.js';

test('test paths: each test directory once, and test files living beside the code', () => {
  assert.deepEqual(
    testPathsOf([
      'src/quote.ts',
      'src/quote.test.ts',
      'src/deep/cache.spec.tsx',
      'test/a.test.ts',
      'test/fixtures/data.json',
      'pkg/tests/b.py',
      'tools/test_cli.py',
      'server/handler_test.go',
      'README.md',
    ]),
    [
      'pkg/tests',
      'server/handler_test.go',
      'src/deep/cache.spec.tsx',
      'src/quote.test.ts',
      'test',
      'tools/test_cli.py',
    ],
  );
});

test('objective files: the agent manifests, the anchor directory, and repository files the benchmark runs', () => {
  const spec = defaultedMinimalSpec({
    verification: { benchmark: 'node ./bench/run.mjs --out=out/b.json config/bench.json' },
  });
  assert.deepEqual(
    objectiveFilesOf(spec, {
      files: ['bench/run.mjs', 'config/bench.json', 'src/a.ts', 'deploy/agent.yaml'],
      agentManifests: ['deploy/agent.yaml'],
    }),
    ['.hyperagent', 'bench/run.mjs', 'config/bench.json', 'deploy/agent.yaml'],
  );
});

test('the policy input takes paths and anchors from the spec', () => {
  const spec = defaultedMinimalSpec({
    source: { repo: 'https://example.com/r.git', paths: ['src'], protectedPaths: ['src/pricing.ts'] },
  });
  const input = policyInputFor(spec, {
    files: ['src/a.ts', 'test/a.test.ts'],
    agentManifests: [],
    imports: new Map(),
  });
  assert.deepEqual(input.allowedPaths, ['src']);
  assert.deepEqual(input.protectedPaths, ['src/pricing.ts']);
  assert.deepEqual(input.testPaths, ['test']);
});

test('import roots: protected files inside source.paths, except tests; the rest import the code under test', () => {
  const spec = defaultedMinimalSpec({
    source: {
      repo: 'https://example.com/r.git',
      paths: ['src', 'lib/stand-in.ts'],
      protectedPaths: ['src/stand-in', 'src/quote.test.ts', 'src/__tests__', 'bench', 'lib'],
    },
  });
  const files = [
    'src/server.ts',
    'src/stand-in/main.ts',
    'src/stand-in/data.json',
    'src/quote.test.ts',
    'src/__tests__/helper.ts',
    'bench/run.ts',
    'lib/stand-in.ts',
    'lib/other.ts',
  ];
  assert.deepEqual(importRootsOf(spec, files), [
    { file: 'src/stand-in/main.ts', anchor: 'src/stand-in' },
    { file: 'src/stand-in/data.json', anchor: 'src/stand-in' },
    { file: 'lib/stand-in.ts', anchor: 'lib' },
  ]);
});
