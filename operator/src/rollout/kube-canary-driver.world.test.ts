// The driver against a simulated world (a traffic router with a lag, the stable Deployment, the
// agent, a Prometheus that always answers well) and a reconciler whose status write after a visit
// is lost at random, as when the operator dies between advance() and the write. Whatever is lost,
// the world never runs ahead of the persisted state: a weight is set only when the persisted state
// holds it, the stable Deployment is patched only once Promoting is persisted, and the canary
// still ends Promoted, carrying its revision's history entry. The driver never writes the agent:
// that is the HyperAgent reconciler's (controller/agent-plan.ts withPromotions).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { V1Container, V1Deployment } from '@kubernetes/client-node';
import type { HyperAgent } from '../api/resources.js';
import type { CanaryStatus } from '../api/schema.js';
import type { KubeClients } from '../kube/clients.js';
import type { CycleContext } from '../cycle/ports.js';
import { defaultedMinimalSpec } from '../../../test/support/agents.js';
import { KubeCanaryDriver } from './kube-canary-driver.js';
import type { CanaryTarget, TrafficRouter, TrafficState } from './traffic-router.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');

const SPEC = defaultedMinimalSpec({
  target: { deployment: 'web', service: 'web' },
  improvement: {
    interval: '1h',
    parameters: [{ name: 'mode', env: 'MODE', type: 'choice', choices: ['fast', 'safe'] }],
  },
  rollout: {
    steps: [
      { weight: 25, pause: '10s' },
      { weight: 50, pause: '10s' },
    ],
    analysis: {
      interval: '5s',
      metrics: [{ name: 'error-rate', query: 'errors{pod=~"{{canary}}-.*"}', max: 0.05 }],
    },
  },
});

const notFound = () => Object.assign(new Error('not found'), { code: 404 });

class World {
  persisted: CanaryStatus | undefined;
  stable: V1Deployment = {
    metadata: { name: 'web', namespace: 'shop', generation: 1 },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: 'web' } },
      template: {
        spec: { containers: [{ name: 'web', image: 'web:1', env: [{ name: 'MODE', value: 'safe' }] }] },
      },
    },
    status: {
      observedGeneration: 1,
      replicas: 3,
      updatedReplicas: 3,
      availableReplicas: 3,
      readyReplicas: 3,
    },
  };
  agent = {
    metadata: { name: 'web', namespace: 'shop', resourceVersion: '1' },
    spec: SPEC,
    status: {},
  } as HyperAgent;
  canary: { weight: number; readyIn: number } | undefined;
  violations: string[] = [];
  stablePatches = 0;
  agentWrites = 0;

  router: TrafficRouter = {
    observe: async (): Promise<TrafficState> => {
      if (!this.canary) return { weight: 0, canaryPresent: false, detail: 'none' };
      if (this.canary.readyIn > 0) this.canary.readyIn -= 1;
      return this.canary.readyIn === 0
        ? { weight: this.canary.weight, canaryPresent: true, detail: 'ready' }
        : { canaryPresent: true, detail: 'starting' };
    },
    setWeight: async (_target: CanaryTarget, weight: number) => {
      if (this.persisted?.weight !== weight)
        this.violations.push(`weight ${weight} set before it was persisted`);
      if (this.canary?.weight !== weight) this.canary = { weight, readyIn: 2 };
    },
    removeCanary: async () => {
      const phase = this.persisted?.phase;
      if (phase !== 'Promoting' && phase !== 'RollingBack')
        this.violations.push(`canary removed in ${phase}`);
      this.canary = undefined;
    },
    release: async () => {
      this.canary = undefined;
    },
    check: async () => [],
  };

  clients = {
    apps: {
      readNamespacedDeployment: async () => structuredClone(this.stable),
      patchNamespacedDeployment: async (args: {
        body: { spec?: { template: { spec: { containers: V1Container[] } } } };
      }) => {
        if (this.persisted?.phase !== 'Promoting')
          this.violations.push(`stable patched in ${this.persisted?.phase}`);
        this.stablePatches += 1;
        const container = args.body.spec?.template.spec.containers[0];
        if (container) this.stable.spec!.template.spec!.containers[0] = { ...container, name: 'web' };
        return this.stable;
      },
    },
    core: { readNamespacedConfigMap: async () => Promise.reject(notFound()) },
    custom: {
      getNamespacedCustomObject: async () => structuredClone(this.agent),
      replaceNamespacedCustomObjectStatus: async (args: { body: HyperAgent }) => {
        this.agentWrites += 1;
        this.agent = { ...args.body, metadata: { ...args.body.metadata, resourceVersion: 'next' } };
        return this.agent;
      },
    },
  } as unknown as KubeClients;
}

function context(world: World): CycleContext & { annotations: Record<string, string> } {
  return {
    namespace: 'shop',
    name: 'web-1',
    uid: 'cycle-uid',
    spec: { agent: 'web', slot: new Date(T0).toISOString(), agentGeneration: 1, agentSpec: SPEC },
    status: {
      phase: 'Canary',
      selected: 'c1',
      candidates: [{ id: 'c1', kind: 'config', summary: 'fast mode', parameters: { mode: 'fast' } }],
      image: 'web:1',
      ...(world.persisted ? { canary: world.persisted } : {}),
    },
    annotations: {},
  };
}

test('lost status writes never let the world run ahead of the persisted canary state', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(fc.boolean(), { minLength: 200, maxLength: 200 }), async (lost) => {
      const world = new World();
      let clock = T0;
      let promotion: unknown;
      const driver = new KubeCanaryDriver({
        clients: world.clients,
        routers: { replicaRatio: () => world.router },
        metricProviders: { prometheus: () => ({ measure: async () => ({ kind: 'value', value: 0.01 }) }) },
        now: () => new Date(clock),
      });
      for (let visit = 0; ; visit++) {
        assert.ok(visit < 400, 'the canary ends');
        const outcome = await driver.advance(context(world));
        assert.notEqual(outcome.state, 'failed', JSON.stringify(outcome));
        if (outcome.state === 'failed') return;
        if (!lost[visit % lost.length]) world.persisted = outcome.status.canary;
        if (outcome.state === 'succeeded') {
          promotion = outcome.status.promotion;
          if (!lost[visit % lost.length]) break;
          continue; // the reconciler failed to end the cycle: it visits again
        }
        clock += Math.max(outcome.retryAfterMs ?? 0, 100);
      }
      assert.deepEqual(world.violations, []);
      assert.equal(world.persisted?.phase, 'Promoted');
      assert.equal(world.canary, undefined);
      assert.equal(world.stablePatches, 1);
      assert.deepEqual(world.stable.spec!.template.spec!.containers[0]!.env, [
        { name: 'MODE', value: 'fast' },
      ]);
      const entry = promotion as { revision: string; parameters: unknown; metrics: unknown; image: string };
      assert.deepEqual(
        [entry.revision, entry.image, entry.parameters, entry.metrics],
        ['web-1-c1', 'web:1', { mode: 'fast' }, { 'error-rate': 0.01 }],
      );
      assert.equal(world.agentWrites, 0, 'the driver never writes the agent');
    }),
    { numRuns: 40 },
  );
});
