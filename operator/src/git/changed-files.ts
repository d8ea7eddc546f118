// The changed-files bundle: the files of a candidate's tree (the tree git made of the parent's
// tree and the candidate's diffs) that differ from the cycle's base commit, with their bytes as
// git stores them. A sandbox that starts from the base commit's source and writes these files
// (and removes the deleted ones) holds exactly the candidate's tree; the commit is that tree and
// the overlay layer holds the same blobs. Only the operator writes bundles (into the cycle's
// inputs ConfigMap), but a ConfigMap can be edited by others, so the reader checks everything it
// is given.
import { MAX_CONFIGMAP_BYTES } from '../api/resources.js';
import type { RefusalRule } from '../policy/refusal.js';
import { unsafePathProblem } from '../policy/repo-path.js';
import type { TreeChange } from './tree-changes.js';

/** One file the candidate's tree writes. */
export interface BundledFile {
  /** Repository-relative path, in plain form. */
  path: string;
  /** git mode: a regular file, or one that was executable in the base already. */
  mode: '100644' | '100755';
  /** The blob's bytes, standard base64 with padding. */
  base64: string;
}

/** `{"version":1,"base":…,"tree":…,"files":[…],"deleted":[…]}`; paths sorted by their UTF-8 bytes. */
export interface ChangedFilesBundle {
  version: 1;
  /** The commit the bundle is relative to: the cycle's base commit. */
  base: string;
  /** The candidate's tree: base plus `files` minus `deleted`. */
  tree: string;
  files: BundledFile[];
  deleted: string[];
}

/** Bounds on a bundle, so that its reader never holds more than a ConfigMap can. */
export const CHANGED_FILES_LIMITS = {
  /** The JSON text, in UTF-8 bytes: a ConfigMap's whole capacity. */
  maxTextBytes: MAX_CONFIGMAP_BYTES,
  /** Written and deleted paths together. */
  maxEntries: 1000,
  /** The written files' contents together, decoded. */
  maxBytes: 512 * 1024,
  /** One path, in UTF-8 bytes. */
  maxPathBytes: 4096,
} as const;

/** A bundle that cannot be written or read; `rule` says which kind of problem, as the patch policy names them. */
export class ChangedFilesError extends Error {
  override readonly name = 'ChangedFilesError';

  constructor(
    readonly rule: Extract<RefusalRule, 'Malformed' | 'TooLarge' | 'UnsafePath' | 'Symlink' | 'Submodule'>,
    message: string,
  ) {
    super(message);
  }
}

const OBJECT_ID = /^[0-9a-f]{40}([0-9a-f]{24})?$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const BUNDLE_KEYS = ['version', 'base', 'tree', 'files', 'deleted'];
const FILE_KEYS = ['path', 'mode', 'base64'];

/**
 * The bundle of `tree` against `base` from the changes git read between them (treeChanges).
 * Throws ChangedFilesError when the tree holds what a bundle may not carry (a symlink, a
 * submodule, an unsafe path) or more than CHANGED_FILES_LIMITS allows.
 */
export function changedFilesOf(
  base: string,
  tree: string,
  changes: readonly TreeChange[],
): ChangedFilesBundle {
  for (const change of changes) {
    if (change.kind !== 'write') continue;
    if (change.mode === '120000') {
      throw new ChangedFilesError(
        'Symlink',
        `${change.path} would be a symbolic link; a bundle carries regular files only.`,
      );
    }
    if (change.mode === '160000') {
      throw new ChangedFilesError(
        'Submodule',
        `${change.path} would be a git submodule; a bundle carries regular files only.`,
      );
    }
  }
  const writes = changes.flatMap((c) => (c.kind === 'write' ? [c] : []));
  const bundle = {
    version: 1,
    base,
    tree,
    files: writes
      .map((c) => ({ path: c.path, mode: c.mode, base64: c.content.toString('base64') }))
      .sort((a, b) => comparePaths(a.path, b.path)),
    deleted: changes.flatMap((c) => (c.kind === 'delete' ? [c.path] : [])).sort(comparePaths),
  };
  // What is written is what its reader accepts, checked by the reader itself.
  return checkedBundle(bundle);
}

/** The bundle as the JSON its ConfigMap key holds. */
export function serializeChangedFiles(bundle: ChangedFilesBundle): string {
  const ordered = {
    version: bundle.version,
    base: bundle.base,
    tree: bundle.tree,
    files: bundle.files.map((f) => ({ path: f.path, mode: f.mode, base64: f.base64 })),
    deleted: bundle.deleted,
  };
  return `${JSON.stringify(ordered)}\n`;
}

/**
 * Reads a bundle from its JSON text, refusing anything malformed: unknown or missing fields,
 * another version, ids that are not full object ids, unsafe, unsorted or repeated paths, a path
 * both written and deleted, modes other than 100644/100755, non-canonical base64, or more than
 * CHANGED_FILES_LIMITS. With `expect`, also refuses a bundle of another base or tree. Throws
 * ChangedFilesError with a message that says what is wrong.
 */
