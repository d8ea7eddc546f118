// Base trees, edits, and the diffs git itself writes between them, for checking the patch policy
// against `git apply`.
//
// A scenario is a base tree and an edited tree made from it. Base files have modes (100644 or
// 100755) and text with LF, CRLF or mixed line endings, with or without a final newline, under
// names git quotes or splits awkwardly: spaces, ' b/' inside a name, quotes, backslashes, tabs,
// newlines, non-ASCII in both Unicode normal forms, bytes that are not UTF-8. The edits modify,
// delete, rename, copy, chmod and add files. A ScratchRepo stores both trees with `git fast-import`,
// lets `git diff` write the diff between them (context lines, rename and copy detection, quoting
// chosen by the test), applies any diff to the base tree as the operator does (candidate-tree's
// `git apply --cached` arguments on a private index) and reads back the tree git made.
//
// `perturb` then changes a diff the way a careless or hostile writer would: stale line numbers,
// context cut away, hunks dropped or swapped (hunkPerturbation); a line of context added,
// carriage returns and "\ No newline" markers where git put none, markers dropped, blank context
// lines without their space, names quoted another way or swapped for another file's, lines
// dropped (linePerturbation).
//
// Paths are bytes: a GitPath holds one character per byte (latin1), so names that are not UTF-8
// can be stored and compared exactly. File contents are text (UTF-8).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { applyArgs } from '../../operator/src/git/candidate-tree.js';

/** A path as git stores it: its bytes, one character per byte. */
export type GitPath = string;
export type FileMode = '100644' | '100755';

export interface TreeFile {
  mode: FileMode;
  content: string;
}
export type Tree = ReadonlyMap<GitPath, TreeFile>;

/** An entry of a tree git made: mode and blob id. */
export interface TreeEntry {
  mode: string;
  blob: string;
}

/** The GitPath of a name written as text. */
export function gitPath(name: string): GitPath {
  return Buffer.from(name, 'utf8').toString('latin1');
}

/** A GitPath as text, the way the operator reads git's output: bytes that are not UTF-8 become U+FFFD. */
export function pathText(path: GitPath): string {
  return Buffer.from(path, 'latin1').toString('utf8');
}

/** Whether a GitPath's bytes are valid UTF-8. */
export function isUtf8Path(path: GitPath): boolean {
  return gitPath(pathText(path)) === path;
}

/** git's object id of a blob holding `content`. */
export function blobId(content: string): string {
  const bytes = Buffer.from(content, 'utf8');
  return createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex');
}

// ---------------------------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------------------------

// No name is a directory of another, so any subset of them is a valid tree.

/** Names the policy can name, though git quotes some of them and splits others awkwardly. */
const NAMEABLE: readonly GitPath[] = [
  gitPath('src/main.ts'),
  gitPath('src/util/text.ts'),
  gitPath('src/with space.ts'),
  // ' b/' inside the names: an unquoted `diff --git a/... b/...` line splits more than one way.
  gitPath('src/a b/c.ts'),
  gitPath('src/x b/y b/z.ts'),
  gitPath('src/quote"d.ts'),
  gitPath('src/café.ts'),
  gitPath('src/cafe\u0301.ts'),
  gitPath('docs/日本語.md'),
  gitPath('docs/emoji 😀.md'),
  gitPath('docs/ leading.md'),
  // Names that look like the /dev/null and the a/ b/ prefixes of diff headers.
  gitPath('dev/null'),
  gitPath('a/b.ts'),
  gitPath('b/a.ts'),
  gitPath('-dash.ts'),
  gitPath('deploy/app.yaml'),
];

/** Names the policy refuses to name (UnsafePath) though git handles them. */
const UNNAMEABLE: readonly GitPath[] = [
  gitPath('src/back\\slash.ts'),
  gitPath('src/tab\there.ts'),
  gitPath('src/new\nline.ts'),
  gitPath('docs/ends in space '),
  // Not UTF-8: git quotes the bytes in octal; as text they all read as U+FFFD.
  'src/\xff.ts',
  'src/\xfe.ts',
  'src/\xc3(.ts',
];

