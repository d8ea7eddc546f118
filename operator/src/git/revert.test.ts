// revertOnCycleBranch against real repositories: a promoted code commit on its cycle branch gets
// a revert commit whose tree is the base again, pushed without force, written once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { commitCandidate } from './commit.js';
import { candidateCommits } from './history.js';
import { isGitLineageError } from './errors.js';
import { pushCycleBranch } from './push.js';
import { revertOnCycleBranch } from './revert.js';
import { localRef } from './workspace.js';
import {
  AGENT,
  RAISE_TIMEOUT_DIFF,
  git,
  remoteForFile,
  workspaceOn,
} from '../../../test/support/git-repos.js';

const remote = remoteForFile();

async function promoted(cycle: string, name: string) {
  const opened = await workspaceOn(remote, name);
  const committed = await commitCandidate(opened.ws, {
    cycle,
    candidate: 'c1',
    proposal: {
      kind: 'code',
      summary: 'Raise the upstream timeout to 250 ms',
      rationale: 'why',
      diff: RAISE_TIMEOUT_DIFF,
    },
    goal: 'reduce p99 latency of GET /quote',
    proposer: 'openai',
  });
  await pushCycleBranch(opened.ws, cycle);
  return { ...opened, commit: committed.commit };
}

test('the revert commit puts the base tree back on the cycle branch, once, and is no candidate', async () => {
  const { ws, access, commit } = await promoted('cycle-revert', 'revert');
  try {
    const reason = 'Regression after promotion: latency 0.3 is 3x the revision before 0.1';
    const first = await revertOnCycleBranch(ws, { cycle: 'cycle-revert', commit, reason });
    assert.equal(first.reused, false);
    assert.equal(first.branch, 'hyperagent/quote/cycle-revert');
    assert.equal(git(ws.dir, ['rev-parse', `${first.commit}^`]).trim(), commit);
    const main = git(ws.dir, ['rev-parse', 'refs/remotes/origin/main']).trim();
    assert.equal(
      git(ws.dir, ['rev-parse', `${first.commit}^{tree}`]).trim(),
      git(ws.dir, ['rev-parse', `${main}^{tree}`]).trim(),
      'the tree is the base again',
    );
    const message = git(ws.dir, ['log', '-1', '--format=%B', first.commit]);
    assert.match(
      message,
      /^Revert "Raise the upstream timeout to 250 ms"\n\nThis reverts commit [0-9a-f]{40}: Regression after promotion/,
    );
    assert.match(message, new RegExp(`HyperAgent-Reverts: ${commit}`));

    const again = await revertOnCycleBranch(ws, { cycle: 'cycle-revert', commit, reason });
    assert.deepEqual(again, { ...first, reused: true }, 'a second attempt writes nothing');

    const pushed = await pushCycleBranch(ws, 'cycle-revert');
    assert.equal(pushed.pushed, true);
    assert.equal(
      git(remote.bare, ['rev-parse', localRef('hyperagent/quote/cycle-revert')]).trim(),
      first.commit,
    );
    const records = await candidateCommits(ws.runner, AGENT, [localRef('hyperagent/quote/cycle-revert')]);
    assert.deepEqual(
      records.map((r) => r.commit),
      [commit],
      'the lineage reads the candidate only',
    );
  } finally {
    await access.dispose();
  }
});

test('a fresh clone finds the revert an earlier attempt pushed', async () => {
  const { ws, access, commit } = await promoted('cycle-again', 'again-1');
  let written: string;
  try {
    written = (await revertOnCycleBranch(ws, { cycle: 'cycle-again', commit, reason: 'slow' })).commit;
    await pushCycleBranch(ws, 'cycle-again');
  } finally {
    await access.dispose();
  }
  const fresh = await workspaceOn(remote, 'again-2');
  try {
    const found = await revertOnCycleBranch(fresh.ws, { cycle: 'cycle-again', commit, reason: 'slow' });
    assert.deepEqual(found, { commit: written, branch: 'hyperagent/quote/cycle-again', reused: true });
  } finally {
    await fresh.access.dispose();
  }
});

test('a missing branch or a commit that is no id is refused, nothing written', async () => {
  const { ws, access, commit } = await promoted('cycle-refuse', 'refuse');
  try {
    await assert.rejects(revertOnCycleBranch(ws, { cycle: 'cycle-none', commit, reason: 'x' }), (error) =>
      isGitLineageError(error, 'BranchNotFound'),
    );
    await assert.rejects(
      revertOnCycleBranch(ws, { cycle: 'cycle-refuse', commit: '--all', reason: 'x' }),
      (error) => isGitLineageError(error, 'InvalidCandidate'),
    );
    assert.equal(git(ws.dir, ['rev-parse', localRef('hyperagent/quote/cycle-refuse')]).trim(), commit);
  } finally {
    await access.dispose();
  }
});
