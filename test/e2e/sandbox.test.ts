// Candidates are evaluated in sandbox pods by the in-cluster operator: a HyperAgent whose proposer
// is an LLM (the local OpenAI-compatible server, scripted) offers a good change, one that breaks a
// test, one that sleeps past its deadline, one that allocates beyond its memory limit and one that
// forks without bound. Every candidate gets a verdict in the cycle's status, with the invariants
// and their figures; the node stays healthy; nothing of the sandbox outlives the evaluation. The
// agent asks for approval (Always): `kubectl hyperagent approve` lets the cycle go on to commit.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { ImprovementCycle } from '../../operator/src/api/resources.js';
import { EVALUATING_CYCLE_PHASES } from '../../operator/src/api/schema.js';
import { sandboxNamespaceName } from '../../operator/src/sandbox/manifests.js';
import {
  agentManifest,
  core,
  createAgent,
  eventually,
  freshNamespace,
  kubectl,
  listCycles,
} from '../support/cluster.js';
import { gitDiff } from '../support/git-diff.js';
import { kubectlPlugin } from '../support/plugin.js';
import { createQuoteRemote, readTree } from '../support/quote-fixture.js';
import { startGitHttpServer } from '../support/git-http-server.js';
import { reply, startLlmServer, type LlmServer } from '../support/llm-server.js';
import { applyJson, deleteNamespace, optedInSecret, quoteDeployment } from '../support/workloads.js';

const NODE_IP = process.env.HYPERAGENT_NODE_IP ?? '127.0.0.1';
const FIXTURE = 'test/e2e/images/quote';
const API_KEY = 'sk-e2e-sandbox-key';

let namespace: string;
let scratch: string;
let llm: LlmServer;
let closeGit: () => Promise<void>;
let files: Record<string, string>;
let repoUrl: string;

function edit(path: string, change: (text: string) => string): string {
  const before = files[path]!;
  return gitDiff([{ kind: 'modify', oldPath: path, newPath: path, before, after: change(before) }]);
}

const candidate = (summary: string, diff: string) => ({ kind: 'code', diff, summary, rationale: summary });

before(async () => {
  namespace = await freshNamespace('e2e-sandbox');
  scratch = await mkdtemp(join(tmpdir(), 'e2e-sandbox-'));
  files = await readTree(FIXTURE, (name) => name === 'Dockerfile');

  // The service's repository, served over smart HTTP with Basic auth from this machine.
  createQuoteRemote(scratch, files);
  const server = await startGitHttpServer({
    projectRoot: scratch,
    username: 'builder',
    password: 'git-e2e-password',
    host: NODE_IP,
  });
  closeGit = () => server.close();
  repoUrl = `${server.url}/remote.git`;

  llm = await startLlmServer({ host: NODE_IP, apiKey: API_KEY, models: ['e2e-model'] });
  llm.script(
    reply(
      JSON.stringify({
        candidates: [
          candidate(
            'cut the per-request overhead',
            edit('src/quote.mjs', (t) => t.replace('OVERHEAD_MS = 40', 'OVERHEAD_MS = 25')),
          ),
          candidate(
            'round prices up',
            edit('src/quote.mjs', (t) => t.replace('symbol.length * 10', 'symbol.length * 11')),
          ),
          candidate(
            'warm the cache before serving',
            edit(
              'src/quote.mjs',
              (t) => `${t}\nawait new Promise((resolve) => setTimeout(resolve, 600_000));\n`,
            ),
          ),
          candidate(
            'preload every quote',
            edit(
              'src/quote.mjs',
              (t) => `${t}\nconst preload = [];\nfor (;;) preload.push(Buffer.alloc(16 << 20, 1));\n`,
            ),
          ),
          candidate(
            'prefork workers',
            edit(
              'src/quote.mjs',
              (t) =>
                `import { execSync } from 'node:child_process';\n${t}\nexecSync('w() { w | w & }; w; sleep 600', { shell: '/bin/sh' });\n`,
            ),
          ),
        ],
      }),
    ),
  );

  await applyJson([
    ...optedInSecret(
      { name: 'git', namespace, stringData: { username: 'builder', password: 'git-e2e-password' } },
      'git',
    ),
    ...optedInSecret({ name: 'llm', namespace, stringData: { apiKey: API_KEY } }, 'llm'),
    quoteDeployment(namespace, [
      { name: 'QUOTE_CACHE_SIZE', value: '64' },
      { name: 'QUOTE_BATCH_WINDOW_MS', value: '0' },
    ]),
  ]);
});

