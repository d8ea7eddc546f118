// Generated repositories and candidate diffs for the patch policy's property tests.
//
// A scenario is a base tree and a diff against it that breaks no rule: source files edited,
// added, deleted and renamed, tests added to, the executable bit taken away. Each `inject*`
// function then breaks exactly one rule in a scenario and says which, so a test can check that
// the policy names it. Lines come from small vocabularies on purpose: files repeat lines, and
// a hunk may fit in more than one place, as in real code.
import fc from 'fast-check';
import type { PatchLimits } from '../../operator/src/policy/patch-policy.js';
import type { RefusalRule } from '../../operator/src/policy/refusal.js';
import { changedLineCounts, gitDiffSection, type Distortion, type FileEdit } from './git-diff.js';

export const POLICY = {
  allowedPaths: ['src', 'tests', 'docs/guide.md'],
  protectedPaths: ['src/secret', 'deploy'],
  protectedImports: new Map(),
  objectiveFiles: ['src/objective.yaml', 'bench/latency.yaml'],
  testPaths: ['tests'],
};

export const GENEROUS_LIMITS: PatchLimits = {
  maxFiles: 1000,
  maxChangedLines: 100_000,
  maxBytes: 10_000_000,
};

/** Files every tree has that a clean diff leaves alone: protected, objective, outside, near misses. */
const FIXED_FILES: Record<string, string> = {
  'src/secret/key.ts': "export const key = 'k';\n",
  'deploy/app.yaml': 'replicas: 2\n',
  'src/objective.yaml': 'p99: 200ms\n',
  'bench/latency.yaml': 'requests: 1000\n',
  'lib/vendor.ts': 'export const vendor = 1;\n',
  'srcx/near-miss.ts': 'export const nearMiss = 1;\n',
  'tests-old/legacy.ts': "test('legacy', () => {});\n",
  'docs/guide.md': '# Guide\n',
  'docs/other.md': '# Other\n',
  'README.md': '# Service\n',
};

const SOURCE_PATHS = [
  'src/main.ts',
  'src/core/engine.ts',
  'src/core/cache.ts',
  'src/api/routes.ts',
  'src/util/text.ts',
  'src/util/time.ts',
];
const TEST_PATHS = ['tests/engine.test.ts', 'tests/api/routes.test.ts', 'tests/util.test.ts'];
/** Where clean diffs add and rename files to; never in a generated tree. */
const FREE_SOURCE_PATHS = [
  'src/added.ts',
  'src/new/a.ts',
  'src/new/b.ts',
  'src/moved/c.ts',
  'src/moved/d.ts',
  'src/moved/e.ts',
  'src/moved/f.ts',
  'src/moved/g.ts',
];

const SOURCE_LINES = [
  'export const limit = 10;',
  'export const limit = 20;',
  'const cache = new Map<string, number>();',
  'function double(x: number) {',
  '  return x * 2;',
  '}',
  '',
  '// keep responses small',
  'let total = 0;',
  'total += 1;',
  "import { log } from './log.js';",
  'export default double;',
];
const ASSERT_LINES = [
  '  assert.equal(double(2), 4);',
  '  assert.ok(cache.size >= 0);',
  '  assert.deepEqual([1, 2], [1, 2]);',
  '  const value = double(3);',
  '',
];

/** A file's content as lines, so edits can keep or drop the final newline. */
interface Content {
  lines: string[];
  finalNewline: boolean;
}

function text(content: Content): string {
  return content.lines.join('\n') + (content.finalNewline && content.lines.length > 0 ? '\n' : '');
}

export interface Section {
  edit: FileEdit;
  distortion?: Distortion;
  /** Text written in place of the section git would write. */
  raw?: string;
}

export interface Scenario {
  tree: Map<string, string>;
  sections: Section[];
  /** Text before the first section. */
  preamble?: string;
}