export const NAMES: readonly GitPath[] = [...NAMEABLE, ...UNNAMEABLE];

/** Few distinct lines, so hunks fit in more than one place; a tab, a lone CR, a form feed, non-ASCII. */
const LINES = [
  'alpha',
  'beta',
  'gamma',
  'alpha',
  '',
  '\tindented',
  'trailing  ',
  'lone\rcarriage',
  'ünïcödé ✓',
  'form\ffeed',
  '}',
];

const lineEnding = fc.constantFrom('lf', 'crlf', 'mixed');

const text: fc.Arbitrary<string> = fc
  .record({
    endings: lineEnding,
    lines: fc.array(fc.record({ text: fc.constantFrom(...LINES), crlf: fc.boolean() }), { maxLength: 10 }),
    finalNewline: fc.boolean(),
  })
  .map(({ endings, lines, finalNewline }) =>
    lines
      .map((line, i) => {
        const crlf = endings === 'crlf' || (endings === 'mixed' && line.crlf);
        const last = i === lines.length - 1;
        return line.text + (last && !finalNewline ? '' : crlf ? '\r\n' : '\n');
      })
      .join(''),
  );

/** Mostly regular files: an executable bit the diff sets is refused, and one refusal hides the rest of a case. */
function mode(executable: number): fc.Arbitrary<FileMode> {
  return fc.oneof(
    { weight: 1, arbitrary: fc.constant('100755' as const) },
    { weight: executable, arbitrary: fc.constant('100644' as const) },
  );
}

const baseFile: fc.Arbitrary<TreeFile> = fc.record({ mode: mode(3), content: text });
const addedFile: fc.Arbitrary<TreeFile> = fc.record({ mode: mode(8), content: text });

/** True one time in five. */
const rarely: fc.Arbitrary<boolean> = fc.oneof(
  { weight: 1, arbitrary: fc.constant(true) },
  { weight: 4, arbitrary: fc.constant(false) },
);

type LineEdit = { op: 'insert' | 'delete' | 'replace'; at: number; text: string; crlf: boolean };
const lineEdit: fc.Arbitrary<LineEdit> = fc.record({
  op: fc.constantFrom('insert' as const, 'delete' as const, 'replace' as const),
  at: fc.nat(),
  text: fc.constantFrom(...LINES),
  crlf: fc.boolean(),
});

/** How content changes: some line edits, and whether the final newline comes or goes. */
export interface ContentEdit {
  edits: LineEdit[];
  toggleFinalNewline: boolean;
}
const contentEdit: fc.Arbitrary<ContentEdit> = fc.record({
  edits: fc.array(lineEdit, { minLength: 1, maxLength: 3 }),
  toggleFinalNewline: fc.boolean(),
});

/** `content` edited; an edit that happens to change nothing appends a line, so the content does change. */
function edit(content: string, { edits, toggleFinalNewline }: ContentEdit): string {
  // Each unit is a line with its own ending; the last may have none.
  const units = content.split(/(?<=\n)/).filter((unit) => unit !== '');
  for (const { op, at, text: line, crlf } of edits) {
    const index = units.length === 0 ? 0 : at % (units.length + (op === 'insert' ? 1 : 0));
    const ending = crlf ? '\r\n' : '\n';
    if (op === 'insert') units.splice(index, 0, line + ending);
    else if (units.length > 0 && op === 'delete') units.splice(index, 1);
    else if (units.length > 0) units[index] = line + ((units[index] as string).match(/\r?\n$/)?.[0] ?? '');
  }
  let edited = units.join('');
  if (toggleFinalNewline && edited !== '')
    edited = edited.endsWith('\n') ? edited.slice(0, -1) : `${edited}\n`;
  return edited === content
    ? `${content}${content.endsWith('\n') || content === '' ? '' : '\n'}omega\n`
    : edited;
}

type Action =
  | { kind: 'keep' }
  | { kind: 'delete' }
  | { kind: 'modify'; edit: ContentEdit }
  | { kind: 'chmod'; edit?: ContentEdit }
  | { kind: 'rename' | 'copy'; edit?: ContentEdit; chmod: boolean };

