// What one tree changes against another, with the bytes of every file it writes, read from git's
// object database. This is the one reader behind both the changed-files bundle a sandbox
// evaluates and the overlay layer that ships, so the two hold the same blobs: what git stores in
// the tree, byte for byte, never a file re-created from a diff.
import { spawn } from 'node:child_process';
import { GitLineageError } from './errors.js';
import type { GitRunner } from './runner.js';

/** One path the newer tree changes, relative to the repository root. */
export type TreeChange =
  | {
      kind: 'write';
      path: string;
      /** git mode: 100644, 100755, 120000 (symlink) or 160000 (submodule). */
      mode: string;
      content: Buffer;
    }
  | { kind: 'delete'; path: string };

/** One record of `git diff-tree -r -z --raw` output. */
export interface RawChange {
  status: string;
  mode: string;
  blob: string;
  path: string;
}

/** Splits `git diff-tree -r -z --raw --no-renames` output; throws on a rename or copy record. */
export function parseRawDiff(output: string): RawChange[] {
  const fields = output.split('\0');
  const changes: RawChange[] = [];
  for (let i = 0; i < fields.length; i++) {
    const meta = fields[i]!;
    if (!meta.startsWith(':')) continue;
    const [, newMode, , newBlob, status] = meta.slice(1).split(' ');
    const path = fields[++i];
    if (!newMode || !newBlob || !status || path === undefined)
      throw new Error(`malformed diff-tree record: ${meta}`);
    if (/^[RC]/.test(status)) throw new Error(`unexpected rename or copy record for ${path}`);
    changes.push({ status: status.slice(0, 1), mode: newMode, blob: newBlob, path });
  }
  return changes;
}

/**
 * Objects out of `git cat-file --batch` output, by the name asked for. Throws when an object is
 * missing or the output is cut short.
 */
export function parseCatFileBatch(output: Buffer): Map<string, Buffer> {
  const objects = new Map<string, Buffer>();
  let at = 0;
  while (at < output.length) {
    const newline = output.indexOf(0x0a, at);
    if (newline < 0) throw new Error('cat-file output ends inside a header');
    const line = output.subarray(at, newline).toString('utf8');
    const [name, type, size] = line.split(' ');
    if (type === 'missing' || !name || !type || size === undefined)
      throw new Error(`git object ${name ?? line} is missing`);
    const length = Number(size);
    const start = newline + 1;
    if (!Number.isInteger(length) || start + length > output.length)
      throw new Error('cat-file output is cut short');
    objects.set(name, output.subarray(start, start + length));
    at = start + length + 1;
  }
  return objects;
}

/**
 * The paths tree-ish `to` changes against tree-ish `from` (no rename detection: a rename is a
 * delete and a write), with contents, in git's order. Throws GitLineageError ChangesTooLarge when
 * the written files hold more than `maxBytes`, GitFailed when git cannot read either side.
 */
export async function treeChanges(
  runner: GitRunner,
  from: string,
  to: string,
  maxBytes: number,
): Promise<TreeChange[]> {
  const raw = parseRawDiff(
    await runner.git(['diff-tree', '-r', '-z', '--raw', '--no-renames', '--end-of-options', from, to]),
  );
  const written = raw.filter((c) => c.status !== 'D');
  const blobs = await readBlobs(runner, [...new Set(written.map((c) => c.blob))], maxBytes);
  return raw.map((c) =>
    c.status === 'D'
      ? { kind: 'delete', path: c.path }
      : { kind: 'write', path: c.path, mode: c.mode, content: blobs.get(c.blob)! },
  );
}

// simple-git reads output as text; file contents are bytes, so this one command runs directly,
// in the runner's repository and with the environment its git runs with.
async function readBlobs(
  runner: GitRunner,
  blobs: readonly string[],
  maxBytes: number,
): Promise<Map<string, Buffer>> {
  if (blobs.length === 0) return new Map();
  const child = spawn('git', ['cat-file', '--batch'], {
    cwd: runner.dir,
    env: { ...runner.access.env, ...runner.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const chunks: Buffer[] = [];
  let total = 0;
  let tooLarge = false;
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    total += chunk.length;
    // The headers add under 100 bytes per object.
    if (total > maxBytes + blobs.length * 100) {
      tooLarge = true;
      child.kill();
      return;
    }
    chunks.push(chunk);
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exit = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  // A child killed for size stops reading; its closed stdin must not crash the operator.
  child.stdin.on('error', () => undefined);
  child.stdin.end(`${blobs.join('\n')}\n`);
  const code = await exit;
  if (tooLarge) {
    throw new GitLineageError('ChangesTooLarge', `the changed files hold more than ${maxBytes} bytes`);
  }
  if (code !== 0) {
    throw new GitLineageError(
      'GitFailed',
      `git cat-file failed: ${runner.redact(stderr.trim()) || `exit ${code}`}`,
    );
  }
  const objects = parseCatFileBatch(Buffer.concat(chunks));
  // The limit counts contents, not headers: a few bytes over slips past the stream check above.
  const size = [...objects.values()].reduce((sum, content) => sum + content.length, 0);
  if (size > maxBytes) {
    throw new GitLineageError(
      'ChangesTooLarge',
      `the changed files hold ${size} bytes, more than ${maxBytes}`,
    );
  }
  return objects;
}
