// Turns an import specifier into a repository file, the way Node and TypeScript's NodeNext/bundler
// resolution would find it on disk, but only among the files we know (no node_modules, no
// tsconfig `paths`: aliases are reported as packages).
import { posix } from 'node:path';

/** Where an import leads: a repository file, an outside package, or nowhere we can tell. */
export type Resolution = { local: string } | { external: string } | { unresolved: string };

const SCRIPT_EXTENSIONS = ['.ts', '.tsx', '.mts', '.cts', '.js', '.jsx', '.mjs', '.cjs', '.json'];

/** Sources a compiled-extension specifier stands for (TypeScript writes `./x.js` for `./x.ts`). */
const SOURCE_FOR: Readonly<Record<string, readonly string[]>> = {
  '.js': ['.ts', '.tsx'],
  '.jsx': ['.tsx'],
  '.mjs': ['.mts'],
  '.cjs': ['.cts'],
};

/** Resolves `specifier`, imported by the repository file `from`, against the known `files`. */
export function resolveSpecifier(specifier: string, from: string, files: ReadonlySet<string>): Resolution {
  if (!isRelative(specifier)) {
    return specifier.startsWith('/') ? { unresolved: specifier } : { external: packageName(specifier) };
  }
  const found = localCandidates(specifier, from)?.find((candidate) => files.has(candidate));
  return found === undefined ? { unresolved: specifier } : { local: found };
}

/**
 * The repository paths a relative `specifier` imported by `from` may load, in the order they are
 * tried (the first that exists is the one loaded); undefined for a package, an absolute path or a
 * path that leaves the repository.
 */
export function localCandidates(specifier: string, from: string): string[] | undefined {
  if (!isRelative(specifier)) return undefined;
  const target = posix.normalize(posix.join(posix.dirname(from), specifier));
  if (target.startsWith('../') || target === '..') return undefined;
  return candidates(target === '.' ? '' : target);
}

function isRelative(specifier: string): boolean {
  return specifier === '.' || specifier === '..' || specifier.startsWith('./') || specifier.startsWith('../');
}

/** Paths to try, in order: exact, source for a compiled extension, appended extension, folder index. */
function candidates(target: string): string[] {
  const extension = posix.extname(target);
  const stem = target.slice(0, target.length - extension.length);
  const sources = (SOURCE_FOR[extension] ?? []).map((source) => stem + source);
  const indexes = SCRIPT_EXTENSIONS.map((added) => posix.join(target, `index${added}`));
  if (target === '') return indexes;
  const appended = SCRIPT_EXTENSIONS.map((added) => target + added);
  return [target, ...sources, ...appended, ...indexes];
}

/**
 * The package a bare specifier belongs to: `lodash/fp` → `lodash`, `@scope/pkg/x` → `@scope/pkg`.
 * Built-ins keep their `node:` form and subpath (`node:fs/promises`).
 */
export function packageName(specifier: string): string {
  if (specifier.startsWith('node:')) return specifier;
  const parts = specifier.split('/');
  return specifier.startsWith('@') && parts.length >= 2 ? `${parts[0]}/${parts[1]}` : (parts[0] ?? specifier);
}
