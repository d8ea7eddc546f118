// One image layer from the files a commit changed: which tar entries it holds (written files with
// their git modes, OCI whiteouts for deleted ones, under the image's source directory) and the
// tar itself, byte for byte the same for the same input, so its diff_id is reproducible.
//
// Whiteouts follow the OCI image layout: deleting `app/src/old.js` is an empty file
// `app/src/.wh.old.js`. They only hide files of lower layers, so a path this layer writes is never
// whited out in it: a file that becomes a directory gets a directory entry instead (extractors
// replace the file), and deletions below a directory that becomes a file are left out (the file
// hides them).
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';

/** One changed path of the commit, relative to the repository root. */
export type FileChange =
  | {
      kind: 'write';
      path: string;
      /** git mode: 100644, 100755, 120000 (symlink); 160000 (submodule) is refused. */
      mode: string;
      content: Buffer;
    }
  | { kind: 'delete'; path: string };

export type TarEntry =
  | { type: 'file'; name: string; mode: number; content: Buffer }
  | { type: 'symlink'; name: string; target: string }
  | { type: 'directory'; name: string; mode: number };

export interface Layer {
  /** The uncompressed tar. */
  tar: Buffer;
  /** sha256 of the uncompressed tar: the image config's `rootfs.diff_ids` entry. */
  diffId: string;
}

export interface CompressedLayer extends Layer {
  gzip: Buffer;
  /** sha256 of the gzip: the manifest's layer digest. */
  digest: string;
}

/** A change this layer cannot express safely; `message` names the path. */
export class LayerError extends Error {
  override readonly name = 'LayerError';

  constructor(
    readonly code: 'UnsafePath' | 'UnsupportedMode' | 'LayerTooLarge',
    message: string,
  ) {
    super(message);
  }
}

export const WHITEOUT_PREFIX = '.wh.';

/**
 * The root the layer writes to: `sourcePath` without its slashes (`/app` → `app`, `/` → '').
 * Throws UnsafePath for `.`/`..` segments or a non-absolute path.
 */
export function layerRoot(sourcePath: string): string {
  if (!sourcePath.startsWith('/'))
    throw new LayerError('UnsafePath', `sourcePath must be absolute: ${sourcePath}`);
  const parts = sourcePath.split('/').filter((p) => p !== '');
  if (parts.some((p) => p === '.' || p === '..')) {
    throw new LayerError('UnsafePath', `sourcePath must not hold '.' or '..': ${sourcePath}`);
  }
  return parts.join('/');
}

/**
 * The tar entries, in the order they must be applied, for `changes` placed under `root`. Throws
 * UnsafePath for paths that are not plain relative paths or whose name is itself a whiteout
 * (`.wh.`), UnsupportedMode for submodules and unknown modes.
 */
export function layerEntries(changes: readonly FileChange[], root: string): TarEntry[] {
  const under = (path: string) => (root === '' ? path : `${root}/${path}`);
  for (const change of changes) assertRepoPath(change.path);
  const written = new Set(changes.filter((c) => c.kind === 'write').map((c) => c.path));
  const writtenDirs = new Set<string>();
  for (const path of written) for (const dir of ancestors(path)) writtenDirs.add(dir);

  const entries: TarEntry[] = [];
  for (const change of changes) {
    if (change.kind === 'delete') {
      if (written.has(change.path)) continue; // a type change: the new entry replaces it
      if (ancestors(change.path).some((dir) => written.has(dir))) continue; // hidden by a new file
      if (writtenDirs.has(change.path)) {
        entries.push({ type: 'directory', name: under(change.path), mode: 0o755 });
        continue;
      }
      const slash = change.path.lastIndexOf('/');
      const whiteout = `${change.path.slice(0, slash + 1)}${WHITEOUT_PREFIX}${change.path.slice(slash + 1)}`;
      entries.push({ type: 'file', name: under(whiteout), mode: 0o644, content: Buffer.alloc(0) });
      continue;
    }
    switch (change.mode) {
      case '100644':
      case '100664':
        entries.push({ type: 'file', name: under(change.path), mode: 0o644, content: change.content });
        break;
      case '100755':
        entries.push({ type: 'file', name: under(change.path), mode: 0o755, content: change.content });
        break;
      case '120000':
        entries.push({ type: 'symlink', name: under(change.path), target: change.content.toString('utf8') });
        break;
      case '160000':
        throw new LayerError(
          'UnsupportedMode',
          `${change.path} is a git submodule; an overlay cannot carry it`,
        );
      default:
        throw new LayerError(
          'UnsupportedMode',
          `${change.path} has git mode ${change.mode}, which an overlay cannot carry`,
        );
    }
  }
  return entries.sort((a, b) => compareBytes(a.name, b.name));
}