export function render(scenario: Scenario): string {
  const sections = scenario.sections.map((s) => s.raw ?? gitDiffSection(s.edit, s.distortion));
  return (scenario.preamble ?? '') + sections.join('');
}

/** What the policy should report for a clean scenario's accepted diff. */
export function expectedFiles(scenario: Scenario) {
  return scenario.sections.map(({ edit }) => {
    const { added, removed } = changedLineCounts(edit.before, edit.after);
    return {
      path: edit.kind === 'delete' ? edit.oldPath : edit.newPath,
      ...(edit.kind === 'rename' ? { oldPath: edit.oldPath } : {}),
      kind: edit.kind,
      linesAdded: added,
      linesRemoved: removed,
    };
  });
}

/** The limits a diff reaches exactly. */
export function measure(diff: string, scenario: Scenario): PatchLimits {
  const lines = scenario.sections.reduce((sum, { edit }) => {
    const { added, removed } = changedLineCounts(edit.before, edit.after);
    return sum + added + removed;
  }, 0);
  return { maxFiles: scenario.sections.length, maxChangedLines: lines, maxBytes: Buffer.byteLength(diff) };
}

const sourceContent: fc.Arbitrary<Content> = fc.record({
  lines: fc.array(fc.constantFrom(...SOURCE_LINES), { maxLength: 24 }),
  finalNewline: fc.boolean(),
});

/** A test file of node:test cases named `case 0`, `case 1`, ... */
const testContent: fc.Arbitrary<Content> = fc
  .array(fc.array(fc.constantFrom(...ASSERT_LINES), { maxLength: 3 }), { minLength: 1, maxLength: 5 })
  .map((bodies) => ({
    lines: [
      "import { test } from 'node:test';",
      '',
      ...bodies.flatMap((body, i) => [`test('case ${i}', () => {`, ...body, '});', '']),
    ],
    finalNewline: true,
  }));

const tree: fc.Arbitrary<{ sources: Map<string, Content>; tests: Map<string, Content> }> = fc.record({
  sources: fc
    .uniqueArray(fc.constantFrom(...SOURCE_PATHS), { minLength: 1, maxLength: SOURCE_PATHS.length })
    .chain((paths) => fc.tuple(...paths.map((path) => sourceContent.map((c) => [path, c] as const))))
    .map((entries) => new Map(entries)),
  tests: fc
    .uniqueArray(fc.constantFrom(...TEST_PATHS), { minLength: 1, maxLength: TEST_PATHS.length })
    .chain((paths) => fc.tuple(...paths.map((path) => testContent.map((c) => [path, c] as const))))
    .map((entries) => new Map(entries)),
});

type LineEdit = { op: 'insert' | 'delete' | 'replace'; at: number; line: string };
const lineEdits = fc.array(
  fc.record({
    op: fc.constantFrom('insert' as const, 'delete' as const, 'replace' as const),
    at: fc.nat(),
    line: fc.constantFrom(...SOURCE_LINES),
  }),
  { minLength: 1, maxLength: 4 },
);

/** Source edits; an edit that happens to change nothing appends a line, so the file does change. */
function editSource(content: Content, edits: LineEdit[], toggleNewline: boolean): Content {
  const lines = [...content.lines];
  for (const { op, at, line } of edits) {
    const index = lines.length === 0 ? 0 : at % (lines.length + (op === 'insert' ? 1 : 0));
    if (op === 'insert') lines.splice(index, 0, line);
    else if (lines.length > 0 && op === 'delete') lines.splice(index, 1);
    else if (lines.length > 0) lines[index] = line;
  }
  const edited = { lines, finalNewline: toggleNewline ? !content.finalNewline : content.finalNewline };
  if (text(edited) === text(content)) return { ...edited, lines: [...lines, 'export const touched = true;'] };
  return edited;
}

