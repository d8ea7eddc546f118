import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readScript } from './script.js';

test('every import form yields its literal specifier, once, in order of appearance', () => {
  const facts = readScript(
    'src/a.ts',
    [
      "import express from 'express';",
      "import type { Options } from './options.js';",
      "import './side-effect.js';",
      "export { helper } from './helper.js';",
      "export * from './all.js';",
      "import fs = require('node:fs');",
      "const legacy = require('./legacy.cjs');",
      'const template = require(`./template.js`);',
      "const computed = require('./' + name);",
      'async function later() {',
      "  const { lazy } = await import('./lazy.js');",
      "  type T = typeof import('./types.js');",
      '}',
      "import express2 from 'express';",
    ].join('\n'),
  );
  assert.deepEqual(facts.specifiers, [
    'express',
    './options.js',
    './side-effect.js',
    './helper.js',
    './all.js',
    'node:fs',
    './legacy.cjs',
    './template.js',
    './lazy.js',
    './types.js',
  ]);
});

test('imports only types name are not runtime imports; one that may still load its module is', () => {
  const facts = readScript(
    'src/a.ts',
    [
      "import type { Options } from './options.js';",
      "export type { Shape } from './shape.js';",
      "import type Legacy = require('./legacy.cjs');",
      "type T = typeof import('./types.js');",
      "import { type Named } from './named.js';",
      "import { run, type Runner } from './run.js';",
      "import type { Later } from './both.js';",
      "const both = await import('./both.js');",
    ].join('\n'),
  );
  assert.deepEqual(facts.runtimeSpecifiers, ['./named.js', './run.js', './both.js']);
  assert.equal(facts.specifiers.length, 7);
});

test('exported declarations carry their kind', () => {
  const facts = readScript(
    'src/kinds.ts',
    [
      'export function run() {}',
      'export async function* stream() {}',
      'export class Server {}',
      'export abstract class Base {}',
      'export interface Options { port: number }',
      'export type Id = string;',
      'export enum Color { Red }',
      'export const answer = 42, { a, b: [c] } = source;',
      'export declare let declared: number;',
      'export namespace Space { export const inner = 1; }',
      'function overloaded(a: string): void;',
      'export function twice(a: string): void;',
      'export function twice(a: string, b?: string): void {}',
    ].join('\n'),
  );
  assert.deepEqual(facts.exports, [
    { name: 'run', kind: 'function' },
    { name: 'stream', kind: 'function' },
    { name: 'Server', kind: 'class' },
    { name: 'Base', kind: 'class' },
    { name: 'Options', kind: 'interface' },
    { name: 'Id', kind: 'type' },
    { name: 'Color', kind: 'enum' },
    { name: 'answer', kind: 'variable' },
    { name: 'a', kind: 'variable' },
    { name: 'c', kind: 'variable' },
    { name: 'declared', kind: 'variable' },
    { name: 'Space', kind: 'other' },
    { name: 'twice', kind: 'function' },
  ]);
});

test('default exports, export lists and re-exports', () => {
  const facts = readScript(
    'src/index.ts',
    [
      "import { imported } from './imported.js';",
      'const local = () => 1;',
      'class Local {}',
      'export { local, Local as Renamed, imported, local as default };',
      "export * from './all.js';",
      "export * as ns from './ns.js';",
      "export { one, two as three } from './numbers.js';",
      "export { default as Widget } from './widget.js';",
    ].join('\n'),
  );
  assert.deepEqual(facts.exports, [
    { name: 'local', kind: 'variable' },
    { name: 'Renamed', kind: 'class' },
    { name: 'imported', kind: 'reexport' },
    { name: 'default', kind: 'default' },
    { name: '*', kind: 'reexport', from: './all.js' },
    { name: 'ns', kind: 'reexport', from: './ns.js' },
    { name: 'one', kind: 'reexport', from: './numbers.js' },
    { name: 'three', kind: 'reexport', from: './numbers.js' },
    { name: 'Widget', kind: 'reexport', from: './widget.js' },
  ]);
  assert.deepEqual(readScript('a.ts', 'export default function main() {}').exports, [
    { name: 'default', kind: 'default' },
  ]);
  assert.deepEqual(readScript('a.ts', 'const x = 1;\nexport default x;').exports, [
    { name: 'default', kind: 'default' },
  ]);
});

test('CommonJS exports of a .cjs file', () => {
  const facts = readScript(
    'lib/server.cjs',
    [
      "const http = require('node:http');",
      'module.exports = createServer;',
      'exports.start = function () {};',
      'module.exports.stop = () => {};',
      'exports.Client = class {};',
      'exports.port = 8080;',
    ].join('\n'),
  );
  assert.deepEqual(facts.specifiers, ['node:http']);
  assert.deepEqual(facts.exports, [
    { name: 'default', kind: 'default' },
    { name: 'start', kind: 'function' },
    { name: 'stop', kind: 'function' },
    { name: 'Client', kind: 'class' },
    { name: 'port', kind: 'variable' },
  ]);
});

test('JSX files parse, and broken syntax still yields what can be read', () => {
  const jsx = readScript('ui/App.jsx', "import React from 'react';\nexport const App = () => <div>hi</div>;");
  assert.deepEqual(jsx.specifiers, ['react']);
  assert.deepEqual(jsx.exports, [{ name: 'App', kind: 'variable' }]);
  const broken = readScript(
    'src/broken.ts',
    "import { a } from './a.js';\nexport function ok() {}\nexport const = ;",
  );
  assert.deepEqual(broken.specifiers, ['./a.js']);
  assert.ok(broken.exports.some((entry) => entry.name === 'ok' && entry.kind === 'function'));
});
