import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { dump } from 'js-yaml';
import { MAX_SURFACE_LINE_CHARS, MAX_SURFACE_LINES } from '../../operator/src/api/sandbox-protocol.js';
import {
  compareSurfaces,
  hashLines,
  interfaceScope,
  isInterfaceScript,
  readSurface,
  type InterfaceScope,
} from './interface-surface.js';
import { tempDir, writeFiles } from './test-helpers.js';

const SERVICE = {
  'package.json': '{"name":"svc"}',
  'src/index.ts': "export { start } from './server.js';\nexport const VERSION = '1';\n",
  'src/server.ts': 'export function start(port: number, host?: string) {}\nfunction internal() {}\n',
  'src/util.js': 'exports.slug = (text) => text;\n',
  'src/types.d.ts': 'export interface Config { port: number }\n',
};
const SCRIPTS: InterfaceScope = { source: 'exports', files: Object.keys(SERVICE).filter(isInterfaceScript) };

async function exportsPrint(files: Record<string, string>): Promise<{ sha256: string; items: number }> {
  const dir = await tempDir();
  await writeFiles(dir, files);
  const reading = await readSurface(dir, SCRIPTS);
  assert.ok(reading.ok, reading.ok ? '' : reading.problem);
  return hashLines(reading.lines);
}

test('hashLines is the sha256 of the distinct sorted lines, whatever their order', () => {
  assert.deepEqual(hashLines(['b', 'a']), hashLines(['a', 'b', 'a']));
  assert.deepEqual(hashLines([]), {
    sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    items: 0,
  });
});

test('only non-test script files outside dependency, build, test and dot folders are interface', () => {
  const table: Array<[string, boolean]> = [
    ['src/index.ts', true],
    ['src/util.js', true],
    ['lib/a.mjs', true],
    ['lib/b.cts', true],
    ['ui/view.tsx', true],
    ['src/types.d.ts', true],
    ['index.js', true],
    ['src/server.test.ts', false],
    ['src/server.spec.js', false],
    ['test/support.ts', false],
    ['src/__tests__/a.ts', false],
    ['node_modules/dep/index.js', false],
    ['dist/index.js', false],
    ['.cache/x.js', false],
    ['README.md', false],
    ['package.json', false],
  ];
  for (const [path, expected] of table) assert.equal(isInterfaceScript(path), expected, path);
});

test('the scope is the OpenAPI files when named, else the touched interface scripts, sorted', () => {
  assert.deepEqual(interfaceScope(['api/openapi.yaml'], ['src/a.ts']), {
    source: 'openapi',
    files: ['api/openapi.yaml'],
  });
  assert.deepEqual(interfaceScope([], ['src/b.ts', 'README.md', 'src/a.ts', 'src/b.ts', 'test/x.ts']), {
    source: 'exports',
    files: ['src/a.ts', 'src/b.ts'],
  });
});

test('exports of the scoped files, each line prefixed by its path, deterministic', async () => {
  const dir = await tempDir();
  await writeFiles(dir, SERVICE);
  const reading = await readSurface(dir, SCRIPTS);
  assert.ok(reading.ok);
  assert.deepEqual(reading.lines.sort(), [
    'src/index.ts:VERSION:const:',
    'src/index.ts:start:reexport:./server.js#start',
    'src/server.ts:start:function:2(port,host?)',
    'src/types.d.ts:Config:interface:',
    'src/util.js:slug:function:1(text)',
  ]);
  assert.deepEqual(await exportsPrint(SERVICE), await exportsPrint(SERVICE));
});

test('a scoped file that does not exist (created or deleted by the patch) has no lines', async () => {
  const dir = await tempDir();
  await writeFiles(dir, { 'src/a.ts': 'export const a = 1;\n' });
  const reading = await readSurface(dir, { source: 'exports', files: ['src/a.ts', 'src/gone.ts'] });
  assert.deepEqual(reading, { ok: true, lines: ['src/a.ts:a:const:'] });
});

test('no script file in scope: nothing is read and the compiler is not loaded', async () => {
  const reading = await readSurface('/nonexistent', { source: 'exports', files: [] }, () => {
    throw new Error('must not be loaded');
  });
  assert.deepEqual(reading, { ok: true, lines: [] });
});

test('insensitive to formatting and to non-exported changes', async () => {
  const base = await exportsPrint(SERVICE);
  const reformatted = {
    ...SERVICE,
    'src/server.ts': [
      '/** Starts the server. */',
      'export function start(',
      '  port: number,',
      '  host: string = "0.0.0.0",',
      ') {',
      '  return internal();',
      '}',
      'function internal(extra: number) { return extra; }',
      'const cache = new Map();',
    ].join('\n'),
  };
  assert.deepEqual(await exportsPrint(reformatted), base);
});

