// Canary delivery through the Gateway API on the real cluster: Traefik (built from its Go module)
// implements the HTTPRoute, the load generator sends every request through the gateway, and the
// analysis judges the canary by what the gateway measured per backend, from outside the service.
//
// One service, three cycles: a good version goes through 5%, 20% and 50% (the share of requests
// the load generator sees answered by canary pods is printed per step, and must be within 3
// points of each weight), with requests carrying the smoke-test header answered by the canary
// alone from the moment it is ready, and is promoted with no failed request; a version that fails
// half its requests, and forges its own metrics to hide it, is rolled back on the gateway's error
// ratio while its own counters show no error; the same version, judged by the in-cluster operator
// on the gateway's counters read directly, loses its traffic within seconds of its pod being
// ready; the in-cluster operator, killed mid-canary, resumes with at most one canary. After each
// the route is the user's route again.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pino from 'pino';
import { type HyperAgent } from '../../operator/src/api/resources.js';
import type { CanaryStatus } from '../../operator/src/api/schema.js';
import type { CycleContext } from '../../operator/src/cycle/ports.js';
import { createKubeClients } from '../../operator/src/kube/clients.js';
import { KubeEventRecorder } from '../../operator/src/kube/events.js';
import { HTTP_ROUTE, type HttpRoute } from '../../operator/src/rollout/http-route.js';
import { KubeCanaryDriver } from '../../operator/src/rollout/kube-canary-driver.js';
import {
  IN_CLUSTER_PROMETHEUS,
  countCanaryDeployments,
  driveCanary,
  killOperatorPod,
  operatorDeployment,
  persistCycleStatus,
  scaleOperator,
  seconds,
  sleep,
  startCanaryCycle,
  waitForCycle,
  watchCanary,
  type CycleFixture,
} from '../support/canary-cycles.js';
import { agentManifest, core, createAgent, custom, freshNamespace, kubeConfig } from '../support/cluster.js';
import {
  ECHO_FAULTS_IMAGE,
  deployStableEcho,
  loadBetween,
  startLoad,
  type EchoService,
  type LoadWindow,
} from '../support/echo-service.js';
import { ECHO_IMAGE, apps, applyJson, deleteNamespace } from '../support/workloads.js';

const PROMETHEUS_URL = process.env.HYPERAGENT_PROMETHEUS_URL ?? 'http://127.0.0.1:9090';
const GATEWAY_URL = process.env.HYPERAGENT_GATEWAY_URL ?? 'http://traefik.traefik.svc.cluster.local/';
const SERVICE = 'web';
const STABLE_REPLICAS = 2;
const SMOKE = { name: 'X-Canary', value: 'always' };

const driver = new KubeCanaryDriver({
  clients: createKubeClients(kubeConfig, () => {}),
  events: new KubeEventRecorder(core, pino({ level: 'silent' }), 'e2e-gateway'),
  weightDeadlineMs: 180_000,
});

let namespace: string;
let agent: HyperAgent;
/** The user's rules as the API server stored them, defaults filled in: what every canary must give back. */
let storedRules: unknown;
const echo = (): EchoService => ({ namespace, name: SERVICE });
const host = (): string => `${SERVICE}.${namespace}.example`;

// What the gateway measured for the canary's backend: Traefik labels its series for a backend
// `<namespace>-<Service>-<port name>-<port>@kubernetesgateway`.
const CANARY_BACKEND = 'service="{{namespace}}-{{canaryService}}-http-80@kubernetesgateway"';
const GATEWAY_ERRORS = {
  name: 'gateway-errors',
  query: `(sum(rate(traefik_service_requests_total{${CANARY_BACKEND}, code=~"5.."}[20s])) or vector(0)) / sum(rate(traefik_service_requests_total{${CANARY_BACKEND}}[20s]))`,
  max: 0.05,
};
// The same counts read straight from the gateway's metrics port and judged sequentially.
const GATEWAY_COUNTERS = 'http://traefik.traefik.svc.cluster.local:9100/metrics';
const GATEWAY_FAILED_SHARE = {
  name: 'gateway-failed-share',
  failureRatio: {
    failed: `sum(traefik_service_requests_total{${CANARY_BACKEND}, code=~"5.."})`,
    total: `sum(traefik_service_requests_total{${CANARY_BACKEND}})`,
  },
  max: 0.05,
};
const GATEWAY_TRAFFIC = {
  name: 'gateway-traffic',
  query: `sum(rate(traefik_service_requests_total{${CANARY_BACKEND}}[20s]))`,
  min: 0.3,
};

