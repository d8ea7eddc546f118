// Reading what the candidate container left behind. Everything under the workspace or the
// candidate's scratch was written by code the judge does not trust, so a read must not follow a
// symbolic link (to the judge's own files, to /dev/zero), must stay inside the folder it was
// meant for, and must stop at a size bound.
import { constants } from 'node:fs';
import { open, realpath } from 'node:fs/promises';
import { isAbsolute, join, relative, sep } from 'node:path';

/** Largest file the judge reads from the candidate's side (a JUnit report, benchmark figures). */
export const MAX_READ_BYTES = 4 * 1024 * 1024;

/**
 * The text of the regular file `path` (absolute, or relative to `root`) when it lies inside `root`,
 * is not reached through a symbolic link, and holds at most `maxBytes`; undefined otherwise.
 */
export async function readInside(
  root: string,
  path: string,
  maxBytes = MAX_READ_BYTES,
): Promise<string | undefined> {
  const rootReal = await realpath(root).catch(() => undefined);
  if (rootReal === undefined) return undefined;
  const target = isAbsolute(path) ? path : join(root, path);
  const rel = [relative(root, target), relative(rootReal, target)].find((candidate) => !escapes(candidate));
  if (rel === undefined || rel === '') return undefined;
  // Any symbolic link on the way makes the resolved path differ from the plain one.
  const resolved = await realpath(target).catch(() => undefined);
  if (resolved !== join(rootReal, rel)) return undefined;
  const handle = await open(resolved, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch(
    () => undefined,
  );
  if (!handle) return undefined;
  try {
    const info = await handle.stat();
    if (!info.isFile() || info.size > maxBytes) return undefined;
    const buffer = Buffer.alloc(Math.min(info.size, maxBytes));
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    return buffer.subarray(0, bytesRead).toString('utf8');
  } finally {
    await handle.close();
  }
}

function escapes(rel: string): boolean {
  return rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel);
}
