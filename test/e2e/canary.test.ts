// Canary delivery on the real cluster, judged by the real Prometheus under real traffic: a stable
// Deployment and Service of the echo fixture, a load generator pod sending requests through the
// Service (a new connection each, so kube-proxy spreads them over the ready pods), and the
// KubeCanaryDriver called the way the cycle reconciler calls it: each visit starts from the
// canary status the previous one returned, after the delay it asked for.
//
// One service, four cycles: a good version is promoted through every step with no failed
// request; a version that fails half its requests is rolled back (the test prints the time from
// the first failing measurement to the canary holding no traffic); Prometheus stopped mid-canary
// pauses the canary (onProviderError: Pause) until a user aborts it; with onProviderError:
// Rollback an unreachable Prometheus rolls the canary back (neither promotes); the in-cluster
// operator, killed mid-canary, resumes it from status with no second canary and nothing left over;
// and `kubectl hyperagent rollback --to` puts the first promoted image back under load.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { DiscoveryV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import pino from 'pino';
import {
  CANARY_REQUEST_ANNOTATIONS,
  CYCLES,
  ROLLBACK_ANNOTATION,
  ROLE_LABEL,
  type HyperAgent,
} from '../../operator/src/api/resources.js';
import type { CanaryStatus, HistoryEntry } from '../../operator/src/api/schema.js';
import { KubeEventRecorder } from '../../operator/src/kube/events.js';
import { createKubeClients } from '../../operator/src/kube/clients.js';
import type { CanaryOutcome, CycleContext } from '../../operator/src/cycle/ports.js';
import { KubeCanaryDriver } from '../../operator/src/rollout/kube-canary-driver.js';
import { OperatorMetrics } from '../../operator/src/telemetry/metrics.js';
import {
  agentManifest,
  core,
  createAgent,
  custom,
  freshNamespace,
  getAgent,
  kubeConfig,
  kubectl,
} from '../support/cluster.js';
import { kubectlPlugin } from '../support/plugin.js';
import { closedPort } from '../support/ports.js';
import { ECHO_IMAGE, apps, deleteNamespace } from '../support/workloads.js';
import {
  IN_CLUSTER_PROMETHEUS,
  countCanaryDeployments,
  driveCanary,
  killOperatorPod,
  operatorDeployment,
  persistCycleStatus,
  ownedByAgent,
  scaleOperator,
  seconds,
  sleep,
  startCanaryCycle,
  waitForCycle,
  type CycleFixture,
} from '../support/canary-cycles.js';
import {
  ECHO_FAULTS_IMAGE,
  deployStableEcho,
  loadBetween,
  startLoad,
  type EchoService,
  type LoadSummary,
} from '../support/echo-service.js';

const PROMETHEUS_URL = process.env.HYPERAGENT_PROMETHEUS_URL ?? 'http://127.0.0.1:9090';
const SERVICE = 'web';
const STABLE_REPLICAS = 3;

const discovery = kubeConfig.makeApiClient(DiscoveryV1Api);
const clients = createKubeClients(kubeConfig, () => {});
const metrics = new OperatorMetrics({ defaultMetrics: false });
const driver = new KubeCanaryDriver({
  clients,
  events: new KubeEventRecorder(clients.core, pino({ level: 'silent' }), 'e2e-canary'),
  metrics,
  weightDeadlineMs: 180_000,
});

let namespace: string;
/** The service the canaries deliver to. */
const echo = (): EchoService => ({ namespace, name: SERVICE });
/** The agent the cycles deliver for (suspended: the tests start its cycles). */
let agent: HyperAgent;
/** A Prometheus that is down: an address where nothing listens. */
let closedPrometheus: string;

