// The Committing phase against a real API server and a real git remote: the selected candidate's
// evaluated tree becomes one commit on the cycle branch, pushed, with its trailers; a second visit
// reuses it; a diff that is not the one evaluated, a diff that does not make the evaluated tree, a
// code candidate without a tree, or a base branch that moved since evaluation, fails the phase and
// writes nothing.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createTwoFilesPatch } from 'diff';
import type { Candidate, ImprovementCycleSpec } from '../../operator/src/api/schema.js';
import { createKubeClients } from '../../operator/src/kube/clients.js';
import type { CycleContext } from '../../operator/src/cycle/ports.js';
import { CommitWork } from '../../operator/src/engine/commit-work.js';
import {
  cycleInputsConfigMap,
  inputKeys,
  parametersJson,
  sha256,
} from '../../operator/src/kube/cycle-inputs.js';
import { SourceCheckouts } from '../../operator/src/git/source-checkout.js';
import { gitCredentials } from '../../operator/src/kube/opted-in-secret.js';
import { defaultedMinimalSpec } from '../support/agents.js';
import { agentManifest, core, createAgent, freshNamespace, kubeConfig } from '../support/cluster.js';
import { createQuoteRemote, QUOTE_AGENT, QUOTE_FILES } from '../support/quote-fixture.js';

const clients = createKubeClients(kubeConfig, () => undefined);
let root: string;
let remote: string;
let namespace: string;
let spec: ImprovementCycleSpec['agentSpec'];
let baseCommit: string;
/** The tree DIFF makes of main, made here with plain git (not the operator's code). */
let evaluatedTree: string;

function git(...args: string[]): string {
  return execFileSync('git', args, { cwd: root, encoding: 'utf8' }).trim();
}

const before40 = QUOTE_FILES['src/quote.mjs']!;
const DIFF = createTwoFilesPatch(
  'a/src/quote.mjs',
  'b/src/quote.mjs',
  before40,
  before40.replace('export const OVERHEAD_MS = 40;', 'export const OVERHEAD_MS = 30;'),
);

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'commit-work-'));
  remote = createQuoteRemote(root);
  baseCommit = git('--git-dir', join(root, 'remote.git'), 'rev-parse', 'main');
  evaluatedTree = treeOf(DIFF);
  namespace = await freshNamespace('commit-work');
  spec = defaultedMinimalSpec({ ...QUOTE_AGENT, source: { ...QUOTE_AGENT.source, repo: remote } });
  await createAgent(agentManifest('quote', namespace, spec as unknown as Record<string, unknown>));
});

after(async () => {
  await core.deleteNamespace({ name: namespace }).catch(() => undefined);
  rmSync(root, { recursive: true, force: true });
});

/** The tree `diff` makes of main, by `git apply --cached` in a scratch clone. */
function treeOf(diff: string): string {
  const scratch = mkdtempSync(join(root, 'tree-'));
  execFileSync('git', ['clone', '-q', join(root, 'remote.git'), scratch]);
  writeFileSync(join(scratch, 'candidate.diff'), diff);
  execFileSync('git', ['apply', '--cached', 'candidate.diff'], { cwd: scratch });
  return execFileSync('git', ['write-tree'], { cwd: scratch, encoding: 'utf8' }).trim();
}

/** A cycle in Committing with `candidate` selected, and its inputs ConfigMap in the cluster. */
async function cycleWith(
  name: string,
  candidate: Candidate,
  data: Record<string, string>,
): Promise<CycleContext> {
  const uid = `00000000-0000-4000-8000-${Math.random().toString(16).slice(2, 14).padEnd(12, '0')}`;
  const body = cycleInputsConfigMap({ namespace, name, uid, agent: 'quote' }, data);
  delete body.metadata!.ownerReferences; // no cycle object exists for the garbage collector to follow
  await core.createNamespacedConfigMap({ namespace, body });
  return {
    namespace,
    name,
    uid,
    spec: { agent: 'quote', slot: new Date().toISOString(), agentGeneration: 1, agentSpec: spec },
    status: { phase: 'Committing', baseCommit, candidates: [candidate], selected: candidate.id },
  };
}

