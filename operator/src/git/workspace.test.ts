import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { commitCandidate } from './commit.js';
import { openGitAccess, type GitAccess } from './credentials.js';
import { isGitLineageError, type GitErrorCode } from './errors.js';
import { AGENT, createRemote, git, type TestRemote } from '../../../test/support/git-repos.js';
import { openWorkspace } from './workspace.js';

let remote: TestRemote;
let other: TestRemote;
let access: GitAccess;
before(async () => {
  remote = await createRemote();
  other = await createRemote();
  access = await openGitAccess({ repo: remote.url, tmpRoot: remote.root });
});
after(async () => {
  await access.dispose();
  await remote.cleanup();
  await other.cleanup();
});

test('a clone is made once and reused, with the configured identity and the agent branches', async () => {
  const dir = join(remote.root, 'reuse');
  const options = { agent: AGENT, repo: remote.url, branch: 'main', dir, access };
  const ws = await openWorkspace({ ...options, identity: { name: 'Quote Bot', email: 'bot@shop.example' } });
  assert.equal(ws.dir, dir);
  assert.equal(ws.baseRef, 'refs/remotes/origin/main');
  const { commit } = await commitCandidate(ws, {
    cycle: 'cycle-id',
    candidate: 'c1',
    proposal: { kind: 'config', summary: 'x', rationale: '', parameters: {} },
    parameters: {},
    goal: 'g',
    proposer: 'tuner',
  });
  assert.equal(
    git(dir, ['log', '-1', '--format=%an <%ae>|%cn <%ce>', commit]).trim(),
    'Quote Bot <bot@shop.example>|Quote Bot <bot@shop.example>',
  );

  // Someone pushes a cycle branch; reopening the same directory fetches it.
  git(dir, ['push', '--quiet', 'origin', `${commit}:refs/heads/hyperagent/quote/cycle-id`]);
  git(dir, ['update-ref', '-d', 'refs/remotes/origin/hyperagent/quote/cycle-id']);
  const again = await openWorkspace(options);
  assert.equal(again.dir, dir);
  assert.equal(git(dir, ['rev-parse', 'refs/remotes/origin/hyperagent/quote/cycle-id']).trim(), commit);
  // The identity is given to each command, not written into the clone's config.
  assert.throws(() => git(dir, ['config', '--local', '--get', 'user.name']));
});

test('a directory holding something else is never taken over', async () => {
  const foreign = join(remote.root, 'foreign');
  await mkdir(foreign);
  await writeFile(join(foreign, 'file'), 'x');
  await assert.rejects(
    openWorkspace({ agent: AGENT, repo: remote.url, branch: 'main', dir: foreign, access }),
    (e: unknown) => isGitLineageError(e, 'WorkspaceConflict'),
  );

  const elsewhere = join(remote.root, 'elsewhere');
  git(remote.root, ['clone', '--quiet', other.bare, elsewhere]);
  await assert.rejects(
    openWorkspace({ agent: AGENT, repo: remote.url, branch: 'main', dir: elsewhere, access }),
    (e: unknown) => isGitLineageError(e, 'WorkspaceConflict'),
  );
});

test('unsafe names are refused before git runs', async () => {
  const dir = join(remote.root, 'never');
  const base = { agent: AGENT, repo: remote.url, branch: 'main', dir, access };
  const refused: Array<[typeof base, GitErrorCode]> = [
    [{ ...base, branch: '--upload-pack=touch /tmp/x' }, 'InvalidName'],
    [{ ...base, branch: 'main..x' }, 'InvalidName'],
    [{ ...base, agent: { namespace: 'shop', name: 'Quote' } }, 'InvalidName'],
    [{ ...base, repo: '-oProxyCommand=x' }, 'InvalidRepository'],
  ];
  for (const [options, code] of refused) {
    await assert.rejects(openWorkspace(options), (e: unknown) => isGitLineageError(e, code));
  }
  await assert.rejects(
    openWorkspace({ agent: AGENT, repo: remote.url, branch: 'no-such-branch', dir, access }),
    (e: unknown) => isGitLineageError(e) && /no-such-branch/.test(e.message),
  );
});