/** Test edits that keep every test: assertions added or swapped, new tests appended. */
function editTests(content: Content, edits: LineEdit[], newTests: number): Content {
  const lines = [...content.lines];
  for (const { op, at } of edits) {
    const bodyLines = lines.flatMap((line, i) => (line.startsWith('  ') ? [i] : []));
    const declarations = lines.flatMap((line, i) => (line.startsWith('test(') ? [i] : []));
    const assertion = ASSERT_LINES[at % ASSERT_LINES.length] as string;
    if (op === 'replace' && bodyLines.length > 0)
      lines[bodyLines[at % bodyLines.length] as number] = assertion;
    else if (declarations.length > 0)
      lines.splice((declarations[at % declarations.length] as number) + 1, 0, assertion);
  }
  for (let i = 0; i < newTests; i++)
    lines.push(`test('added ${i}', () => {`, ASSERT_LINES[0] as string, '});', '');
  return { lines, finalNewline: content.finalNewline };
}

const sourceAction = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ kind: 'keep' as const }) },
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant('modify' as const), edits: lineEdits, toggle: fc.boolean() }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'delete' as const }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('rename' as const),
      edits: fc.option(lineEdits, { nil: undefined }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'dropExecutableBit' as const }) },
);

const testAction = fc.oneof(
  { weight: 2, arbitrary: fc.constant({ kind: 'keep' as const }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('modify' as const),
      edits: fc.array(
        fc.record({
          op: fc.constantFrom('insert' as const, 'replace' as const),
          at: fc.nat(),
          line: fc.constant(''),
        }),
        { maxLength: 3 },
      ),
      newTests: fc.nat({ max: 2 }),
    }),
  },
);

/** A base tree and a diff against it that every rule allows. */
export const cleanScenario: fc.Arbitrary<Scenario> = tree
  .chain(({ sources, tests }) =>
    fc.record({
      sources: fc.constant(sources),
      tests: fc.constant(tests),
      sourceActions: fc.tuple(...[...sources.keys()].map(() => sourceAction)),
      testActions: fc.tuple(...[...tests.keys()].map(() => testAction)),
      additions: fc.array(sourceContent, { maxLength: 2 }),
      addTestFile: fc.boolean(),
    }),
  )
  .map(({ sources, tests, sourceActions, testActions, additions, addTestFile }) => {
    const base = new Map<string, string>(Object.entries(FIXED_FILES));
    for (const [path, content] of [...sources, ...tests]) base.set(path, text(content));
    const free = [...FREE_SOURCE_PATHS];
    const sections: Section[] = [];
    [...sources].forEach(([path, content], i) => {
      const action = sourceActions[i];
      const before = text(content);
      if (!action || action.kind === 'keep') return;
      if (action.kind === 'modify') {
        const after = text(editSource(content, action.edits, action.toggle));
        sections.push({ edit: { kind: 'modify', oldPath: path, newPath: path, before, after } });
      } else if (action.kind === 'delete') {
        sections.push({ edit: { kind: 'delete', oldPath: path, newPath: path, before, after: '' } });
      } else if (action.kind === 'rename') {
        const newPath = free.shift() as string;
        const after = action.edits ? text(editSource(content, action.edits, false)) : before;
        sections.push({ edit: { kind: 'rename', oldPath: path, newPath, before, after } });
      } else {
        const modeChange = { from: '100755', to: '100644' };
        sections.push({
          edit: { kind: 'modify', oldPath: path, newPath: path, before, after: before, modeChange },
        });
      }
    });
    [...tests].forEach(([path, content], i) => {
      const action = testActions[i];
      if (!action || action.kind === 'keep') return;
      const after = text(editTests(content, action.edits, action.newTests));
      if (after === text(content)) return;
      sections.push({ edit: { kind: 'modify', oldPath: path, newPath: path, before: text(content), after } });
    });
    for (const content of additions) {
      const path = free.shift() as string;
      sections.push({
        edit: { kind: 'add', oldPath: path, newPath: path, before: '', after: text(content) },
      });
    }
    if (addTestFile) {
      const after = text(editTests({ lines: [], finalNewline: true }, [], 2));
      const path = 'tests/new.test.ts';
      sections.push({ edit: { kind: 'add', oldPath: path, newPath: path, before: '', after } });
    }
    return { tree: base, sections };
  })
  .filter((scenario) => scenario.sections.length > 0);

