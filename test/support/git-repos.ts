// Real repositories for the git tests: a bare "remote" in a temp dir, seeded with a main branch,
// and a plain git helper that runs outside the code under test, to look at what it did.
// Test-only: nothing in the operator imports this file.
import { after, before } from 'node:test';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { openGitAccess, type GitAccess } from '../../operator/src/git/credentials.js';
import type { AgentRef } from '../../operator/src/git/refs.js';
import { openWorkspace, type Workspace } from '../../operator/src/git/workspace.js';

export const AGENT: AgentRef = { namespace: 'shop', name: 'quote' };

export const SEED_FILES: Readonly<Record<string, string>> = {
  'README.md': '# quote service\n',
  'src/app.js': ['const timeoutMs = 100;', 'const retries = 1;', 'export { timeoutMs, retries };', ''].join(
    '\n',
  ),
  'src/cache.js': ['export function cache() {', '  return new Map();', '}', ''].join('\n'),
};

/** A diff, as `git diff` prints it, that raises the timeout in the seeded src/app.js. */
export const RAISE_TIMEOUT_DIFF = [
  'diff --git a/src/app.js b/src/app.js',
  '--- a/src/app.js',
  '+++ b/src/app.js',
  '@@ -1,3 +1,3 @@',
  '-const timeoutMs = 100;',
  '+const timeoutMs = 250;',
  ' const retries = 1;',
  ' export { timeoutMs, retries };',
  '',
].join('\n');

/** A diff against lines that are not in the seeded file. */
export const STALE_DIFF = [
  'diff --git a/src/app.js b/src/app.js',
  '--- a/src/app.js',
  '+++ b/src/app.js',
  '@@ -1,3 +1,3 @@',
  '-const timeoutMs = 999;',
  '+const timeoutMs = 250;',
  ' const retries = 1;',
  ' export { timeoutMs, retries };',
  '',
].join('\n');

/** A file whose last two lines also occur near its start: see END_OF_FILE_DIFF. */
export const END_OF_FILE_TEXT = 'a\nx\ny\nz\nx\ny\n';

/**
 * A diff that jsdiff and git place differently: its one hunk adds a line after `x`, `y` with no
 * trailing context, and its header names line 2. jsdiff applies it at line 2; git holds that a
 * hunk without trailing context ends the file, and appends the line at the end.
 */
export const END_OF_FILE_DIFF = [
  'diff --git a/src/twice.txt b/src/twice.txt',
  '--- a/src/twice.txt',
  '+++ b/src/twice.txt',
  '@@ -2,2 +2,3 @@',
  ' x',
  ' y',
  '+NEW',
  '',
].join('\n');

/** Runs git outside the code under test, isolated from the host's git configuration. */
export function git(cwd: string, args: readonly string[], home: string = cwd): string {
  return execFileSync('git', [...args], {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: home,
      GIT_CONFIG_NOSYSTEM: '1',
      LC_ALL: 'C',
      GIT_AUTHOR_NAME: 'Someone Else',
      GIT_AUTHOR_EMAIL: 'someone@example.com',
      GIT_COMMITTER_NAME: 'Someone Else',
      GIT_COMMITTER_EMAIL: 'someone@example.com',
    },
  });
}

export interface TestRemote {
  /** Temp directory holding everything the test makes. */
  root: string;
  /** Path of the bare repository. */
  bare: string;
  /** file:// URL of the bare repository. */
  url: string;
  cleanup(): Promise<void>;
}

/**
 * The remote the tests of one file share: created before they run, removed after. The object is
 * filled in by the `before` hook, so read its fields inside tests only.
 */
export function remoteForFile(): TestRemote {
  const remote = {} as TestRemote;
  before(async () => {
    Object.assign(remote, await createRemote());
  });
  after(async () => {
    await remote.cleanup?.();
  });
  return remote;
}

/** A bare repository with `main` seeded from SEED_FILES in one commit. */
export async function createRemote(name = 'service.git'): Promise<TestRemote> {
  const root = await mkdtemp(join(tmpdir(), 'hyperagent-git-test-'));
  const bare = join(root, name);
  await mkdir(bare, { recursive: true });
  git(bare, ['init', '--quiet', '--bare', '--initial-branch=main'], root);
  const seed = join(root, 'seed');
  await mkdir(seed);
  git(seed, ['init', '--quiet', '--initial-branch=main'], root);
  for (const [path, content] of Object.entries(SEED_FILES)) {
    await mkdir(dirname(join(seed, path)), { recursive: true });
    await writeFile(join(seed, path), content);
  }
  git(seed, ['add', '--all'], root);
  git(seed, ['commit', '--quiet', '-m', 'Seed the service'], root);
  git(seed, ['push', '--quiet', bare, 'main:main'], root);
  return {
    root,
    bare,
    url: `file://${bare}`,
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}

/** A workspace on the remote, in a fresh directory under its root. */
export async function workspaceOn(
  remote: TestRemote,
  dirName: string,
  access?: GitAccess,
): Promise<{ ws: Workspace; access: GitAccess }> {
  const a = access ?? (await openGitAccess({ repo: remote.url, tmpRoot: remote.root }));
  const ws = await openWorkspace({
    agent: AGENT,
    repo: remote.url,
    branch: 'main',
    dir: join(remote.root, dirName),
    access: a,
  });
  return { ws, access: a };
}
