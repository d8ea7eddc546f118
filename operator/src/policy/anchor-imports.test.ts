import assert from 'node:assert/strict';
import { test } from 'node:test';
import { localCandidates } from '../represent/resolve.js';
import { anchorImports, describeChain, type LocalImport } from './anchor-imports.js';
import { coveringEntry } from './repo-path.js';

/** The import map as the snapshot reads it, from file → specifiers. */
function importsOf(specifiers: Record<string, string[]>): Map<string, LocalImport[]> {
  return new Map(
    Object.entries(specifiers).map(([file, list]) => [
      file,
      list.map((specifier) => ({ specifier, candidates: localCandidates(specifier, file)! })),
    ]),
  );
}
const anchoredBy = (entries: string[]) => (path: string) => coveringEntry(path, entries) !== undefined;
const modules = (found: Map<string, { shadows?: unknown }>) =>
  [...found]
    .filter(([, why]) => why.shadows === undefined)
    .map(([path]) => path)
    .sort();

const SERVICE = {
  'src/pricing-server.ts': ['./env.js', './symbols.js'],
  'src/env.ts': ['./defaults.js'],
  'src/defaults.ts': [],
  'src/symbols.ts': ['./env.js'],
  'src/server.ts': ['./env.js', './quote.js'],
  'src/quote.ts': [],
};
const FILES = new Set(Object.keys(SERVICE));

test('every module a root imports, directly or through others, is protected with it', () => {
  const found = anchorImports(
    importsOf(SERVICE),
    FILES,
    [{ file: 'src/pricing-server.ts', anchor: 'src/pricing-server.ts' }],
    anchoredBy(['src/pricing-server.ts']),
  );
  assert.deepEqual(modules(found), ['src/defaults.ts', 'src/env.ts', 'src/symbols.ts']);
  // the shortest chain, not the one through symbols.ts
  assert.deepEqual(found.get('src/env.ts'), {
    anchor: 'src/pricing-server.ts',
    chain: ['src/pricing-server.ts', 'src/env.ts'],
  });
  assert.equal(
    describeChain(found.get('src/defaults.ts')!.chain),
    'src/pricing-server.ts → src/env.ts → src/defaults.ts',
  );
  // what only unprotected code imports stays free
  assert.equal(found.has('src/quote.ts'), false);
  assert.equal(found.has('src/server.ts'), false);
});

test('a new file an anchor import would load instead is protected too, and says which import', () => {
  const found = anchorImports(
    importsOf({ ...SERVICE, 'src/pricing-server.ts': ['./env.js', './missing.js'] }),
    FILES,
    [{ file: 'src/pricing-server.ts', anchor: 'src/pricing-server.ts' }],
    anchoredBy(['src/pricing-server.ts']),
  );
  // node loads ./env.js itself before the TypeScript source it stands for
  assert.deepEqual(found.get('src/env.js'), {
    anchor: 'src/pricing-server.ts',
    chain: ['src/pricing-server.ts'],
    shadows: { specifier: './env.js', loads: 'src/env.ts' },
  });
  assert.deepEqual(found.get('src/env.js/index.ts')?.shadows, { specifier: './env.js', loads: 'src/env.ts' });
  // through a module: the chain ends at the importing module
  assert.deepEqual(found.get('src/defaults.js')?.chain, ['src/pricing-server.ts', 'src/env.ts']);
  // an import that finds nothing today would load whatever is created there
  assert.deepEqual(found.get('src/missing.ts')?.shadows, { specifier: './missing.js' });
  assert.equal(found.has('src/quote.js'), false);
});

test('modules the anchors cover are not listed again, yet their imports are followed; cycles end', () => {
  const cyclic = {
    'src/stand-in.ts': ['./a.js'],
    'src/a.ts': ['./b.js', './fixed/c.js'],
    'src/b.ts': ['./a.js'],
    'src/fixed/c.ts': ['../d.js'],
    'src/d.ts': [],
  };
  const found = anchorImports(
    importsOf(cyclic),
    new Set(Object.keys(cyclic)),
    [{ file: 'src/stand-in.ts', anchor: 'src/stand-in.ts' }],
    anchoredBy(['src/stand-in.ts', 'src/fixed']),
  );
  assert.deepEqual(modules(found), ['src/a.ts', 'src/b.ts', 'src/d.ts']);
  assert.deepEqual(found.get('src/d.ts')!.chain, [
    'src/stand-in.ts',
    'src/a.ts',
    'src/fixed/c.ts',
    'src/d.ts',
  ]);
  assert.equal(
    found.has('src/fixed/c.js'),
    false,
    'a path the anchors cover is refused as protected already',
  );
  assert.deepEqual(
    anchorImports(importsOf(cyclic), new Set(), [], () => false),
    new Map(),
  );
});