/** A scenario with one rule broken, the rule, and the path the refusal should name, if any. */
export interface Injected {
  scenario: Scenario;
  rule: RefusalRule;
  path?: string;
  limits?: PatchLimits;
}

type Injection = (scenario: Scenario) => fc.Arbitrary<Injected>;

function usedPaths(scenario: Scenario): Set<string> {
  return new Set(scenario.sections.flatMap(({ edit }) => [edit.oldPath, edit.newPath]));
}

function withSection(scenario: Scenario, section: Section, at: number): Scenario {
  const sections = [...scenario.sections];
  sections.splice(at % (sections.length + 1), 0, section);
  return { ...scenario, sections };
}

/** A new section that adds a file at `path`. */
function addition(
  path: string,
  after = 'export const injected = 1;\n',
  extra: Partial<FileEdit> = {},
): Section {
  return { edit: { kind: 'add', oldPath: path, newPath: path, before: '', after, ...extra } };
}

function modification(scenario: Scenario, path: string, after: string): Section {
  const before = scenario.tree.get(path) as string;
  return { edit: { kind: 'modify', oldPath: path, newPath: path, before, after } };
}

/** Files the scenario's diff does not touch, of the generated sources or tests. */
function untouched(scenario: Scenario, prefix: 'src/' | 'tests/'): string[] {
  const used = usedPaths(scenario);
  return [...scenario.tree.keys()].filter(
    (path) =>
      path.startsWith(prefix) && !path.startsWith('src/secret') && !path.endsWith('.yaml') && !used.has(path),
  );
}

export const injectOutsideAllowedPaths: Injection = (scenario) =>
  fc
    .record({
      how: fc.constantFrom('modify', 'add', 'renameOut'),
      existing: fc.constantFrom(
        'lib/vendor.ts',
        'srcx/near-miss.ts',
        'tests-old/legacy.ts',
        'docs/other.md',
        'README.md',
      ),
      fresh: fc.constantFrom(
        'srcx/new.ts',
        'lib/new.ts',
        'tests-old/new.ts',
        'docs/guide.md.bak',
        'Makefile',
      ),
      at: fc.nat(),
    })
    .map(({ how, existing, fresh, at }) => {
      const source = untouched(scenario, 'src/')[0];
      if (how === 'renameOut' && source) {
        const before = scenario.tree.get(source) as string;
        const edit: FileEdit = { kind: 'rename', oldPath: source, newPath: fresh, before, after: before };
        return { scenario: withSection(scenario, { edit }, at), rule: 'OutsideAllowedPaths', path: fresh };
      }
      if (how === 'modify') {
        const section = modification(scenario, existing, `${scenario.tree.get(existing)}// more\n`);
        return { scenario: withSection(scenario, section, at), rule: 'OutsideAllowedPaths', path: existing };
      }
      return {
        scenario: withSection(scenario, addition(fresh), at),
        rule: 'OutsideAllowedPaths',
        path: fresh,
      };
    });

