// The agent's archive against a real API server: ended cycles are folded into status.archive by
// the operator (the HyperAgent reconciler, its one status writer), the records pass the CRD's
// schema, and what status remembers outlives both the operator process and the cycles themselves.
//
// The cycles' outcomes are written here through the status subresource, as the cycle reconciler
// writes them after a real run: sandboxes, builds and canaries need the cluster harness, and the
// e2e suite runs them (test/e2e/archive.test.ts).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import {
  AGENT_LABEL,
  API_VERSION,
  CYCLES,
  type HyperAgent,
  type ImprovementCycle,
} from '../../operator/src/api/resources.js';
import type { ImprovementCycleStatus } from '../../operator/src/api/schema.js';
import {
  agentManifest,
  createAgent,
  custom,
  eventually,
  freshNamespace,
  getAgent,
} from '../support/cluster.js';
import { OperatorProcess } from '../support/operator-process.js';
import { kubectlPlugin } from '../support/plugin.js';

const PARAMETERS = [
  { name: 'cache-size', env: 'QUOTE_CACHE_SIZE', type: 'integer', min: 0, max: 2000, step: 100 },
  { name: 'retries', env: 'QUOTE_RETRIES', type: 'integer', min: 0, max: 3, step: 1 },
];
const DIFF_SHA = 'a'.repeat(64);

let namespace: string;
let operator: OperatorProcess | undefined;

before(async () => {
  namespace = await freshNamespace('archive');
});
after(async () => {
  await operator?.kill('SIGTERM');
});

async function startOperator(identity: string): Promise<OperatorProcess> {
  const started = new OperatorProcess({ identity, leaseNamespace: namespace, leaderElect: false });
  await started.start();
  await started.waitReady();
  return started;
}

/** A cycle of `agent`, created and then ended with `status`, as the cycle reconciler would leave it. */
async function endedCycle(agent: HyperAgent, name: string, status: ImprovementCycleStatus): Promise<void> {
  const body: ImprovementCycle = {
    apiVersion: API_VERSION,
    kind: CYCLES.kind,
    metadata: {
      name,
      namespace,
      labels: { [AGENT_LABEL]: agent.metadata.name! },
      ownerReferences: [
        {
          apiVersion: API_VERSION,
          kind: 'HyperAgent',
          name: agent.metadata.name!,
          uid: agent.metadata.uid!,
          controller: true,
        },
      ],
    },
    spec: { agent: agent.metadata.name!, slot: status.startTime!, agentGeneration: 1, agentSpec: agent.spec },
  };
  await custom.createNamespacedCustomObject({ ...CYCLES, namespace, body });
  await custom.patchNamespacedCustomObjectStatus(
    { ...CYCLES, namespace, name, body: { status } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
}

function config(id: string, parameters: Record<string, string>, verdict: string, score: number) {
  return {
    id,
    kind: 'config' as const,
    summary: `tune ${id}`,
    parameters,
    verdict: verdict as 'Passed',
    score,
  };
}

test('ended cycles fold into the archive, and the archive outlives the operator and the cycles', async () => {
  await createAgent(
    agentManifest('mem', namespace, {
      suspend: true,
      improvement: { interval: '1h', parameters: PARAMETERS },
    }),
  );
  const agent = await getAgent(namespace, 'mem');
  operator = await startOperator('first');

  // A first cycle promoted its best candidate; production was measured after the promotion.
  await endedCycle(agent, 'mem-1', {
    phase: 'Promoted',
    startTime: '2026-12-01T10:00:00Z',
    completionTime: '2026-12-01T10:20:00Z',
    proposal: {
      proposer: 'tuner',
      startingParameters: { 'cache-size': '0', retries: '0' },
      promptTokens: 0,
      completionTokens: 0,
      costUSD: 0,
      attempts: [],
    },
    candidates: [
      config('c1', { 'cache-size': '800' }, 'Passed', 48.5),
      config('c2', { 'cache-size': '400' }, 'Passed', 30.1),
      config('c3', { retries: '3' }, 'Failed', -4.2),
    ],
    selected: 'c1',
    commit: 'f'.repeat(40),
    gain: {
      objective: 'p99',
      predicted: 48.5,
      canary: 45,
      production: 47,
      ratio: 0.97,
      productionCheckedAt: '2026-12-01T10:21:00Z',
      message: 'measured',
    },
  });
  const first = await eventually(
    'the first cycle in the archive',
    async () => {
      const current = await getAgent(namespace, 'mem');
      return current.status?.archive?.length === 3 ? current : undefined;
    },
    30_000,
  );
  assert.deepEqual(
    first.status?.archive?.map((entry) => [entry.id, entry.verdict, entry.parameters]),
    [
      ['mem-1/c1', 'Promoted', { 'cache-size': '800', retries: '0' }],
      ['mem-1/c2', 'Passed', { 'cache-size': '400', retries: '0' }],
      ['mem-1/c3', 'Failed', { 'cache-size': '0', retries: '3' }],
    ],
  );
  assert.equal(first.status?.archive?.[0]?.gain?.production, 47);

  // The operator dies between cycles, and the first cycle is deleted: only status remembers it.
  await operator.kill('SIGKILL');
  operator = undefined;
  await custom.deleteNamespacedCustomObject({ ...CYCLES, namespace, name: 'mem-1' });

  // A second cycle's code change passed the sandbox and was rolled back in production.
  await endedCycle(agent, 'mem-2', {
    phase: 'RolledBack',
    startTime: '2026-12-02T10:00:00Z',
    completionTime: '2026-12-02T10:15:00Z',
    candidates: [
      {
        id: 'c1',
        kind: 'code',
        summary: 'refresh-ahead',
        verdict: 'Passed',
        score: 20,
        patch: {
          configMap: 'mem-2-inputs',
          key: 'c1.diff',
          sha256: DIFF_SHA,
          files: 1,
          linesAdded: 10,
          linesRemoved: 2,
        },
      },
    ],
    selected: 'c1',
    gain: { objective: 'p99', predicted: 20, canary: -250, ratio: -12.5, message: 'canary against stable' },
  });
  operator = await startOperator('second');
  const second = await eventually(
    'the second cycle in the archive beside the first',
    async () => {
      const current = await getAgent(namespace, 'mem');
      return current.status?.archive?.length === 4 ? current : undefined;
    },
    30_000,
  );
  const archive = second.status?.archive ?? [];
  assert.deepEqual(
    archive.map((entry) => [entry.id, entry.verdict]),
    [
      ['mem-1/c1', 'Promoted'],
      ['mem-1/c2', 'Passed'],
      ['mem-1/c3', 'Failed'],
      ['mem-2/c1', 'RolledBack'],
    ],
  );
  const rolledBack = archive[3]!;
  assert.equal(rolledBack.diffSha256, DIFF_SHA);
  assert.match(rolledBack.reasons?.[0] ?? '', /^Rolled back in production: /);
  assert.equal(rolledBack.gain?.canary, -250);

  // One shortfall so far: said, but code changes are still approved as the policy says.
  const trust = second.status?.conditions?.find((condition) => condition.type === 'BenchmarkPredictive');
  assert.deepEqual([trust?.status, trust?.reason], ['True', 'OneShortfall']);

  // What a person sees.
  const shown = await kubectlPlugin('hyperagent', 'archive', 'mem', '-n', namespace);
  assert.equal(shown.code, 0, shown.stderr);
  assert.match(shown.stdout, /mem-2\/c1\s+code\s+RolledBack/);
  assert.match(shown.stdout, /mem-1\/c1\s+config\s+Promoted/);
});
