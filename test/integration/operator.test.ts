// The operator against a real API server, driven only through the API as a user would.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { findCondition } from '../../operator/src/controller/conditions.js';
import {
  agentManifest,
  core,
  createAgent,
  eventually,
  freshNamespace,
  getAgent,
  kubectl,
  listCycles,
  patchAgentSpec,
  custom,
  kubeConfig,
} from '../support/cluster.js';

const apps = kubeConfig.makeApiClient(AppsV1Api);
import { OperatorProcess } from '../support/operator-process.js';
import { AppsV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { HYPERAGENTS, ROLLBACK_ANNOTATION } from '../../operator/src/api/resources.js';
import { kubectlPlugin } from '../support/plugin.js';

describe('one operator', () => {
  let namespace: string;
  let operator: OperatorProcess;

  before(async () => {
    namespace = await freshNamespace('op');
    operator = new OperatorProcess({ identity: 'solo', leaseNamespace: namespace });
    await operator.start();
    await operator.waitReady();
  });
  after(async () => {
    await operator.kill('SIGTERM');
  });

  test('an applied agent gets one cycle, which fails saying why its source cannot be read', async () => {
    await createAgent(agentManifest('quote', namespace));
    const cycles = await eventually(
      'a failed cycle',
      async () => {
        const list = await listCycles(namespace);
        return list.length === 1 && list[0]?.status?.phase === 'Failed' ? list : undefined;
      },
      60_000,
    );
    const cycle = cycles[0]!;
    assert.equal(cycle.status?.reason, 'SourceUnavailable');
    assert.match(
      cycle.status?.message ?? '',
      /cannot clone https:\/\/git\.example\.com\/shop\/quote-service\.git/,
    );
    assert.equal(cycle.spec.agent, 'quote');
    assert.equal(cycle.spec.agentSpec.goal, 'reduce p99 latency of GET /quote');
    assert.equal(cycle.metadata.ownerReferences?.[0]?.kind, 'HyperAgent');

    const agent = await eventually('agent status after the cycle', async () => {
      const a = await getAgent(namespace, 'quote');
      return a.status?.lastCycle?.phase === 'Failed' ? a : undefined;
    });
    assert.equal(agent.status?.phase, 'Idle');
    assert.equal(agent.status?.observedGeneration, agent.metadata.generation);
    assert.equal(findCondition(agent.status?.conditions, 'Ready')?.status, 'True');
    assert.equal(findCondition(agent.status?.conditions, 'Progressing')?.status, 'False');
    const degraded = findCondition(agent.status?.conditions, 'Degraded');
    assert.deepEqual([degraded?.status, degraded?.reason], ['True', 'SourceUnavailable']);

    const events = await eventually('events for the agent and its cycle', async () => {
      const list = await core.listNamespacedEvent({ namespace });
      const reasons = list.items.map((e) => `${e.involvedObject.kind}/${e.reason}`);
      return reasons.includes('HyperAgent/CycleCreated') &&
        reasons.includes('ImprovementCycle/SourceUnavailable')
        ? reasons
        : undefined;
    });
    assert.ok(events.length >= 2);
  });

  test('kubectl shows the printer columns and explains the API', async () => {
    const table = await kubectl('get', 'ha', '-n', namespace);
    assert.match(table.split('\n')[0] ?? '', /^NAME\s+PHASE\s+STABLE\s+CANARY\s+WEIGHT\s+AGE/);
    assert.match(table, /quote\s+Idle/);
    const cycles = await kubectl('get', 'hacycle', '-n', namespace);
    assert.match(cycles.split('\n')[0] ?? '', /^NAME\s+AGENT\s+PHASE\s+REASON\s+SELECTED\s+WEIGHT\s+AGE/);
    const explained = await eventually('kubectl explain', () =>
      kubectl('explain', 'hyperagent.spec.rollout.analysis').catch(() => undefined),
    );
    assert.match(explained, /How the canary is judged from Prometheus measurements/);
    assert.match(explained, /onNoData.*\n.*\n?.*no data never counts as success/);
  });

  test('a spec edit is observed without starting a second cycle for the same slot', async () => {
    await patchAgentSpec(namespace, 'quote', { goal: 'reduce p99 latency of GET /quote by caching' });
    const agent = await eventually('observedGeneration 2', async () => {
      const a = await getAgent(namespace, 'quote');
      return a.status?.observedGeneration === 2 ? a : undefined;
    });
    assert.equal(findCondition(agent.status?.conditions, 'Ready')?.observedGeneration, 2);
    assert.equal((await listCycles(namespace)).length, 1);
  });

  test('a cycle spec is frozen: the API server refuses edits', async () => {
    const [cycle] = await listCycles(namespace);
    await assert.rejects(
      kubectl(
        'patch',
        'hacycle',
        cycle!.metadata.name,
        '-n',
        namespace,
        '--type',
        'merge',
        '-p',
        '{"spec":{"agentGeneration":9}}',
      ),
      /an ImprovementCycle spec is frozen/,
    );
  });

  test('kubectl hyperagent run starts one more cycle outside the schedule, once per request', async () => {
    // the first test left agent quote with one finished cycle and its next slot hours away
    assert.equal((await listCycles(namespace)).length, 1);
    const run = await kubectlPlugin('hyperagent', 'run', 'quote', '-n', namespace);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /a cycle was requested; it starts now/);
    const cycles = await eventually(
      'a second cycle, ended',
      async () => {
        const list = await listCycles(namespace);
        return list.length === 2 && list.every((c) => c.status?.phase === 'Failed') ? list : undefined;
      },
      60_000,
    );
    const agent = await getAgent(namespace, 'quote');
    const requested = Date.parse(agent.metadata.annotations?.['hyperagents.io/run'] ?? '');
    const newest = cycles.map((c) => Date.parse(c.spec.slot)).sort((a, b) => b - a)[0]!;
    assert.ok(newest >= requested, 'the new cycle answers the request');
    // the request was answered: no third cycle follows from it
    await new Promise((resolve) => setTimeout(resolve, 3000));
    assert.equal((await listCycles(namespace)).length, 2);
  });

  test('a suspended agent starts no cycle', async () => {
    await createAgent(agentManifest('paused', namespace, { suspend: true }));
    const agent = await eventually('a Suspended phase', async () => {
      const a = await getAgent(namespace, 'paused');
      return a.status?.phase === 'Suspended' ? a : undefined;
    });
    assert.equal(findCondition(agent.status?.conditions, 'Ready')?.reason, 'Suspended');
    assert.equal((await listCycles(namespace)).filter((c) => c.spec.agent === 'paused').length, 0);
    // Resuming starts the cycle of the current slot.
    await patchAgentSpec(namespace, 'paused', { suspend: false });
    await eventually('a cycle after resume', async () => {
      const list = (await listCycles(namespace)).filter((c) => c.spec.agent === 'paused');
      return list.length === 1 ? list : undefined;
    });
  });

  test('deleting an agent removes its cycles (owner references, garbage collector)', async () => {
    await custom.deleteNamespacedCustomObject({ ...HYPERAGENTS, namespace, name: 'quote' });
    await eventually(
      'the cycles of the deleted agent to go',
      async () => ((await listCycles(namespace)).some((c) => c.spec.agent === 'quote') ? undefined : true),
      30_000,
    );
  });

  test('kubectl hyperagent rollback --to puts an earlier revision back on the Deployment, once', async () => {
    await apps.createNamespacedDeployment({
      namespace,
      body: {
        metadata: { name: 'api' },
        spec: {
          replicas: 0,
          selector: { matchLabels: { app: 'api' } },
          template: {
            metadata: { labels: { app: 'api' } },
            spec: {
              containers: [
                {
                  name: 'api',
                  image: 'registry.example/api:r2',
                  env: [{ name: 'CACHE_SIZE', value: '512' }],
                },
              ],
            },
          },
        },
      },
    });
    await createAgent(
      agentManifest('api', namespace, {
        target: { deployment: 'api' },
        suspend: true,
        improvement: {
          interval: '6h',
          parameters: [{ name: 'cache-size', env: 'CACHE_SIZE', type: 'integer', min: 1, max: 1024 }],
        },
      }),
    );
    const history = [
      {
        revision: 'r2',
        cycle: 'api-2',
        promotedAt: '2026-11-26T02:00:00Z',
        image: 'registry.example/api:r2',
        parameters: { 'cache-size': '512' },
      },
      {
        revision: 'r1',
        cycle: 'api-1',
        promotedAt: '2026-11-26T01:00:00Z',
        image: 'registry.example/api:r1',
        parameters: { 'cache-size': '128' },
      },
    ];
    await custom.patchNamespacedCustomObjectStatus(
      { ...HYPERAGENTS, namespace, name: 'api', body: { status: { stableRevision: 'r2', history } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );

    const unknown = await kubectlPlugin('hyperagent', 'rollback', 'api', '--to', 'r9', '-n', namespace);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /revision r9 is not in the history of api; known: r2, r1/);

    const asked = await kubectlPlugin('hyperagent', 'rollback', 'api', '--to', 'r1', '-n', namespace);
    assert.equal(asked.code, 0, asked.stderr);
    const container = await eventually(
      'the Deployment to run r1',
      async () => {
        const api = await apps.readNamespacedDeployment({ name: 'api', namespace });
        const first = api.spec?.template.spec?.containers[0];
        return first?.image === 'registry.example/api:r1' ? first : undefined;
      },
      30_000,
    );
    assert.deepEqual(
      container.env?.map(({ name, value }) => ({ name, value })),
      [{ name: 'CACHE_SIZE', value: '128' }],
    );
    const agent = await eventually('stable r1 and the request answered', async () => {
      const current = await getAgent(namespace, 'api');
      return current.status?.stableRevision === 'r1' && !current.metadata.annotations?.[ROLLBACK_ANNOTATION]
        ? current
        : undefined;
    });
    assert.equal(agent.status?.history?.length, 2, 'a rollback does not rewrite history');
    const reasons = await eventually('a RolledBackTo event', async () => {
      const list = await core.listNamespacedEvent({ namespace, fieldSelector: 'involvedObject.name=api' });
      const found = list.items.filter((e) => e.reason === 'RolledBackTo');
      return found.length > 0 ? found : undefined;
    });
    assert.match(
      reasons[0]!.message ?? '',
      /Deployment api runs revision r1 again \(registry\.example\/api:r1\)/,
    );
    const again = await kubectlPlugin('hyperagent', 'rollback', 'api', '--to', 'r1', '-n', namespace);
    assert.equal(again.stdout, 'api already runs revision r1; nothing to do\n');
  });

  test('the operator exposes reconcile, queue and cycle metrics', async () => {
    assert.ok((await operator.metric('hyperagent_reconcile_total', { controller: 'hyperagent' })) > 0);
    assert.ok((await operator.metric('hyperagent_reconcile_duration_seconds_count')) > 0);
    assert.equal(await operator.metric('hyperagent_leader'), 1);
    // Cycles now clone their repository first: the unreachable one fails after git gives up.
    await eventually(
      'a Failed cycle in the metrics',
      async () => ((await operator.metric('hyperagent_cycles', { phase: 'Failed' })) >= 1 ? true : undefined),
      60_000,
    );
    assert.ok((await operator.metric('process_resident_memory_bytes')) > 0);
  });
});

describe('restarts', () => {
  test('killing the operator mid-work and starting it again never creates a second cycle for a slot', async () => {
    const namespace = await freshNamespace('restart');
    const names = Array.from({ length: 15 }, (_, i) => `agent-${i}`);
    let operator = new OperatorProcess({ identity: 'first', leaseNamespace: namespace, leaderElect: false });
    await operator.start();
    await operator.waitReady();
    // Agents arrive while the operator works; it is killed without warning in the middle.
    const creating = Promise.all(names.map((name) => createAgent(agentManifest(name, namespace))));
    await new Promise((resolve) => setTimeout(resolve, 150));
    await operator.kill('SIGKILL');
    await creating;
    for (let round = 0; round < 3; round++) {
      operator = new OperatorProcess({
        identity: `again-${round}`,
        leaseNamespace: namespace,
        leaderElect: false,
      });
      await operator.start();
      await new Promise((resolve) => setTimeout(resolve, 100 + round * 150));
      await operator.kill('SIGKILL');
    }
    operator = new OperatorProcess({ identity: 'last', leaseNamespace: namespace, leaderElect: false });
    await operator.start();
    await operator.waitReady();
    try {
      // Every agent edited after the restarts: each must be reconciled again (observedGeneration 2).
      for (const name of names) await patchAgentSpec(namespace, name, { goal: 'a new goal' });
      await eventually(
        'every agent reconciled after the restarts',
        async () => {
          const list = (await custom.listNamespacedCustomObject({ ...HYPERAGENTS, namespace })) as {
            items: { status?: { observedGeneration?: number } }[];
          };
          return list.items.every((a) => a.status?.observedGeneration === 2) ? true : undefined;
        },
        30_000,
      );
      const cycles = await listCycles(namespace);
      const perAgent = new Map<string, number>();
      for (const c of cycles) perAgent.set(c.spec.agent, (perAgent.get(c.spec.agent) ?? 0) + 1);
      assert.deepEqual(
        names.map((n) => [n, perAgent.get(n) ?? 0]),
        names.map((n) => [n, 1]),
        'exactly one cycle per agent and slot',
      );
      const slots = new Set(cycles.map((c) => `${c.spec.agent}@${c.spec.slot}`));
      assert.equal(slots.size, cycles.length);
    } finally {
      await operator.kill('SIGTERM');
    }
  });
});

describe('two replicas', () => {
  test('only the leader reconciles; the follower takes over when the leader dies', async () => {
    const namespace = await freshNamespace('leader');
    const a = new OperatorProcess({ identity: 'replica-a', leaseNamespace: namespace });
    const b = new OperatorProcess({ identity: 'replica-b', leaseNamespace: namespace });
    await Promise.all([a.start(), b.start()]);
    try {
      await Promise.all([a.waitReady(), b.waitReady()]);
      const leaderIs = async () => {
        const [la, lb] = [await a.metric('hyperagent_leader'), await b.metric('hyperagent_leader')];
        return la + lb === 1
          ? la === 1
            ? { leader: a, follower: b }
            : { leader: b, follower: a }
          : undefined;
      };
      const { leader, follower } = await eventually('exactly one leader', leaderIs);

      await createAgent(agentManifest('led', namespace));
      await eventually('a cycle from the leader', async () =>
        (await listCycles(namespace)).length === 1 ? true : undefined,
      );
      // Give the follower every chance to act wrongly: several of its retry periods.
      await new Promise((resolve) => setTimeout(resolve, 2000));
      assert.ok((await leader.metric('hyperagent_reconcile_total')) > 0, 'the leader reconciled');
      assert.equal(await follower.metric('hyperagent_reconcile_total'), 0, 'the follower never reconciled');
      assert.equal(await follower.metric('hyperagent_leader'), 0);

      const crashedAt = Date.now();
      await leader.kill('SIGKILL');
      await eventually(
        'the follower to lead',
        async () => ((await follower.metric('hyperagent_leader')) === 1 ? true : undefined),
        15_000,
      );
      const failover = Date.now() - crashedAt;
      console.log(`fail-over after a crashed leader: ${failover} ms (lease duration 3 s)`);
      await createAgent(agentManifest('after', namespace));
      await eventually('a cycle from the new leader', async () =>
        (await listCycles(namespace)).some((c) => c.spec.agent === 'after') ? true : undefined,
      );
      assert.ok((await follower.metric('hyperagent_reconcile_total')) > 0);
      assert.equal((await listCycles(namespace)).filter((c) => c.spec.agent === 'led').length, 1);
    } finally {
      await Promise.all([a.kill('SIGTERM'), b.kill('SIGTERM')]);
    }
  });
});