/** Canary pods (`web-canary-<hash>-<id>`) only; the stable query of the same template never matches them. */
const CANARY_PODS = 'pod=~"{{canary}}-[a-z0-9]+-[a-z0-9]+"';
const ERROR_RATE = {
  name: 'error-rate',
  query: `(sum(rate(echo_requests_total{namespace="{{namespace}}", ${CANARY_PODS}, code=~"5.."}[20s])) or vector(0)) / sum(rate(echo_requests_total{namespace="{{namespace}}", ${CANARY_PODS}}[20s]))`,
  max: 0.05,
};
const TRAFFIC = {
  name: 'traffic',
  query: `sum(rate(echo_requests_total{namespace="{{namespace}}", ${CANARY_PODS}}[20s]))`,
  min: 0.5,
};

function rollout(analysis: Record<string, unknown> = {}) {
  return {
    steps: [
      { weight: 25, pause: '15s' },
      { weight: 50, pause: '15s' },
    ],
    analysis: {
      prometheus: { address: PROMETHEUS_URL },
      interval: '5s',
      inconclusiveLimit: 4,
      consecutiveErrorLimit: 2,
      metrics: [ERROR_RATE, TRAFFIC],
      ...analysis,
    },
  };
}

before(async () => {
  closedPrometheus = `http://127.0.0.1:${await closedPort()}`;
  namespace = await freshNamespace('e2e-canary');
  await deployStableEcho(echo(), { replicas: STABLE_REPLICAS });
  await startLoad(echo());
  agent = await createAgent(
    agentManifest(SERVICE, namespace, {
      suspend: true,
      target: { deployment: SERVICE, container: 'echo', service: SERVICE },
      source: { repo: 'file:///nonexistent/web.git' },
      improvement: {
        interval: '1h',
        parameters: [
          { name: 'version', env: 'VERSION', type: 'choice', choices: ['v1', 'v2', 'v3'] },
          { name: 'fault-rate', env: 'FAULT_RATE', type: 'number', min: 0, max: 1 },
        ],
      },
      rollout: rollout(),
    }),
  );
});

after(async () => {
  const text = await metrics.registry.metrics();
  console.log(
    text
      .split('\n')
      .filter((line) => /^hyperagent_(canary|analysis|rollbacks|promotions)/.test(line))
      .join('\n'),
  );
  if (process.env.HYPERAGENT_KEEP_NAMESPACE !== '1') await deleteNamespace(namespace);
});

test('a good version is promoted through every step under load with no failed request', async () => {
  const cycle = await startCycle('good', {
    candidate: { id: 'c1', kind: 'code', summary: 'the next version of the echo service' },
    image: ECHO_FAULTS_IMAGE,
    commit: 'abc1234',
    // the full values the candidate was evaluated with: the version it reports
    evaluated: { version: 'v2' },
  });
  const started = Date.now();
  const seen: string[] = [];
  const outcome = await drive(cycle, (state) => {
    seen.push(`${state.phase}/${state.stepIndex}/${state.weight}`);
  });
  const ended = Date.now();
  assert.equal(outcome.state, 'succeeded', JSON.stringify(outcome));
  assert.equal(outcome.state === 'succeeded' && outcome.result, 'Promoted', outcome.message);
  const canary = cycle.status.canary!;
  assert.equal(canary.phase, 'Promoted');
  for (const expected of ['Progressing/0/25', 'Progressing/1/50', 'Promoting/1/50', 'Promoted/1/0']) {
    assert.ok(seen.includes(expected), `${expected} in ${[...new Set(seen)].join(' ')}`);
  }
  // each step passed on successful measurements of both metrics
  const passed = canary.measurements.filter((m) => m.result === 'Successful');
  for (const step of [0, 1]) {
    for (const metric of ['error-rate', 'traffic']) {
      assert.ok(
        passed.some((m) => m.step === step && m.metric === metric),
        `${metric} passed in step ${step}`,
      );
    }
  }

  // the stable Deployment runs the revision; the canary is gone
  const stable = await apps.readNamespacedDeployment({ name: SERVICE, namespace });
  const container = stable.spec!.template.spec!.containers[0]!;
  assert.equal(container.image, ECHO_FAULTS_IMAGE);
  assert.equal(container.env?.find((e) => e.name === 'VERSION')?.value, 'v2');
  assert.equal(stable.spec!.template.metadata?.labels?.[ROLE_LABEL], 'stable');
  await assertNoCanary();

  // the ended cycle carries the revision with the figures that passed; once the cycle is the
  // agent's, the in-cluster operator (the one writer of the agent's status) records it in history
  const promotion = outcome.state === 'succeeded' ? outcome.status.promotion : undefined;
  assert.equal(promotion?.revision, `${cycle.name}-c1`);
  await persistPromoted(cycle, promotion!);
  const agent = await agentWhere(
    (a) => a.status?.stableRevision === `${cycle.name}-c1`,
    'records the promotion',
  );
  const entry = agent.status?.history?.[0];
  assert.deepEqual(entry, promotion);
  assert.equal(entry?.revision, `${cycle.name}-c1`);
  assert.equal(entry?.image, ECHO_FAULTS_IMAGE);
  assert.equal(entry?.commit, 'abc1234');
  assert.equal(entry?.cycle, cycle.name);
  if (await historyKeepsParameters()) assert.deepEqual(entry?.parameters, { version: 'v2' });
  else
    console.log('note: the installed HyperAgent CRD predates history parameters (apply crds/): not checked');
  assert.equal(entry?.metrics?.['error-rate'], 0);
  assert.ok((entry?.metrics?.traffic ?? 0) > 0.5);

  const load = await loadBetween(namespace, started, ended + 2000);
  console.log(
    `good version: promoted in ${seconds(ended - started)}; ${load.total} requests, ${load.failed} failed; canary share by step: ${shares(canary, load)}`,
  );
  assert.ok(load.total > 500, `the load generator sent ${load.total} requests`);
  assert.equal(load.failed, 0, `failed requests: ${JSON.stringify(load.failures)}`);
  assert.ok((load.byVersion.v2 ?? 0) > 0 && (load.byVersion.v1 ?? 0) > 0);
  await printEvents(cycle.name);
});

