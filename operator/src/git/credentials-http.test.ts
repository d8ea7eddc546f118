// https credentials end to end: a real smart-HTTP server (git http-backend behind Basic auth)
// and the code under test cloning, committing and pushing through it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { commitCandidate } from './commit.js';
import { openGitAccess } from './credentials.js';
import { isGitLineageError } from './errors.js';
import { readLineage } from './lineage.js';
import { pushCycleBranch } from './push.js';
import { GitRunner } from './runner.js';
import {
  AGENT,
  createRemote,
  git,
  RAISE_TIMEOUT_DIFF,
  type TestRemote,
} from '../../../test/support/git-repos.js';
import { startGitHttpServer, type GitHttpServer } from '../../../test/support/git-http-server.js';
import { openWorkspace } from './workspace.js';

const USERNAME = 'quote-bot';
const PASSWORD = 'Pa55:w/rd@"x"%20!';
const WRONG = 'not-the-password-9f2c';

let remote: TestRemote;
let server: GitHttpServer;
let repo: string;
before(async () => {
  remote = await createRemote('service.git');
  server = await startGitHttpServer({ projectRoot: remote.root, username: USERNAME, password: PASSWORD });
  repo = `${server.url}/service.git`;
});
after(async () => {
  await server.close();
  await remote.cleanup();
});

/** Every file under `dir`, as bytes, for looking for a secret. */
async function filesUnder(dir: string): Promise<Array<{ path: string; bytes: Buffer }>> {
  const out: Array<{ path: string; bytes: Buffer }> = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath ?? entry.path, entry.name);
    out.push({ path, bytes: await readFile(path) });
  }
  return out;
}

function assertRedacted(message: string, ...secrets: string[]): void {
  for (const secret of secrets) {
    assert.ok(!message.includes(secret), `message leaks a secret: ${message}`);
    assert.ok(!message.includes(encodeURIComponent(secret)), `message leaks an encoded secret: ${message}`);
  }
  assert.doesNotMatch(message, /:\/\/[^/\s]*:[^/\s]*@/);
}

test('with the right password: clone, commit and push succeed, and the password is stored nowhere', async () => {
  const access = await openGitAccess({
    repo,
    secret: { username: USERNAME, password: Buffer.from(PASSWORD) },
    tmpRoot: remote.root,
  });
  try {
    const ws = await openWorkspace({
      agent: AGENT,
      repo,
      branch: 'main',
      dir: join(remote.root, 'http-ok'),
      access,
    });
    const { commit } = await commitCandidate(ws, {
      cycle: 'cycle-http',
      candidate: 'c1',
      proposal: { kind: 'code', summary: 'Raise timeout', rationale: '', diff: RAISE_TIMEOUT_DIFF },
      goal: 'g',
      proposer: 'tuner',
    });
    const pushed = await pushCycleBranch(ws, 'cycle-http');
    assert.equal(pushed.pushed, true);
    assert.equal(git(remote.bare, ['rev-parse', 'refs/heads/hyperagent/quote/cycle-http']).trim(), commit);
    assert.deepEqual(
      (await readLineage(ws)).map((r) => r.id),
      ['cycle-http/c1'],
    );
    assert.ok(server.accepted > 0);

    assert.equal(git(ws.dir, ['config', '--get', 'remote.origin.url']).trim(), repo);
    const config = await readFile(join(ws.dir, '.git', 'config'), 'utf8');
    assert.ok(!config.includes(PASSWORD) && !config.includes(USERNAME));
    for (const { path, bytes } of await filesUnder(ws.dir)) {
      assert.equal(bytes.includes(PASSWORD), false, `${path} holds the password`);
    }
    for (const { path, bytes } of await filesUnder(access.dir)) {
      assert.equal(bytes.includes(PASSWORD), false, `${path} holds the password`);
    }
  } finally {
    await access.dispose();
  }
  await assert.rejects(stat(access.dir));
});

test('with a wrong password: clone and push fail with AuthenticationFailed, redacted', async () => {
  const wrong = await openGitAccess({
    repo,
    secret: { username: USERNAME, password: WRONG },
    tmpRoot: remote.root,
  });
  const right = await openGitAccess({
    repo,
    secret: { username: USERNAME, password: PASSWORD },
    tmpRoot: remote.root,
  });
  try {
    const refusedBefore = server.refused;
    const dir = join(remote.root, 'http-wrong');
    await assert.rejects(
      openWorkspace({ agent: AGENT, repo, branch: 'main', dir, access: wrong }),
      (e: unknown) => {
        assert.ok(isGitLineageError(e, 'AuthenticationFailed'), String(e));
        assert.match(e.message, /Authentication failed/);
        assertRedacted(e.message, WRONG, PASSWORD);
        return true;
      },
    );
    assert.ok(server.refused > refusedBefore);
    await assert.rejects(stat(dir));
    await assert.rejects(stat(`${dir}.partial`));

    // A clone made with the right password, pushed with a wrong one.
    const ws = await openWorkspace({
      agent: AGENT,
      repo,
      branch: 'main',
      dir: join(remote.root, 'http-push-wrong'),
      access: right,
    });
    await commitCandidate(ws, {
      cycle: 'cycle-http-wrong',
      candidate: 'c1',
      proposal: { kind: 'config', summary: 'x', rationale: '', parameters: {} },
      parameters: {},
      goal: 'g',
      proposer: 'tuner',
    });
    const withWrong = { ...ws, runner: new GitRunner(ws.dir, wrong) };
    await assert.rejects(pushCycleBranch(withWrong, 'cycle-http-wrong'), (e: unknown) => {
      assert.ok(isGitLineageError(e, 'AuthenticationFailed'), String(e));
      assertRedacted(e.message, WRONG, PASSWORD);
      return true;
    });
    assert.throws(() =>
      git(remote.bare, ['rev-parse', '--verify', 'refs/heads/hyperagent/quote/cycle-http-wrong']),
    );
  } finally {
    await wrong.dispose();
    await right.dispose();
  }
});

test('without credentials git fails at once instead of waiting for a prompt', async () => {
  const none = await openGitAccess({ repo, tmpRoot: remote.root });
  try {
    await assert.rejects(
      openWorkspace({
        agent: AGENT,
        repo,
        branch: 'main',
        dir: join(remote.root, 'http-none'),
        access: none,
      }),
      (e: unknown) => isGitLineageError(e, 'AuthenticationFailed'),
    );
  } finally {
    await none.dispose();
  }
});