export const injectProtectedPath: Injection = (scenario) =>
  fc
    .record({ how: fc.constantFrom('modify', 'modifyDeploy', 'add', 'renameIn', 'renameOut'), at: fc.nat() })
    .map(({ how, at }) => {
      const key = 'src/secret/key.ts';
      const source = untouched(scenario, 'src/')[0];
      if (how === 'renameIn' && source) {
        const before = scenario.tree.get(source) as string;
        const newPath = 'src/secret/moved.ts';
        const edit: FileEdit = { kind: 'rename', oldPath: source, newPath, before, after: before };
        return { scenario: withSection(scenario, { edit }, at), rule: 'ProtectedPath', path: newPath };
      }
      if (how === 'renameOut') {
        const before = scenario.tree.get(key) as string;
        const edit: FileEdit = { kind: 'rename', oldPath: key, newPath: 'src/key.ts', before, after: before };
        return { scenario: withSection(scenario, { edit }, at), rule: 'ProtectedPath', path: key };
      }
      if (how === 'add') {
        const path = 'src/secret/extra.ts';
        return { scenario: withSection(scenario, addition(path), at), rule: 'ProtectedPath', path };
      }
      const path = how === 'modify' ? key : 'deploy/app.yaml';
      const section = modification(scenario, path, 'changed\n');
      return { scenario: withSection(scenario, section, at), rule: 'ProtectedPath', path };
    });

export const injectObjectiveFile: Injection = (scenario) =>
  fc
    .record({
      path: fc.constantFrom('src/objective.yaml', 'bench/latency.yaml'),
      how: fc.constantFrom('modify', 'delete', 'rename'),
      at: fc.nat(),
    })
    .map(({ path, how, at }) => {
      const before = scenario.tree.get(path) as string;
      const edit: FileEdit =
        how === 'modify'
          ? { kind: 'modify', oldPath: path, newPath: path, before, after: 'p99: 10s\n' }
          : how === 'delete'
            ? { kind: 'delete', oldPath: path, newPath: path, before, after: '' }
            : { kind: 'rename', oldPath: path, newPath: 'src/objective-old.yaml', before, after: before };
      return { scenario: withSection(scenario, { edit }, at), rule: 'ObjectiveFile', path };
    });

const UNSAFE_NAMES = [
  '../outside.ts',
  'src/../../outside.ts',
  'src/core/../../../etc/passwd',
  '/etc/passwd',
  '/src/main.ts',
  'src\\main.ts',
  'src/a\u0000b.ts',
  'src/a\nb.ts',
  'src/a\u001bb.ts',
  '.git/config',
  'src/.GIT/hooks/pre-commit',
  'src//main.ts',
  './src/main.ts',
  'src/./main.ts',
  'src/',
];

export const injectUnsafePath: Injection = (scenario) =>
  fc
    .record({
      how: fc.constantFrom('name', 'noPrefix', 'devNullOld', 'devNullNew', 'headersDisagree', 'renameTo'),
      name: fc.constantFrom(...UNSAFE_NAMES),
      at: fc.nat(),
    })
    .map(({ how, name, at }): Injected => {
      const inject = (section: Section) => ({
        scenario: withSection(scenario, section, at),
        rule: 'UnsafePath' as const,
      });
      const target = untouched(scenario, 'src/')[0] ?? 'src/main-extra.ts';
      const exists = scenario.tree.has(target);
      const before = scenario.tree.get(target) ?? '';
      const modify: FileEdit = exists
        ? { kind: 'modify', oldPath: target, newPath: target, before, after: `${before}// more\n` }
        : { kind: 'add', oldPath: target, newPath: target, before: '', after: 'x\n' };
      switch (how) {
        case 'name':
          return inject(addition(name));
        case 'noPrefix':
          return inject({ edit: modify, distortion: { prefixes: ['', ''] } });
        case 'devNullOld':
          return inject({
            edit: { ...modify, kind: 'modify', before: exists ? before : 'x\n', after: 'y\n' },
            distortion: { fileHeaders: ['/dev/null', `b/${target}`] },
          });
        case 'devNullNew':
          return inject({
            edit: { ...modify, kind: 'modify', before: exists ? before : 'x\n', after: 'y\n' },
            distortion: { fileHeaders: [`a/${target}`, '/dev/null'] },
          });
        case 'headersDisagree':
          return inject({
            edit: modify,
            distortion: { fileHeaders: [`a/${target}`, 'b/src/secret/key.ts'] },
          });
        default:
          return inject({ edit: { kind: 'rename', oldPath: target, newPath: name, before, after: before } });
      }
    });

