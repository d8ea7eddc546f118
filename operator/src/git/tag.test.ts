import { test } from 'node:test';
import assert from 'node:assert/strict';
import { commitCandidate } from './commit.js';
import { isGitLineageError } from './errors.js';
import { pushCycleBranch } from './push.js';
import { tagPromoted } from './tag.js';
import { remoteForFile, git, RAISE_TIMEOUT_DIFF, workspaceOn } from '../../../test/support/git-repos.js';

const remote = remoteForFile();

test('a promotion tag is annotated, pushed, idempotent, and never moved', async () => {
  const { ws, access } = await workspaceOn(remote, 'tag');
  try {
    const { commit } = await commitCandidate(ws, {
      cycle: 'cycle-tag',
      candidate: 'c1',
      proposal: { kind: 'code', summary: 'Raise timeout', rationale: '', diff: RAISE_TIMEOUT_DIFF },
      goal: 'g',
      proposer: 'tuner',
    });
    await pushCycleBranch(ws, 'cycle-tag');
    const image = 'registry.local/quote@sha256:' + 'a'.repeat(64);
    const promotion = { revision: 'r1', commit, cycle: 'cycle-tag', image };

    assert.deepEqual(await tagPromoted(ws, promotion), { tag: 'hyperagent/quote/r1', commit, created: true });
    assert.equal(git(remote.bare, ['cat-file', '-t', 'refs/tags/hyperagent/quote/r1']).trim(), 'tag');
    assert.equal(git(remote.bare, ['rev-parse', 'refs/tags/hyperagent/quote/r1^{commit}']).trim(), commit);
    const message = git(remote.bare, ['tag', '-l', '--format=%(contents)', 'hyperagent/quote/r1']);
    assert.match(message, /^Promote shop\/quote revision r1\n/);
    assert.match(message, /^HyperAgent-Revision: r1$/m);
    assert.match(message, /^HyperAgent-Cycle: cycle-tag$/m);
    assert.ok(message.includes(`HyperAgent-Image: ${image}\n`));
    assert.match(
      git(remote.bare, ['tag', '-l', '--format=%(taggername)', 'hyperagent/quote/r1']),
      /^HyperAgent$/m,
    );

    // Again, from this clone and from a fresh one: nothing changes.
    assert.deepEqual(await tagPromoted(ws, promotion), {
      tag: 'hyperagent/quote/r1',
      commit,
      created: false,
    });
    const fresh = await workspaceOn(remote, 'tag-fresh');
    try {
      assert.equal((await tagPromoted(fresh.ws, promotion)).created, false);
    } finally {
      await fresh.access.dispose();
    }

    // The same revision on another commit is refused, locally and on the remote.
    const main = git(ws.dir, ['rev-parse', 'refs/remotes/origin/main']).trim();
    await assert.rejects(
      tagPromoted(ws, { ...promotion, commit: main }),
      (e: unknown) => isGitLineageError(e, 'TagConflict') && e.message.includes(commit),
    );
    assert.equal(git(remote.bare, ['rev-parse', 'refs/tags/hyperagent/quote/r1^{commit}']).trim(), commit);

    await assert.rejects(
      tagPromoted(ws, { ...promotion, revision: 'r2', commit: 'f'.repeat(40) }),
      (e: unknown) => isGitLineageError(e, 'CommitNotFound'),
    );
    await assert.rejects(tagPromoted(ws, { ...promotion, revision: '../r2' }), (e: unknown) =>
      isGitLineageError(e, 'InvalidName'),
    );
  } finally {
    await access.dispose();
  }
});
