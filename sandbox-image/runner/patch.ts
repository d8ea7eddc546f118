// Applies the manifest's patches to the source directory, one after another. Nothing is written
// for a diff until every file of it has been patched in memory, and no path may leave the
// source directory, not even through a symbolic link already in the source.
import { chmod, mkdir, readFile, realpath, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { applyHunks, PatchFailure, planChanges, type FileChange } from './patch-plan.js';

export interface PatchFile {
  /** The patch's name in the input directory (for messages). */
  name: string;
  text: string;
}

export type PatchOutcome = { ok: true; files: number } | { ok: false; message: string };

/** Applies `patches` in order to `sourceDir`; the first one that does not apply cleanly stops it. */
export async function applyPatchFiles(
  sourceDir: string,
  patches: readonly PatchFile[],
): Promise<PatchOutcome> {
  let files = 0;
  try {
    const root = await realpath(sourceDir);
    for (const patch of patches) {
      files += await applyOne(root, patch);
    }
  } catch (error) {
    if (error instanceof PatchFailure) return { ok: false, message: error.message };
    throw error;
  }
  return { ok: true, files };
}

export type TouchedPaths = { ok: true; paths: string[] } | { ok: false; message: string };

/** Every path the patches read, write or remove, relative to the source; a patch that cannot be read fails it. */
export function touchedPaths(patches: readonly PatchFile[]): TouchedPaths {
  const paths = new Set<string>();
  try {
    for (const patch of patches) {
      for (const change of planChanges(patch.name, patch.text)) {
        if (change.from !== undefined) paths.add(change.from);
        if (change.to !== undefined) paths.add(change.to);
      }
    }
  } catch (error) {
    if (error instanceof PatchFailure) return { ok: false, message: error.message };
    throw error;
  }
  return { ok: true, paths: [...paths] };
}

interface Write {
  path: string;
  text: string;
  mode?: number;
}

async function applyOne(root: string, patch: PatchFile): Promise<number> {
  const changes = planChanges(patch.name, patch.text);
  const removals = new Set(changes.flatMap((c) => (c.removesSource && c.from !== undefined ? [c.from] : [])));
  const writes: Write[] = [];
  for (const change of changes) {
    const write = await patchedFile(root, patch.name, change, removals);
    if (write) writes.push(write);
  }
  // Removals first, so a rename onto a path that is itself renamed away still works.
  for (const path of removals) await rm(await inside(root, path), { force: true });
  for (const write of writes) {
    const target = await inside(root, write.path);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, write.text);
    if (write.mode !== undefined) await chmod(target, write.mode);
  }
  return changes.length;
}

/** The new content of one file, checked against what is on disk. */
async function patchedFile(
  root: string,
  patchName: string,
  change: FileChange,
  removals: ReadonlySet<string>,
): Promise<Write | undefined> {
  const failure = (why: string): PatchFailure => new PatchFailure(`patch ${patchName}: ${why}`);
  let source = '';
  let sourceMode: number | undefined;
  if (change.from !== undefined) {
    const path = await inside(root, change.from);
    const read = await readFile(path, 'utf8').catch(() => undefined);
    if (read === undefined) throw failure(`${change.from} does not exist in the source`);
    source = read;
    sourceMode = (await stat(path)).mode & 0o777;
  }
  if (change.to !== undefined && change.to !== change.from && !removals.has(change.to)) {
    if (await exists(await inside(root, change.to)))
      throw failure(`${change.to} already exists in the source`);
  }
  const outcome = applyHunks(source, change.patch);
  const shown = change.from ?? change.to ?? '';
  if (!outcome.ok) {
    const count = change.patch.hunks.length;
    throw failure(`hunk ${outcome.hunk} of ${count} (${outcome.header}) does not apply to ${shown}`);
  }
  if (change.to === undefined) {
    if (outcome.text !== '') throw failure(`deletion of ${shown} does not match its content`);
    return undefined;
  }
  // A renamed or copied file keeps its permissions unless the diff names new ones.
  const mode = change.mode ?? (change.to !== change.from ? sourceMode : undefined);
  return { path: change.to, text: outcome.text, ...(mode !== undefined ? { mode } : {}) };
}

/** The absolute path of `path` in `root`; refuses one that a symbolic link would lead outside. */
async function inside(root: string, path: string): Promise<string> {
  const target = join(root, path);
  let existing = target;
  for (;;) {
    const resolved = await realpath(existing).catch(() => undefined);
    if (resolved !== undefined) {
      const rel = relative(root, resolved);
      if (rel === '..' || rel.startsWith(`..${sep}`) || rel.startsWith(sep)) {
        throw new PatchFailure(`${path} resolves outside the source directory`);
      }
      return target;
    }
    const parent = dirname(existing);
    if (parent === existing) return target;
    existing = parent;
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
