// The Proposing phase with fake API clients over a real git repository: each candidate's diff is
// applied once, by git, and what the cycle keeps (status `tree`, the `.files.json` bundle beside
// the diff) is git's result, including for a diff jsdiff places elsewhere; a diff git refuses is
// Refused in the patch policy's terms.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { V1ConfigMap } from '@kubernetes/client-node';
import { defaultedAgentSpec } from '../api/defaults.js';
import type { KubeClients } from '../kube/clients.js';
import type { CycleContext } from '../cycle/ports.js';
import { NO_USAGE, type ProposedCandidate } from '../propose/candidate.js';
import type { Proposer } from '../propose/proposer.js';
import { END_OF_FILE_DIFF, END_OF_FILE_TEXT } from '../../../test/support/git-repos.js';
import { createQuoteRemote, QUOTE_AGENT, QUOTE_FILES } from '../../../test/support/quote-fixture.js';
import { inputKeys } from '../kube/cycle-inputs.js';
import { parseChangedFiles } from '../git/changed-files.js';
import { ProposalWork } from './propose-work.js';
import { GraphCache } from './represent-work.js';
import { SourceCheckouts } from '../git/source-checkout.js';
import { gitCredentials } from '../kube/opted-in-secret.js';

/** A file of 400 KiB: a one-line change to it makes a bundle of about 530 KiB. */
const BIG = Array.from({ length: 40_000 }, (_, i) => `line ${String(i).padStart(4, '0')}`).join('\n') + '\n';

/** Changes the first line of BIG to `text`. */
function bigDiff(text: string): string {
  return [
    'diff --git a/src/big.txt b/src/big.txt',
    '--- a/src/big.txt',
    '+++ b/src/big.txt',
    '@@ -1,3 +1,3 @@',
    '-line 0000',
    `+${text}`,
    ' line 0001',
    ' line 0002',
    '',
  ].join('\n');
}

let root: string;
let repo: string;
let baseCommit: string;

before(() => {
  root = mkdtempSync(join(tmpdir(), 'propose-work-'));
  repo = createQuoteRemote(root, { ...QUOTE_FILES, 'src/twice.txt': END_OF_FILE_TEXT, 'src/big.txt': BIG });
  baseCommit = execFileSync('git', ['--git-dir', join(root, 'remote.git'), 'rev-parse', 'main'], {
    encoding: 'utf8',
  }).trim();
});

after(() => rmSync(root, { recursive: true, force: true }));

/** A hunk at line 1 without trailing context: jsdiff applies it, git wants it to span the file. */
const GIT_REFUSES = [
  'diff --git a/src/quote.mjs b/src/quote.mjs',
  '--- a/src/quote.mjs',
  '+++ b/src/quote.mjs',
  '@@ -1,2 +1,2 @@',
  ' // Simulated quote service: latency falls as the cache and the batch window near their sweet spot.',
  '-export const OVERHEAD_MS = 40;',
  '+export const OVERHEAD_MS = 30;',
  '',
].join('\n');

function proposing(candidates: ProposedCandidate[]): {
  work: ProposalWork;
  stored: V1ConfigMap[];
  cycle: CycleContext;
  clone: string;
} {
  const stored: V1ConfigMap[] = [];
  const clients = {
    custom: { getNamespacedCustomObject: async () => ({ status: { archive: [] } }) },
    apps: {
      readNamespacedDeployment: async () => ({
        spec: { template: { spec: { containers: [{ name: 'quote', image: 'quote:1', env: [] }] } } },
      }),
    },
    core: {
      createNamespacedConfigMap: async ({ body }: { body: V1ConfigMap }) => {
        stored.push(body);
        return body;
      },
    },
  } as unknown as KubeClients;
  const proposer: Proposer = {
    type: 'tuner',
    propose: async () => ({ candidates, attempts: [], usage: NO_USAGE }),
  };
  const workRoot = mkdtempSync(join(root, 'work-'));
  const work = new ProposalWork({
    clients,
    checkouts: new SourceCheckouts(gitCredentials(clients.core), workRoot),
    graphs: new GraphCache(),
    makeProposer: async () => proposer,
    now: () => new Date('2026-01-01T00:00:00Z'),
  });
  const cycle: CycleContext = {
    namespace: 'shop',
    name: 'quote-1',
    uid: 'uid-1',
    spec: {
      agent: 'quote',
      slot: '2026-01-01T00:00:00Z',
      agentGeneration: 1,
      agentSpec: defaultedAgentSpec({ ...QUOTE_AGENT, source: { ...QUOTE_AGENT.source, repo } }),
    },
    status: { phase: 'Proposing', baseCommit, startTime: '2026-01-01T00:00:00Z' },
  };
  return { work, stored, cycle, clone: join(workRoot, 'shop', 'quote') };
}