function rollout(analysis: Record<string, unknown> = {}) {
  return {
    steps: [
      { weight: 5, pause: '15s' },
      { weight: 20, pause: '15s' },
      { weight: 50, pause: '15s' },
    ],
    trafficRouting: { gatewayAPI: { httpRoute: SERVICE, header: SMOKE } },
    analysis: {
      prometheus: { address: PROMETHEUS_URL },
      interval: '5s',
      inconclusiveLimit: 6,
      consecutiveErrorLimit: 2,
      metrics: [GATEWAY_ERRORS, GATEWAY_TRAFFIC],
      ...analysis,
    },
  };
}

/** The user's route: every request for the test's host to the stable Service. */
function userRoute(): HttpRoute {
  return {
    apiVersion: `${HTTP_ROUTE.group}/${HTTP_ROUTE.version}`,
    kind: HTTP_ROUTE.kind,
    metadata: { name: SERVICE, namespace },
    spec: {
      parentRefs: [{ name: 'hyperagent', namespace: 'traefik' }],
      hostnames: [host()],
      rules: [{ backendRefs: [{ name: SERVICE, port: 80 }] }],
    },
  };
}

before(async () => {
  namespace = await freshNamespace('e2e-gateway');
  await deployStableEcho(echo(), { replicas: STABLE_REPLICAS });
  await applyJson([userRoute()]);
  storedRules = (await readRoute()).spec.rules;
  await startLoad(echo(), { url: GATEWAY_URL, host: host(), smokeHeader: `${SMOKE.name}:${SMOKE.value}` });
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
          { name: 'forge-metrics', env: 'FORGE_METRICS', type: 'choice', choices: ['0', '1'] },
        ],
      },
      rollout: rollout(),
    }),
  );
});

after(async () => {
  if (process.env.HYPERAGENT_KEEP_NAMESPACE !== '1') await deleteNamespace(namespace);
});

test('a good version goes 5%, 20%, 50% through the HTTPRoute, each share within 3 points, and is promoted with no failed request', async () => {
  const cycle = await startCycle('good', {
    candidate: { id: 'c1', kind: 'code', summary: 'the next version of the echo service' },
    image: ECHO_FAULTS_IMAGE,
    evaluated: { version: 'v2' },
  });
  const started = Date.now();
  const seen: string[] = [];
  const outcome = await driveCanary(driver, cycle, (state) => {
    seen.push(`${state.phase}/${state.stepIndex}/${state.weight}`);
  });
  const ended = Date.now();
  assert.equal(outcome.state === 'succeeded' && outcome.result, 'Promoted', outcome.message);
  for (const expected of ['Progressing/0/5', 'Progressing/1/20', 'Progressing/2/50', 'Promoted/2/0']) {
    assert.ok(seen.includes(expected), `${expected} in ${[...new Set(seen)].join(' ')}`);
  }
  const canary = cycle.status.canary!;
  const passed = canary.measurements.filter((m) => m.result === 'Successful');
  for (const step of [0, 1, 2]) {
    assert.ok(
      passed.some((m) => m.step === step && m.metric === 'gateway-errors'),
      `the gateway's error ratio passed in step ${step}`,
    );
  }

  const load = await loadBetween(namespace, started, ended + 2000);
  const steps = stepShares(canary, load.windows);
  console.log(
    `gateway canary: promoted in ${seconds(ended - started)}; ${load.total} requests, ${load.failed} failed; ${steps.map((s) => `${s.weight}% asked, ${s.percent.toFixed(1)}% of ${s.requests} requests answered by the canary`).join('; ')}`,
  );
  for (const step of steps) {
    assert.ok(
      Math.abs(step.percent - step.weight) <= 3,
      `${step.percent.toFixed(1)}% seen for ${step.weight}%`,
    );
  }
  assert.equal(load.failed, 0, `failed requests: ${JSON.stringify(load.failures)}`);

  // the smoke-test header reached the canary alone from the first step on
  const smoke = smokeDuring(
    load.windows,
    Date.parse(canary.weightReachedTime ?? canary.startTime),
    lastStepEnd(canary),
  );
  console.log(`smoke-test header during the steps: ${JSON.stringify(smoke)}`);
  assert.ok((smoke.canary ?? 0) > 10 && !smoke.stable && !smoke.failed, JSON.stringify(smoke));

  const stable = await apps.readNamespacedDeployment({ name: SERVICE, namespace });
  assert.equal(stable.spec!.template.spec!.containers[0]!.image, ECHO_FAULTS_IMAGE);
  await assertRouteRestored();
});