test('sensitive to removing or renaming an export and to a function’s parameters', async () => {
  const base = await exportsPrint(SERVICE);
  const variants = [
    { 'src/index.ts': "export { start } from './server.js';\n" },
    { 'src/index.ts': "export { start } from './server.js';\nexport const RELEASE = '1';\n" },
    { 'src/server.ts': 'export function start(port: number) {}\n' },
    { 'src/server.ts': 'export function start(portNumber: number, host?: string) {}\n' },
    { 'src/server.ts': 'export function start(port: number, host: string) {}\n' },
    { 'src/util.js': 'exports.slugify = (text) => text;\n' },
  ];
  const prints = new Set([base.sha256]);
  for (const variant of variants) prints.add((await exportsPrint({ ...SERVICE, ...variant })).sha256);
  assert.equal(prints.size, variants.length + 1);
});

test('OpenAPI interface files, JSON or YAML, are read as their operations', async () => {
  const document = {
    openapi: '3.0.0',
    info: { title: 'svc', version: '1' },
    paths: { '/health': { get: { responses: { 200: { description: 'ok' } } } } },
  };
  const dir = await tempDir();
  await writeFiles(dir, {
    'api/openapi.yaml': dump(document),
    'api/openapi.json': JSON.stringify(document, null, 2),
  });
  const openapi = (...files: string[]) => readSurface(dir, { source: 'openapi', files });
  const yaml = await openapi('api/openapi.yaml');
  const json = await openapi('api/openapi.json');
  assert.ok(yaml.ok && json.ok);
  assert.deepEqual(yaml.lines, json.lines);
  assert.equal(yaml.lines.length, 1);
  const both = await openapi('api/openapi.yaml', 'api/openapi.json');
  assert.equal(both.ok && hashLines(both.lines).items, 1, 'the same operation twice is one line');

  await writeFile(
    join(dir, 'api/openapi.yaml'),
    dump({ ...document, info: { title: 'renamed', version: '2' } }),
  );
  assert.deepEqual(await openapi('api/openapi.yaml'), yaml);
});

test('a missing, broken, foreign or escaping interface file gives no surface, and why', async () => {
  const dir = await tempDir();
  await writeFiles(dir, { 'broken.yaml': 'a: [1, 2', 'package.json': '{"name":"svc"}' });
  const problems = await Promise.all(
    ['absent.yaml', 'broken.yaml', 'package.json', '../outside.yaml'].map((file) =>
      readSurface(dir, { source: 'openapi', files: [file] }),
    ),
  );
  assert.deepEqual(
    problems.map((outcome) => (outcome.ok ? 'ok' : outcome.problem.replace(/:.*$/s, ''))),
    [
      'interface file absent.yaml cannot be read',
      'interface file broken.yaml cannot be read',
      'interface file package.json is not an OpenAPI document',
      'interface file ../outside.yaml leaves the source directory',
    ],
  );
});

test('without the TypeScript compiler there are no exports, and the reason', async () => {
  const outcome = await readSurface('/nonexistent', { source: 'exports', files: ['src/a.ts'] }, () => {
    throw new Error("Cannot find module 'typescript'");
  });
  assert.deepEqual(outcome, {
    ok: false,
    problem: "the TypeScript compiler cannot be loaded: Cannot find module 'typescript'",
  });
});

test('the comparison hashes both sides and lists the first changed lines, shortened, counting the rest', () => {
  const scope: InterfaceScope = { source: 'exports', files: ['src/a.ts'] };
  const same = compareSurfaces(scope, ['src/a.ts:a:variable:'], ['src/a.ts:a:variable:']);
  assert.deepEqual(same.before, same.after);
  assert.deepEqual([same.files, same.removed, same.added, same.more], [1, [], [], 0]);

  const changed = compareSurfaces(
    scope,
    ['src/a.ts:quote:function:2(id,options?)', 'src/a.ts:a:variable:'],
    ['src/a.ts:quote:function:1(id)', 'src/a.ts:a:variable:'],
  );
  assert.notEqual(changed.before.sha256, changed.after.sha256);
  assert.deepEqual(changed.removed, ['src/a.ts:quote:function:2(id,options?)']);
  assert.deepEqual(changed.added, ['src/a.ts:quote:function:1(id)']);

  const many = Array.from({ length: MAX_SURFACE_LINES + 3 }, (_, i) => `src/a.ts:e${i}:variable:`);
  const long = `src/a.ts:${'x'.repeat(MAX_SURFACE_LINE_CHARS)}:variable:`;
  const dropped = compareSurfaces(scope, [...many, long], []);
  assert.equal(dropped.removed.length, MAX_SURFACE_LINES);
  assert.equal(dropped.more, 4);
  assert.equal(dropped.before.items, MAX_SURFACE_LINES + 4);
  assert.equal(dropped.after.items, 0);
  const shortened = compareSurfaces(scope, [long], []);
  assert.equal(shortened.removed[0]!.length, MAX_SURFACE_LINE_CHARS);
  assert.ok(shortened.removed[0]!.endsWith('…'));
});