test('a version that fails under traffic is rolled back automatically; the stable version is untouched', async () => {
  const before = await apps.readNamespacedDeployment({ name: SERVICE, namespace });
  const cycle = await startCycle('bad', {
    candidate: {
      id: 'c1',
      kind: 'config',
      summary: 'fail half the requests',
      parameters: { 'fault-rate': '0.5' },
    },
  });
  const noTraffic = watchCanaryEndpoints();
  const started = Date.now();
  const outcome = await drive(cycle);
  const ended = Date.now();
  assert.equal(outcome.state === 'succeeded' && outcome.result, 'RolledBack', outcome.message);
  const canary = cycle.status.canary!;
  assert.equal(canary.decision?.action, 'Rollback');
  assert.equal(canary.decision?.reason, 'AnalysisFailed');
  assert.match(canary.decision?.message ?? '', /error-rate 0\.\d+ > max 0\.05/);
  assert.ok(!canary.measurements.some((m) => m.result === 'Failed' && m.step > 0), 'it never left step 1');
  const firstFailure = Date.parse(canary.measurements.find((m) => m.result === 'Failed')!.time);
  const tookTraffic = Date.parse(canary.weightReachedTime!);
  const drained = await noTraffic.after(firstFailure);
  await assertNoCanary();

  const stable = await apps.readNamespacedDeployment({ name: SERVICE, namespace });
  assert.equal(
    stable.metadata?.generation,
    before.metadata?.generation,
    'the stable Deployment was not changed',
  );
  assert.equal((await getAgent(namespace, SERVICE)).status?.history?.length, 1, 'nothing was promoted');

  const load = await loadBetween(namespace, started, ended);
  console.log(
    `bad version: no canary traffic ${seconds(drained - firstFailure)} after the first failing measurement, which came ${seconds(firstFailure - tookTraffic)} after the canary took traffic (interval 5s, scrape 5s); ${seconds(ended - started)} in all; ${load.failed} of ${load.total} requests failed`,
  );
  assert.ok(load.failed > 0, 'the bad version did fail requests');
  assert.ok(drained - firstFailure < 10_000, 'within one analysis interval plus one scrape');
  await printEvents(cycle.name);
});