export const injectSymlink: Injection = (scenario) =>
  fc.record({ how: fc.constantFrom('add', 'retarget'), at: fc.nat() }).map(({ how, at }) => {
    const source = untouched(scenario, 'src/')[0];
    if (how === 'retarget' && source) {
      const before = scenario.tree.get(source) as string;
      const edit: FileEdit = {
        kind: 'modify',
        oldPath: source,
        newPath: source,
        before,
        after: `${before}x`,
        indexMode: '120000',
      };
      return { scenario: withSection(scenario, { edit }, at), rule: 'Symlink', path: source };
    }
    const section = addition('src/link.ts', '../../etc/passwd', { newFileMode: '120000' });
    return { scenario: withSection(scenario, section, at), rule: 'Symlink', path: 'src/link.ts' };
  });

export const injectExecutableBit: Injection = (scenario) =>
  fc.record({ how: fc.constantFrom('add', 'chmod', 'chmodAndEdit'), at: fc.nat() }).map(({ how, at }) => {
    const source = untouched(scenario, 'src/')[0];
    if (how !== 'add' && source) {
      const before = scenario.tree.get(source) as string;
      const after = how === 'chmod' ? before : `${before}// run me\n`;
      const modeChange = { from: '100644', to: '100755' };
      const edit: FileEdit = { kind: 'modify', oldPath: source, newPath: source, before, after, modeChange };
      return { scenario: withSection(scenario, { edit }, at), rule: 'ExecutableBit', path: source };
    }
    const section = addition('src/run.sh', '#!/bin/sh\necho hi\n', { newFileMode: '100755' });
    return { scenario: withSection(scenario, section, at), rule: 'ExecutableBit', path: 'src/run.sh' };
  });

export const injectSubmodule: Injection = (scenario) =>
  fc.nat().map((at) => {
    const section = addition('src/vendor', 'Subproject commit 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n', {
      newFileMode: '160000',
    });
    return { scenario: withSection(scenario, section, at), rule: 'Submodule', path: 'src/vendor' };
  });

const CONTROL_CHARACTERS = ['\u0000', '\u0001', '\u0007', '\u0008', '\u000b', '\u001b', '\u007f', '\ufffd'];

export const injectBinary: Injection = (scenario) =>
  fc
    .record({
      how: fc.constantFrom('binaryFilesDiffer', 'gitBinaryPatch', 'controlCharacter'),
      character: fc.constantFrom(...CONTROL_CHARACTERS),
      at: fc.nat(),
    })
    .map(({ how, character, at }) => {
      const path = 'src/blob.bin';
      if (how === 'controlCharacter') {
        const section = addition(path, `export const text = 'a${character}b';\n`);
        return { scenario: withSection(scenario, section, at), rule: 'Binary', path };
      }
      const body =
        how === 'binaryFilesDiffer'
          ? ['Binary files /dev/null and b/src/blob.bin differ']
          : ['GIT binary patch', 'literal 4', 'LcmZQzWMT#N00aO8', '', 'literal 0', 'HcmV?d00001', ''];
      const raw = [
        `diff --git a/${path} b/${path}`,
        'new file mode 100644',
        'index 0000000..1b1cb4d',
        ...body,
      ]
        .join('\n')
        .concat('\n');
      const section: Section = { ...addition(path), raw };
      return { scenario: withSection(scenario, section, at), rule: 'Binary', path };
    });

