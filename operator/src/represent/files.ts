// The files of a service checkout and their text. A git work tree is listed by git, so ignored
// and untracked files (build output, local secrets) stay out; anything else is walked.
import { execFile } from 'node:child_process';
import { lstat, readFile, readdir } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Files larger than this are data or generated, not something to read as source. */
export const MAX_FILE_BYTES = 1024 * 1024;

/** Folders a walk never enters: VCS metadata, dependencies and build output. */
const SKIPPED_FOLDERS = new Set(['.git', 'node_modules', 'dist', 'build', 'coverage']);

/** Bytes inspected for a NUL to call a file binary (the same test git uses). */
const BINARY_PROBE_BYTES = 8000;

/** How many files are read at once; enough to overlap I/O without running out of descriptors. */
const READ_CONCURRENCY = 32;

export interface RepositoryFiles {
  /** Text of every readable text file, by repository-relative POSIX path, sorted by path. */
  texts: Map<string, string>;
  /** HEAD commit when the directory is in a git work tree with at least one commit. */
  commit?: string;
  /** Listed files left out because they are binary, too large or unreadable. */
  skipped: number;
}

/** Lists and reads the files under `dir`; a directory that is not a git work tree is walked. */
export async function readRepositoryFiles(dir: string): Promise<RepositoryFiles> {
  const git = await gitListing(dir);
  const paths = git?.paths ?? (await walk(dir));
  const texts = new Map<string, string>();
  let skipped = 0;
  const read = await mapLimit(paths, READ_CONCURRENCY, (path) => readText(join(dir, ...path.split('/'))));
  paths.forEach((path, index) => {
    const text = read[index];
    if (text === undefined) skipped++;
    else texts.set(path, text);
  });
  return { texts, skipped, ...(git?.commit ? { commit: git.commit } : {}) };
}

/** Tracked files of the work tree containing `dir`, relative to `dir`; undefined when not in one. */
async function gitListing(dir: string): Promise<{ paths: string[]; commit?: string } | undefined> {
  try {
    const inside = await run('git', ['-C', dir, 'rev-parse', '--is-inside-work-tree']);
    if (inside.stdout.trim() !== 'true') return undefined;
    const listed = await run('git', ['-C', dir, 'ls-files', '-z'], { maxBuffer: 256 * 1024 * 1024 });
    const paths = [...new Set(listed.stdout.split('\0').filter((path) => path !== ''))].sort();
    const commit = await run('git', ['-C', dir, 'rev-parse', '--verify', '-q', 'HEAD']).then(
      (result) => result.stdout.trim(),
      () => undefined,
    );
    return { paths, ...(commit ? { commit } : {}) };
  } catch {
    // No git binary, not a work tree, or a repository git refuses (ownership): walk instead.
    return undefined;
  }
}

async function walk(root: string, prefix = ''): Promise<string[]> {
  const entries = await readdir(prefix ? join(root, prefix) : root, { withFileTypes: true });
  const paths: string[] = [];
  for (const entry of entries) {
    const path = prefix ? posix.join(prefix, entry.name) : entry.name;
    if (entry.isDirectory()) {
      if (!SKIPPED_FOLDERS.has(entry.name)) paths.push(...(await walk(root, path)));
    } else if (entry.isFile()) {
      paths.push(path);
    }
  }
  return paths.sort();
}

/** The file as UTF-8 text, or undefined when it is missing, not a regular file, too large or binary. */
async function readText(file: string): Promise<string | undefined> {
  try {
    // lstat: a listed symlink is not followed out of the repository.
    const stats = await lstat(file);
    if (!stats.isFile() || stats.size > MAX_FILE_BYTES) return undefined;
    const bytes = await readFile(file);
    if (bytes.subarray(0, BINARY_PROBE_BYTES).includes(0)) return undefined;
    return bytes.toString('utf8');
  } catch {
    // Tracked but deleted in the work tree, or unreadable: not part of what we can describe.
    return undefined;
  }
}

async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