test('Prometheus stopped mid-canary: the canary pauses (onProviderError: Pause), never promotes, and a user aborts it', async () => {
  const cycle = await startCycle(
    'blind',
    { candidate: { id: 'c1', kind: 'config', summary: 'the third version', parameters: { version: 'v3' } } },
    rollout({ onProviderError: 'Pause' }),
  );
  let stoppedAt = 0;
  const phases: string[] = [];
  const outcome = await drive(cycle, (state) => {
    phases.push(state.phase);
    if (!stoppedAt && state.stepIndex === 1 && state.weightReachedTime) {
      // step 1 passed on real measurements; now Prometheus goes away
      cycle.spec.agentSpec.rollout.analysis.prometheus.address = closedPrometheus;
      stoppedAt = Date.now();
    }
    return state.phase === 'Paused';
  });
  const pausedAt = Date.now();
  assert.equal(outcome.state, 'running');
  const canary = cycle.status.canary!;
  assert.equal(canary.pause?.cause, 'ProviderError');
  assert.match(
    canary.pause?.message ?? '',
    /could not be measured 3 times in a row.*cannot reach Prometheus at http:\/\/127\.0\.0\.1:\d+: fetch failed: connect ECONNREFUSED/,
  );
  assert.ok(
    pausedAt - stoppedAt < 30_000,
    `paused ${seconds(pausedAt - stoppedAt)} after Prometheus stopped`,
  );
  assert.ok(!phases.includes('Promoting'));
  const held = await apps.readNamespacedDeployment({ name: `${SERVICE}-canary`, namespace });
  assert.equal(held.status?.readyReplicas, STABLE_REPLICAS, 'the pause holds the 50% weight');

  // a pause is not an end: it holds until a user decides
  await annotateCycle(cycle.name, CANARY_REQUEST_ANNOTATIONS.abort, new Date().toISOString());
  const aborted = await drive(cycle);
  assert.equal(aborted.state === 'succeeded' && aborted.result, 'RolledBack', aborted.message);
  assert.equal(cycle.status.canary?.decision?.reason, 'AbortedByUser');
  await assertNoCanary();
  console.log(
    `Prometheus stopped: paused ${seconds(pausedAt - stoppedAt)} after it went away (3 errors at 5s intervals, consecutiveErrorLimit 2); aborted and rolled back in ${seconds(Date.now() - pausedAt)}`,
  );
  await printEvents(cycle.name);
});

test('Prometheus unreachable with onProviderError: Rollback: the canary is rolled back within 30 s', async () => {
  const cycle = await startCycle(
    'unmeasured',
    { candidate: { id: 'c1', kind: 'config', summary: 'the third version', parameters: { version: 'v3' } } },
    rollout({ onProviderError: 'Rollback', prometheus: { address: closedPrometheus } }),
  );
  const phases: string[] = [];
  let weightAt = 0;
  const outcome = await drive(cycle, (state) => {
    phases.push(state.phase);
    if (!weightAt && state.weightReachedTime) weightAt = Date.parse(state.weightReachedTime);
  });
  assert.equal(outcome.state === 'succeeded' && outcome.result, 'RolledBack', outcome.message);
  const canary = cycle.status.canary!;
  assert.equal(canary.decision?.reason, 'ProviderError');
  assert.ok(!phases.includes('Promoting'));
  assert.ok(canary.measurements.every((m) => m.result === 'Error'));
  const decided = Date.parse(canary.decision!.time);
  const rolledBack = Date.parse(canary.phaseStartTime);
  assert.ok(
    decided - weightAt < 30_000,
    `decided ${seconds(decided - weightAt)} after the canary took traffic`,
  );
  await assertNoCanary();
  console.log(
    `Prometheus unreachable: rollback decided ${seconds(decided - weightAt)} after the canary took traffic (${canary.measurements.length / 2} rounds of errors), canary removed ${seconds(rolledBack - decided)} later`,
  );
});