export const injectTooBig: Injection = (scenario) =>
  fc
    .record({
      limit: fc.constantFrom('maxFiles' as const, 'maxChangedLines' as const, 'maxBytes' as const),
      under: fc.nat({ max: 50 }),
    })
    .map(({ limit, under }) => {
      const reached = measure(render(scenario), scenario);
      // A diff that only renames files and drops executable bits has no lines to go below.
      const chosen = reached[limit] > 0 ? limit : 'maxFiles';
      const limits = { ...GENEROUS_LIMITS, [chosen]: Math.max(0, reached[chosen] - 1 - under) };
      const rule: RefusalRule =
        chosen === 'maxFiles'
          ? 'TooManyFiles'
          : chosen === 'maxChangedLines'
            ? 'TooManyChangedLines'
            : 'TooLarge';
      return { scenario, rule, limits };
    });

export const injectDeletedTestFile: Injection = (scenario) =>
  fc.record({ how: fc.constantFrom('delete', 'moveOut'), at: fc.nat() }).map(({ how, at }) => {
    const free = freeTestFile(scenario);
    const before = free.scenario.tree.get(free.path) as string;
    const edit: FileEdit =
      how === 'delete'
        ? { kind: 'delete', oldPath: free.path, newPath: free.path, before, after: '' }
        : { kind: 'rename', oldPath: free.path, newPath: 'src/was-a-test.ts', before, after: before };
    return { scenario: withSection(free.scenario, { edit }, at), rule: 'TestDeleted', path: free.path };
  });

/** A test file the scenario does not touch yet, made to exist if the tree has none free. */
function freeTestFile(scenario: Scenario): { scenario: Scenario; path: string; lines: string[] } {
  const path = untouched(scenario, 'tests/')[0] ?? 'tests/extra.test.ts';
  const content = scenario.tree.get(path) ?? "test('case 0', () => {\n  assert.ok(true);\n});\n";
  const tree = new Map(scenario.tree).set(path, content);
  return { scenario: { ...scenario, tree }, path, lines: content.split('\n') };
}

export const injectRemovedTestCase: Injection = (scenario) =>
  fc
    .record({ how: fc.constantFrom('dropBlock', 'rename', 'dropDeclaration'), pick: fc.nat(), at: fc.nat() })
    .map(({ how, pick, at }) => {
      const free = freeTestFile(scenario);
      const lines = [...free.lines];
      const declarations = lines.flatMap((line, i) => (line.startsWith('test(') ? [i] : []));
      const index = declarations[pick % declarations.length] as number;
      if (how === 'rename') lines[index] = (lines[index] as string).replace("', ", " renamed', ");
      else if (how === 'dropDeclaration') lines.splice(index, 1);
      else {
        const end = lines.indexOf('});', index);
        lines.splice(index, end - index + 1);
      }
      const section = modification(free.scenario, free.path, lines.join('\n'));
      return { scenario: withSection(free.scenario, section, at), rule: 'TestRemoved', path: free.path };
    });

const DISABLING_LINES = [
  '  t.skip();',
  '  test.skip("later", () => {});',
  'it.only("focus", () => {});',
  'describe.skip("all", () => {});',
  "xit('off', () => {});",
  "xdescribe('off', () => {});",
  "fit('focus', () => {});",
  '@pytest.mark.skip(reason="flaky")',
  '@pytest.mark.xfail',
  '@unittest.skip("flaky")',
  '    t.Skip("flaky")',
  "test('opt-out', { skip: true }, () => {});",
  "test('solo', { only: true }, () => {});",
];

export const injectDisabledTest: Injection = (scenario) =>
  fc
    .record({
      how: fc.constantFrom('addLine', 'skipDeclaration', 'onlyDeclaration', 'skipOption'),
      line: fc.constantFrom(...DISABLING_LINES),
      pick: fc.nat(),
      at: fc.nat(),
    })
    .map(({ how, line, pick, at }) => {
      const free = freeTestFile(scenario);
      const lines = [...free.lines];
      const declarations = lines.flatMap((l, i) => (l.startsWith('test(') ? [i] : []));
      const index = declarations[pick % declarations.length] as number;
      const declaration = lines[index] as string;
      if (how === 'addLine') lines.splice(index + 1, 0, line);
      else if (how === 'skipDeclaration') lines[index] = declaration.replace('test(', 'test.skip(');
      else if (how === 'onlyDeclaration') lines[index] = declaration.replace('test(', 'test.only(');
      else lines[index] = declaration.replace("', () =>", "', { skip: 'flaky' }, () =>");
      const section = modification(free.scenario, free.path, lines.join('\n'));
      return { scenario: withSection(free.scenario, section, at), rule: 'TestDisabled', path: free.path };
    });