test("a version that fails half its requests and forges its own metrics is rolled back on the gateway's error ratio; the route is restored", async () => {
  const before = await apps.readNamespacedDeployment({ name: SERVICE, namespace });
  // the hostile candidate: its failures go out on the wire, its own counters record success
  const cycle = await startCycle('bad', {
    candidate: {
      id: 'c1',
      kind: 'config',
      summary: 'fail half the requests and hide it from /metrics',
      parameters: { 'fault-rate': '0.5', 'forge-metrics': '1' },
    },
  });
  const started = Date.now();
  const outcome = await driveCanary(driver, cycle);
  const ended = Date.now();
  assert.equal(outcome.state === 'succeeded' && outcome.result, 'RolledBack', outcome.message);
  const canary = cycle.status.canary!;
  assert.equal(canary.decision?.reason, 'AnalysisFailed');
  assert.match(canary.decision?.message ?? '', /gateway-errors 0\.\d+ > max 0\.05/);
  const stable = await apps.readNamespacedDeployment({ name: SERVICE, namespace });
  assert.equal(
    stable.metadata?.generation,
    before.metadata?.generation,
    'the stable Deployment was not changed',
  );
  // what the candidate said of itself over its canary (the earlier canary's traffic ended more
  // than 20 s before this one started): no error at all
  const range = `${Math.ceil((Date.now() - started) / 1000)}s`;
  const own = await promql(
    `sum(increase(echo_requests_total{namespace="${namespace}", pod=~"${SERVICE}-canary-.*"}[${range}]))`,
  );
  const ownErrors = await promql(
    `sum(increase(echo_requests_total{namespace="${namespace}", pod=~"${SERVICE}-canary-.*", code=~"5.."}[${range}])) or vector(0)`,
  );
  console.log(`the candidate's own counters: ${ownErrors} errors in ${own} requests`);
  assert.ok(own > 0, 'the canary counted its requests');
  assert.equal(ownErrors, 0, 'the forged counters show no error: only the gateway saw them');
  const load = await loadBetween(namespace, started, ended);
  console.log(
    `gateway rollback: ${canary.decision?.message}; ${seconds(ended - started)} in all; ${load.failed} of ${load.total} requests failed (the bad version's answers at 5%)`,
  );
  assert.ok(load.failed > 0, 'the bad version did fail requests');
  await assertRouteRestored();
});

