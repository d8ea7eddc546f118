// Canary cycles for the e2e tests that deliver to a service: a real ImprovementCycle in the Canary
// phase (owner of the canary, subject of its Events), the driver called the way the cycle
// reconciler calls it, and the in-cluster operator scaled, killed and waited for.
import assert from 'node:assert/strict';
import {
  PatchStrategy,
  Watch,
  setHeaderOptions,
  type V1EndpointSlice,
  type V1Pod,
} from '@kubernetes/client-node';
import {
  API_VERSION,
  AGENT_LABEL,
  CYCLES,
  type HyperAgent,
  type ImprovementCycle,
} from '../../operator/src/api/resources.js';
import type { CanaryStatus, ImprovementCycleStatus } from '../../operator/src/api/schema.js';
import type { CanaryOutcome, CycleContext } from '../../operator/src/cycle/ports.js';
import { cycleInputsConfigMap } from '../../operator/src/kube/cycle-inputs.js';
import type { KubeCanaryDriver } from '../../operator/src/rollout/kube-canary-driver.js';
import { core, custom, getAgent, kubeConfig, kubectl } from './cluster.js';
import { apps } from './workloads.js';

export const OPERATOR_NAMESPACE = 'hyperagent-system';
/** Prometheus as pods reach it (the harness's Service in front of the host's Prometheus). */
export const IN_CLUSTER_PROMETHEUS = 'http://prometheus.monitoring:9090';

/** What a cycle under test delivers: its selected candidate and what the build made of it. */
export interface CycleFixture {
  candidate: { id: string; kind: 'config' | 'code'; summary: string; parameters?: Record<string, string> };
  image?: string;
  commit?: string;
  /** The full parameter values the candidate was evaluated with (the cycle's inputs). */
  evaluated?: Record<string, string>;
}

/** The label and owner reference the operator puts on the cycles it starts for `agent`. */
export async function ownedByAgent(
  namespace: string,
  agent: string,
): Promise<Pick<ImprovementCycle['metadata'], 'labels' | 'ownerReferences'>> {
  const owner = await getAgent(namespace, agent);
  return {
    labels: { [AGENT_LABEL]: agent },
    ownerReferences: [
      {
        apiVersion: API_VERSION,
        kind: 'HyperAgent',
        name: agent,
        uid: owner.metadata.uid!,
        controller: true,
      },
    ],
  };
}

/**
 * Creates the cycle `<agent>-<name>` in the Canary phase with `fixture` selected (and its inputs
 * ConfigMap), and returns the context a reconciler would pass. `owned` labels it and makes the
 * agent its owner, as the operator does for the cycles it starts.
 */
export async function startCanaryCycle(
  where: { namespace: string; agent: HyperAgent },
  name: string,
  fixture: CycleFixture,
  rollout: Record<string, unknown>,
  owned = false,
): Promise<CycleContext> {
  const { namespace, agent } = where;
  const agentName = agent.metadata.name;
  const ownership = owned ? await ownedByAgent(namespace, agentName) : {};
  const created = (await custom.createNamespacedCustomObject({
    group: CYCLES.group,
    version: CYCLES.version,
    plural: CYCLES.plural,
    namespace,
    body: {
      apiVersion: API_VERSION,
      kind: CYCLES.kind,
      metadata: { name: `${agentName}-${name}`, namespace, ...ownership },
      spec: {
        agent: agentName,
        slot: new Date().toISOString(),
        agentGeneration: 1,
        // the API server fills in the defaults of the rollout written here
        agentSpec: { ...structuredClone(agent.spec), rollout },
      },
    },
  })) as ImprovementCycle;
  const uid = created.metadata.uid!;
  if (fixture.evaluated) {
    await core.createNamespacedConfigMap({
      namespace,
      body: cycleInputsConfigMap(
        { namespace, name: created.metadata.name, uid, agent: agentName },
        { [`${fixture.candidate.id}.parameters.json`]: JSON.stringify(fixture.evaluated) },
      ),
    });
  }
  const status: ImprovementCycleStatus = {
    phase: 'Canary',
    selected: fixture.candidate.id,
    candidates: [{ ...fixture.candidate, verdict: 'Passed', score: 1 }],
    ...(fixture.image ? { image: fixture.image } : {}),
    ...(fixture.commit ? { commit: fixture.commit } : {}),
  };
  return { namespace, name: created.metadata.name, uid, spec: created.spec, status };
}

/** Stores the status the context holds, so that the in-cluster operator takes the cycle from there. */
export async function persistCycleStatus(cycle: CycleContext): Promise<void> {
  await custom.patchNamespacedCustomObjectStatus(
    {
      group: CYCLES.group,
      version: CYCLES.version,
      plural: CYCLES.plural,
      namespace: cycle.namespace,
      name: cycle.name,
      body: { status: cycle.status },
    },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
}

/**
 * Calls advance() as the cycle reconciler does until the canary ends, fails, or `stop` says so:
 * each returned canary state is "persisted" into the context before the next visit.
 */
export async function driveCanary(
  driver: KubeCanaryDriver,
  cycle: CycleContext,
  stop: (state: CanaryStatus) => boolean | void = () => false,
  timeoutMs = 240_000,
): Promise<CanaryOutcome> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const outcome = await driver.advance(cycle);
    if (outcome.state === 'failed') return outcome;
    cycle.status = { ...cycle.status, canary: outcome.status.canary };
    if (stop(outcome.status.canary) || outcome.state === 'succeeded') return outcome;
    assert.ok(Date.now() < deadline, `the canary did not end in time: ${outcome.message}`);
    // the reconciler's requeue; its watch would come sooner only on a change to the cycle
    await sleep(Math.min(outcome.retryAfterMs ?? 10_000, 10_000));
  }
}

