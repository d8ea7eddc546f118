import assert from 'node:assert/strict';
import { test } from 'node:test';
import ts from 'typescript';
import { exportedDeclarations } from './export-surface.js';

const lines = (path: string, ...source: string[]): string[] =>
  exportedDeclarations(ts, path, source.join('\n'));

test('exported declarations with their kinds, and functions with their parameters', () => {
  assert.deepEqual(
    lines(
      'src/api.ts',
      'export function get(id: string, options?: Options, ...rest: unknown[]): Item {}',
      'export async function* stream(this: Ctx, { from, to: until }: Range, [first, , ...others] = []) {}',
      'export class Server {}',
      'export interface Options { port: number }',
      'export type Id = string;',
      'export enum Color { Red }',
      'export namespace Space { export const inner = 1; }',
      'export const answer = 42, { a, b: [c] } = source;',
      'export let counter = 0;',
      'export const handler = async (request, reply = {}) => reply;',
      'export const legacy = function (x) {};',
      'export const Model = class {};',
      'export declare const typed: (a: number) => void;',
      'function hidden(a, b) {}',
      'const notExported = 1;',
    ),
    [
      'get:function:3(id,options?,...rest)',
      'stream:function:2({from,to:until},[first,,...others]?)',
      'Server:class:',
      'Options:interface:',
      'Id:type:',
      'Color:enum:',
      'Space:namespace:',
      'answer:const:',
      'a:const:',
      'c:const:',
      'counter:let:',
      'handler:function:2(request,reply?)',
      'legacy:function:1(x)',
      'Model:class:',
      'typed:const:',
    ],
  );
});

test('default exports, export lists, re-exports and overloads', () => {
  assert.deepEqual(
    lines(
      'src/index.ts',
      "import { helper as help } from './helper.js';",
      "import * as all from './all.js';",
      'function local(a: string): void;',
      'function local(a: number): void;',
      'function local(a: unknown) {}',
      'const value = 3;',
      'export { local, value as renamed, help, all, missing };',
      "export { thing as other } from './thing.js';",
      "export * from './star.js';",
      "export * as space from './space.js';",
      'export default function (req, res) {}',
    ),
    [
      'local:function:1(a)',
      'renamed:const:',
      'help:reexport:./helper.js#helper',
      'all:reexport:./all.js#*',
      'missing:binding:',
      'other:reexport:./thing.js#thing',
      '*:reexport:./star.js',
      'space:reexport:./space.js#*',
      'default:function:2(req,res)',
    ],
  );
  assert.deepEqual(lines('a.ts', 'const app = (port) => port;', 'export default app;'), [
    'default:function:1(port)',
  ]);
  assert.deepEqual(lines('b.ts', 'export default { a: 1 };'), ['default:value:']);
  assert.deepEqual(lines('c.ts', 'class Api {}', 'export = Api;'), ['=:class:']);
});

test('CommonJS exports of JavaScript files', () => {
  assert.deepEqual(
    lines(
      'lib/index.js',
      'function start(port, host) {}',
      'const VERSION = "1";',
      'exports.stop = function (signal) {};',
      'module.exports.restart = (after) => {};',
      'module.exports = { start, VERSION, status() {}, check: (deep) => deep, [dynamic]: 1 };',
    ),
    [
      'stop:function:1(signal)',
      'restart:function:1(after)',
      'start:function:2(port,host)',
      'VERSION:const:',
      'status:function:0()',
      'check:function:1(deep)',
    ],
  );
  assert.deepEqual(lines('lib/app.cjs', 'module.exports = function createApp(options) {};'), [
    'default:function:1(options)',
  ]);
});

test('formatting, comments, bodies and types do not matter; names and parameters do', () => {
  const base = lines('s.ts', 'export function add(a: number, b: number): number { return a + b; }');
  const reformatted = lines(
    's.ts',
    '// adds two numbers',
    'export function add(',
    '  a: number,   // first',
    '  b: bigint,',
    ') {',
    '  const unused = 1;',
    '  return a + Number(b);',
    '}',
    'function helper() {}',
  );
  assert.deepEqual(reformatted, base);
  assert.notDeepEqual(lines('s.ts', 'export function add(a, b, c) {}'), base);
  assert.notDeepEqual(lines('s.ts', 'export function add(x, b) {}'), base);
  assert.notDeepEqual(lines('s.ts', 'export function sum(a, b) {}'), base);
  assert.notDeepEqual(lines('s.ts', 'function add(a, b) {}'), base);
});