const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ kind: 'keep' as const }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('modify' as const), edit: contentEdit }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'delete' as const }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('chmod' as const),
      edit: fc.option(contentEdit, { nil: undefined }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constantFrom('rename' as const, 'copy' as const),
      edit: fc.option(contentEdit, { nil: undefined }),
      chmod: rarely,
    }),
  },
);

export interface GitScenario {
  base: Tree;
  edited: Tree;
}

/** Every path of either tree: what a diff between them may name (copy detection may name any base file). */
export function pathsOf(scenario: GitScenario): GitPath[] {
  return [...new Set([...scenario.base.keys(), ...scenario.edited.keys()])];
}

const MAX_BASE_FILES = 6;
const MAX_ADDITIONS = 2;

/** A base tree and an edited tree that differs from it. */
export const gitScenario: fc.Arbitrary<GitScenario> = fc
  .record({
    // Mostly names the policy can name: one it cannot refuses the whole diff.
    order: fc
      .oneof({ weight: 4, arbitrary: fc.constant(NAMEABLE) }, { weight: 1, arbitrary: fc.constant(NAMES) })
      .chain((names) => fc.shuffledSubarray([...names], { minLength: 2, maxLength: MAX_BASE_FILES + 4 })),
    baseCount: fc.integer({ min: 1, max: MAX_BASE_FILES }),
    files: fc.array(baseFile, { minLength: MAX_BASE_FILES, maxLength: MAX_BASE_FILES }),
    added: fc.array(addedFile, { minLength: MAX_ADDITIONS, maxLength: MAX_ADDITIONS }),
    actions: fc.array(action, { minLength: MAX_BASE_FILES, maxLength: MAX_BASE_FILES }),
    additions: fc.nat(MAX_ADDITIONS),
  })
  .map(({ order, baseCount, files, added, actions, additions }) => {
    const count = Math.min(baseCount, order.length - 1);
    const base = new Map(order.slice(0, count).map((path, i) => [path, files[i] as TreeFile]));
    const free = order.slice(count);
    const edited = new Map(base);
    [...base].forEach(([path, before], i) => {
      const act: Action = actions[i] ?? { kind: 'keep' };
      if (act.kind === 'keep') return;
      if (act.kind === 'delete') edited.delete(path);
      else if (act.kind === 'modify')
        edited.set(path, { ...before, content: edit(before.content, act.edit) });
      else if (act.kind === 'chmod') {
        const content = act.edit ? edit(before.content, act.edit) : before.content;
        edited.set(path, { mode: flip(before.mode), content });
      } else {
        const target = free.shift();
        if (target === undefined) return;
        if (act.kind === 'rename') edited.delete(path);
        const content = act.edit ? edit(before.content, act.edit) : before.content;
        edited.set(target, { mode: act.chmod ? flip(before.mode) : before.mode, content });
      }
    });
    for (let i = 0; i < additions && free.length > 0; i++) {
      const target = free.shift() as GitPath;
      edited.set(target, added[i] as TreeFile);
    }
    return { base, edited };
  })
  .filter(({ base, edited }) => !sameTree(base, edited));

function flip(from: FileMode): FileMode {
  return from === '100644' ? '100755' : '100644';
}

function sameTree(a: Tree, b: Tree): boolean {
  if (a.size !== b.size) return false;
  return [...a].every(([path, f]) => b.get(path)?.mode === f.mode && b.get(path)?.content === f.content);
}

/** How `git diff` is asked to write the diff. */
export interface DiffOptions {
  /** -U<n>. */
  context: number;
  /** Rename, copy and rewrite detection. */
  detection: readonly string[];
  /** core.quotePath: octal escapes for non-ASCII bytes (git's default), or the bytes as they are. */
  quotePath: boolean;
  /** diff.suppressBlankEmpty: a blank context line as an empty line, without its space. */
  suppressBlankEmpty: boolean;
  fullIndex: boolean;
}

