import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { commitCandidate } from './commit.js';
import { readLineage, toArchiveEntry } from './lineage.js';
import { pushCycleBranch } from './push.js';
import { tagPromoted } from './tag.js';
import { remoteForFile, git, RAISE_TIMEOUT_DIFF, workspaceOn } from '../../../test/support/git-repos.js';

const remote = remoteForFile();

test('readLineage rebuilds the archive from a fresh clone: records, parents, promotions', async () => {
  const writer = await workspaceOn(remote, 'writer');
  let first: string;
  let second: string;
  try {
    first = (
      await commitCandidate(writer.ws, {
        cycle: 'cycle-a',
        candidate: 'c1',
        proposal: { kind: 'code', summary: 'Raise timeout', rationale: 'r', diff: RAISE_TIMEOUT_DIFF },
        goal: 'latency',
        proposer: 'openai',
        model: 'gpt-4o-mini',
        score: 1.5,
      })
    ).commit;
    await pushCycleBranch(writer.ws, 'cycle-a');
    second = (
      await commitCandidate(writer.ws, {
        cycle: 'cycle-b',
        candidate: 'c4',
        proposal: {
          kind: 'config',
          summary: 'Cache for 30 s',
          rationale: '',
          parameters: { CACHE_TTL: 30 },
          parent: 'cycle-a/c1',
        },
        parent: { id: 'cycle-a/c1', commit: first },
        parameters: { CACHE_TTL: 30, MODE: 'fast' },
        goal: 'latency',
        proposer: 'tuner',
        score: -0.25,
      })
    ).commit;
    await pushCycleBranch(writer.ws, 'cycle-b');
    await tagPromoted(writer.ws, { revision: 'r1', commit: first, cycle: 'cycle-a', image: 'img:1' });
    // Committed but never pushed: the remote does not know it, so the lineage does not either.
    await commitCandidate(writer.ws, {
      cycle: 'cycle-c',
      candidate: 'c1',
      proposal: { kind: 'config', summary: 'Unpushed', rationale: '', parameters: {} },
      parameters: {},
      goal: 'latency',
      proposer: 'tuner',
    });
  } finally {
    await writer.access.dispose();
  }

  // Noise on the agent's branches: a commit without trailers, and one of a same-named agent in
  // another namespace.
  const other = join(remote.root, 'noise');
  git(remote.root, ['clone', '--quiet', remote.bare, other]);
  git(other, ['checkout', '--quiet', '-b', 'hyperagent/quote/cycle-noise']);
  await writeFile(join(other, 'NOTES.md'), 'notes\n');
  git(other, ['add', 'NOTES.md']);
  git(other, ['commit', '--quiet', '-m', 'Plain commit']);
  git(other, [
    'commit',
    '--quiet',
    '--allow-empty',
    '-m',
    'Foreign',
    '-m',
    [
      'HyperAgent-Agent: other/quote',
      'HyperAgent-Cycle: cycle-noise',
      'HyperAgent-Candidate: c1',
      'HyperAgent-Parent: baseline',
      'HyperAgent-Proposer: tuner',
      'HyperAgent-Verdict: Passed',
      'HyperAgent-Kind: config',
    ].join('\n'),
  ]);
  git(other, ['push', '--quiet', 'origin', 'hyperagent/quote/cycle-noise']);

  const reader = await workspaceOn(remote, 'reader');
  try {
    const records = await readLineage(reader.ws);
    assert.deepEqual(
      records.map((r) => [r.id, r.commit]),
      [
        ['cycle-a/c1', first],
        ['cycle-b/c4', second],
      ],
    );
    const [a, b] = records;
    assert.ok(a && b);
    assert.equal(a.summary, 'Raise timeout');
    assert.deepEqual(a.revisions, ['r1']);
    assert.match(a.committedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d([+-]\d\d:\d\d|Z)$/);
    assert.deepEqual(toArchiveEntry(a), {
      id: 'cycle-a/c1',
      cycle: 'cycle-a',
      kind: 'code',
      summary: 'Raise timeout',
      verdict: 'Promoted',
      commit: first,
      evaluatedAt: a.committedAt,
      score: 1.5,
    });
    assert.deepEqual(toArchiveEntry(b), {
      id: 'cycle-b/c4',
      cycle: 'cycle-b',
      kind: 'config',
      summary: 'Cache for 30 s',
      parent: 'cycle-a/c1',
      parameters: { CACHE_TTL: 30, MODE: 'fast' },
      verdict: 'Passed',
      commit: second,
      evaluatedAt: b.committedAt,
      score: -0.25,
    });
    assert.equal(b.proposer, 'tuner');
    assert.equal(a.model, 'gpt-4o-mini');
  } finally {
    await reader.access.dispose();
  }
});

test('an agent with no cycle branches has an empty lineage', async () => {
  const { ws, access } = await workspaceOn(remote, 'empty');
  try {
    const lonely = { ...ws, agent: { namespace: 'shop', name: 'nobody' } };
    assert.deepEqual(await readLineage(lonely), []);
  } finally {
    await access.dispose();
  }
});

test('a promoted commit outlives its deleted cycle branch: still in the lineage, still a parent', async () => {
  const writer = await workspaceOn(remote, 'tag-only-writer');
  let promoted: string;
  try {
    promoted = (
      await commitCandidate(writer.ws, {
        cycle: 'cycle-gone',
        candidate: 'c1',
        proposal: { kind: 'config', summary: 'Promoted then pruned', rationale: '', parameters: { A: 1 } },
        parameters: { A: 1 },
        goal: 'g',
        proposer: 'tuner',
      })
    ).commit;
    await pushCycleBranch(writer.ws, 'cycle-gone');
    await tagPromoted(writer.ws, { revision: 'r9', commit: promoted, cycle: 'cycle-gone', image: 'img:9' });
  } finally {
    await writer.access.dispose();
  }
  git(remote.bare, ['update-ref', '-d', 'refs/heads/hyperagent/quote/cycle-gone']);

  const reader = await workspaceOn(remote, 'tag-only-reader');
  try {
    const record = (await readLineage(reader.ws)).find((r) => r.id === 'cycle-gone/c1');
    assert.equal(record?.commit, promoted);
    assert.deepEqual(record?.revisions, ['r9']);
    const child = await commitCandidate(reader.ws, {
      cycle: 'cycle-child',
      candidate: 'c1',
      proposal: {
        kind: 'config',
        summary: 'On top',
        rationale: '',
        parameters: { A: 2 },
        parent: 'cycle-gone/c1',
      },
      parent: { id: 'cycle-gone/c1', commit: promoted },
      parameters: { A: 2 },
      goal: 'g',
      proposer: 'tuner',
    });
    assert.equal(git(reader.ws.dir, ['rev-parse', `${child.commit}^`]).trim(), promoted);
  } finally {
    await reader.access.dispose();
  }
});