export const injectDoesNotApply: Injection = (scenario) =>
  fc
    .record({ how: fc.constantFrom('baseChanged', 'baseMissing', 'alreadyExists'), pick: fc.nat() })
    .map(({ how, pick }): Injected => {
      const tree = new Map(scenario.tree);
      const refused = (path: string): Injected => ({
        scenario: { ...scenario, tree },
        rule: 'DoesNotApply',
        path,
      });
      const { edit } = scenario.sections[pick % scenario.sections.length] as Section;
      if (edit.kind === 'add' || (edit.kind === 'rename' && how === 'alreadyExists')) {
        tree.set(edit.newPath, 'in the way\n');
        return refused(edit.newPath);
      }
      if (how === 'baseChanged' && edit.kind === 'delete') {
        tree.set(edit.oldPath, `${edit.before}\nleft behind\n`);
        return refused(edit.oldPath);
      }
      const relied = hunkLinesOf(edit).find((line) => line.startsWith('-') || line.startsWith(' '));
      if (how === 'baseChanged' && relied !== undefined) {
        // Every copy of a line the hunks rely on changes, so no offset can make them fit.
        const changed = (tree.get(edit.oldPath) as string)
          .split('\n')
          .map((line) => (line === relied.slice(1) ? `${line} /* changed in the base */` : line))
          .join('\n');
        tree.set(edit.oldPath, changed);
        return refused(edit.oldPath);
      }
      tree.delete(edit.oldPath);
      return refused(edit.oldPath);
    });

function hunkLinesOf(edit: FileEdit): string[] {
  const section = gitDiffSection(edit).split('\n');
  const start = section.findIndex((line) => line.startsWith('@@ '));
  return start < 0 ? [] : section.slice(start).filter((line) => !line.startsWith('@@ '));
}

export const injectMalformed: Injection = (scenario) =>
  fc
    .record({
      how: fc.constantFrom('dropHunkLine', 'garbageHeader', 'preamble', 'noDiffGit'),
      pick: fc.nat(),
    })
    .map(({ how, pick }): Injected => {
      const rendered = scenario.sections.map((s) => gitDiffSection(s.edit, s.distortion));
      const index = pick % rendered.length;
      const lines = (rendered[index] as string).split('\n');
      const hunkBody = lines.flatMap((line, i) =>
        /^[ +-]/.test(line) && !/^(---|\+\+\+) /.test(line) ? [i] : [],
      );
      let raw: string;
      if (how === 'dropHunkLine' && hunkBody.length > 0) {
        lines.splice(hunkBody[pick % hunkBody.length] as number, 1);
        raw = lines.join('\n');
      } else if (how === 'preamble') {
        return {
          scenario: { ...scenario, preamble: 'Here is the patch you asked for:\n\n' },
          rule: 'Malformed',
        };
      } else if (how === 'noDiffGit') {
        const plain = rendered.map((r) =>
          r
            .split('\n')
            .filter((line) => !line.startsWith('diff --git '))
            .join('\n'),
        );
        const sections = scenario.sections.map((s, i) => ({ ...s, raw: plain[i] as string }));
        return { scenario: { ...scenario, sections }, rule: 'Malformed' };
      } else {
        lines.splice(1, 0, 'mode: executable');
        raw = lines.join('\n');
      }
      const sections = scenario.sections.map((s, i) => (i === index ? { ...s, raw } : s));
      return { scenario: { ...scenario, sections }, rule: 'Malformed' };
    });