export function diffOptions(minContext: number): fc.Arbitrary<DiffOptions> {
  return fc.record({
    context: fc.integer({ min: minContext, max: 3 }),
    detection: fc.constantFrom(
      [],
      ['--no-renames'],
      ['-M'],
      ['-M30%'],
      ['-C'],
      ['-C', '-C'],
      ['-B', '-M'],
      ['-B', '-C', '-C'],
    ),
    quotePath: fc.boolean(),
    suppressBlankEmpty: fc.boolean(),
    fullIndex: fc.boolean(),
  });
}

// ---------------------------------------------------------------------------------------------
// A scratch repository
// ---------------------------------------------------------------------------------------------

export type GitOutcome =
  | { applied: true; tree: Map<GitPath, TreeEntry> }
  /** git's own words for why it refused. */
  | { applied: false; message: string };

const BASE_REF = 'refs/heads/base';
const EDITED_REF = 'refs/heads/edited';

/**
 * A bare repository in a temporary directory, reused for many scenarios: each `store` replaces
 * the two trees. git runs isolated from the host's configuration.
 */
export class ScratchRepo {
  readonly dir = mkdtempSync(join(tmpdir(), 'policy-git-'));
  private readonly env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: this.dir,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    LC_ALL: 'C',
    GIT_INDEX_FILE: join(this.dir, 'candidate-index'),
  };

  constructor() {
    this.git(['init', '--quiet', '--bare', '.']);
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Makes `base` and `edited` the repository's two trees. */
  store(base: Tree, edited: Tree): void {
    const stream = [commitStream(BASE_REF, base), commitStream(EDITED_REF, edited)];
    this.git(['fast-import', '--quiet', '--force'], Buffer.concat(stream.flat()));
  }

  /** The diff `git diff` writes from the base tree to the edited one, read as UTF-8 text. */
  diff(options: DiffOptions): string {
    const args = [
      '-c',
      `core.quotePath=${options.quotePath}`,
      '-c',
      `diff.suppressBlankEmpty=${options.suppressBlankEmpty}`,
      'diff',
      '--no-color',
      `-U${options.context}`,
      ...options.detection,
      ...(options.fullIndex ? ['--full-index'] : []),
      BASE_REF,
      EDITED_REF,
    ];
    return this.git(args).toString('utf8');
  }

  /** What git makes of `diff` applied to the base tree, as the operator applies a candidate's diff. */
  apply(diff: string): GitOutcome {
    this.git(['read-tree', BASE_REF]);
    const patch = join(this.dir, 'candidate.diff');
    writeFileSync(patch, diff);
    const applied = this.run(applyArgs(patch));
    if (applied.status !== 0) return { applied: false, message: applied.stderr.toString('utf8') };
    const written = this.run(['write-tree']);
    if (written.status !== 0) return { applied: false, message: written.stderr.toString('utf8') };
    return { applied: true, tree: this.entries(written.stdout.toString('utf8').trim()) };
  }

  /** A tree's files, by path. */
  entries(tree: string): Map<GitPath, TreeEntry> {
    const listing = this.git(['ls-tree', '-r', '-z', '--full-tree', tree]).toString('latin1');
    const entries = new Map<GitPath, TreeEntry>();
    for (const record of listing.split('\0')) {
      const match = /^(\d{6}) \w+ ([0-9a-f]+)\t([\s\S]*)$/.exec(record);
      if (match) entries.set(match[3] as GitPath, { mode: match[1] as string, blob: match[2] as string });
    }
    return entries;
  }

  /** The contents of blobs, as UTF-8 text. */
  blobs(ids: readonly string[]): Map<string, string> {
    const contents = new Map<string, string>();
    for (const id of new Set(ids)) contents.set(id, this.git(['cat-file', 'blob', id]).toString('utf8'));
    return contents;
  }

  private git(args: readonly string[], input?: Buffer): Buffer {
    const result = this.run(args, input);
    if (result.status !== 0) {
      throw new Error(`git ${args.join(' ')} failed: ${result.stderr.toString('utf8')}`);
    }
    return result.stdout;
  }

  private run(args: readonly string[], input?: Buffer) {
    return spawnSync('git', args, {
      cwd: this.dir,
      env: this.env,
      ...(input ? { input } : {}),
      maxBuffer: 64 * 1024 * 1024,
    });
  }
}

