// The changed-files bundle: written from tree changes in one canonical form, read back only when
// every part of it is well formed and within bounds.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TreeChange } from './tree-changes.js';
import {
  CHANGED_FILES_LIMITS,
  ChangedFilesError,
  changedFilesOf,
  comparePaths,
  parseChangedFiles,
  serializeChangedFiles,
  type ChangedFilesBundle,
} from './changed-files.js';

const BASE = 'b'.repeat(40);
const TREE = 'e'.repeat(40);

const write = (path: string, content: string | Buffer, mode = '100644'): TreeChange => ({
  kind: 'write',
  path,
  mode,
  content: Buffer.isBuffer(content) ? content : Buffer.from(content),
});

/** The bundle text with `edit` applied to its parsed JSON. */
function edited(edit: (json: Record<string, unknown>) => void, bundle = sample()): string {
  const json = JSON.parse(serializeChangedFiles(bundle)) as Record<string, unknown>;
  edit(json);
  return JSON.stringify(json);
}

function sample(): ChangedFilesBundle {
  return changedFilesOf(BASE, TREE, [
    write('src/z.ts', 'export const z = 1;\n'),
    { kind: 'delete', path: 'src/old.ts' },
    write('bin/run', '#!/bin/sh\n', '100755'),
    write('src/a.ts', Buffer.from([0, 0xff, 0x0d, 0x0a])),
  ]);
}

function refusedAs(rule: ChangedFilesError['rule'], pattern: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof ChangedFilesError, String(error));
    assert.equal(error.rule, rule, error.message);
    assert.match(error.message, pattern);
    return true;
  };
}

test('a bundle is written in one form: fields in order, paths sorted, contents in base64; and read back as written', () => {
  const bundle = sample();
  const text = serializeChangedFiles(bundle);
  assert.equal(
    text,
    `{"version":1,"base":"${BASE}","tree":"${TREE}","files":[` +
      `{"path":"bin/run","mode":"100755","base64":"IyEvYmluL3NoCg=="},` +
      `{"path":"src/a.ts","mode":"100644","base64":"AP8NCg=="},` +
      `{"path":"src/z.ts","mode":"100644","base64":"ZXhwb3J0IGNvbnN0IHogPSAxOwo="}` +
      `],"deleted":["src/old.ts"]}\n`,
  );
  assert.deepEqual(parseChangedFiles(text), bundle);
  assert.deepEqual(parseChangedFiles(text, { base: BASE, tree: TREE }), bundle);
  assert.deepEqual(Buffer.from(bundle.files[1]!.base64, 'base64'), Buffer.from([0, 0xff, 0x0d, 0x0a]));
  const empty = changedFilesOf(BASE, TREE, []);
  assert.deepEqual(parseChangedFiles(serializeChangedFiles(empty)), empty);
});

test('paths sort by their UTF-8 bytes, as git sorts them', () => {
  // In UTF-16 code units U+1F600 (the surrogate pair D83D DE00) sorts before U+FF5E; in UTF-8
  // bytes (F0 9F 98 80 against EF BD 9E) after it, as git has it.
  assert.deepEqual(['src/\uFF5E.ts', 'src/\u{1F600}.ts'].sort(), ['src/\u{1F600}.ts', 'src/\uFF5E.ts']);
  const paths = ['src/\u{1F600}.ts', 'src/\uFF5E.ts', 'src/a.ts', 'src/a/b.ts', 'src/a-b.ts'];
  assert.deepEqual([...paths].sort(comparePaths), [
    'src/a-b.ts',
    'src/a.ts',
    'src/a/b.ts',
    'src/\uFF5E.ts',
    'src/\u{1F600}.ts',
  ]);
  const bundle = changedFilesOf(
    BASE,
    TREE,
    paths.filter((p) => p !== 'src/a.ts').map((p) => write(p, 'x')),
  );
  assert.deepEqual(
    bundle.files.map((f) => f.path),
    ['src/a-b.ts', 'src/a/b.ts', 'src/\uFF5E.ts', 'src/\u{1F600}.ts'],
  );
});

test('a tree with a symlink or a submodule cannot be carried, and says so', () => {
  assert.throws(
    () => changedFilesOf(BASE, TREE, [write('src/link', 'target', '120000')]),
    refusedAs('Symlink', /src\/link would be a symbolic link/),
  );
  assert.throws(
    () => changedFilesOf(BASE, TREE, [write('vendor/lib', '', '160000')]),
    refusedAs('Submodule', /vendor\/lib would be a git submodule/),
  );
});

