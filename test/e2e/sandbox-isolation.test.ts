// The runner proves its isolation before it evaluates anything: in a namespace with the sandbox's
// default-deny policies it reaches none of the API server, cluster DNS, another pod and an outside
// address and evaluates; with the policies removed it reaches them, refuses, and the candidate's
// verdict fails closed.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { judgeCandidate } from '../../operator/src/policy/invariants.js';
import { sandboxNamespace, sandboxNetworkPolicies } from '../../operator/src/sandbox/manifests.js';
import type { IsolationProbe, SandboxResult } from '../../operator/src/api/sandbox-protocol.js';
import { kubectl } from '../support/cluster.js';
import { clusterProbes, runSandboxPod, testManifest } from '../support/sandbox-pods.js';
import { applyJson, deleteNamespace } from '../support/workloads.js';

let namespace: string;
let probes: IsolationProbe[];

before(async () => {
  const made = sandboxNamespace(`e2e-iso-${Date.now().toString(36)}`);
  namespace = made.metadata!.name!;
  await applyJson([made, ...sandboxNetworkPolicies(namespace)]);
  probes = await clusterProbes();
});

after(async () => {
  await deleteNamespace(namespace);
});

const agentSpec = {
  verification: { test: 'node --test', invariants: ['TestsPass' as const] },
  objectives: [{ name: 'p99', benchmark: 'p99_ms', direction: 'Minimize' as const, maxRegressionPercent: 0 }],
};

test('behind the default-deny policies the runner reaches nothing and evaluates', async (t) => {
  // A new policy may take a moment to reach the node: the runner waits for isolation to hold.
  const run = await runSandboxPod(
    namespace,
    testManifest('isolated', probes, { isolation: { probes, timeoutMs: 1000, settleSeconds: 30 } }),
  );
  assert.equal(run.state.state, 'finished', JSON.stringify(run.state));
  const result = (run.state as { result: SandboxResult }).result;
  t.diagnostic(
    `probes ${probes.map((p) => `${p.name}=${p.host}:${p.port}`).join(' ')}; isolation proof ${result.isolationMs} ms`,
  );
  assert.equal(result.outcome, 'evaluated', result.message);
  assert.deepEqual(result.breached, []);
  assert.equal(result.tests?.passed, 3);
});

test('with the policies removed the runner refuses, and the candidate fails closed', async (t) => {
  await kubectl('delete', 'networkpolicy', '--all', '-n', namespace, '--wait=true');
  const run = await runSandboxPod(
    namespace,
    testManifest('exposed', probes, { isolation: { probes, timeoutMs: 1000, settleSeconds: 5 } }),
  );
  assert.equal(run.state.state, 'finished', JSON.stringify(run.state));
  const result = (run.state as { result: SandboxResult }).result;
  t.diagnostic(`breached: ${result.breached.join(', ')}`);
  assert.equal(result.outcome, 'isolation-breached');
  // The judge adds the pod's own nameserver (resolv.conf) to what the operator listed.
  assert.deepEqual([...result.breached].sort(), [
    'api-server',
    'cluster-dns',
    'outside',
    'pod',
    'resolv-nameserver-1',
  ]);
  assert.deepEqual(result.commands, [], 'nothing of the candidate ran');

  const verdict = judgeCandidate({
    spec: agentSpec,
    baseline: result,
    candidate: result,
    memoryLimitBytes: 192 << 20,
  });
  assert.equal(verdict.passed, false);
  const isolation = verdict.checks.find((check) => check.name === 'Isolation');
  assert.equal(isolation?.status, 'Failed');
  assert.match(isolation?.message ?? '', /api-server/);
});