test('each candidate gets the tree git makes and its bundle; a diff git refuses, or places elsewhere than the policy, is Refused', async () => {
  const code = (summary: string, diff: string): ProposedCandidate => ({
    kind: 'code',
    summary,
    rationale: '',
    diff,
  });
  const { work, stored, cycle, clone } = proposing([
    code('append at the end', END_OF_FILE_DIFF),
    code('cut the overhead', GIT_REFUSES),
    { kind: 'config', summary: 'larger cache', rationale: '', parameters: { 'cache-size': 384 } },
    code('first line', bigDiff('first')),
  ]);
  const outcome = await work.propose(cycle);
  assert.equal(outcome.state, 'succeeded', JSON.stringify(outcome));
  const candidates = outcome.state === 'succeeded' ? outcome.status!.candidates! : [];
  assert.deepEqual(
    candidates.map((c) => [c.id, c.verdict, c.tree !== undefined]),
    [
      ['c1', 'Refused', false],
      ['c2', 'Refused', false],
      ['c3', 'Pending', false],
      ['c4', 'Pending', true],
    ],
  );
  // jsdiff puts the line at the hunk's stated place, git at the end of the file: the policy
  // judged one file, git would ship another.
  assert.match(
    candidates[0]!.reasons![0]!,
    /^DoesNotApply: git and the patch policy apply the diff to src\/twice\.txt differently/,
  );
  assert.match(
    candidates[1]!.reasons![0]!,
    /^DoesNotApply: Git does not apply the diff to the base tree \([0-9a-f]{12}\): patch failed: src\/quote\.mjs:1/,
  );
  assert.match(outcome.state === 'succeeded' ? outcome.message! : '', /2 refused by the patch policy or git/);

  const data = stored[0]!.data!;
  assert.equal(data[inputKeys.diff('c4')], bigDiff('first'), 'the diff is still kept');
  const bundle = parseChangedFiles(data[inputKeys.files('c4')]!, {
    base: baseCommit,
    tree: candidates[3]!.tree!,
  });
  assert.deepEqual(
    bundle.files.map((f) => f.path),
    ['src/big.txt'],
  );
  const shipped = Buffer.from(bundle.files[0]!.base64, 'base64').toString();
  assert.ok(shipped.startsWith('first\nline 0001\n'), shipped.slice(0, 40));
  // The tree is in the operator's clone (the remote gets it with the commit); its work tree is untouched.
  const inTree = execFileSync('git', ['cat-file', 'blob', `${candidates[3]!.tree}:src/big.txt`], {
    cwd: clone,
    encoding: 'utf8',
  });
  assert.equal(inTree, shipped);
  assert.equal(execFileSync('git', ['status', '--porcelain'], { cwd: clone, encoding: 'utf8' }), '');
  assert.deepEqual(
    Object.keys(data).filter((key) => key.endsWith('.files.json')),
    ['c4.files.json'],
    'refused candidates and config candidates of the baseline have no bundle',
  );
});

test('bundles that no longer fit in the inputs ConfigMap refuse their candidates, not the cycle', async () => {
  const code = (n: number): ProposedCandidate => ({
    kind: 'code',
    summary: `big ${n}`,
    rationale: '',
    diff: bigDiff(`first ${n}`),
  });
  const { work, stored, cycle } = proposing([code(1), code(2)]);
  const outcome = await work.propose(cycle);
  assert.equal(outcome.state, 'succeeded', JSON.stringify(outcome));
  const candidates = outcome.state === 'succeeded' ? outcome.status!.candidates! : [];
  assert.deepEqual(
    candidates.map((c) => [c.verdict, c.tree !== undefined]),
    [
      ['Pending', true],
      ['Refused', false],
    ],
  );
  assert.match(
    candidates[1]!.reasons![0]!,
    /^TooLarge: The candidate's changed files \(\d+ bytes as a bundle\) do not fit/,
  );
  assert.deepEqual(
    Object.keys(stored[0]!.data!).filter((key) => key.endsWith('.files.json')),
    ['c1.files.json'],
  );
});
