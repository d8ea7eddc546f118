// commitCandidate against real repositories: a bare remote seeded with a main branch, and
// workspaces cloned from it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { candidateTree } from './candidate-tree.js';
import { commitCandidate, type CommitCandidateInput } from './commit.js';
import { isGitLineageError } from './errors.js';
import { pushCycleBranch } from './push.js';
import {
  remoteForFile,
  git,
  RAISE_TIMEOUT_DIFF,
  STALE_DIFF,
  workspaceOn,
} from '../../../test/support/git-repos.js';
import { parseTrailers, readCandidateRecord } from './trailers.js';

const remote = remoteForFile();

function codeInput(cycle: string, diff = RAISE_TIMEOUT_DIFF): CommitCandidateInput {
  return {
    cycle,
    candidate: 'c1',
    proposal: {
      kind: 'code',
      summary: 'Raise the upstream timeout to 250 ms',
      rationale: 'Timeouts at 100 ms cause retries that\ndouble the load.',
      diff,
    },
    goal: 'reduce p99 latency of GET /quote',
    proposer: 'openai',
    model: 'gpt-4o-mini',
    score: 0.42,
  };
}

test('a code candidate is applied and committed on its cycle branch, with its trailers', async () => {
  const { ws, access } = await workspaceOn(remote, 'code');
  try {
    const result = await commitCandidate(ws, codeInput('cycle-code'));
    assert.equal(result.branch, 'hyperagent/quote/cycle-code');
    assert.equal(result.reused, false);

    const main = git(ws.dir, ['rev-parse', 'refs/remotes/origin/main']).trim();
    assert.equal(git(ws.dir, ['rev-parse', `${result.commit}^`]).trim(), main);
    assert.equal(git(ws.dir, ['rev-parse', 'refs/heads/hyperagent/quote/cycle-code']).trim(), result.commit);
    assert.match(git(ws.dir, ['show', `${result.commit}:src/app.js`]), /const timeoutMs = 250;/);
    assert.deepEqual(git(ws.dir, ['diff', '--name-only', main, result.commit]).trim().split('\n'), [
      'src/app.js',
    ]);

    const log = git(ws.dir, ['log', '-1', '--format=%an <%ae>%n%B', result.commit]);
    assert.match(
      log,
      /^HyperAgent <hyperagent@hyperagents\.io>\nRaise the upstream timeout to 250 ms\n\nTimeouts/,
    );
    for (const line of [
      'HyperAgent-Agent: shop/quote',
      'HyperAgent-Cycle: cycle-code',
      'HyperAgent-Candidate: c1',
      'HyperAgent-Parent: baseline',
      'HyperAgent-Goal: reduce p99 latency of GET /quote',
      'HyperAgent-Proposer: openai',
      'HyperAgent-Model: gpt-4o-mini',
      'HyperAgent-Score: 0.42',
      'HyperAgent-Verdict: Passed',
      'HyperAgent-Kind: code',
    ]) {
      assert.ok(log.includes(`${line}\n`), `missing ${line}`);
    }
    const gitTrailers = git(ws.dir, ['log', '-1', '--format=%(trailers:only,unfold)', result.commit]);
    assert.match(gitTrailers, /HyperAgent-Kind: code/);
    const tree = git(ws.dir, ['rev-parse', `${result.commit}^{tree}`]).trim();
    assert.ok(log.includes(`HyperAgent-Tree: ${tree}\n`), 'the tree trailer names the commit tree');
    assert.equal(readCandidateRecord(parseTrailers(log))?.tree, tree);
    // The work tree and the real index are never touched.
    assert.equal(git(ws.dir, ['status', '--porcelain']), '');
  } finally {
    await access.dispose();
  }
});