after(async () => {
  await llm?.close();
  await closeGit?.();
  await deleteNamespace(namespace);
  await deleteNamespace(sandboxNamespaceName(namespace));
  await rm(scratch, { recursive: true, force: true });
});

test('every candidate is judged in its own sandbox pod, with verdicts and figures in status', async (t) => {
  const started = Date.now();
  await createAgent(
    agentManifest('quote', namespace, {
      target: { deployment: 'quote' },
      source: {
        repo: repoUrl,
        credentialsSecret: 'git',
        paths: ['src', 'test'],
        protectedPaths: ['bench'],
      },
      objectives: [{ name: 'p99', benchmark: 'p99_ms', direction: 'Minimize' }],
      improvement: {
        interval: '24h',
        maxCandidates: 5,
        proposer: {
          type: 'openai',
          model: 'e2e-model',
          baseURL: llm.baseURL,
          apiKeySecret: { name: 'llm', key: 'apiKey' },
        },
        parameters: [
          { name: 'cache-size', env: 'QUOTE_CACHE_SIZE', type: 'integer', min: 16, max: 1024, step: 16 },
          { name: 'batch-window', env: 'QUOTE_BATCH_WINDOW_MS', type: 'integer', min: 0, max: 50, step: 1 },
        ],
      },
      sandbox: {
        timeoutSeconds: 45,
        // The judge requests 100m and takes 160Mi of each pod; the candidate's commands get the rest.
        resources: { cpu: '400m', memory: '352Mi' },
        quota: { pods: 3, cpu: '1200m', memory: '1056Mi' },
      },
      verification: { test: 'node --test', benchmark: 'node bench/run.mjs' },
      approval: 'Always',
    }),
  );

  const cycle = await eventually(
    'the cycle to leave Evaluating',
    async () => {
      const [current] = await listCycles(namespace);
      const phase = current?.status?.phase;
      return phase && !EVALUATING_CYCLE_PHASES.includes(phase) && phase !== 'Selecting' ? current : undefined;
    },
    420_000,
  );
  t.diagnostic(
    `cycle ${cycle.metadata.name}: ${cycle.status?.phase} after ${Math.round((Date.now() - started) / 1000)}s`,
  );
  for (const c of cycle.status?.candidates ?? []) {
    t.diagnostic(
      `${c.id} ${c.verdict} score=${c.score ?? '-'} ${c.summary}: ${(c.reasons ?? []).join(' | ')}`,
    );
  }
  t.diagnostic(`baseline: ${cycle.status?.baseline?.message}`);

  assert.equal(cycle.status?.phase, 'AwaitingApproval', cycle.status?.message);
  assert.equal(cycle.status?.baseline?.usable, true, cycle.status?.baseline?.message);
  const byId = new Map((cycle.status?.candidates ?? []).map((c) => [c.summary, c]));
  const good = byId.get('cut the per-request overhead')!;
  assert.equal(good.verdict, 'Passed', good.reasons?.join('; '));
  assert.equal(cycle.status?.selected, good.id);
  assert.ok((good.score ?? 0) > 15, `score ${good.score}`);
  assert.deepEqual(
    good.checks?.filter((check) => check.status === 'Failed'),
    [],
  );
  const check = (summary: string, name: string) =>
    byId.get(summary)?.checks?.find((item) => item.name === name);

  const broken = byId.get('round prices up')!;
  assert.equal(broken.verdict, 'Failed');
  assert.equal(check('round prices up', 'TestsPass')?.status, 'Failed');
  assert.match(check('round prices up', 'TestsPass')?.message ?? '', /1 of 3 tests failed/);

  const sleeper = byId.get('warm the cache before serving')!;
  assert.equal(sleeper.verdict, 'Failed');
  assert.match(sleeper.reasons?.join('\n') ?? '', /timed out|deadline/);

  const hog = byId.get('preload every quote')!;
  assert.equal(hog.verdict, 'Failed');
  assert.match(hog.reasons?.join('\n') ?? '', /memory/i);

  const bomb = byId.get('prefork workers')!;
  assert.equal(bomb.verdict, 'Failed');
  assert.match(bomb.reasons?.join('\n') ?? '', /timed out|deadline|process/i);

  // kubectl describe shows the verdicts (status is printed in full).
  const described = await kubectl('describe', 'improvementcycle', '-n', namespace, cycle.metadata.name);
  assert.match(described, /Checks:/);
  assert.match(described, /GoalImproved/);

  // The node stayed healthy: Ready, and a new pod still starts.
  const node = JSON.parse(await kubectl('get', 'nodes', '-o', 'json')) as {
    items: { status: { conditions: { type: string; status: string }[] } }[];
  };
  for (const item of node.items) {
    assert.equal(item.status.conditions.find((c) => c.type === 'Ready')?.status, 'True');
    assert.equal(item.status.conditions.find((c) => c.type === 'PIDPressure')?.status, 'False');
    assert.equal(item.status.conditions.find((c) => c.type === 'MemoryPressure')?.status, 'False');
  }

  // Nothing of the evaluation is left in the sandbox namespace.
  const sandboxNamespace = sandboxNamespaceName(namespace);
  await eventually(
    'the sandbox pods to be removed',
    async () =>
      (await core.listNamespacedPod({ namespace: sandboxNamespace })).items.length === 0 ? true : undefined,
    60_000,
  );
  const refreshed = JSON.parse(
    await kubectl('get', 'improvementcycle', '-n', namespace, cycle.metadata.name, '-o', 'json'),
  ) as ImprovementCycle;
  assert.ok(!refreshed.metadata.finalizers?.length, 'the sandbox finalizer is removed');
});

