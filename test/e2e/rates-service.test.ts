// Any service: the Python reference service (examples/rates-service) evaluated on the cluster in
// its own toolchain image (python3 and pytest; no Node.js in it), through the same judge: the
// candidate's tests run under the executor, and the judge measures the service from outside.
// A good code change passes, a test-breaking one fails, judged by the real verdict function.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { judgeCycle, type JudgedSpec } from '../../operator/src/policy/invariants.js';
import {
  sandboxNamespace,
  sandboxNetworkPolicies,
  type SandboxSpec,
} from '../../operator/src/sandbox/manifests.js';
import type {
  IsolationProbe,
  SandboxManifest,
  SandboxResult,
} from '../../operator/src/api/sandbox-protocol.js';
import { bundleOf } from '../../sandbox-image/runner/changes.js';
import { clusterProbes, runSandboxPod, testManifest } from '../support/sandbox-pods.js';
import { applyJson, deleteNamespace } from '../support/workloads.js';

const execFileAsync = promisify(execFile);
const RATES_IMAGE = process.env.HYPERAGENT_RATES_SERVICE_IMAGE ?? 'localhost:5001/rates-service:1.0.0';
const SERVICE_DIR = new URL('../../examples/rates-service/', import.meta.url).pathname;

const SANDBOX: SandboxSpec = {
  sourcePath: '/app',
  resources: { cpu: '1', memory: '512Mi' },
  quota: { pods: 2, cpu: '2', memory: '1Gi' },
  timeoutSeconds: 180,
};

const SPEC: JudgedSpec = {
  verification: {
    invariants: ['TestsPass', 'TestCountStable', 'GoalImproved', 'BehaviourPreserved'],
  },
  objectives: [{ name: 'p99', workload: 'p99_ms', direction: 'Minimize', maxRegressionPercent: 0 }],
};

let namespace: string;
let probes: IsolationProbe[];

before(async () => {
  const made = sandboxNamespace(`e2e-rates-${Date.now().toString(36)}`);
  namespace = made.metadata!.name!;
  await applyJson([made, ...sandboxNetworkPolicies(namespace)]);
  probes = await clusterProbes();
});

after(async () => {
  await deleteNamespace(namespace);
});

/** The changed files a demo patch makes of the service's source, applied by git in a scratch copy. */
async function changesOf(patch: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'hyperagent-rates-'));
  after(() => rm(dir, { recursive: true, force: true }));
  await cp(SERVICE_DIR, dir, { recursive: true });
  await execFileAsync('git', ['apply', join(dir, 'demo', patch)], { cwd: dir });
  const touched = (await readFile(join(SERVICE_DIR, 'demo', patch), 'utf8'))
    .split('\n')
    .filter((line) => line.startsWith('+++ b/'))
    .map((line) => line.slice('+++ b/'.length));
  return bundleOf(
    Object.fromEntries(
      await Promise.all(touched.map(async (path) => [path, await readFile(join(dir, path), 'utf8')])),
    ),
  );
}

function manifest(candidate: string, overrides: Partial<SandboxManifest> = {}): SandboxManifest {
  return testManifest(candidate, probes, {
    commands: [{ name: 'test', run: 'python3 -m pytest -q tests', timeoutSeconds: 120 }],
    isolation: { probes, timeoutMs: 1000, settleSeconds: 30 },
    workload: {
      service: { run: 'python3 -m rates', port: 8080, readinessPath: '/healthz', env: { PORT: '8080' } },
      readySeconds: 30,
      baselineEnv: {},
      measureBaseline: candidate !== 'baseline',
      dependencies: [],
      requests: [],
      requestsFile: 'bench/requests.json',
      rps: 40,
      durationSeconds: 2,
      // As long as a run: every run replays the list from its start, so the memoized candidate's
      // first run is as warm as its others (with 1 s its first run met 12 cold pairs and measured
      // as slow as the unchanged service, which failed the rank test once in CI).
      warmupSeconds: 2,
      runs: 5,
      requestTimeoutMs: 2000,
      compareBehaviour: true,
      ignoreFields: [],
    },
    ...overrides,
  });
}

async function evaluate(unit: SandboxManifest, changes: Record<string, string> = {}): Promise<SandboxResult> {
  const run = await runSandboxPod(namespace, unit, {
    changes,
    sandbox: SANDBOX,
    sourceImage: RATES_IMAGE,
    toolchainImage: RATES_IMAGE,
    timeoutMs: 240_000,
  });
  assert.equal(run.state.state, 'finished', JSON.stringify(run.state));
  return (run.state as { result: SandboxResult }).result;
}

test('the Python service in its own toolchain image: a good change passes, a test-breaking one fails', async (t) => {
  const [baseline, memoize, halfUp] = await Promise.all([
    evaluate(manifest('baseline')),
    evaluate(manifest('memoize', { changes: 'memoize.files.json' }), {
      'memoize.files.json': await changesOf('memoize-rates.patch'),
    }),
    evaluate(manifest('half-up', { changes: 'half-up.files.json' }), {
      'half-up.files.json': await changesOf('round-half-up.patch'),
    }),
  ]);
  assert.equal(baseline.outcome, 'evaluated', baseline.message);
  assert.equal(baseline.tests?.format, 'pytest', 'counted from pytest summary line');
  const verdicts = judgeCycle({
    spec: SPEC,
    baseline,
    candidates: new Map([
      ['memoize', memoize],
      ['half-up', halfUp],
    ]),
    memoryLimitBytes: 352 * 1024 * 1024,
  });
  for (const [id, verdict] of verdicts) {
    t.diagnostic(
      `${id}: ${verdict.passed ? 'Passed' : 'Failed'} score ${verdict.score ?? '-'}; ${verdict.reasons.join(' | ')}`,
    );
  }
  t.diagnostic(
    `judge p99: baseline ${JSON.stringify(memoize.workload?.baseline?.p99_ms)} memoize ${JSON.stringify(memoize.workload?.candidate?.p99_ms)}`,
  );
  const good = verdicts.get('memoize')!;
  assert.equal(good.passed, true, good.reasons.join('; '));
  assert.equal(good.goal?.measuredBy, 'Judge');
  const broken = verdicts.get('half-up')!;
  assert.equal(broken.passed, false);
  assert.match(broken.reasons.join('\n'), /TestsPass: \d+ of \d+ tests failed/);
});