export function parseChangedFiles(
  text: string,
  expect: { base?: string; tree?: string } = {},
): ChangedFilesBundle {
  // The length of a string bounds its UTF-8 size from below: refuse the hopeless before measuring.
  if (
    text.length > CHANGED_FILES_LIMITS.maxTextBytes ||
    Buffer.byteLength(text, 'utf8') > CHANGED_FILES_LIMITS.maxTextBytes
  ) {
    throw new ChangedFilesError('TooLarge', `the bundle is over ${CHANGED_FILES_LIMITS.maxTextBytes} bytes`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ChangedFilesError('Malformed', `the bundle is not JSON: ${(error as Error).message}`);
  }
  const bundle = checkedBundle(value);
  for (const key of ['base', 'tree'] as const) {
    const wanted = expect[key];
    if (wanted !== undefined && bundle[key] !== wanted) {
      throw new ChangedFilesError('Malformed', `the bundle's ${key} is ${bundle[key]}, not ${wanted}`);
    }
  }
  return bundle;
}

/** Orders paths by their UTF-8 bytes, as git and a C locale do, not by UTF-16 code units. */
export function comparePaths(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function checkedBundle(value: unknown): ChangedFilesBundle {
  const malformed = (message: string) => new ChangedFilesError('Malformed', message);
  const record = plainObject(value, 'the bundle', BUNDLE_KEYS);
  if (record.version !== 1)
    throw malformed(`the bundle's version is ${JSON.stringify(record.version)}, not 1`);
  for (const key of ['base', 'tree'] as const) {
    if (typeof record[key] !== 'string' || !OBJECT_ID.test(record[key])) {
      throw malformed(`the bundle's ${key} is not a full git object id`);
    }
  }
  const { files, deleted } = record;
  if (!Array.isArray(files) || !Array.isArray(deleted))
    throw malformed('the bundle needs files and deleted lists');
  if (files.length + deleted.length > CHANGED_FILES_LIMITS.maxEntries) {
    throw new ChangedFilesError(
      'TooLarge',
      `the bundle changes ${files.length + deleted.length} paths; at most ${CHANGED_FILES_LIMITS.maxEntries}`,
    );
  }
  let bytes = 0;
  const checkedFiles: BundledFile[] = files.map((entry: unknown, index: number) => {
    const file = plainObject(entry, `files[${index}]`, FILE_KEYS);
    const path = checkedPath(file.path, `files[${index}]`);
    if (file.mode !== '100644' && file.mode !== '100755') {
      throw malformed(
        `${path} has mode ${JSON.stringify(file.mode)}; a bundle carries regular files (100644, 100755)`,
      );
    }
    const base64 = file.base64;
    if (typeof base64 !== 'string' || base64.length % 4 !== 0 || !BASE64.test(base64)) {
      throw malformed(`the content of ${path} is not base64`);
    }
    // Decoded size from the text, before decoding anything.
    bytes += (base64.length / 4) * 3 - (base64.endsWith('==') ? 2 : base64.endsWith('=') ? 1 : 0);
    if (bytes > CHANGED_FILES_LIMITS.maxBytes) {
      throw new ChangedFilesError(
        'TooLarge',
        `the bundle's files hold more than ${CHANGED_FILES_LIMITS.maxBytes} bytes`,
      );
    }
    // Node decodes sloppy base64 leniently; only one text may stand for given bytes.
    if (Buffer.from(base64, 'base64').toString('base64') !== base64) {
      throw malformed(`the content of ${path} is not canonical base64`);
    }
    return { path, mode: file.mode, base64 };
  });
  const checkedDeleted = deleted.map((entry: unknown, index: number) =>
    checkedPath(entry, `deleted[${index}]`),
  );
  assertSorted(
    checkedFiles.map((f) => f.path),
    'files',
  );
  assertSorted(checkedDeleted, 'deleted');
  const written = new Set(checkedFiles.map((f) => f.path));
  const both = checkedDeleted.find((path) => written.has(path));
  if (both !== undefined) throw malformed(`${both} is both written and deleted`);
  // A tree cannot hold a file and, below it, another: one of the two writes would be lost.
  const clash = checkedFiles.find((f) => ancestors(f.path).some((dir) => written.has(dir)));
  if (clash !== undefined)
    throw malformed(`${clash.path} is written below a path that is itself written as a file`);
  return {
    version: 1,
    base: record.base as string,
    tree: record.tree as string,
    files: checkedFiles,
    deleted: checkedDeleted,
  };
}

function plainObject(value: unknown, what: string, keys: readonly string[]): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ChangedFilesError('Malformed', `${what} is not an object`);
  }
  const record = value as Record<string, unknown>;
  const unknownKey = Object.keys(record).find((key) => !keys.includes(key));
  if (unknownKey !== undefined)
    throw new ChangedFilesError('Malformed', `${what} has an unknown field ${JSON.stringify(unknownKey)}`);
  return record;
}

function checkedPath(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new ChangedFilesError('Malformed', `${what} has no path`);
  if (Buffer.byteLength(value, 'utf8') > CHANGED_FILES_LIMITS.maxPathBytes) {
    throw new ChangedFilesError(
      'TooLarge',
      `${what}'s path is over ${CHANGED_FILES_LIMITS.maxPathBytes} bytes`,
    );
  }
  // U+FFFD is what a name that was not UTF-8 became on its way out of git: not the real name.
  const problem = value.includes('\ufffd')
    ? 'it holds U+FFFD, the mark of bytes that were not UTF-8'
    : unsafePathProblem(value);
  if (problem !== undefined) {
    throw new ChangedFilesError(
      'UnsafePath',
      `${what} (${JSON.stringify(value)}) is not a plain repository path: ${problem}`,
    );
  }
  return value;
}

function assertSorted(paths: readonly string[], list: string): void {
  for (let i = 1; i < paths.length; i++) {
    if (comparePaths(paths[i - 1]!, paths[i]!) >= 0) {
      throw new ChangedFilesError('Malformed', `${list} is not sorted, or repeats ${paths[i]}`);
    }
  }
}

function ancestors(path: string): string[] {
  const segments = path.split('/');
  return segments.slice(1).map((_, i) => segments.slice(0, i + 1).join('/'));
}