/** A `git fast-import` commit that makes `ref` hold exactly `tree`, with no parent. */
function commitStream(ref: string, tree: Tree): Buffer[] {
  const chunks = [`reset ${ref}\n`, `commit ${ref}\n`, 'committer T <t@example.com> 0 +0000\n', 'data 0\n'];
  const out = chunks.map((chunk) => Buffer.from(chunk));
  for (const [path, { mode: fileMode, content }] of tree) {
    const bytes = Buffer.from(content, 'utf8');
    out.push(
      Buffer.from(`M ${fileMode} inline ${fastImportQuoted(path)}\ndata ${bytes.length}\n`, 'latin1'),
      bytes,
      Buffer.from('\n'),
    );
  }
  out.push(Buffer.from('\n'));
  return out;
}

/** A path C-quoted for fast-import: every byte that is not plain printable ASCII in octal. */
function fastImportQuoted(path: GitPath): string {
  let quoted = '';
  for (const character of path) {
    const byte = character.charCodeAt(0);
    if (character === '"' || character === '\\') quoted += `\\${character}`;
    else if (byte >= 0x20 && byte < 0x7f) quoted += character;
    else quoted += `\\${byte.toString(8).padStart(3, '0')}`;
  }
  return `"${quoted}"`;
}

// ---------------------------------------------------------------------------------------------
// Perturbations
// ---------------------------------------------------------------------------------------------

/** One change to a diff's text; `pick` and `at` choose among the hunks or lines there are. */
export type Perturbation =
  | { kind: 'shift'; pick: number; by: number; side: 'both' | 'old' | 'new' }
  | { kind: 'trimLeading' | 'trimTrailing'; pick: number; count: number }
  | { kind: 'dropHunk' | 'swapHunks'; pick: number }
  | { kind: 'carriageReturn' | 'dropMarker' | 'blankContext'; at: number }
  /** `atEnd`: after the last line of a hunk, where a marker may be right or wrong; else anywhere. */
  | { kind: 'noNewlineMarker'; at: number; atEnd: boolean }
  | { kind: 'extraContext'; pick: number; leading: boolean; text: string }
  | { kind: 'requote'; at: number; escapes: readonly boolean[] }
  | { kind: 'retarget'; at: number; to: GitPath }
  | { kind: 'dropLine'; at: number }
  | { kind: 'crlfEverywhere' };

/** Changes to where hunks go: their line numbers, their context, their order. */
export const hunkPerturbation: fc.Arbitrary<Perturbation> = fc.oneof(
  fc.record({
    kind: fc.constant('shift' as const),
    pick: fc.nat(),
    by: fc.integer({ min: -3, max: 3 }).filter((by) => by !== 0),
    side: fc.constantFrom('both' as const, 'both' as const, 'old' as const, 'new' as const),
  }),
  fc.record({
    kind: fc.constantFrom('trimLeading' as const, 'trimTrailing' as const),
    pick: fc.nat(),
    count: fc.integer({ min: 1, max: 3 }),
  }),
  fc.record({ kind: fc.constantFrom('dropHunk' as const, 'swapHunks' as const), pick: fc.nat() }),
);

/** Changes to how lines are written, hunks left where git put them. */
export const linePerturbation: fc.Arbitrary<Perturbation> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.oneof(
      fc.record({
        kind: fc.constantFrom('carriageReturn' as const, 'dropMarker' as const, 'blankContext' as const),
        at: fc.nat(),
      }),
      fc.record({ kind: fc.constant('noNewlineMarker' as const), at: fc.nat(), atEnd: fc.boolean() }),
    ),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('extraContext' as const),
      pick: fc.nat(),
      leading: fc.boolean(),
      text: fc.constantFrom(...LINES),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('requote' as const),
      at: fc.nat(),
      escapes: fc.array(fc.boolean()),
    }),
  },
  // The attack the policy exists for: one place names a file the others do not.
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('retarget' as const),
      at: fc.nat(),
      to: fc.constantFrom(...NAMEABLE),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('dropLine' as const), at: fc.nat() }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'crlfEverywhere' as const }) },
);