test('the in-cluster operator killed mid-canary resumes it from status: one canary, promoted once, nothing left over', async () => {
  const operator = await operatorDeployment();
  await scaleOperator(operator, 0);
  let restored = false;
  try {
    // The operator's own pod reaches Prometheus by its Service.
    const cycle = await startCycle(
      'restart',
      {
        candidate: { id: 'c1', kind: 'code', summary: 'the plain echo image, third version' },
        image: ECHO_IMAGE,
        evaluated: { version: 'v3' },
      },
      rollout({ prometheus: { address: IN_CLUSTER_PROMETHEUS } }),
      true,
    );
    await persistCycleStatus(cycle);
    const canaries = countCanaryDeployments(namespace, SERVICE);
    await scaleOperator(operator, 1);
    restored = true;

    const midway = await waitForCycle(
      namespace,
      cycle.name,
      (c) => (c.status?.canary?.stepIndex ?? 0) >= 1 && c.status?.canary?.phase === 'Progressing',
      180_000,
    );
    // the agent mirrors the running canary for `kubectl get ha` (Canary and Weight columns)
    for (const deadline = Date.now() + 15_000; ; await sleep(250)) {
      const mirrored = (await getAgent(namespace, SERVICE)).status?.canary;
      if (mirrored?.revision === `${cycle.name}-c1` && mirrored.weight > 0) break;
      assert.ok(Date.now() < deadline, `agent status.canary is ${JSON.stringify(mirrored)}`);
    }
    const killedAt = Date.now();
    const pod = await killOperatorPod();
    console.log(
      `operator pod ${pod} killed at step ${midway.status!.canary!.stepIndex + 1}, weight ${midway.status!.canary!.weight}%`,
    );

    const ended = await waitForCycle(
      namespace,
      cycle.name,
      (c) =>
        c.status?.phase === 'Promoted' || c.status?.phase === 'RolledBack' || c.status?.phase === 'Failed',
      300_000,
    );
    assert.equal(ended.status?.phase, 'Promoted', `${ended.status?.reason}: ${ended.status?.message}`);
    const most = await canaries.stop();
    assert.equal(most, 1, 'never more than one canary Deployment');
    await assertNoCanary();
    const revision = `${cycle.name}-c1`;
    const agent = await agentWhere((a) => a.status?.stableRevision === revision, 'records the promotion');
    assert.equal(
      agent.status?.history?.filter((entry) => entry.revision === revision).length,
      1,
      'recorded once',
    );
    const stable = await apps.readNamespacedDeployment({ name: SERVICE, namespace });
    const serving = stable.spec!.template.spec!.containers[0]!;
    assert.equal(serving.image, ECHO_IMAGE);
    assert.equal(serving.env?.find((e) => e.name === 'VERSION')?.value, 'v3');
    console.log(
      `operator restart: promoted ${seconds(Date.parse(ended.status!.completionTime!) - killedAt)} after the kill; at most ${most} canary Deployment`,
    );
  } finally {
    if (!restored) await scaleOperator(operator, 1);
  }
});

test('kubectl hyperagent rollback --to puts the earlier image back, under load, with no failed request', async () => {
  const before = await getAgent(namespace, SERVICE);
  const revisions = (before.status?.history ?? []).map((entry) => entry.revision);
  assert.deepEqual(revisions, [`${SERVICE}-restart-c1`, `${SERVICE}-good-c1`], 'two promotions so far');
  const started = Date.now();
  const asked = await kubectlPlugin(
    'hyperagent',
    'rollback',
    SERVICE,
    '--to',
    `${SERVICE}-good-c1`,
    '-n',
    namespace,
  );
  assert.equal(asked.code, 0, asked.stderr);
  const deadline = Date.now() + 120_000;
  for (;;) {
    const stable = await apps.readNamespacedDeployment({ name: SERVICE, namespace });
    const container = stable.spec!.template.spec!.containers[0]!;
    if (container.image === ECHO_FAULTS_IMAGE) {
      assert.equal(container.env?.find((e) => e.name === 'VERSION')?.value, 'v2');
      break;
    }
    assert.ok(Date.now() < deadline, 'the Deployment never got the earlier image back');
    await sleep(500);
  }
  await kubectl('-n', namespace, 'rollout', 'status', `deployment/${SERVICE}`, '--timeout=180s');
  const rolledOut = Date.now();
  const agent = await getAgent(namespace, SERVICE);
  assert.equal(agent.status?.stableRevision, `${SERVICE}-good-c1`);
  assert.equal(agent.metadata.annotations?.[ROLLBACK_ANNOTATION], undefined, 'the request was answered');
  assert.equal(agent.status?.history?.length, 2, 'a rollback does not rewrite history');
  const load = await loadBetween(namespace, started, rolledOut + 3000);
  const lastWindows = load.windows.slice(-2);
  console.log(
    `manual rollback: earlier image serving ${seconds(rolledOut - started)} after the request; ${load.total} requests, ${load.failed} failed; versions seen ${JSON.stringify(load.byVersion)}`,
  );
  assert.equal(load.failed, 0, `failed requests: ${JSON.stringify(load.failures)}`);
  assert.ok(
    lastWindows.every((w) => Object.keys(w.versions).every((v) => v === 'v2')),
    'only v2 answers at the end',
  );
});

