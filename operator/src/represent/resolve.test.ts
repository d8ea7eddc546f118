import assert from 'node:assert/strict';
import { test } from 'node:test';
import { packageName, resolveSpecifier } from './resolve.js';

const files = new Set([
  'src/main.ts',
  'src/util.ts',
  'src/view.tsx',
  'src/esm.mts',
  'src/common.cts',
  'src/plain.js',
  'src/data.json',
  'src/lib/index.ts',
  'src/legacy/index.js',
  'index.ts',
  'src/both.js',
  'src/both.ts',
]);

test('relative specifiers resolve like NodeNext and bundlers would', () => {
  const cases: [string, string][] = [
    ['./util.js', 'src/util.ts'], // TypeScript's .js for a .ts source
    ['./view.js', 'src/view.tsx'],
    ['./esm.mjs', 'src/esm.mts'],
    ['./common.cjs', 'src/common.cts'],
    ['./util', 'src/util.ts'], // extensionless
    ['./plain', 'src/plain.js'],
    ['./plain.js', 'src/plain.js'], // exact file wins
    ['./both.js', 'src/both.js'],
    ['./data.json', 'src/data.json'],
    ['./lib', 'src/lib/index.ts'], // folder index
    ['./lib/index.js', 'src/lib/index.ts'],
    ['./legacy', 'src/legacy/index.js'],
    ['..', 'index.ts'],
    ['../index.js', 'index.ts'],
  ];
  for (const [specifier, expected] of cases) {
    assert.deepEqual(resolveSpecifier(specifier, 'src/main.ts', files), { local: expected }, specifier);
  }
});

test('bare specifiers name their package; the rest is unresolved', () => {
  assert.deepEqual(resolveSpecifier('express', 'src/main.ts', files), { external: 'express' });
  assert.deepEqual(resolveSpecifier('lodash/fp', 'src/main.ts', files), { external: 'lodash' });
  assert.deepEqual(resolveSpecifier('@scope/pkg/deep/x', 'src/main.ts', files), { external: '@scope/pkg' });
  assert.deepEqual(resolveSpecifier('node:fs/promises', 'src/main.ts', files), {
    external: 'node:fs/promises',
  });
  assert.deepEqual(resolveSpecifier('./missing.js', 'src/main.ts', files), { unresolved: './missing.js' });
  assert.deepEqual(resolveSpecifier('../../outside.js', 'src/main.ts', files), {
    unresolved: '../../outside.js',
  });
  assert.deepEqual(resolveSpecifier('/abs/path.js', 'src/main.ts', files), { unresolved: '/abs/path.js' });
  assert.equal(packageName('@scope'), '@scope');
});
