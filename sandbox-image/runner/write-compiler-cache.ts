// Run once while the image is built: `node write-compiler-cache.mjs [file]`. Loads the compiler,
// reads the exports of a small TypeScript and JavaScript sample (so the functions the runner uses
// are compiled too, not only the top level), and writes V8's code cache where compiler.ts looks.
import { writeFileSync } from 'node:fs';
import { COMPILER_CACHE_FILE, loadCompiler } from './compiler.js';
import { exportedDeclarations } from './export-surface.js';

const SAMPLE_TS = [
  "import { helper } from './helper.js';",
  "export { helper as renamed } from './helper.js';",
  "export * from './types.js';",
  'export interface Options { id: string; retries?: number }',
  'export type Id = string;',
  'export enum Mode { Fast, Safe }',
  'export const LIMIT = 10;',
  'export function quote(id: Id, options?: Options): number { return helper(id) + LIMIT; }',
  'export class Cache<T> { get(key: string): T | undefined { return undefined; } }',
  'export default quote;',
].join('\n');
const SAMPLE_JS = [
  'exports.slug = (text) => text;',
  'module.exports.count = function (a, b) { return a + b; };',
].join('\n');

const target = process.argv[2] ?? COMPILER_CACHE_FILE;
const { ts, script } = loadCompiler('/nonexistent');
const lines = [
  ...exportedDeclarations(ts, 'sample.ts', SAMPLE_TS),
  ...exportedDeclarations(ts, 'sample.js', SAMPLE_JS),
];
if (lines.length < 8)
  throw new Error(`the sample gave ${lines.length} export lines; the compiler does not work`);
const cache = script.createCachedData();
writeFileSync(target, cache);
process.stdout.write(
  `compiler code cache: ${cache.length} bytes, ${lines.length} sample exports, written to ${String(target)}\n`,
);
