// The committed tree a candidate's diff is judged against, read from a git repository.
//
// The patch policy reads files synchronously and only by names it has shown to be safe, so the
// files a diff names are loaded up front (asynchronously, through git, never through the work
// tree: uncommitted edits in a checkout must not change a verdict).
import { simpleGit } from 'simple-git';
import type { BaseTree } from '../policy/patch-policy.js';
import type { RepositoryFacts } from '../policy/agent-policy.js';
import type { LocalImport } from '../policy/anchor-imports.js';
import { parseGitDiff } from '../policy/diff-parse.js';
import { SCRIPT_LANGUAGES, languageOf } from '../represent/language.js';
import { localCandidates } from '../represent/resolve.js';
import { readScript } from '../represent/script.js';

export interface RepositorySnapshot extends RepositoryFacts {
  /** The commit the snapshot was read from. */
  commit: string;
  /** The files a given diff names, as the policy's tree reader. */
  treeFor(diff: string): Promise<BaseTree>;
}

/** How many files the import reader asks git for at once. */
const READS_AT_ONCE = 8;

/** A HyperAgent manifest in the tree: YAML whose top-level `kind` is HyperAgent. */
const AGENT_MANIFEST_PATTERN = '^kind:[[:space:]]*["\']?HyperAgent["\']?[[:space:]]*$';

/**
 * Reads `ref` of the repository at `dir`; fails with git's message when either does not exist.
 * `importRoots` names the files whose imports the policy follows (given the tree's file list).
 */
export async function readRepositorySnapshot(
  dir: string,
  ref = 'HEAD',
  importRoots: (files: readonly string[]) => readonly string[] = () => [],
): Promise<RepositorySnapshot> {
  const git = simpleGit({ baseDir: dir });
  const commit = (await git.revparse(['--verify', `${ref}^{commit}`])).trim();
  const files = splitZ(await git.raw(['ls-tree', '-r', '-z', '--name-only', commit]));
  const agentManifests = await grepFiles(dir, commit, AGENT_MANIFEST_PATTERN, ['*.yaml', '*.yml']);
  const imports = await readImports(
    (path) => git.show([`${commit}:${path}`]),
    new Set(files),
    importRoots(files),
  );
  return {
    commit,
    files,
    agentManifests,
    imports,
    async treeFor(diff: string) {
      const known = new Set(files);
      const wanted = new Set<string>();
      for (const change of parseGitDiff(diff).changes) {
        for (const path of [change.oldPath, change.newPath]) {
          if (path !== undefined && known.has(path)) wanted.add(path);
        }
      }
      const contents = new Map<string, string>();
      for (const path of wanted) {
        contents.set(path, await git.show([`${commit}:${path}`]));
      }
      return { read: (path: string) => contents.get(path) };
    },
  };
}

/**
 * The relative runtime imports of `roots` and of every script module they reach, read from the
 * commit. A module that cannot be parsed still yields what the parser recovered; one that cannot
 * be read fails the snapshot (the policy must not judge without knowing what the anchors load).
 */
async function readImports(
  read: (path: string) => Promise<string>,
  files: ReadonlySet<string>,
  roots: readonly string[],
): Promise<Map<string, LocalImport[]>> {
  const imports = new Map<string, LocalImport[]>();
  let level = roots.filter((path) => files.has(path) && SCRIPT_LANGUAGES.has(languageOf(path)));
  const seen = new Set(level);
  while (level.length > 0) {
    // A protected directory may hold thousands of modules: read a few at a time, not all at once.
    const texts: string[] = [];
    for (let at = 0; at < level.length; at += READS_AT_ONCE) {
      texts.push(...(await Promise.all(level.slice(at, at + READS_AT_ONCE).map(read))));
    }
    const next: string[] = [];
    level.forEach((path, index) => {
      const local = readScript(path, texts[index]!).runtimeSpecifiers.flatMap((specifier) => {
        const candidates = localCandidates(specifier, path);
        return candidates === undefined ? [] : [{ specifier, candidates }];
      });
      imports.set(path, local);
      for (const { candidates } of local) {
        const loads = candidates.find((candidate) => files.has(candidate));
        if (loads === undefined || seen.has(loads) || !SCRIPT_LANGUAGES.has(languageOf(loads))) continue;
        seen.add(loads);
        next.push(loads);
      }
    });
    level = next;
  }
  return imports;
}

async function grepFiles(dir: string, commit: string, pattern: string, globs: string[]): Promise<string[]> {
  const git = simpleGit({ baseDir: dir });
  // No match resolves with empty output; any real failure rejects, and the check fails closed
  // rather than judging without knowing which files are anchors.
  const out = await git.raw(['grep', '-l', '-z', '-E', '-e', pattern, commit, '--', ...globs]);
  // git grep prefixes every hit with "<commit>:".
  return splitZ(out).map((hit) => hit.slice(commit.length + 1));
}

function splitZ(text: string): string[] {
  return text.split('\0').filter((entry) => entry !== '');
}