/** `diff` changed by each perturbation in turn; one that finds nothing to change leaves it as it is. */
export function perturb(diff: string, perturbations: readonly Perturbation[]): string {
  let lines = diff.split('\n');
  for (const p of perturbations) lines = perturbLines(lines, p);
  return lines.join('\n');
}

function perturbLines(lines: string[], p: Perturbation): string[] {
  switch (p.kind) {
    case 'shift':
    case 'trimLeading':
    case 'trimTrailing':
    case 'dropHunk':
    case 'swapHunks':
    case 'extraContext':
      return perturbHunks(lines, p);
    case 'carriageReturn':
      return lines.map((line, i) => (i === p.at % lines.length ? `${line}\r` : line));
    case 'noNewlineMarker': {
      const body = p.atEnd ? hunksOf(lines).map((hunk) => hunk.end - 1) : bodyLineIndexes(lines);
      if (body.length === 0) return lines;
      const after = body[p.at % body.length] as number;
      return [...lines.slice(0, after + 1), '\\ No newline at end of file', ...lines.slice(after + 1)];
    }
    case 'dropMarker': {
      const markers = lines.flatMap((line, i) => (line.startsWith('\\ ') ? [i] : []));
      if (markers.length === 0) return lines;
      const target = markers[p.at % markers.length] as number;
      return lines.filter((_, i) => i !== target);
    }
    case 'blankContext': {
      const blanks = bodyLineIndexes(lines).filter((i) => lines[i] === ' ');
      if (blanks.length === 0) return lines;
      const target = blanks[p.at % blanks.length] as number;
      return lines.map((line, i) => (i === target ? '' : line));
    }
    case 'requote': {
      const named = lines.flatMap((line, i) => (NAME_LINE.test(line) ? [i] : []));
      if (named.length === 0) return lines;
      const target = named[p.at % named.length] as number;
      return lines.map((line, i) => (i === target ? rewriteNames(line, p.escapes) : line));
    }
    case 'retarget': {
      const named = lines.flatMap((line, i) => (NAME_LINE.test(line) ? [i] : []));
      if (named.length === 0) return lines;
      const target = named[p.at % named.length] as number;
      const keyword = NAME_LINE.exec(lines[target] as string)?.[0] as string;
      const rename = retargeting(keyword, p.at, p.to);
      return lines.map((line, i) => (i === target ? rewriteNames(line, [], rename) : line));
    }
    case 'dropLine':
      return lines.filter((_, i) => i !== p.at % lines.length);
    case 'crlfEverywhere':
      return lines.map((line, i) => (i < lines.length - 1 ? `${line}\r` : line));
  }
}

/** A hunk of a diff: its header's line index, its numbers, and where its body ends. */
interface Hunk {
  header: number;
  oldStart: number;
  oldLines: number;
  newStart: number;
  newLines: number;
  /** Index after the hunk's last line ('\' markers included). */
  end: number;
  /** Index of the `diff --git` line of the file the hunk belongs to. */
  section: number;
}

const HUNK_HEADER = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@(.*)$/;

/** The hunks of a diff as git wrote it, read by their counts. */
function hunksOf(lines: readonly string[]): Hunk[] {
  const hunks: Hunk[] = [];
  let section = -1;
  for (let i = 0; i < lines.length; i++) {
    if ((lines[i] as string).startsWith('diff --git ')) section = i;
    const match = HUNK_HEADER.exec(lines[i] as string);
    if (!match) continue;
    const [oldLines, newLines] = [Number(match[2] ?? 1), Number(match[4] ?? 1)];
    let [old, added] = [0, 0];
    let end = i + 1;
    while (end < lines.length && (old < oldLines || added < newLines)) {
      const first = (lines[end] as string)[0] ?? ' ';
      if (first === '-' || first === ' ') old++;
      if (first === '+' || first === ' ') added++;
      end++;
    }
    while (end < lines.length && (lines[end] as string).startsWith('\\')) end++;
    hunks.push({
      header: i,
      oldStart: Number(match[1]),
      oldLines,
      newStart: Number(match[3]),
      newLines,
      end,
      section,
    });
    i = end - 1;
  }
  return hunks;
}