test("judged by the in-cluster operator on the gateway's own counters, read every 500 ms, a version failing half its requests loses its traffic within seconds of its pod being ready", async () => {
  const cycle = await startCycle(
    'counted',
    {
      candidate: {
        id: 'c1',
        kind: 'config',
        summary: 'fail half the requests and hide it from /metrics',
        parameters: { 'fault-rate': '0.5', 'forge-metrics': '1' },
      },
      image: ECHO_FAULTS_IMAGE,
    },
    {
      ...rollout({
        prometheus: { address: IN_CLUSTER_PROMETHEUS },
        counters: { interval: '500ms', url: GATEWAY_COUNTERS },
        metrics: [GATEWAY_FAILED_SHARE],
      }),
      steps: [{ weight: 25, pause: '30s' }],
      trafficRouting: { gatewayAPI: { httpRoute: SERVICE } },
    },
    true,
  );
  const watched = await watchCanary(namespace, SERVICE);
  const started = Date.now();
  await persistCycleStatus(cycle);
  const ended = await waitForCycle(
    namespace,
    cycle.name,
    (c) => ['Promoted', 'RolledBack'].includes(c.status?.canary?.phase ?? ''),
    240_000,
  );
  watched.stop();
  const canary = ended.status!.canary!;
  assert.equal(canary.phase, 'RolledBack', canary.message);
  assert.equal(canary.decision?.reason, 'AnalysisFailed');
  assert.match(
    canary.decision?.message ?? '',
    /gateway-failed-share: \d+ failed of \d+ requests \(0\.\d+\): above the limit 0\.05 at 99% confidence/,
  );
  assert.ok(watched.firstReady, 'the canary pod was seen ready');
  const decidedAfter = Date.parse(canary.decision!.time) - watched.firstReady;
  await sleep(2500);
  const load = await loadBetween(namespace, started, Date.parse(canary.phaseStartTime) + 2000);
  const canaryAnswers = load.windows.reduce((sum, w) => sum + (w.roles.canary ?? 0), 0);
  console.log(
    `gateway counters: rolled back ${seconds(decidedAfter)} after the canary pod was ready; ${load.failed} of ${load.total} requests failed, ${canaryAnswers} answered by the canary; ${canary.decision?.message}`,
  );
  // 3 s is the goal on a quiet machine (npm run bench:canary); a loaded CI node gets twice that
  assert.ok(decidedAfter < 6000, `decided ${seconds(decidedAfter)} after the pod was ready`);
  assert.ok(load.failed > 0 && load.failed <= 15, `${load.failed} failed requests`);
  await assertRouteRestored();
});

test('the in-cluster operator killed mid-canary resumes it: at most one canary, promoted, route restored', async () => {
  const operator = await operatorDeployment();
  await scaleOperator(operator, 0);
  let restored = false;
  try {
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
      240_000,
    );
    const killedAt = Date.now();
    const pod = await killOperatorPod();
    console.log(`operator pod ${pod} killed at weight ${midway.status!.canary!.weight}%`);
    const ended = await waitForCycle(
      namespace,
      cycle.name,
      (c) => ['Promoted', 'RolledBack', 'Failed'].includes(c.status?.phase ?? ''),
      300_000,
    );
    assert.equal(ended.status?.phase, 'Promoted', `${ended.status?.reason}: ${ended.status?.message}`);
    const most = await canaries.stop();
    assert.equal(most, 1, 'never more than one canary Deployment');
    console.log(
      `gateway operator restart: promoted ${seconds(Date.parse(ended.status!.completionTime!) - killedAt)} after the kill; at most ${most} canary Deployment`,
    );
    await assertRouteRestored();
  } finally {
    if (!restored) await scaleOperator(operator, 1);
  }
});

// ---------------------------------------------------------------------------------------------

async function startCycle(
  name: string,
  fixture: CycleFixture,
  rolloutSpec: Record<string, unknown> = rollout(),
  owned = false,
): Promise<CycleContext> {
  await previousCanaryForgotten();
  return startCanaryCycle({ namespace, agent }, name, fixture, rolloutSpec, owned);
}