test('the cycle waiting for approval proceeds on kubectl hyperagent approve: the chosen candidate is committed and pushed', async (t) => {
  const [waiting] = await listCycles(namespace);
  assert.equal(waiting?.status?.phase, 'AwaitingApproval');
  const approved = await kubectlPlugin('hyperagent', 'approve', 'quote', '-n', namespace);
  assert.equal(approved.code, 0, approved.stderr);
  const phases = new Set<string>();
  const committed = await eventually(
    'the approved candidate to be committed',
    async () => {
      const [current] = await listCycles(namespace);
      if (current?.status?.phase) phases.add(current.status.phase);
      return current?.status?.commit ? current : undefined;
    },
    120_000,
  );
  t.diagnostic(`after approve: ${[...phases].join(' → ')}; commit ${committed.status?.commit}`);
  assert.ok(!phases.has('Rejected'), 'approved, not rejected');
  const branch = `hyperagent/quote/${committed.metadata.name}`;
  const pushed = execFileSync(
    'git',
    ['--git-dir', join(scratch, 'remote.git'), 'rev-parse', `refs/heads/${branch}`],
    {
      encoding: 'utf8',
    },
  ).trim();
  assert.equal(pushed, committed.status?.commit, `the commit is on ${branch} in the remote`);
  const message = execFileSync(
    'git',
    ['--git-dir', join(scratch, 'remote.git'), 'log', '-1', '--format=%B', pushed],
    {
      encoding: 'utf8',
    },
  );
  assert.match(message, /^cut the per-request overhead/);
  assert.match(message, new RegExp(`HyperAgent-Cycle: ${committed.metadata.name}`));
});