function codeCandidate(diff: string, tree: string | null = evaluatedTree): Candidate {
  return {
    id: 'c1',
    ...(tree ? { tree } : {}),
    kind: 'code',
    summary: 'cut the per-request overhead',
    rationale: 'the overhead dominates p99',
    verdict: 'Passed',
    score: 25,
    patch: {
      configMap: 'x',
      key: inputKeys.diff('c1'),
      sha256: sha256(diff),
      files: 1,
      linesAdded: 1,
      linesRemoved: 1,
    },
  };
}

function commitWork(): CommitWork {
  return new CommitWork({
    clients,
    checkouts: new SourceCheckouts(gitCredentials(clients.core), join(root, 'work')),
  });
}

test('the evaluated diff is committed on the cycle branch with its trailers, pushed, and reused on a second visit', async () => {
  const cycle = await cycleWith('cycle-a', codeCandidate(DIFF), { [inputKeys.diff('c1')]: DIFF });
  const first = await commitWork().commit(cycle);
  assert.equal(first.state, 'succeeded', JSON.stringify(first));
  const commit = first.state === 'succeeded' ? first.status!.commit! : '';
  const bare = ['--git-dir', join(root, 'remote.git')];
  assert.equal(
    git(...bare, 'rev-parse', 'refs/heads/hyperagent/quote/cycle-a'),
    commit,
    'pushed to the remote',
  );
  assert.equal(git(...bare, 'rev-parse', `${commit}^`), baseCommit, 'starts from the evaluated base');
  assert.match(git(...bare, 'show', `${commit}:src/quote.mjs`), /OVERHEAD_MS = 30;/);
  assert.equal(
    git(...bare, 'rev-parse', `${commit}^{tree}`),
    evaluatedTree,
    'the commit is the evaluated tree',
  );
  const message = git(...bare, 'log', '-1', '--format=%B', commit);
  assert.match(message, new RegExp(`^HyperAgent-Tree: ${evaluatedTree}$`, 'm'));
  assert.match(message, /^cut the per-request overhead/);
  assert.match(message, /HyperAgent-Cycle: cycle-a/);
  assert.match(message, /HyperAgent-Candidate: c1/);
  assert.match(message, /HyperAgent-Score: 25/);

  const again = await commitWork().commit(cycle);
  assert.equal(again.state, 'succeeded');
  assert.equal(again.state === 'succeeded' && again.status!.commit, commit);
  assert.match(again.state === 'succeeded' ? (again.message ?? '') : '', /an earlier attempt made it/);
});

test('a config candidate is an empty commit carrying its full parameter values', async () => {
  const candidate: Candidate = {
    id: 'c2',
    kind: 'config',
    summary: 'larger cache',
    verdict: 'Passed',
    parameters: { 'cache-size': '384' },
  };
  const cycle = await cycleWith('cycle-b', candidate, {
    [inputKeys.parameters('c2')]: parametersJson({ 'cache-size': 384, 'batch-window': 0 }),
  });
  const outcome = await commitWork().commit(cycle);
  assert.equal(outcome.state, 'succeeded', JSON.stringify(outcome));
  const commit = outcome.state === 'succeeded' ? outcome.status!.commit! : '';
  const bare = ['--git-dir', join(root, 'remote.git')];
  assert.equal(
    git(...bare, 'rev-parse', `${commit}^{tree}`),
    git(...bare, 'rev-parse', `${baseCommit}^{tree}`),
  );
  assert.match(
    git(...bare, 'log', '-1', '--format=%B', commit),
    /HyperAgent-Parameters: \{"batch-window":0,"cache-size":384\}/,
  );
});