/** Sum of the bytes the entries carry; throws LayerTooLarge above `maxBytes`. */
export function assertLayerSize(entries: readonly TarEntry[], maxBytes: number): number {
  const total = entries.reduce((sum, e) => sum + (e.type === 'file' ? e.content.length : 0), 0);
  if (total > maxBytes) {
    throw new LayerError(
      'LayerTooLarge',
      `the changed files hold ${total} bytes, more than the ${maxBytes} an overlay layer may`,
    );
  }
  return total;
}

/**
 * The entries as an uncompressed tar (tar-stream: ustar headers, PAX records for long names),
 * byte-for-byte the same for the same entries and mtime: root-owned, no user or group names.
 */
export async function writeTar(entries: readonly TarEntry[], mtimeSeconds: number): Promise<Layer> {
  const packer = pack();
  const chunks: Buffer[] = [];
  const done = new Promise<void>((resolve, reject) => {
    packer.on('data', (chunk: unknown) => chunks.push(chunk as Buffer));
    packer.on('end', () => resolve());
    packer.on('error', reject);
  });
  const mtime = new Date(mtimeSeconds * 1000);
  const owner = { uid: 0, gid: 0, uname: '', gname: '', mtime };
  for (const entry of entries) {
    if (entry.type === 'file') {
      packer.entry(
        { ...owner, name: entry.name, mode: entry.mode, type: 'file', size: entry.content.length },
        entry.content,
      );
    } else if (entry.type === 'symlink') {
      packer.entry({ ...owner, name: entry.name, mode: 0o777, type: 'symlink', linkname: entry.target });
    } else {
      packer.entry({
        ...owner,
        name: `${entry.name.replace(/\/+$/, '')}/`,
        mode: entry.mode,
        type: 'directory',
      });
    }
  }
  packer.finalize();
  await done;
  const tar = Buffer.concat(chunks);
  return { tar, diffId: `sha256:${createHash('sha256').update(tar).digest('hex')}` };
}

/** The layer gzip-compressed, with both digests. */
export function compressLayer(layer: Layer): CompressedLayer {
  const gzip = gzipSync(layer.tar, { level: 6 });
  return { ...layer, gzip, digest: `sha256:${createHash('sha256').update(gzip).digest('hex')}` };
}

function assertRepoPath(path: string): void {
  const parts = path.split('/');
  if (
    path === '' ||
    path.startsWith('/') ||
    /[\0\\]/.test(path) ||
    parts.some((p) => p === '' || p === '.' || p === '..')
  ) {
    throw new LayerError('UnsafePath', `not a plain repository path: ${JSON.stringify(path)}`);
  }
  if (parts.some((p) => p.startsWith(WHITEOUT_PREFIX))) {
    throw new LayerError(
      'UnsafePath',
      `${path}: names starting with ${WHITEOUT_PREFIX} are whiteouts in an image layer and cannot be shipped as files`,
    );
  }
}

function ancestors(path: string): string[] {
  const parts = path.split('/');
  return parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join('/'));
}

function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
