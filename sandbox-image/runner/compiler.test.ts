import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { loadCompiler } from './compiler.js';
import { exportedDeclarations } from './export-surface.js';
import { tempDir } from './test-helpers.js';

const run = promisify(execFile);
const SOURCE = 'export function quote(id: string, options?: object) {}\n';
const COMPILER = new URL('./compiler.ts', import.meta.url).href;
const SURFACE = new URL('./export-surface.ts', import.meta.url).href;
const WRITER = new URL('./write-compiler-cache.ts', import.meta.url).pathname;

/** Loads the compiler in a fresh process (V8 keeps compiled scripts per process) and reads SOURCE. */
async function loadInChild(cacheFile: string): Promise<{ cached: boolean; lines: string[] }> {
  const script = [
    `const { loadCompiler } = await import(${JSON.stringify(COMPILER)});`,
    `const { exportedDeclarations } = await import(${JSON.stringify(SURFACE)});`,
    `const { ts, cached } = loadCompiler(${JSON.stringify(cacheFile)});`,
    `console.log(JSON.stringify({ cached, lines: exportedDeclarations(ts, 'a.ts', ${JSON.stringify(SOURCE)}) }));`,
  ].join('\n');
  const { stdout } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script]);
  return JSON.parse(stdout) as { cached: boolean; lines: string[] };
}

test('without a cache file the compiler loads plainly and works', () => {
  const { ts, cached } = loadCompiler('/nonexistent/typescript.v8cache');
  assert.equal(cached, false);
  assert.deepEqual(exportedDeclarations(ts, 'a.ts', SOURCE), ['quote:function:2(id,options?)']);
});

test('the cache the image writes is used by a later process; a broken one is rejected harmlessly', async () => {
  const dir = await tempDir();
  const cacheFile = join(dir, 'typescript.v8cache');
  const written = await run(process.execPath, ['--import', 'tsx', WRITER, cacheFile]);
  assert.match(written.stdout, /^compiler code cache: \d+ bytes, \d+ sample exports/);

  assert.deepEqual(await loadInChild(cacheFile), { cached: true, lines: ['quote:function:2(id,options?)'] });
  await writeFile(cacheFile, 'not a code cache');
  assert.deepEqual(await loadInChild(cacheFile), { cached: false, lines: ['quote:function:2(id,options?)'] });
});