test('malformed bundles are refused with a message that says what is wrong', () => {
  const cases: Array<[string, ChangedFilesError['rule'], RegExp]> = [
    ['{', 'Malformed', /not JSON/],
    ['[]', 'Malformed', /the bundle is not an object/],
    [edited((j) => (j.version = 2)), 'Malformed', /version is 2, not 1/],
    [edited((j) => delete j.version), 'Malformed', /version is undefined/],
    [edited((j) => (j.extra = true)), 'Malformed', /unknown field "extra"/],
    [edited((j) => (j.base = 'main')), 'Malformed', /base is not a full git object id/],
    [edited((j) => (j.tree = TREE.toUpperCase())), 'Malformed', /tree is not a full git object id/],
    [edited((j) => delete j.deleted), 'Malformed', /files and deleted lists/],
    [edited((j) => ((j.files as unknown[])[0] = 'bin/run')), 'Malformed', /files\[0\] is not an object/],
    [
      edited((j) => Object.assign((j.files as object[])[0]!, { size: 3 })),
      'Malformed',
      /files\[0\] has an unknown field "size"/,
    ],
    [
      edited((j) => Object.assign((j.files as object[])[0]!, { mode: '120000' })),
      'Malformed',
      /mode "120000"/,
    ],
    [edited((j) => Object.assign((j.files as object[])[0]!, { mode: 100644 })), 'Malformed', /mode 100644/],
    [
      edited((j) => Object.assign((j.files as object[])[1]!, { base64: 'AP8NCg' })),
      'Malformed',
      /not base64/,
    ],
    [
      edited((j) => Object.assign((j.files as object[])[1]!, { base64: 'AP8N Cg==' })),
      'Malformed',
      /not base64/,
    ],
    [
      edited((j) => Object.assign((j.files as object[])[1]!, { base64: 'AP8NCh==' })),
      'Malformed',
      /not canonical base64/,
    ],
    [edited((j) => (j.files as object[]).reverse()), 'Malformed', /files is not sorted/],
    [
      edited((j) => (j.files as object[]).splice(1, 0, (j.files as object[])[1]!)),
      'Malformed',
      /not sorted, or repeats src\/a\.ts/,
    ],
    [edited((j) => (j.deleted = ['src/a.ts'])), 'Malformed', /src\/a\.ts is both written and deleted/],
    [
      edited((j) =>
        (j.files as object[]).splice(2, 0, { path: 'src/a.ts/inner', mode: '100644', base64: '' }),
      ),
      'Malformed',
      /src\/a\.ts\/inner is written below a path that is itself written/,
    ],
    [edited((j) => (j.deleted = [7])), 'Malformed', /deleted\[0\] has no path/],
  ];
  for (const [text, rule, message] of cases) {
    assert.throws(() => parseChangedFiles(text), refusedAs(rule, message), text);
  }
});

test('paths that are not plain repository paths are refused', () => {
  for (const path of [
    '/etc/passwd',
    '../up',
    'src/../../up',
    'src//a',
    './a',
    '.git/config',
    'src/.GIT/x',
    'a\\b',
    'a\nb',
    'bad\uFFFD',
  ]) {
    assert.throws(
      () => parseChangedFiles(edited((j) => (j.deleted = [path]))),
      refusedAs('UnsafePath', /is not a plain repository path/),
      path,
    );
  }
  assert.throws(
    () => changedFilesOf(BASE, TREE, [write('../escape', 'x')]),
    refusedAs('UnsafePath', /"\.\.\/escape"/),
  );
});

test('sizes are bounded: the text, the number of paths, the contents and each path', () => {
  const limits = CHANGED_FILES_LIMITS;
  assert.throws(
    () => parseChangedFiles(' '.repeat(limits.maxTextBytes + 1)),
    refusedAs('TooLarge', /over 1048576 bytes/),
  );
  // Multi-byte characters count as the bytes they take.
  assert.throws(
    () => parseChangedFiles('\u00e9'.repeat(limits.maxTextBytes / 2 + 1)),
    refusedAs('TooLarge', /over/),
  );
  const many = Array.from({ length: limits.maxEntries + 1 }, (_, i) => `f${String(i).padStart(5, '0')}`);
  assert.throws(
    () => parseChangedFiles(edited((j) => ((j.files = []), (j.deleted = many)))),
    refusedAs('TooLarge', /changes 1001 paths; at most 1000/),
  );
  const atLimit = changedFilesOf(BASE, TREE, [write('big', Buffer.alloc(limits.maxBytes))]);
  assert.equal(parseChangedFiles(serializeChangedFiles(atLimit)).files.length, 1);
  assert.throws(
    () => changedFilesOf(BASE, TREE, [write('big', Buffer.alloc(limits.maxBytes)), write('one', 'x')]),
    refusedAs('TooLarge', /more than 524288 bytes/),
  );
  assert.throws(
    () => parseChangedFiles(edited((j) => (j.deleted = [`${'d/'.repeat(2048)}x`]))),
    refusedAs('TooLarge', /path is over 4096 bytes/),
  );
});

test('with expectations, a bundle of another base or tree is refused', () => {
  const text = serializeChangedFiles(sample());
  assert.throws(
    () => parseChangedFiles(text, { tree: 'f'.repeat(40) }),
    refusedAs('Malformed', new RegExp(`tree is ${TREE}, not f{40}`)),
  );
  assert.throws(
    () => parseChangedFiles(text, { base: 'a'.repeat(40) }),
    refusedAs('Malformed', /base is b{40}/),
  );
});