function bodyLineIndexes(lines: readonly string[]): number[] {
  return hunksOf(lines).flatMap((hunk) =>
    Array.from({ length: hunk.end - hunk.header - 1 }, (_, k) => hunk.header + 1 + k),
  );
}

function headerLine(hunk: Hunk, suffix = ''): string {
  const range = (start: number, count: number) => (count === 1 ? `${start}` : `${start},${count}`);
  return `@@ -${range(hunk.oldStart, hunk.oldLines)} +${range(hunk.newStart, hunk.newLines)} @@${suffix}`;
}

type HunkPerturbation = Extract<Perturbation, { pick: number }>;

function perturbHunks(lines: string[], p: HunkPerturbation): string[] {
  const hunks = hunksOf(lines);
  if (hunks.length === 0) return lines;
  const hunk = hunks[p.pick % hunks.length] as Hunk;
  const suffix = HUNK_HEADER.exec(lines[hunk.header] as string)?.[5] ?? '';
  const body = lines.slice(hunk.header + 1, hunk.end);
  const replace = (replacement: string[]) => [
    ...lines.slice(0, hunk.header),
    ...replacement,
    ...lines.slice(hunk.end),
  ];
  switch (p.kind) {
    case 'shift': {
      const moved = { ...hunk };
      if (p.side !== 'new') moved.oldStart = Math.max(hunk.oldLines === 0 ? 0 : 1, hunk.oldStart + p.by);
      if (p.side !== 'old') moved.newStart = Math.max(hunk.newLines === 0 ? 0 : 1, hunk.newStart + p.by);
      return replace([headerLine(moved, suffix), ...body]);
    }
    case 'trimLeading': {
      let cut = 0;
      while (cut < p.count && isContext(body[cut])) cut++;
      const trimmed = { ...hunk, oldStart: hunk.oldStart + cut, newStart: hunk.newStart + cut };
      trimmed.oldLines -= cut;
      trimmed.newLines -= cut;
      return replace([headerLine(trimmed, suffix), ...body.slice(cut)]);
    }
    case 'trimTrailing': {
      const kept = [...body];
      let cut = 0;
      while (cut < p.count && kept.length > 0) {
        // A '\' marker belongs to the line before it: it goes with that line.
        const markers = (kept.at(-1) as string).startsWith('\\') ? 1 : 0;
        if (!isContext(kept[kept.length - 1 - markers])) break;
        kept.splice(kept.length - 1 - markers, 1 + markers);
        cut++;
      }
      const trimmed = { ...hunk, oldLines: hunk.oldLines - cut, newLines: hunk.newLines - cut };
      return replace([headerLine(trimmed, suffix), ...kept]);
    }
    case 'extraContext': {
      // One more line of context the base may or may not have there, before or after the hunk.
      if (p.leading && (hunk.oldStart <= 1 || hunk.newStart <= 1)) return lines;
      const grown = { ...hunk, oldLines: hunk.oldLines + 1, newLines: hunk.newLines + 1 };
      if (!p.leading) return replace([headerLine(grown, suffix), ...body, ` ${p.text}`]);
      grown.oldStart--;
      grown.newStart--;
      return replace([headerLine(grown, suffix), ` ${p.text}`, ...body]);
    }
    case 'dropHunk':
      return replace([]);
    case 'swapHunks': {
      const next = hunks[(p.pick % hunks.length) + 1];
      if (!next || next.section !== hunk.section || next.header !== hunk.end) return lines;
      return [
        ...lines.slice(0, hunk.header),
        ...lines.slice(next.header, next.end),
        ...lines.slice(hunk.header, hunk.end),
        ...lines.slice(next.end),
      ];
    }
  }
}

function isContext(line: string | undefined): boolean {
  return line !== undefined && (line.startsWith(' ') || line === '');
}

/** Lines that name a file: what `requote` may write differently. */
const NAME_LINE = /^(?:diff --git |--- |\+\+\+ |rename from |rename to |copy from |copy to )/;

