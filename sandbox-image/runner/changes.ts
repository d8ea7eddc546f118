// The candidate's changes as the judge receives them: the changed-files bundle of the candidate's
// tree, which git made once from the parent's tree and the candidate's diff (the operator's
// propose step). The commit is that tree and the image layer holds the same blobs, so writing
// these files over the unchanged source gives exactly what ships: no diff is applied here. The
// operator checked the bundle when it made it; the judge checks it again, since a ConfigMap can
// be edited by others.
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { safeRelativePath } from './relative-path.js';

const BundledFile = Type.Object({
  path: Type.String({ minLength: 1, maxLength: 4096 }),
  mode: Type.Union([Type.Literal('100644'), Type.Literal('100755')]),
  base64: Type.String({ pattern: '^[A-Za-z0-9+/]*={0,2}$' }),
});

const Bundle = Type.Object({
  version: Type.Literal(1),
  base: Type.Optional(Type.String({ pattern: '^[0-9a-f]{40}([0-9a-f]{24})?$' })),
  tree: Type.Optional(Type.String({ pattern: '^[0-9a-f]{40}([0-9a-f]{24})?$' })),
  files: Type.Array(BundledFile, { maxItems: 1000 }),
  deleted: Type.Array(Type.String({ minLength: 1, maxLength: 4096 }), { maxItems: 1000 }),
});
export type ChangedFiles = Static<typeof Bundle>;

export type ChangesReading =
  { ok: true; changes: ChangedFiles; paths: string[] } | { ok: false; message: string };

/** The bundle in `text`, checked: its shape, and every path plain and inside the source tree, once. */
export function readChanges(name: string, text: string | undefined): ChangesReading {
  if (text === undefined) return { ok: false, message: `the changes ${name} are not in the input directory` };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, message: `the changes ${name} are not JSON` };
  }
  if (!Value.Check(Bundle, value)) {
    const first = Value.Errors(Bundle, value).First();
    return {
      ok: false,
      message: `the changes ${name} are not a changed-files bundle${first ? ` (${first.path || '/'}: ${first.message})` : ''}`,
    };
  }
  const paths = [...value.files.map((file) => file.path), ...value.deleted];
  const unsafe = paths.find((path) => safeRelativePath(path) !== path);
  if (unsafe !== undefined) {
    return {
      ok: false,
      message: `the changes ${name} name ${JSON.stringify(unsafe)}, which is not a plain path of the source tree`,
    };
  }
  if (new Set(paths).size !== paths.length) {
    return { ok: false, message: `the changes ${name} name a path twice` };
  }
  return { ok: true, changes: value, paths };
}

/** A bundle of `files` (path → text; null deletes), for tests, local runs and the benchmark. */
export function bundleOf(files: Readonly<Record<string, string | null>>): string {
  const entries = Object.entries(files).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify({
    version: 1,
    files: entries.flatMap(([path, text]) =>
      text === null ? [] : [{ path, mode: '100644', base64: Buffer.from(text, 'utf8').toString('base64') }],
    ),
    deleted: entries.flatMap(([path, text]) => (text === null ? [path] : [])),
  });
}