/** The route is the user's again (no canary backend, no twin, no annotation) and no canary object is left. */
async function assertRouteRestored(): Promise<void> {
  for (const deadline = Date.now() + 30_000; ; await sleep(500)) {
    const route = await readRoute();
    const deployments = (await apps.listNamespacedDeployment({ namespace })).items.map(
      (d) => d.metadata?.name,
    );
    const services = (await core.listNamespacedService({ namespace })).items.map((s) => s.metadata?.name);
    const clean =
      JSON.stringify(route.spec.rules) === JSON.stringify(storedRules) &&
      route.metadata.annotations?.['hyperagents.io/stable-weights'] === undefined &&
      deployments.length === 1 &&
      services.length === 1;
    if (clean) return;
    assert.ok(
      Date.now() < deadline,
      `route ${JSON.stringify(route.spec.rules)}, annotations ${JSON.stringify(route.metadata.annotations)}, Deployments ${deployments}, Services ${services}`,
    );
  }
}

async function readRoute(): Promise<HttpRoute> {
  return (await custom.getNamespacedCustomObject({
    group: HTTP_ROUTE.group,
    version: HTTP_ROUTE.version,
    plural: HTTP_ROUTE.plural,
    namespace,
    name: SERVICE,
  })) as HttpRoute;
}

/**
 * The canary's share of the requests the load generator saw in each step: from 2 s after the
 * weight was in place (the gateway applies a change within a second or two) to the step's last
 * measurement.
 */
function stepShares(
  canary: CanaryStatus,
  windows: readonly LoadWindow[],
): { weight: number; percent: number; requests: number }[] {
  const byStep = new Map<number, { weight: number; from: number; to: number }>();
  for (const m of canary.measurements) {
    const time = Date.parse(m.time);
    const step = byStep.get(m.step) ?? { weight: m.weight, from: time, to: time };
    byStep.set(m.step, { ...step, from: Math.min(step.from, time), to: Math.max(step.to, time) });
  }
  return [...byStep.values()].map(({ weight, from, to }) => {
    // a round's measurements look 20 s back; the step began a round before its first
    const inStep = windows.filter((w) => w.t > from - 3000 && w.t <= to);
    const canaryAnswers = inStep.reduce((n, w) => n + (w.roles.canary ?? 0), 0);
    const all = inStep.reduce((n, w) => n + (w.roles.canary ?? 0) + (w.roles.stable ?? 0), 0);
    return { weight, percent: (100 * canaryAnswers) / Math.max(1, all), requests: all };
  });
}

function lastStepEnd(canary: CanaryStatus): number {
  return Math.max(...canary.measurements.map((m) => Date.parse(m.time)));
}

function smokeDuring(windows: readonly LoadWindow[], from: number, to: number): Record<string, number> {
  const total: Record<string, number> = {};
  for (const w of windows.filter((w) => w.t > from + 1000 && w.t <= to)) {
    for (const [k, v] of Object.entries(w.smoke ?? {})) total[k] = (total[k] ?? 0) + v;
  }
  return total;
}

/** The gateway's series for an earlier canary backend leave the 20 s rate window before the next starts. */
async function previousCanaryForgotten(): Promise<void> {
  const query = `sum(rate(traefik_service_requests_total{service="${namespace}-${SERVICE}-canary-http-80@kubernetesgateway"}[20s])) > 0`;
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; await sleep(1000)) {
    const response = await fetch(`${PROMETHEUS_URL}/api/v1/query?query=${encodeURIComponent(query)}`);
    const body = (await response.json()) as { data?: { result?: unknown[] } };
    if (body.data?.result?.length === 0) return;
  }
  assert.fail('the gateway series of the previous canary are still in the rate window after 60 s');
}

/** One number from Prometheus, now. */
async function promql(query: string): Promise<number> {
  const response = await fetch(`${PROMETHEUS_URL}/api/v1/query?query=${encodeURIComponent(query)}`);
  const body = (await response.json()) as { data?: { result?: { value: [number, string] }[] } };
  return Number(body.data?.result?.[0]?.value[1] ?? Number.NaN);
}