// ---------------------------------------------------------------------------------------------

/**
 * Persists a cycle the test drove as the cycle reconciler would have (its status, ended), and makes
 * the agent its owner, as for the cycles the operator starts: the in-cluster operator then folds
 * what it delivered into the agent's status.
 */
async function persistPromoted(cycle: CycleContext, promotion: HistoryEntry): Promise<void> {
  const target = {
    group: CYCLES.group,
    version: CYCLES.version,
    plural: CYCLES.plural,
    namespace,
    name: cycle.name,
  };
  await custom.patchNamespacedCustomObject(
    {
      ...target,
      body: { metadata: await ownedByTheAgent() },
    },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
  await custom.patchNamespacedCustomObjectStatus(
    {
      ...target,
      body: {
        status: { ...cycle.status, phase: 'Promoted', promotion, completionTime: new Date().toISOString() },
      },
    },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
}

/** The label and owner reference the operator puts on the cycles it starts for the agent. */
function ownedByTheAgent(): ReturnType<typeof ownedByAgent> {
  return ownedByAgent(namespace, SERVICE);
}

/** The agent once `holds` says so (the operator writes its status soon after a cycle changes). */
async function agentWhere(holds: (agent: HyperAgent) => boolean, what: string): Promise<HyperAgent> {
  for (const deadline = Date.now() + 30_000; ; await sleep(250)) {
    const agent = await getAgent(namespace, SERVICE);
    if (holds(agent)) return agent;
    assert.ok(Date.now() < deadline, `the operator ${what}: agent status ${JSON.stringify(agent.status)}`);
  }
}

async function startCycle(
  name: string,
  fixture: CycleFixture,
  rolloutSpec: Record<string, unknown> = rollout(),
  /** Label the cycle and make the agent its owner, as the operator does for the cycles it starts. */
  owned = false,
): Promise<CycleContext> {
  await previousCanaryForgotten();
  return startCanaryCycle({ namespace, agent }, name, fixture, rolloutSpec, owned);
}

function drive(
  cycle: CycleContext,
  stop?: (state: CanaryStatus) => boolean | void,
  timeoutMs?: number,
): Promise<CanaryOutcome> {
  return driveCanary(driver, cycle, stop, timeoutMs);
}

/**
 * Waits until the rate windows of the queries no longer reach back to an earlier canary's pods:
 * they share the name prefix `web-canary-`, so for 20 s after a canary goes its series would be
 * measured as the next canary's (the operator's own cycles are minutes apart; these are not).
 */
async function previousCanaryForgotten(): Promise<void> {
  const query = `sum(rate(echo_requests_total{namespace="${namespace}", pod=~"${SERVICE}-canary-.*"}[20s]))`;
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; await sleep(1000)) {
    const response = await fetch(`${PROMETHEUS_URL}/api/v1/query?query=${encodeURIComponent(query)}`);
    const body = (await response.json()) as { data?: { result?: unknown[] } };
    if (body.data?.result?.length === 0) return;
  }
  assert.fail('the series of the previous canary are still in the rate window after 60 s');
}

/** Whether the HyperAgent CRD on the cluster keeps `parameters` in history entries (older ones prune it). */
async function historyKeepsParameters(): Promise<boolean> {
  const crd = JSON.parse(await kubectl('get', 'crd', 'hyperagents.hyperagents.io', '-o', 'json')) as {
    spec: { versions: { schema: { openAPIV3Schema: { properties: Record<string, unknown> } } }[] };
  };
  const status = crd.spec.versions[0]?.schema.openAPIV3Schema.properties.status as {
    properties: { history: { items: { properties: Record<string, unknown> } } };
  };
  return 'parameters' in status.properties.history.items.properties;
}

async function annotateCycle(name: string, key: string, value: string): Promise<void> {
  await kubectl('-n', namespace, 'annotate', 'improvementcycle', name, `${key}=${value}`, '--overwrite');
}

async function assertNoCanary(): Promise<void> {
  const list = await apps.listNamespacedDeployment({ namespace });
  assert.deepEqual(
    list.items.map((d) => d.metadata?.name),
    [SERVICE],
    'only the stable Deployment is left',
  );
  const pods = await core.listNamespacedPod({ namespace, labelSelector: `${ROLE_LABEL}=canary` });
  assert.deepEqual(
    pods.items.map((p) => p.metadata?.name),
    [],
    'no canary pod is left',
  );
}

/** Polls the Service's EndpointSlices: `after(t)` resolves with the first time after t no ready canary endpoint was left. */
function watchCanaryEndpoints(): { after(time: number): Promise<number> } {
  const empty: number[] = [];
  let stopped = false;
  const poll = (async () => {
    while (!stopped) {
      const slices = await discovery.listNamespacedEndpointSlice({
        namespace,
        labelSelector: `kubernetes.io/service-name=${SERVICE}`,
      });
      const ready = slices.items
        .flatMap((s) => s.endpoints ?? [])
        .filter((e) => e.conditions?.ready && e.targetRef?.name?.startsWith(`${SERVICE}-canary-`));
      if (ready.length === 0) empty.push(Date.now());
      await sleep(100);
    }
  })();
  return {
    async after(time: number) {
      const deadline = Date.now() + 60_000;
      while (!empty.some((t) => t >= time) && Date.now() < deadline) await sleep(100);
      stopped = true;
      await poll;
      const first = empty.find((t) => t >= time);
      assert.ok(first !== undefined, 'the canary endpoints never emptied');
      return first;
    },
  };
}

/** The canary's share of the requests answered in the interval before each round, by weight asked. */
function shares(canary: CanaryStatus, load: LoadSummary): string {
  const byWeight = new Map<number, { canary: number; all: number }>();
  for (const record of canary.measurements.filter((m) => m.metric === 'error-rate')) {
    const time = Date.parse(record.time);
    const seen = byWeight.get(record.weight) ?? { canary: 0, all: 0 };
    for (const w of load.windows.filter((w) => w.t > time - 5000 && w.t <= time)) {
      seen.canary += w.roles.canary ?? 0;
      seen.all += (w.roles.canary ?? 0) + (w.roles.stable ?? 0);
    }
    byWeight.set(record.weight, seen);
  }
  return [...byWeight.entries()]
    .map(
      ([weight, s]) =>
        `${weight}% asked, ${((100 * s.canary) / Math.max(1, s.all)).toFixed(1)}% of ${s.all} requests seen`,
    )
    .join('; ');
}

async function printEvents(cycle: string): Promise<void> {
  await sleep(500);
  const events = await core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.name=${cycle}` });
  const lines = events.items
    .filter((e) => e.source?.component === 'hyperagent-operator' && e.reportingInstance === 'e2e-canary')
    .sort((a, b) => Date.parse(String(a.firstTimestamp)) - Date.parse(String(b.firstTimestamp)))
    .map((e) => `  ${e.type} ${e.reason}: ${e.message?.slice(0, 200)}`);
  console.log(`events of ${cycle}:\n${lines.join('\n')}`);
}