test('a config candidate is an empty commit whose trailers carry the full parameter values', async () => {
  const { ws, access } = await workspaceOn(remote, 'config');
  try {
    const result = await commitCandidate(ws, {
      cycle: 'cycle-config',
      candidate: 'c3',
      proposal: {
        kind: 'config',
        summary: 'Cache quotes for 30 s',
        rationale: '',
        parameters: { CACHE_TTL: 30 },
      },
      parameters: { CACHE_TTL: 30, POOL_SIZE: 8, MODE: 'fast' },
      goal: 'cheaper quotes',
      proposer: 'tuner',
      score: 3,
    });
    assert.equal(
      git(ws.dir, ['rev-parse', `${result.commit}^{tree}`]),
      git(ws.dir, ['rev-parse', 'origin/main^{tree}']),
    );
    const message = git(ws.dir, ['log', '-1', '--format=%B', result.commit]);
    assert.match(message, /^HyperAgent-Parameters: \{"CACHE_TTL":30,"POOL_SIZE":8,"MODE":"fast"\}$/m);
    assert.doesNotMatch(message, /HyperAgent-Model/);
    const record = readCandidateRecord(parseTrailers(message));
    assert.deepEqual(record?.parameters, { CACHE_TTL: 30, POOL_SIZE: 8, MODE: 'fast' });
    assert.equal(record?.kind, 'config');
  } finally {
    await access.dispose();
  }
});

test('a candidate starts from its parent commit, not from main', async () => {
  const { ws, access } = await workspaceOn(remote, 'parent');
  try {
    const first = await commitCandidate(ws, codeInput('cycle-first'));
    const second = await commitCandidate(ws, {
      cycle: 'cycle-second',
      candidate: 'c1',
      proposal: {
        kind: 'config',
        summary: 'Tune retries on top',
        rationale: '',
        parameters: { RETRIES: 2 },
        parent: 'cycle-first/c1',
      },
      parent: { id: 'cycle-first/c1', commit: first.commit },
      parameters: { RETRIES: 2 },
      goal: 'g',
      proposer: 'tuner',
    });
    assert.equal(git(ws.dir, ['rev-parse', `${second.commit}^`]).trim(), first.commit);
    assert.match(
      git(ws.dir, ['log', '-1', '--format=%B', second.commit]),
      /^HyperAgent-Parent: cycle-first\/c1$/m,
    );
  } finally {
    await access.dispose();
  }
});

test('a diff that does not apply is PatchDoesNotApply with git message, and nothing is committed', async () => {
  const { ws, access } = await workspaceOn(remote, 'stale');
  try {
    await assert.rejects(
      commitCandidate(ws, codeInput('cycle-stale', STALE_DIFF)),
      (e: unknown) =>
        isGitLineageError(e, 'PatchDoesNotApply') && /patch does not apply|patch failed/.test(e.message),
    );
    assert.equal(git(ws.dir, ['for-each-ref', 'refs/heads/hyperagent']), '');
    assert.equal(git(ws.dir, ['status', '--porcelain']), '');
    assert.equal(git(ws.dir, ['ls-files', '--others', '--', '.git']).trim(), '');
  } finally {
    await access.dispose();
  }
});

test('inconsistent requests are refused before anything is written', async () => {
  const { ws, access } = await workspaceOn(remote, 'refused');
  try {
    const input = codeInput('cycle-refused');
    await assert.rejects(
      commitCandidate(ws, { ...input, parent: { id: 'x/c1', commit: 'deadbeef' } }),
      (e: unknown) => isGitLineageError(e, 'InvalidCandidate'),
    );
    await assert.rejects(
      commitCandidate(ws, {
        ...input,
        proposal: { ...input.proposal, parent: 'x/c1' },
        parent: { id: 'x/c1', commit: 'deadbeefdeadbeef' },
      }),
      (e: unknown) => isGitLineageError(e, 'CommitNotFound'),
    );
    await assert.rejects(
      commitCandidate(ws, {
        ...input,
        proposal: { kind: 'config', summary: 's', rationale: '', parameters: {} },
      }),
      (e: unknown) => isGitLineageError(e, 'InvalidCandidate'),
    );
    assert.equal(git(ws.dir, ['for-each-ref', 'refs/heads/hyperagent']), '');
  } finally {
    await access.dispose();
  }
});