test('a diff that is not the one evaluated is refused, and nothing is committed', async () => {
  const tampered = DIFF.replace('OVERHEAD_MS = 30', 'OVERHEAD_MS = 0');
  const cycle = await cycleWith('cycle-c', codeCandidate(DIFF), { [inputKeys.diff('c1')]: tampered });
  const outcome = await commitWork().commit(cycle);
  assert.deepEqual(outcome.state === 'failed' ? [outcome.reason] : outcome, ['InputsTampered']);
  assert.throws(() =>
    git(
      '--git-dir',
      join(root, 'remote.git'),
      'rev-parse',
      '--verify',
      'refs/heads/hyperagent/quote/cycle-c',
    ),
  );
});

test('a diff that does not make the evaluated tree fails the commit, and nothing is pushed', async () => {
  const other = treeOf(DIFF.replace('OVERHEAD_MS = 30', 'OVERHEAD_MS = 20'));
  const cycle = await cycleWith('cycle-e', codeCandidate(DIFF, other), { [inputKeys.diff('c1')]: DIFF });
  const outcome = await commitWork().commit(cycle);
  assert.equal(outcome.state, 'failed', JSON.stringify(outcome));
  assert.equal(outcome.state === 'failed' && outcome.reason, 'TreeMismatch');
  assert.match(
    outcome.state === 'failed' ? outcome.message : '',
    new RegExp(`makes the tree ${evaluatedTree}, not the tree ${other} that was evaluated`),
  );
  assert.throws(() =>
    git(
      '--git-dir',
      join(root, 'remote.git'),
      'rev-parse',
      '--verify',
      'refs/heads/hyperagent/quote/cycle-e',
    ),
  );
});

test('a code candidate without a tree in status is not committed: what it was evaluated as is unknown', async () => {
  const cycle = await cycleWith('cycle-f', codeCandidate(DIFF, null), { [inputKeys.diff('c1')]: DIFF });
  const outcome = await commitWork().commit(cycle);
  assert.deepEqual(outcome.state === 'failed' ? [outcome.reason] : outcome, ['TreeMissing']);
});

test('a base branch that moved since evaluation fails the commit rather than deliver an untested combination', async () => {
  const cycle = await cycleWith('cycle-d', codeCandidate(DIFF), { [inputKeys.diff('c1')]: DIFF });
  const seed = join(root, 'seed');
  writeFileSync(join(seed, 'README.md'), '# quote service, edited by a human\n');
  execFileSync('git', ['commit', '-qam', 'docs'], { cwd: seed });
  execFileSync('git', ['push', '-q', join(root, 'remote.git'), 'main'], { cwd: seed });
  const outcome = await commitWork().commit(cycle);
  assert.equal(outcome.state, 'failed', JSON.stringify(outcome));
  assert.equal(outcome.state === 'failed' && outcome.reason, 'BaseMoved');
  assert.match(
    outcome.state === 'failed' ? outcome.message : '',
    /moved from [0-9a-f]{12} \(where the candidate was evaluated\)/,
  );
});

test('an agent whose repository changed is cloned afresh: the old clone is only a cache', async () => {
  const checkouts = new SourceCheckouts(gitCredentials(clients.core), join(root, 'work-moved'));
  const target = (repo: string) => ({ namespace, agent: 'moved', source: { ...spec.source, repo } });
  const first = await checkouts.withWorkspace(target(remote), async (w) => w.repo);
  assert.equal(first, remote);
  // the agent is recreated on another repository with the same name
  const otherRoot = mkdtempSync(join(tmpdir(), 'commit-work-other-'));
  try {
    const other = createQuoteRemote(otherRoot, { 'README.md': '# another service\n' });
    const files = await checkouts.withWorkspace(target(other), async (w) =>
      execFileSync('git', ['ls-tree', '-r', '--name-only', w.baseRef], { cwd: w.dir, encoding: 'utf8' }),
    );
    assert.equal(files.trim(), 'README.md');
  } finally {
    rmSync(otherRoot, { recursive: true, force: true });
  }
});
