// A clone of the agent's repository that the lineage works in: the base branch and the agent's
// cycle branches, with a committer identity. Opening it again after a restart reuses the clone.
// The agent's promotion tags are fetched too; where the answer must be the remote's own (is this
// tag published, and where), the lineage asks it directly with ls-remote.
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { GitAccess } from './credentials.js';
import { GitLineageError } from './errors.js';
import {
  agentBranchPrefix,
  assertAgent,
  assertBranchName,
  assertRepositoryUrl,
  type AgentRef,
} from './refs.js';
import { GitRunner } from './runner.js';

export interface Identity {
  name: string;
  email: string;
}

export const DEFAULT_IDENTITY: Identity = { name: 'HyperAgent', email: 'hyperagent@hyperagents.io' };

export interface WorkspaceOptions {
  agent: AgentRef;
  /** Repository URL (spec.source.repo). */
  repo: string;
  /** Base branch (spec.source.branch): the deployed version, where baseline candidates start. */
  branch: string;
  /** Directory of the clone; reused when it already holds a clone of `repo`. */
  dir: string;
  access: GitAccess;
  /** Committer and tagger; DEFAULT_IDENTITY when absent. */
  identity?: Identity;
  /** Kill a git command silent for this long. */
  timeoutMs?: number;
}

export interface Workspace {
  readonly agent: AgentRef;
  readonly repo: string;
  readonly branch: string;
  readonly dir: string;
  /** The git directory, for files the lineage keeps out of the work tree. */
  readonly gitDir: string;
  readonly runner: GitRunner;
  /** Remote-tracking ref of the base branch. */
  readonly baseRef: string;
  /** Brings the base branch, the agent's cycle branches and promotion tags up to date. */
  fetch(): Promise<void>;
}

export const REMOTE = 'origin';

/** `refs/heads/<branch>`. */
export function localRef(branch: string): string {
  return `refs/heads/${branch}`;
}

/** `refs/tags/<tag>`. */
export function tagRef(tag: string): string {
  return `refs/tags/${tag}`;
}

/** `refs/remotes/origin/<branch>`. */
export function remoteRef(branch: string): string {
  return `refs/remotes/${REMOTE}/${branch}`;
}

/**
 * Clones `repo` at `branch` into `dir` (or reuses the clone there) and fetches the agent's cycle
 * branches and tags; every git command of the workspace commits and tags as `identity`. One
 * caller per directory at a time (the work queue gives each agent one reconcile in flight). Throws InvalidName/InvalidRepository for unsafe input,
 * WorkspaceConflict when `dir` holds something else, and the runner's errors for git failures.
 */
export async function openWorkspace(options: WorkspaceOptions): Promise<Workspace> {
  assertAgent(options.agent);
  assertBranchName(options.branch);
  assertRepositoryUrl(options.repo);
  const dir = resolve(options.dir);
  const runner = new GitRunner(dir, options.access, options.timeoutMs, identityEnv(options.identity));

  if (await isDirectory(`${dir}/.git`)) {
    const origin = (await runner.run(['config', '--get', `remote.${REMOTE}.url`])).stdout.trim();
    if (origin !== options.repo) {
      throw new GitLineageError('WorkspaceConflict', `${dir} is a clone of another repository`);
    }
  } else {
    await clone(options, dir);
  }

  const workspace: Workspace = {
    agent: options.agent,
    repo: options.repo,
    branch: options.branch,
    dir,
    gitDir: `${dir}/.git`,
    runner,
    baseRef: remoteRef(options.branch),
    async fetch() {
      const prefix = agentBranchPrefix(options.agent);
      await runner.git([
        'fetch',
        '--verbose',
        '--prune',
        '--no-tags',
        REMOTE,
        `+${localRef(options.branch)}:${remoteRef(options.branch)}`,
        `+${localRef(prefix)}*:${remoteRef(prefix)}*`,
        // The remote's promotion tags replace local ones: a promoted commit stays reachable (as
        // a parent) even after its cycle branch is deleted.
        `+${tagRef(prefix)}*:${tagRef(prefix)}*`,
      ]);
    },
  };
  await workspace.fetch();
  return workspace;
}

// The clone is made beside `dir` and renamed into place, so a crash mid-clone never leaves a
// half-made repository where the next start would take it for a good one.
async function clone(options: WorkspaceOptions, dir: string): Promise<void> {
  if (await isDirectory(dir)) {
    if ((await readdir(dir)).length > 0) {
      throw new GitLineageError('WorkspaceConflict', `${dir} exists and is not a clone`);
    }
  }
  const partial = `${dir}.partial`;
  await rm(partial, { recursive: true, force: true });
  await mkdir(dirname(dir), { recursive: true });
  const runner = new GitRunner(dirname(dir), options.access, options.timeoutMs);
  try {
    await runner.git([
      'clone',
      '--no-tags',
      '--single-branch',
      '--branch',
      options.branch,
      '--',
      options.repo,
      partial,
    ]);
    await rename(partial, dir);
  } catch (error) {
    await rm(partial, { recursive: true, force: true });
    throw error;
  }
}

// The identity lives in the environment of each git command, not in `.git/config`: a reused
// clone then always commits as the identity configured now.
function identityEnv(identity: Identity = DEFAULT_IDENTITY): Record<string, string> {
  return {
    GIT_AUTHOR_NAME: identity.name,
    GIT_AUTHOR_EMAIL: identity.email,
    GIT_COMMITTER_NAME: identity.name,
    GIT_COMMITTER_EMAIL: identity.email,
  };
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}
