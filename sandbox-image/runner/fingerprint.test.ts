import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { dump } from 'js-yaml';
import { fingerprintSource, hashLines } from './fingerprint.js';
import { tempDir, writeFiles } from './test-helpers.js';

const SERVICE = {
  'package.json': '{"name":"svc"}',
  'src/index.ts': "export { start } from './server.js';\nexport const VERSION = '1';\n",
  'src/server.ts': 'export function start(port: number, host?: string) {}\nfunction internal() {}\n',
  'src/util.js': 'exports.slug = (text) => text;\n',
  'src/types.d.ts': 'export interface Config { port: number }\n',
  'src/server.test.ts': 'export function helperOnlyForTests() {}\n',
  'src/server.spec.js': 'exports.x = 1;\n',
  'test/support.ts': 'export const fixture = 1;\n',
  'src/__tests__/a.ts': 'export const a = 1;\n',
  'node_modules/dep/index.js': 'exports.dep = 1;\n',
  'dist/index.js': 'exports.built = 1;\n',
  '.cache/x.js': 'exports.cached = 1;\n',
  'README.md': '# svc\n',
};

async function exportsPrint(files: Record<string, string>): Promise<{ sha256: string; items: number }> {
  const dir = await tempDir();
  await writeFiles(dir, files);
  const outcome = await fingerprintSource(dir, []);
  assert.ok(outcome.ok, outcome.ok ? '' : outcome.problem);
  assert.equal(outcome.fingerprint.source, 'exports');
  return { sha256: outcome.fingerprint.sha256, items: outcome.fingerprint.items };
}

test('hashLines is the sha256 of the sorted lines, whatever their order', () => {
  assert.deepEqual(hashLines(['b', 'a']), hashLines(['a', 'b']));
  assert.deepEqual(hashLines([]), {
    sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    items: 0,
  });
});

test('exports of non-test source files only, deterministic', async () => {
  const first = await exportsPrint(SERVICE);
  // start (re-export), VERSION, start (declaration), slug, Config
  assert.equal(first.items, 5);
  assert.match(first.sha256, /^[0-9a-f]{64}$/);
  assert.deepEqual(await exportsPrint(SERVICE), first);
  assert.deepEqual(
    await exportsPrint({ ...SERVICE, 'src/server.test.ts': 'export const changed = 2;\n' }),
    first,
  );
  assert.deepEqual(
    await exportsPrint({ ...SERVICE, 'node_modules/dep/index.js': 'exports.other = 2;\n' }),
    first,
  );
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

test('OpenAPI interface files, JSON or YAML, are fingerprinted by their operations', async () => {
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
  const yaml = await fingerprintSource(dir, ['api/openapi.yaml']);
  const json = await fingerprintSource(dir, ['api/openapi.json']);
  assert.ok(yaml.ok && json.ok);
  assert.deepEqual(yaml.fingerprint, json.fingerprint);
  assert.equal(yaml.fingerprint.source, 'openapi');
  assert.equal(yaml.fingerprint.items, 1);
  const both = await fingerprintSource(dir, ['api/openapi.yaml', 'api/openapi.json']);
  assert.equal(both.ok && both.fingerprint.items, 2);

  await writeFile(
    join(dir, 'api/openapi.yaml'),
    dump({ ...document, info: { title: 'renamed', version: '2' } }),
  );
  assert.deepEqual(await fingerprintSource(dir, ['api/openapi.yaml']), yaml);
});

test('a missing, broken, foreign or escaping interface file gives no fingerprint', async () => {
  const dir = await tempDir();
  await writeFiles(dir, { 'broken.yaml': 'a: [1, 2', 'package.json': '{"name":"svc"}' });
  const problems = await Promise.all(
    ['absent.yaml', 'broken.yaml', 'package.json', '../outside.yaml'].map((file) =>
      fingerprintSource(dir, [file]),
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

test('without the TypeScript compiler there is no exports fingerprint, and the reason', async () => {
  const dir = await tempDir();
  const outcome = await fingerprintSource(dir, [], () =>
    Promise.reject(new Error("Cannot find package 'typescript'")),
  );
  assert.deepEqual(outcome, {
    ok: false,
    problem: "the TypeScript compiler cannot be loaded: Cannot find package 'typescript'",
  });
});
