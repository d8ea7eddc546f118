// The interface fingerprint: a sha256 over the sorted surface lines of the candidate's source, so
// the operator can tell whether a change kept the service's interface. The OpenAPI documents named
// by the manifest are the interface when there are any; otherwise the exported declarations of the
// non-test TS/JS files are.
import { createHash } from 'node:crypto';
import { readFile, readdir, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { load } from 'js-yaml';
import type { SandboxResult } from '../../operator/src/sandbox/protocol.js';
import { exportedDeclarations, type TypeScript } from './export-surface.js';
import { openApiOperations } from './openapi-surface.js';
import { safeRelativePath } from './relative-path.js';

export type Fingerprint = NonNullable<SandboxResult['fingerprint']>;

export type FingerprintOutcome = { ok: true; fingerprint: Fingerprint } | { ok: false; problem: string };

/** Script files whose exports make up the interface. */
const SCRIPT_FILE = /\.(?:[cm]?[jt]s|[jt]sx)$/;
/** Test files by name (`app.test.ts`, `app.spec.js`). */
const TEST_FILE = /\.(?:test|spec)\./;
/** Folders whose files are not the interface: dependencies, build output, tests. Dot folders too. */
const SKIPPED_FOLDERS = new Set([
  'node_modules',
  'dist',
  'build',
  'coverage',
  'test',
  'tests',
  '__tests__',
  '__mocks__',
]);
/** Larger script files are generated or minified, not hand-written interface. */
const MAX_SCRIPT_BYTES = 1024 * 1024;

/** The sha256 of `lines` sorted (by code unit, so independent of locale) and joined by newlines. */
export function hashLines(lines: readonly string[]): { sha256: string; items: number } {
  const sorted = [...lines].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return { sha256: createHash('sha256').update(sorted.join('\n')).digest('hex'), items: sorted.length };
}

/** Fingerprints `sourceDir`; a missing or unreadable interface file gives no fingerprint at all. */
export async function fingerprintSource(
  sourceDir: string,
  interfaceFiles: readonly string[],
  loadTypeScript: () => Promise<TypeScript> = defaultTypeScript,
): Promise<FingerprintOutcome> {
  if (interfaceFiles.length > 0) return openApiFingerprint(sourceDir, interfaceFiles);
  let ts: TypeScript;
  try {
    ts = await loadTypeScript();
  } catch (error) {
    return { ok: false, problem: `the TypeScript compiler cannot be loaded: ${(error as Error).message}` };
  }
  const lines: string[] = [];
  for (const path of await scriptFiles(sourceDir)) {
    const text = await readFile(join(sourceDir, ...path.split('/')), 'utf8');
    lines.push(...exportedDeclarations(ts, path, text).map((entry) => `${path}:${entry}`));
  }
  return { ok: true, fingerprint: { source: 'exports', ...hashLines(lines) } };
}

async function openApiFingerprint(sourceDir: string, files: readonly string[]): Promise<FingerprintOutcome> {
  const lines: string[] = [];
  for (const file of files) {
    const path = safeRelativePath(file);
    if (path === undefined)
      return { ok: false, problem: `interface file ${file} leaves the source directory` };
    let document: unknown;
    try {
      const text = await readFile(join(sourceDir, path), 'utf8');
      document = extname(path) === '.json' ? JSON.parse(text) : load(text);
    } catch (error) {
      return { ok: false, problem: `interface file ${file} cannot be read: ${(error as Error).message}` };
    }
    const operations = openApiOperations(document);
    if (operations === undefined)
      return { ok: false, problem: `interface file ${file} is not an OpenAPI document` };
    lines.push(...operations);
  }
  return { ok: true, fingerprint: { source: 'openapi', ...hashLines(lines) } };
}

/** Non-test script files under `dir`, as sorted POSIX paths relative to it. */
async function scriptFiles(dir: string, prefix = ''): Promise<string[]> {
  const entries = await readdir(join(dir, prefix), { withFileTypes: true });
  const found: string[] = [];
  for (const entry of entries) {
    const path = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
    if (entry.isDirectory()) {
      if (!entry.name.startsWith('.') && !SKIPPED_FOLDERS.has(entry.name))
        found.push(...(await scriptFiles(dir, path)));
    } else if (entry.isFile() && SCRIPT_FILE.test(entry.name) && !TEST_FILE.test(entry.name)) {
      if ((await stat(join(dir, path))).size <= MAX_SCRIPT_BYTES) found.push(path);
    }
  }
  return found.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** TypeScript ships beside the runner's bundle, not in it, and is loaded only for this. */
async function defaultTypeScript(): Promise<TypeScript> {
  return (await import('typescript')).default;
}