test('after a crash past the push, a fresh clone finds the commit instead of making a second one', async () => {
  const first = await workspaceOn(remote, 'crash-before');
  let commit: string;
  try {
    const made = await commitCandidate(first.ws, codeInput('cycle-crash'));
    commit = made.commit;
    assert.equal((await pushCycleBranch(first.ws, 'cycle-crash')).pushed, true);
    // Same workspace, same call: the local branch already has it.
    assert.deepEqual(await commitCandidate(first.ws, codeInput('cycle-crash')), { ...made, reused: true });
  } finally {
    await first.access.dispose();
  }
  // The operator died before recording the commit; its work dir is gone.
  const second = await workspaceOn(remote, 'crash-after');
  try {
    const again = await commitCandidate(second.ws, codeInput('cycle-crash'));
    assert.deepEqual(again, { commit, branch: 'hyperagent/quote/cycle-crash', reused: true });
    assert.equal(git(second.ws.dir, ['rev-parse', 'refs/heads/hyperagent/quote/cycle-crash']).trim(), commit);
    const push = await pushCycleBranch(second.ws, 'cycle-crash');
    assert.deepEqual(push, { pushed: true, branch: 'hyperagent/quote/cycle-crash', commit, upToDate: true });
    assert.equal(git(remote.bare, ['rev-list', '--count', 'main..hyperagent/quote/cycle-crash']).trim(), '1');
  } finally {
    await second.access.dispose();
  }
});

test('a cycle branch taken by another start is a BranchConflict, not a second line of history', async () => {
  const { ws, access } = await workspaceOn(remote, 'conflict');
  try {
    await commitCandidate(ws, codeInput('cycle-taken'));
    await assert.rejects(
      commitCandidate(ws, {
        ...codeInput('cycle-taken'),
        candidate: 'c2',
        proposal: { ...codeInput('x').proposal },
      }),
      (e: unknown) => isGitLineageError(e, 'BranchConflict'),
    );
    assert.equal(
      git(ws.dir, ['rev-list', '--count', 'origin/main..hyperagent/quote/cycle-taken']).trim(),
      '1',
    );
  } finally {
    await access.dispose();
  }
});

test('the commit is the evaluated tree; a diff that makes another is TreeMismatch, and nothing is committed', async () => {
  const { ws, access } = await workspaceOn(remote, 'tree');
  try {
    const evaluated = await candidateTree(ws.runner, {
      start: 'origin/main',
      diffs: [RAISE_TIMEOUT_DIFF],
      scratchRoot: ws.gitDir,
    });
    assert.ok(evaluated.applied);
    const other = RAISE_TIMEOUT_DIFF.replace('timeoutMs = 250', 'timeoutMs = 999');
    await assert.rejects(
      commitCandidate(ws, { ...codeInput('cycle-tree', other), tree: evaluated.tree }),
      (e: unknown) =>
        isGitLineageError(e, 'TreeMismatch') &&
        e.message.includes(`not the tree ${evaluated.tree} that was evaluated`),
    );
    assert.equal(git(ws.dir, ['for-each-ref', 'refs/heads/hyperagent']), '');

    const made = await commitCandidate(ws, { ...codeInput('cycle-tree'), tree: evaluated.tree });
    assert.equal(git(ws.dir, ['rev-parse', `${made.commit}^{tree}`]).trim(), evaluated.tree);
    assert.match(
      git(ws.dir, ['log', '-1', '--format=%B', made.commit]),
      new RegExp(`^HyperAgent-Tree: ${evaluated.tree}$`, 'm'),
    );
    assert.deepEqual(await commitCandidate(ws, { ...codeInput('cycle-tree'), tree: evaluated.tree }), {
      ...made,
      reused: true,
    });
    // An earlier attempt's commit is reused only when it holds the tree status names.
    await assert.rejects(
      commitCandidate(ws, { ...codeInput('cycle-tree'), tree: 'f'.repeat(40) }),
      (e: unknown) =>
        isGitLineageError(e, 'TreeMismatch') && /an earlier attempt made holds the tree/.test(e.message),
    );
    await assert.rejects(
      commitCandidate(ws, { ...codeInput('cycle-tree'), tree: 'not-a-tree' }),
      (e: unknown) => isGitLineageError(e, 'InvalidCandidate'),
    );
  } finally {
    await access.dispose();
  }
});
