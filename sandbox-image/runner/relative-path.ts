// Paths that come from a manifest or a diff are relative to the source directory and must stay in it.
import { posix } from 'node:path';

/** `path` normalised when it stays inside the directory it is relative to; undefined otherwise. */
export function safeRelativePath(path: string): string | undefined {
  if (path === '' || path.includes('\0') || path.startsWith('/') || /^[A-Za-z]:/.test(path)) return undefined;
  if (path.split(/[/\\]/).includes('..')) return undefined;
  const normalised = posix.normalize(path);
  return normalised === '.' || normalised.startsWith('../') ? undefined : normalised;
}