/**
 * The line with its names passed through `rename` (told which of the line's names it is) and
 * C-quoted, some printable bytes in octal too as `escapes` says: for `requote`, the same names in
 * another spelling git accepts. A `diff --git` line whose names cannot be told apart (unquoted,
 * with spaces) is left as it is.
 */
function rewriteNames(
  line: string,
  escapes: readonly boolean[],
  rename: (name: GitPath, index: number) => GitPath = (name) => name,
): string {
  const [, keyword, rest] =
    /^(diff --git |--- |\+\+\+ |rename from |rename to |copy from |copy to )(.*)$/s.exec(
      line,
    ) as RegExpExecArray;
  let n = 0;
  const quote = (name: GitPath) => cQuoted(name, () => escapes[n++ % Math.max(1, escapes.length)] ?? false);
  if (keyword === 'diff --git ') {
    const names = splitGitLineNames(rest as string);
    return names ? `${keyword}${quote(rename(names[0], 0))} ${quote(rename(names[1], 1))}` : line;
  }
  // git ends a name with a space in it with a tab on the ---/+++ lines; what follows is not the name.
  const [name, tail] = (rest as string).startsWith('"')
    ? splitQuoted(rest as string)
    : [gitPath((rest as string).replace(/\t.*$/s, '')), (rest as string).match(/\t.*$/s)?.[0] ?? ''];
  if (name === undefined) return line;
  const renamed = rename(name, 0);
  return renamed === gitPath('/dev/null') ? line : `${keyword}${quote(renamed)}${tail}`;
}

/** `rename` for a name line: the chosen name becomes `to`, under the a/ or b/ prefix its place has. */
function retargeting(keyword: string, which: number, to: GitPath) {
  return (name: GitPath, index: number): GitPath => {
    if (index !== which % (keyword === 'diff --git ' ? 2 : 1)) return name;
    const prefix = /^[ab]\//.test(name)
      ? name.slice(0, 2)
      : keyword === '--- '
        ? 'a/'
        : keyword === '+++ '
          ? 'b/'
          : '';
    return prefix + to;
  };
}

function splitGitLineNames(rest: string): [GitPath, GitPath] | undefined {
  if (rest.startsWith('"')) {
    const [first, after] = splitQuoted(rest);
    if (first === undefined || !after.startsWith(' ')) return undefined;
    const second = after.slice(1);
    if (second.startsWith('"')) {
      const [name, tail] = splitQuoted(second);
      return name !== undefined && tail === '' ? [first, name] : undefined;
    }
    return second.includes(' ') ? undefined : [first, gitPath(second)];
  }
  const parts = rest.split(' ');
  if (parts.length === 2) return [gitPath(parts[0] as string), gitPath(parts[1] as string)];
  return undefined;
}

/** A C-quoted name at the start of `text`, decoded to bytes, and what follows it. */
function splitQuoted(text: string): [GitPath | undefined, string] {
  const named: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };
  let bytes = '';
  for (let i = 1; i < text.length; i++) {
    const character = text[i] as string;
    if (character === '"') return [bytes, text.slice(i + 1)];
    if (character !== '\\') {
      bytes += gitPath(character);
      continue;
    }
    const next = text[++i] ?? '';
    const octal = /^[0-7]{3}/.exec(text.slice(i))?.[0];
    if (octal) {
      bytes += String.fromCharCode(parseInt(octal, 8));
      i += 2;
    } else if (named[next]) bytes += named[next];
    else bytes += next;
  }
  return [undefined, text];
}

/** `name` C-quoted; printable ASCII bytes for which `escape()` says so are written in octal too. */
function cQuoted(name: GitPath, escape: () => boolean): string {
  const named: Record<string, string> = { '"': '\\"', '\\': '\\\\', '\t': '\\t', '\n': '\\n' };
  let quoted = '';
  for (const character of name) {
    const byte = character.charCodeAt(0);
    const octal = `\\${byte.toString(8).padStart(3, '0')}`;
    if (named[character]) quoted += escape() ? octal : named[character];
    else if (byte >= 0x20 && byte < 0x7f) quoted += escape() ? octal : character;
    else quoted += octal;
  }
  return `"${quoted}"`;
}
