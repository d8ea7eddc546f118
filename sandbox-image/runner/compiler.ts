// Loads the TypeScript compiler that ships beside the runner's bundle, with a V8 code cache when
// the image has one. The compiler is one 9 MB CommonJS file; on a quarter of a CPU, compiling it
// took about a second of every code candidate's sandbox time. The image builds the cache once
// (write-compiler-cache.ts); V8 checks it against the source and its own version and flags, and
// a cache it rejects only costs the compile it was meant to save.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire, Module } from 'node:module';
import { dirname } from 'node:path';
import { Script } from 'node:vm';
import type { TypeScript } from './export-surface.js';

/** The code cache's place: beside the bundle, where the image writes it. */
export const COMPILER_CACHE_FILE = new URL('./typescript.v8cache', import.meta.url);

export interface LoadedCompiler {
  ts: TypeScript;
  /** Whether V8 used the cache (false when there is none, or it did not match). */
  cached: boolean;
  script: Script;
}

/** Loads the compiler: compiled with the cache at `cacheFile` when it exists, plainly otherwise. */
export function loadCompiler(cacheFile: URL | string = COMPILER_CACHE_FILE): LoadedCompiler {
  const require = createRequire(import.meta.url);
  const path = require.resolve('typescript');
  const cachedData = existsSync(cacheFile) ? readFileSync(cacheFile) : undefined;
  // The same wrapper Node puts around every CommonJS file, so the compiler runs as it would under require.
  const script = new Script(
    (Module as unknown as { wrap(source: string): string }).wrap(readFileSync(path, 'utf8')),
    {
      filename: path,
      ...(cachedData ? { cachedData } : {}),
    },
  );
  const module = { exports: {} as unknown };
  const run = script.runInThisContext() as (
    exports: unknown,
    require: NodeJS.Require,
    module: { exports: unknown },
    filename: string,
    dirname: string,
  ) => void;
  run(module.exports, createRequire(path), module, path, dirname(path));
  return {
    ts: module.exports as TypeScript,
    cached: cachedData !== undefined && !script.cachedDataRejected,
    script,
  };
}
