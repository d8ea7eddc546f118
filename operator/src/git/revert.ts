// The revert commit of a promotion that regressed: on the cycle branch `hyperagent/<agent>/<cycle>`,
// above the promoted commit, a commit whose tree is the promoted commit's parent's, so the branch
// says what runs again. Like candidate commits it is written with commit-tree and a
// compare-and-swap update-ref, never touching a work tree.
//
// It carries the Agent and Cycle trailers and a Reverts trailer, never a Candidate trailer: the
// lineage reads candidate records only, so a revert is never mistaken for a variant.
//
// Idempotent: a commit above the promoted one whose Reverts trailer names it (local, or on the
// remote after a restart with a fresh clone) is returned and nothing new is written.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GitLineageError } from './errors.js';
import { parseLog, resolveCommit } from './history.js';
import { commitSubject } from './message.js';
import { agentKey, assertDnsLabel, cycleBranch } from './refs.js';
import {
  TRAILER_KEYS,
  formatTrailers,
  parseTrailers,
  singleLine,
  trailerValue,
  truncate,
} from './trailers.js';
import { localRef, remoteRef, type Workspace } from './workspace.js';

export const REVERTS_TRAILER = 'HyperAgent-Reverts';
const REASON_MAX = 2000;

export interface RevertInput {
  cycle: string;
  /** The promoted commit, the head of the cycle branch. */
  commit: string;
  /** Why, in words (the regression the watch measured). */
  reason: string;
}

export interface RevertResult {
  commit: string;
  branch: string;
  /** True when an earlier attempt had written it. */
  reused: boolean;
}

/**
 * Writes (or finds) the revert commit of `input.commit` on the cycle branch. Throws InvalidName
 * for a bad cycle, BranchNotFound when the cycle branch is gone, CommitNotFound when the commit is
 * not on it or has no parent, BranchConflict when other commits were added above it.
 */
export async function revertOnCycleBranch(ws: Workspace, input: RevertInput): Promise<RevertResult> {
  assertDnsLabel('cycle name', input.cycle);
  if (!/^[0-9a-f]{7,64}$/i.test(input.commit)) {
    throw new GitLineageError('InvalidCandidate', `${JSON.stringify(input.commit)} is not a commit id`);
  }
  const branch = cycleBranch(ws.agent, input.cycle);
  await ws.fetch();
  const local = await resolveCommit(ws.runner, localRef(branch));
  const remote = await resolveCommit(ws.runner, remoteRef(branch));
  const head = local ?? remote;
  if (head === undefined) {
    throw new GitLineageError('BranchNotFound', `there is no branch ${branch} to write the revert on`);
  }
  if (local === undefined) await ws.runner.git(['update-ref', localRef(branch), head, '']);
  const promoted = await resolveCommit(ws.runner, input.commit);
  if (promoted === undefined) {
    throw new GitLineageError('CommitNotFound', `the promoted commit ${input.commit} is not in ${ws.repo}`);
  }

  const above = parseLog(
    await ws.runner.git([
      'log',
      '-z',
      '--format=%H%x1f%cI%x1f%B',
      '--end-of-options',
      `${promoted}..${head}`,
      '--',
    ]),
  );
  const earlier = above.find(
    (info) => trailerValue(parseTrailers(info.message), REVERTS_TRAILER) === promoted,
  );
  if (earlier) return { commit: earlier.commit, branch, reused: true };
  if (head !== promoted) {
    throw new GitLineageError(
      'BranchConflict',
      `branch ${branch} is at ${head}, not at the promoted commit ${promoted}: a revert would undo more than the promotion`,
    );
  }
  const parentTree = (
    await ws.runner.run(['rev-parse', '--verify', '--quiet', '--end-of-options', `${promoted}^^{tree}`])
  ).stdout.trim();
  if (!parentTree) {
    throw new GitLineageError(
      'CommitNotFound',
      `the promoted commit ${promoted} has no parent to go back to`,
    );
  }
  const subject = (
    await ws.runner.git(['log', '-1', '--format=%s', '--end-of-options', promoted, '--'])
  ).trim();
  const message = [
    commitSubject(`Revert "${subject}"`, `Revert ${promoted.slice(0, 12)}`),
    '',
    `This reverts commit ${promoted}: ${truncate(singleLine(input.reason), REASON_MAX)}`,
    '',
    formatTrailers([
      { key: TRAILER_KEYS.agent, value: agentKey(ws.agent) },
      { key: TRAILER_KEYS.cycle, value: input.cycle },
      { key: REVERTS_TRAILER, value: promoted },
    ]),
    '',
  ].join('\n');

  const scratch = await mkdtemp(join(ws.gitDir, 'hyperagent-'));
  try {
    const messageFile = join(scratch, 'message');
    await writeFile(messageFile, message);
    const commit = (
      await ws.runner.git(['commit-tree', parentTree, '-p', promoted, '-F', messageFile])
    ).trim();
    const swap = await ws.runner.run([
      'update-ref',
      '-m',
      `hyperagent: revert ${promoted.slice(0, 12)}`,
      localRef(branch),
      commit,
      promoted,
    ]);
    if (swap.exitCode !== 0) throw ws.runner.failure(['update-ref'], swap, 'BranchConflict');
    return { commit, branch, reused: false };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
