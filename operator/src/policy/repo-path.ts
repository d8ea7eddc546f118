// Paths inside a repository, as a diff names them and as a HyperAgent's spec lists them.
//
// A diff is untrusted text: before any of its names is compared with a policy or handed to a
// tree reader, it must be shown to be a plain relative path that stays inside the repository.
// Policy entries come from the spec (already checked by the CRD) and name files or directories;
// they match on whole path segments, so `src` covers `src/a.ts` but not `srcx/a.ts`.

/** Why a name from a diff is not a safe repository path; undefined when it is one. */
export function unsafePathProblem(path: string): string | undefined {
  const shown = JSON.stringify(path);
  if (path === '') return 'The diff names an empty path.';
  // NUL first: it would also count as a control character, but it is the classic truncation trick.
  if (path.includes('\0')) return `The diff names the path ${shown}, which contains a NUL byte.`;
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is looked for
  if (/[\u0001-\u001f\u007f]/.test(path)) {
    return `The diff names the path ${shown}, which contains a control character.`;
  }
  if (path.includes('\\')) {
    return `The diff names the path ${shown}, which contains a backslash; directories are separated by '/'.`;
  }
  if (path.startsWith('/')) {
    return `The diff names the absolute path ${shown}; paths must be relative to the repository root.`;
  }
  const segments = path.split('/');
  if (segments.includes('..')) {
    return `The diff names the path ${shown}, which climbs out of its directory with '..'.`;
  }
  if (segments.some((segment) => segment === '' || segment === '.')) {
    return `The diff names the path ${shown}, which has an empty or '.' segment; paths must be in plain form.`;
  }
  // git itself refuses to write into its metadata directory, in any letter case.
  if (segments.some((segment) => segment.toLowerCase() === '.git')) {
    return `The diff names the path ${shown}, which is inside git's own metadata directory.`;
  }
  return undefined;
}

/** Characters of glob patterns, which spec entries do not have: an entry is a plain path. */
export const GLOB_CHARACTERS = ['*', '?', '[', ']', '{', '}', '!'] as const;

/**
 * Why a spec entry (`source.paths`, `source.protectedPaths`) is not a plain repository path, or
 * undefined. Entries cover a file or a whole directory, so a glob is never needed; one written out
 * of habit (`src/safety/**`) would match no path literally and protect nothing, so it is refused
 * with how to write it. The CRD refuses the same characters with the same advice.
 */
export function specPathProblem(entry: string): string | undefined {
  const found = GLOB_CHARACTERS.filter((character) => entry.includes(character));
  if (found.length === 0) return undefined;
  const segments = entry.split('/');
  const firstGlob = segments.findIndex((segment) => GLOB_CHARACTERS.some((c) => segment.includes(c)));
  const plain = segments.slice(0, firstGlob).join('/');
  const advice = plain
    ? `name the directory ('${plain}' covers everything under it) or the file`
    : 'name the file or the directory itself (a directory covers everything under it)';
  return `'${entry}' is a repository path, not a glob pattern (${found.join(' ')} ${found.length === 1 ? 'is' : 'are'} not allowed): ${advice}`;
}

/** A spec entry in plain form: no leading './', no trailing '/'; '' means the whole repository. */
export function normalizeSpecPath(entry: string): string {
  let path = entry;
  while (path.startsWith('./')) path = path.slice(2);
  while (path.endsWith('/')) path = path.slice(0, -1);
  return path === '.' ? '' : path;
}

/** Whether `path` is the file `entry` or lies under the directory `entry`, segment by segment. */
export function isWithin(path: string, entry: string): boolean {
  const base = normalizeSpecPath(entry);
  if (base === '') return true;
  return path === base || path.startsWith(`${base}/`);
}

/** The first entry of `entries` that covers `path`, as the spec wrote it, for messages. */
export function coveringEntry(path: string, entries: readonly string[]): string | undefined {
  return entries.find((entry) => isWithin(path, entry));
}

/**
 * The entries that cover no file of `files`. Not an error: a protected entry also stops a candidate
 * from creating the file, and an allowed one lets it create files there. But an entry with a typo
 * protects nothing, silently; whoever checks a policy is told.
 */
export function entriesCoveringNothing(entries: readonly string[], files: readonly string[]): string[] {
  return entries.filter((entry) => !files.some((file) => isWithin(file, entry)));
}
