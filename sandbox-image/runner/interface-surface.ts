// The interface comparison: whether a candidate kept the service's interface. The surface is a set
// of lines, read before the candidate's changes are written and again after, and the two are compared. The
// OpenAPI documents named by the manifest are the surface when there are any; otherwise the
// exported declarations of the script files the changes touch are: only a touched file can change
// its own exports, so the untouched rest of the source needs no reading (and a candidate that
// touches no script file needs no compiler at all).
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { load } from 'js-yaml';
import {
  MAX_SURFACE_LINE_CHARS,
  MAX_SURFACE_LINES,
  type SandboxResult,
} from '../../operator/src/api/sandbox-protocol.js';
import { loadCompiler } from './compiler.js';
import { exportedDeclarations, type TypeScript } from './export-surface.js';
import { openApiOperations } from './openapi-surface.js';
import { safeRelativePath } from './relative-path.js';

export type InterfaceComparison = NonNullable<SandboxResult['interface']>;

/** What is compared: the OpenAPI files, or the exports of some script files. Paths are POSIX. */
export interface InterfaceScope {
  source: InterfaceComparison['source'];
  files: readonly string[];
}

export type SurfaceReading = { ok: true; lines: string[] } | { ok: false; problem: string };

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

/** Whether a source path is a script file whose exports belong to the interface (not a test, not a dependency). */
export function isInterfaceScript(path: string): boolean {
  const parts = path.split('/');
  const name = parts.pop() ?? '';
  if (parts.some((folder) => folder.startsWith('.') || SKIPPED_FOLDERS.has(folder))) return false;
  return SCRIPT_FILE.test(name) && !TEST_FILE.test(name);
}

/** The OpenAPI files when the manifest names any, else the touched paths that are interface scripts. */
export function interfaceScope(
  interfaceFiles: readonly string[],
  touched: readonly string[],
): InterfaceScope {
  if (interfaceFiles.length > 0) return { source: 'openapi', files: interfaceFiles };
  const scripts = [...new Set(touched.filter(isInterfaceScript))];
  return { source: 'exports', files: scripts.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)) };
}

/**
 * The surface lines of `scope` in `sourceDir`. An exports file that does not exist (created or
 * deleted by the patch) has no lines; a missing or broken OpenAPI file, or a compiler that cannot
 * be loaded, is a problem and gives no lines at all.
 */
export async function readSurface(
  sourceDir: string,
  scope: InterfaceScope,
  loadTypeScript: () => TypeScript = defaultTypeScript,
): Promise<SurfaceReading> {
  if (scope.source === 'openapi') return openApiSurface(sourceDir, scope.files);
  if (scope.files.length === 0) return { ok: true, lines: [] };
  let ts: TypeScript;
  try {
    ts = loadTypeScript();
  } catch (error) {
    return { ok: false, problem: `the TypeScript compiler cannot be loaded: ${(error as Error).message}` };
  }
  const lines: string[] = [];
  for (const path of scope.files) {
    const text = await readScript(sourceDir, path);
    if (text !== undefined) {
      lines.push(...exportedDeclarations(ts, path, text).map((entry) => `${path}:${entry}`));
    }
  }
  return { ok: true, lines };
}

/** The comparison the result carries: both sides' hashes and the first few lines that differ. */
export function compareSurfaces(
  scope: InterfaceScope,
  before: readonly string[],
  after: readonly string[],
): InterfaceComparison {
  const beforeSet = new Set(before);
  const afterSet = new Set(after);
  const removed = sortLines([...beforeSet].filter((line) => !afterSet.has(line)));
  const added = sortLines([...afterSet].filter((line) => !beforeSet.has(line)));
  const shown = (lines: string[]): string[] =>
    lines.slice(0, MAX_SURFACE_LINES).map((line) => shorten(line, MAX_SURFACE_LINE_CHARS));
  return {
    source: scope.source,
    files: scope.files.length,
    before: hashLines(before),
    after: hashLines(after),
    removed: shown(removed),
    added: shown(added),
    more: Math.max(0, removed.length - MAX_SURFACE_LINES) + Math.max(0, added.length - MAX_SURFACE_LINES),
  };
}

/** The sha256 of the distinct `lines` sorted (by code unit, so independent of locale) and joined by newlines. */
export function hashLines(lines: readonly string[]): { sha256: string; items: number } {
  const sorted = sortLines([...new Set(lines)]);
  return { sha256: createHash('sha256').update(sorted.join('\n')).digest('hex'), items: sorted.length };
}

async function readScript(sourceDir: string, path: string): Promise<string | undefined> {
  const file = join(sourceDir, ...path.split('/'));
  const info = await stat(file).catch(() => undefined);
  if (!info?.isFile() || info.size > MAX_SCRIPT_BYTES) return undefined;
  return readFile(file, 'utf8');
}

async function openApiSurface(sourceDir: string, files: readonly string[]): Promise<SurfaceReading> {
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
  return { ok: true, lines };
}

function sortLines(lines: string[]): string[] {
  return lines.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

function shorten(text: string, chars: number): string {
  return text.length <= chars ? text : `${text.slice(0, chars - 1)}…`;
}

let loadedCompiler: TypeScript | undefined;

/**
 * TypeScript ships beside the runner's bundle, not in it, and is loaded only when a script file is
 * compared, once for both sides.
 */
function defaultTypeScript(): TypeScript {
  loadedCompiler ??= loadCompiler().ts;
  return loadedCompiler;
}
