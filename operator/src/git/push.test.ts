import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { commitCandidate } from './commit.js';
import { isGitLineageError } from './errors.js';
import { isMovedRejection, parsePorcelain, pushCycleBranch } from './push.js';
import { remoteForFile, git, RAISE_TIMEOUT_DIFF, workspaceOn } from '../../../test/support/git-repos.js';

const remote = remoteForFile();

const input = (cycle: string) => ({
  cycle,
  candidate: 'c1',
  proposal: { kind: 'code' as const, summary: 'Raise timeout', rationale: '', diff: RAISE_TIMEOUT_DIFF },
  goal: 'g',
  proposer: 'tuner' as const,
});

test('the cycle branch is pushed, and pushing again is a no-op', async () => {
  const { ws, access } = await workspaceOn(remote, 'push');
  try {
    const { commit } = await commitCandidate(ws, input('cycle-push'));
    const first = await pushCycleBranch(ws, 'cycle-push');
    assert.deepEqual(first, { pushed: true, branch: 'hyperagent/quote/cycle-push', commit, upToDate: false });
    assert.equal(git(remote.bare, ['rev-parse', 'refs/heads/hyperagent/quote/cycle-push']).trim(), commit);
    assert.equal(
      git(ws.dir, ['rev-parse', 'refs/remotes/origin/hyperagent/quote/cycle-push']).trim(),
      commit,
    );
    const second = await pushCycleBranch(ws, 'cycle-push');
    assert.deepEqual(second, { ...first, upToDate: true });
    await assert.rejects(pushCycleBranch(ws, 'cycle-none'), (e: unknown) =>
      isGitLineageError(e, 'BranchNotFound'),
    );
  } finally {
    await access.dispose();
  }
});

test('a push rejected because another clone moved the branch is BranchMoved; the local commit stays', async () => {
  const ours = await workspaceOn(remote, 'moved-ours');
  try {
    const { commit: local } = await commitCandidate(ours.ws, input('cycle-moved'));

    // Another operator (or a person) pushes to the same cycle branch first.
    const other = join(remote.root, 'moved-other');
    git(remote.root, ['clone', '--quiet', remote.bare, other]);
    git(other, ['checkout', '--quiet', '-b', 'hyperagent/quote/cycle-moved']);
    await writeFile(join(other, 'NOTES.md'), 'someone else\n');
    git(other, ['add', 'NOTES.md']);
    git(other, ['commit', '--quiet', '-m', 'Someone else got here first']);
    git(other, ['push', '--quiet', 'origin', 'hyperagent/quote/cycle-moved']);
    const theirs = git(other, ['rev-parse', 'HEAD']).trim();

    const result = await pushCycleBranch(ours.ws, 'cycle-moved');
    assert.deepEqual(result, {
      pushed: false,
      reason: 'BranchMoved',
      branch: 'hyperagent/quote/cycle-moved',
      localHead: local,
      remoteHead: theirs,
      remoteContainsLocal: false,
    });
    // Nothing was overwritten: ours is intact locally, theirs on the remote.
    assert.equal(git(ours.ws.dir, ['rev-parse', 'refs/heads/hyperagent/quote/cycle-moved']).trim(), local);
    assert.equal(git(remote.bare, ['rev-parse', 'refs/heads/hyperagent/quote/cycle-moved']).trim(), theirs);
    assert.match(git(ours.ws.dir, ['log', '-1', '--format=%B', local]), /HyperAgent-Candidate: c1/);
    // And the idempotency check still finds our commit on the local branch.
    assert.equal((await commitCandidate(ours.ws, input('cycle-moved'))).commit, local);
  } finally {
    await ours.access.dispose();
  }
});

test('porcelain output is read ref by ref; only moved refs count as BranchMoved', () => {
  const out = [
    'To file:///srv/x.git',
    '!\trefs/heads/a:refs/heads/a\t[rejected] (fetch first)',
    '=\trefs/heads/b:refs/heads/b\t[up to date]',
    '!\trefs/heads/c:refs/heads/c\t[remote rejected] (pre-receive hook declined)',
    'Done',
  ].join('\n');
  const refs = parsePorcelain(out);
  assert.deepEqual(
    refs.map((r) => [r.flag, r.to]),
    [
      ['!', 'refs/heads/a'],
      ['=', 'refs/heads/b'],
      ['!', 'refs/heads/c'],
    ],
  );
  assert.equal(isMovedRejection(refs[0]?.summary ?? ''), true);
  assert.equal(isMovedRejection('[rejected] (non-fast-forward)'), true);
  assert.equal(isMovedRejection(refs[2]?.summary ?? ''), false);
});

test('a push the remote refuses for another reason is PushRejected, redacted, nothing lost', async () => {
  const { ws, access } = await workspaceOn(remote, 'hook');
  const hook = join(remote.bare, 'hooks', 'pre-receive');
  try {
    const { commit } = await commitCandidate(ws, input('cycle-hook'));
    await writeFile(hook, '#!/bin/sh\necho "branch protected" >&2\nexit 1\n', { mode: 0o755 });
    await assert.rejects(
      pushCycleBranch(ws, 'cycle-hook'),
      (e: unknown) => isGitLineageError(e, 'PushRejected') && /branch protected/.test(e.message),
    );
    assert.equal(git(ws.dir, ['rev-parse', 'refs/heads/hyperagent/quote/cycle-hook']).trim(), commit);
  } finally {
    await writeFile(hook, '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    await access.dispose();
  }
});
