// Works out what the manifest's patches, applied one after another, make of the source directory.
// Everything is planned in memory (nothing is written until every patch applied), and no path may
// leave the source directory, not even through a symbolic link already in the source.
import { chmod, lstat, mkdir, readFile, realpath, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { applyHunks, PatchFailure, planChanges, type FileChange } from './patch-plan.js';

export interface PatchFile {
  /** The patch's name in the input directory (for messages). */
  name: string;
  text: string;
}

export type PatchOutcome = { ok: true; files: number } | { ok: false; message: string };

/** The files the patches end with, in memory: what to write (with its mode) and what to remove. */
export interface ChangeSet {
  writes: { path: string; text: string; mode?: number }[];
  removals: string[];
}

export type PatchPlan = { ok: true; changes: ChangeSet; files: number } | { ok: false; message: string };

/**
 * Works out, without writing anything, what `patches` applied in order to `sourceDir` produce: each
 * patch sees the files as the ones before it left them. The first patch that does not apply
 * cleanly stops it. The judge plans; the executor in the candidate's container writes.
 */
export async function planPatchFiles(sourceDir: string, patches: readonly PatchFile[]): Promise<PatchPlan> {
  let files = 0;
  const state = new Map<string, Write | null>();
  try {
    const root = await realpath(sourceDir);
    for (const patch of patches) {
      files += await planOne(root, patch, state);
    }
  } catch (error) {
    if (error instanceof PatchFailure) return { ok: false, message: error.message };
    throw error;
  }
  const changes: ChangeSet = { writes: [], removals: [] };
  for (const [path, write] of [...state].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (write === null) changes.removals.push(path);
    else changes.writes.push(write);
  }
  return { ok: true, changes, files };
}

/** Applies `patches` in order to `sourceDir` (planned first, so a failing patch writes nothing). */
export async function applyPatchFiles(
  sourceDir: string,
  patches: readonly PatchFile[],
): Promise<PatchOutcome> {
  const plan = await planPatchFiles(sourceDir, patches);
  if (!plan.ok) return plan;
  const root = await realpath(sourceDir);
  for (const path of plan.changes.removals) await rm(await inside(root, path), { force: true });
  for (const write of plan.changes.writes) {
    const target = await inside(root, write.path);
    await mkdir(dirname(target), { recursive: true });
    await rm(target, { force: true });
    await writeFile(target, write.text);
    if (write.mode !== undefined) await chmod(target, write.mode);
  }
  return { ok: true, files: plan.files };
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

async function planOne(root: string, patch: PatchFile, state: Map<string, Write | null>): Promise<number> {
  const changes = planChanges(patch.name, patch.text);
  const removals = new Set(changes.flatMap((c) => (c.removesSource && c.from !== undefined ? [c.from] : [])));
  const writes: Write[] = [];
  for (const change of changes) {
    const write = await patchedFile(root, patch.name, change, removals, state);
    if (write) writes.push(write);
  }
  // Removals first, so a rename onto a path that is itself renamed away still works.
  for (const path of removals) state.set(path, null);
  for (const write of writes) state.set(write.path, write);
  return changes.length;
}

/** The new content of one file, checked against what is on disk. */
async function patchedFile(
  root: string,
  patchName: string,
  change: FileChange,
  removals: ReadonlySet<string>,
  state: ReadonlyMap<string, Write | null>,
): Promise<Write | undefined> {
  const failure = (why: string): PatchFailure => new PatchFailure(`patch ${patchName}: ${why}`);
  let source = '';
  let sourceMode: number | undefined;
  if (change.from !== undefined) {
    const planned = state.get(change.from);
    if (planned === null) throw failure(`${change.from} does not exist in the source`);
    if (planned !== undefined) {
      source = planned.text;
      sourceMode = planned.mode;
    } else {
      const path = await inside(root, change.from);
      const read = await readRegularFile(path);
      if (read === undefined) throw failure(`${change.from} does not exist in the source`);
      source = read.text;
      sourceMode = read.mode;
    }
  }
  if (change.to !== undefined && change.to !== change.from && !removals.has(change.to)) {
    const planned = state.get(change.to);
    if (planned !== null && (planned !== undefined || (await exists(await inside(root, change.to)))))
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

/** A regular file's text and permission bits; undefined for anything else (a symbolic link included). */
async function readRegularFile(path: string): Promise<{ text: string; mode: number } | undefined> {
  const info = await lstat(path).catch(() => undefined);
  if (!info?.isFile()) return undefined;
  const text = await readFile(path, 'utf8').catch(() => undefined);
  return text === undefined ? undefined : { text, mode: info.mode & 0o777 };
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