/** The cycle once `done` says so. */
export async function waitForCycle(
  namespace: string,
  name: string,
  done: (cycle: ImprovementCycle) => boolean,
  timeoutMs: number,
): Promise<ImprovementCycle> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const cycle = (await custom.getNamespacedCustomObject({
      group: CYCLES.group,
      version: CYCLES.version,
      plural: CYCLES.plural,
      namespace,
      name,
    })) as ImprovementCycle;
    if (done(cycle)) return cycle;
    assert.ok(Date.now() < deadline, `cycle ${name} is ${cycle.status?.phase}: ${cycle.status?.message}`);
    await sleep(500);
  }
}

/** Counts the Deployments other than `stable` every 200 ms; stop() gives the most seen at once. */
export function countCanaryDeployments(namespace: string, stable: string): { stop(): Promise<number> } {
  let most = 0;
  let stopped = false;
  const poll = (async () => {
    while (!stopped) {
      const list = await apps.listNamespacedDeployment({ namespace });
      most = Math.max(most, list.items.filter((d) => d.metadata?.name !== stable).length);
      await sleep(200);
    }
  })();
  return {
    async stop() {
      stopped = true;
      await poll;
      return most;
    },
  };
}

/** The in-cluster operator's Deployment. */
export async function operatorDeployment(): Promise<string> {
  const list = await apps.listNamespacedDeployment({
    namespace: OPERATOR_NAMESPACE,
    labelSelector: 'app.kubernetes.io/instance=hyperagent',
  });
  assert.equal(list.items.length, 1, 'one operator Deployment');
  return list.items[0]!.metadata!.name!;
}

export async function scaleOperator(name: string, replicas: number): Promise<void> {
  await kubectl('-n', OPERATOR_NAMESPACE, 'scale', `deployment/${name}`, `--replicas=${replicas}`);
  if (replicas > 0) {
    await kubectl('-n', OPERATOR_NAMESPACE, 'rollout', 'status', `deployment/${name}`, '--timeout=120s');
  } else {
    await kubectl(
      '-n',
      OPERATOR_NAMESPACE,
      'wait',
      '--for=delete',
      'pod',
      '-l',
      'app.kubernetes.io/instance=hyperagent',
      '--timeout=60s',
    );
  }
}

/** Deletes the operator's pod at once (grace 0), as a crash would; returns its name. */
export async function killOperatorPod(): Promise<string> {
  const [pod] = (
    await core.listNamespacedPod({
      namespace: OPERATOR_NAMESPACE,
      labelSelector: 'app.kubernetes.io/instance=hyperagent',
    })
  ).items;
  await core.deleteNamespacedPod({
    name: pod!.metadata!.name!,
    namespace: OPERATOR_NAMESPACE,
    gracePeriodSeconds: 0,
  });
  return pod!.metadata!.name!;
}

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Watches a gateway-routed canary's pods and its Service's EndpointSlices from here (times in ms
 * since the epoch, as the load generator's): when the first canary pod
 * turned Ready, and when a ready canary endpoint was last listed.
 */
export async function watchCanary(
  namespace: string,
  service: string,
): Promise<{ firstReady?: number; lastEndpoint?: number; stop(): void }> {
  const seen: { firstReady?: number; lastEndpoint?: number; endpoints: boolean } = { endpoints: false };
  const watch = new Watch(kubeConfig);
  const pods = await watch.watch(
    `/api/v1/namespaces/${namespace}/pods`,
    { labelSelector: 'hyperagents.io/role=canary' },
    (_type: string, pod: V1Pod) => {
      const ready = pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
      if (ready && seen.firstReady === undefined) seen.firstReady = Date.now();
    },
    () => {},
  );
  const slices = await watch.watch(
    `/apis/discovery.k8s.io/v1/namespaces/${namespace}/endpointslices`,
    { labelSelector: `kubernetes.io/service-name=${service}-canary` },
    (type: string, slice: V1EndpointSlice) => {
      const ready = type !== 'DELETED' && (slice.endpoints ?? []).some((e) => e.conditions?.ready !== false);
      if (ready) seen.endpoints = true;
      else if (seen.endpoints) {
        seen.endpoints = false;
        seen.lastEndpoint = Date.now();
      }
    },
    () => {},
  );
  return {
    get firstReady() {
      return seen.firstReady;
    },
    get lastEndpoint() {
      return seen.endpoints ? undefined : seen.lastEndpoint;
    },
    stop() {
      pods.abort();
      slices.abort();
    },
  };
}
