// Canary benchmark: how fast a failing canary loses its traffic, how many requests it fails on the
// way, and how long a good one takes to be promoted, on the local cluster with the in-cluster
// operator, through the real gateway.
//
// The scenario: 3 stable echo replicas behind an HTTPRoute of the harness's Traefik, 25 requests a
// second through the gateway, a canary at 25% (then 50%), each step 30 s, analysis every 10 s.
// A bad version fails every second request; a good one fails none. Two ways of judging it:
//   sequential  a failureRatio metric on the gateway's own counters, read every 500 ms straight
//               from Traefik's metrics port (this operator's way since #22)
//   interval    the gateway's 5xx ratio as a PromQL rate() query, judged once per 10 s interval
//               (the way every canary was judged before, and how Argo Rollouts and Flagger do it)
// Per run: seconds from the first canary pod Ready to the last answer a canary pod gave (no canary
// traffic) and to no canary endpoint listed, failed and total requests from the canary's start to
// its end, and for a good version the seconds from Ready to promotion. Writes out/bench-canary.json.
// It is a benchmark: it fails on no goal.
//   npm run bench:canary        (BAD_RUNS=3 GOOD_RUNS=2 INTERVAL_RUNS=1 for a quicker look)
import { mkdir, writeFile } from 'node:fs/promises';
import type { HyperAgent } from '../../operator/src/api/resources.js';
import type { CanaryStatus } from '../../operator/src/api/schema.js';
import { HTTP_ROUTE, type HttpRoute } from '../../operator/src/rollout/http-route.js';
import { median } from '../../operator/src/util/median.js';
import {
  IN_CLUSTER_PROMETHEUS,
  persistCycleStatus,
  startCanaryCycle,
  waitForCycle,
  watchCanary,
} from '../support/canary-cycles.js';
import { agentManifest, createAgent, freshNamespace } from '../support/cluster.js';
import {
  ECHO_FAULTS_IMAGE,
  deployStableEcho,
  loadBetween,
  startLoad,
  type LoadWindow,
} from '../support/echo-service.js';
import { applyJson, deleteNamespace } from '../support/workloads.js';

const BAD_RUNS = Number(process.env.BAD_RUNS ?? 10);
const GOOD_RUNS = Number(process.env.GOOD_RUNS ?? 10);
const INTERVAL_RUNS = Number(process.env.INTERVAL_RUNS ?? 3);
const PROMETHEUS_URL = process.env.HYPERAGENT_PROMETHEUS_URL ?? 'http://127.0.0.1:9090';
const GATEWAY_URL = process.env.HYPERAGENT_GATEWAY_URL ?? 'http://traefik.traefik.svc.cluster.local/';
/** The gateway's counters as the operator's pod reaches them. */
const GATEWAY_METRICS = 'http://traefik.traefik.svc.cluster.local:9100/metrics';
const SERVICE = 'web';
const STABLE_REPLICAS = 3;

type Mode = 'sequential' | 'interval';
type Version = 'bad' | 'good';

const CANARY_BACKEND = 'service="{{namespace}}-{{canaryService}}-http-80@kubernetesgateway"';

function rollout(mode: Mode) {
  const metric =
    mode === 'sequential'
      ? {
          name: 'gateway-errors',
          failureRatio: {
            failed: `sum(traefik_service_requests_total{${CANARY_BACKEND}, code=~"5.."})`,
            total: `sum(traefik_service_requests_total{${CANARY_BACKEND}})`,
          },
          max: 0.05,
        }
      : {
          name: 'gateway-errors',
          query: `(sum(rate(traefik_service_requests_total{${CANARY_BACKEND}, code=~"5.."}[20s])) or vector(0)) / sum(rate(traefik_service_requests_total{${CANARY_BACKEND}}[20s]))`,
          max: 0.05,
        };
  return {
    steps: [
      { weight: 25, pause: '30s' },
      { weight: 50, pause: '30s' },
    ],
    trafficRouting: { gatewayAPI: { httpRoute: SERVICE } },
    analysis: {
      prometheus: { address: IN_CLUSTER_PROMETHEUS },
      interval: '10s',
      failureLimit: 0,
      // a rate() over a canary a few seconds old has no data yet: as in the e2e tests
      inconclusiveLimit: 3,
      ...(mode === 'sequential' ? { counters: { interval: '500ms', url: GATEWAY_METRICS } } : {}),
      metrics: [metric],
    },
  };
}

interface RunFigures {
  mode: Mode;
  version: Version;
  outcome: string;
  reason: string;
  /** First canary pod Ready → the last answer a canary pod gave. */
  toNoCanaryTrafficSeconds?: number;
  /** First canary pod Ready → no ready canary endpoint listed. */
  toNoCanaryEndpointSeconds?: number;
  /** First canary pod Ready → the decision (promote or roll back). */
  toDecisionSeconds?: number;
  /** First canary pod Ready → promotion done (a good version). */
  toPromotedSeconds?: number;
  /** The canary's start → promotion done. */
  canaryStartToPromotedSeconds?: number;
  failedRequests: number;
  totalRequests: number;
  canaryRequests: number;
}

let namespace: string;
let agent: HyperAgent;
const host = (): string => `${SERVICE}.${namespace}.example`;

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

/** Until the gateway's rate() window holds no request of the previous canary (the interval mode reads it). */
async function previousCanaryForgotten(): Promise<void> {
  const query = `sum(rate(traefik_service_requests_total{service="${namespace}-${SERVICE}-canary-http-80@kubernetesgateway"}[20s])) > 0`;
  for (const deadline = Date.now() + 90_000; Date.now() < deadline; await sleep(1000)) {
    const response = await fetch(`${PROMETHEUS_URL}/api/v1/query?query=${encodeURIComponent(query)}`);
    const body = (await response.json()) as { data?: { result?: unknown[] } };
    if (body.data?.result?.length === 0) return;
  }
  throw new Error('the previous canary is still in the rate window after 90 s');
}

async function run(mode: Mode, version: Version, index: number): Promise<RunFigures> {
  if (mode === 'interval') await previousCanaryForgotten();
  const cycle = await startCanaryCycle(
    { namespace, agent },
    `${mode}-${version}-${index}`,
    {
      candidate:
        version === 'bad'
          ? {
              id: 'c1',
              kind: 'config',
              summary: 'fail every second request',
              parameters: { 'fault-rate': '0.5' },
            }
          : { id: 'c1', kind: 'code', summary: 'the next version', parameters: { version: `v${index + 2}` } },
      image: ECHO_FAULTS_IMAGE,
    },
    rollout(mode),
    true,
  );
  const watched = await watchCanary(namespace, SERVICE);
  const started = Date.now();
  await persistCycleStatus(cycle);
  const ended = await waitForCycle(
    namespace,
    cycle.name,
    (c) => ['Promoted', 'RolledBack'].includes(c.status?.canary?.phase ?? ''),
    300_000,
  );
  // the endpoints and the load's last windows come in a moment after the end
  for (const deadline = Date.now() + 30_000; watched.lastEndpoint === undefined && Date.now() < deadline;)
    await sleep(200);
  await sleep(2500);
  watched.stop();
  const canary = ended.status!.canary as CanaryStatus;
  const endMs = Date.parse(canary.phaseStartTime);
  const load = await loadBetween(namespace, started, endMs + 2000);
  const ready = watched.firstReady;
  const lastCanary = lastCanaryAnswer(load.windows);
  const since = (ms: number | undefined) =>
    ready !== undefined && ms !== undefined ? Number(((ms - ready) / 1000).toFixed(2)) : undefined;
  const figures: RunFigures = {
    mode,
    version,
    outcome: canary.phase,
    reason: canary.decision?.reason ?? canary.reason,
    toNoCanaryTrafficSeconds: since(lastCanary),
    toNoCanaryEndpointSeconds: since(watched.lastEndpoint),
    toDecisionSeconds: since(canary.decision ? Date.parse(canary.decision.time) : undefined),
    ...(canary.phase === 'Promoted'
      ? {
          toPromotedSeconds: since(endMs),
          canaryStartToPromotedSeconds: Number(((endMs - Date.parse(canary.startTime)) / 1000).toFixed(2)),
        }
      : {}),
    failedRequests: load.failed,
    totalRequests: load.total,
    canaryRequests: load.windows.reduce((sum, w) => sum + (w.roles.canary ?? 0), 0),
  };
  console.log(JSON.stringify(figures));
  return figures;
}

function lastCanaryAnswer(windows: readonly LoadWindow[]): number | undefined {
  const times = windows.map((w) => w.canaryLast).filter((t): t is number => t !== undefined);
  return times.length > 0 ? Math.max(...times) : undefined;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function summary(runs: readonly RunFigures[]) {
  const of = (pick: (r: RunFigures) => number | undefined) => {
    const values = runs.map(pick).filter((v): v is number => v !== undefined);
    return values.length > 0 ? Number(median(values).toFixed(2)) : undefined;
  };
  return {
    runs: runs.length,
    outcomes: Object.fromEntries(
      [...new Set(runs.map((r) => r.outcome))].map((o) => [o, runs.filter((r) => r.outcome === o).length]),
    ),
    medianToNoCanaryTrafficSeconds: of((r) => r.toNoCanaryTrafficSeconds),
    medianToNoCanaryEndpointSeconds: of((r) => r.toNoCanaryEndpointSeconds),
    medianToDecisionSeconds: of((r) => r.toDecisionSeconds),
    medianToPromotedSeconds: of((r) => r.toPromotedSeconds),
    medianCanaryStartToPromotedSeconds: of((r) => r.canaryStartToPromotedSeconds),
    medianFailedRequests: of((r) => r.failedRequests),
    medianTotalRequests: of((r) => r.totalRequests),
  };
}

async function main(): Promise<void> {
  namespace = await freshNamespace('bench-canary');
  const runs: RunFigures[] = [];
  try {
    await deployStableEcho({ namespace, name: SERVICE }, { replicas: STABLE_REPLICAS });
    await applyJson([userRoute()]);
    await startLoad({ namespace, name: SERVICE }, { url: GATEWAY_URL, host: host() });
    agent = await createAgent(
      agentManifest(SERVICE, namespace, {
        suspend: true,
        target: { deployment: SERVICE, container: 'echo', service: SERVICE },
        source: { repo: 'file:///nonexistent/web.git' },
        improvement: {
          interval: '1h',
          parameters: [
            {
              name: 'version',
              env: 'VERSION',
              type: 'choice',
              choices: ['v2', 'v3', 'v4', 'v5', 'v6', 'v7', 'v8', 'v9', 'v10', 'v11', 'v12', 'v13'],
            },
            { name: 'fault-rate', env: 'FAULT_RATE', type: 'number', min: 0, max: 1 },
          ],
        },
        rollout: rollout('sequential'),
      }),
    );
    const plan: [Mode, Version, number][] = [
      ...Array.from({ length: BAD_RUNS }, (_, i): [Mode, Version, number] => ['sequential', 'bad', i]),
      ...Array.from({ length: GOOD_RUNS }, (_, i): [Mode, Version, number] => ['sequential', 'good', i]),
      ...Array.from({ length: INTERVAL_RUNS }, (_, i): [Mode, Version, number] => ['interval', 'bad', i]),
      ...Array.from({ length: INTERVAL_RUNS }, (_, i): [Mode, Version, number] => ['interval', 'good', i]),
    ];
    for (const [mode, version, index] of plan) runs.push(await run(mode, version, index));
  } finally {
    const of = (mode: Mode, version: Version) => runs.filter((r) => r.mode === mode && r.version === version);
    const result = {
      scenario: {
        stableReplicas: STABLE_REPLICAS,
        requestsPerSecond: 25,
        steps: '25% for 30s, 50% for 30s',
        badVersion: 'fails every second request',
        analysisInterval: '10s',
        countersInterval: '500ms',
      },
      summary: {
        sequential: { bad: summary(of('sequential', 'bad')), good: summary(of('sequential', 'good')) },
        interval: { bad: summary(of('interval', 'bad')), good: summary(of('interval', 'good')) },
      },
      runs,
    };
    await mkdir('out', { recursive: true });
    await writeFile('out/bench-canary.json', `${JSON.stringify(result, null, 2)}\n`);
    console.log(JSON.stringify(result.summary, null, 2));
    console.log('wrote out/bench-canary.json');
    if (process.env.HYPERAGENT_KEEP_NAMESPACE !== '1') await deleteNamespace(namespace);
  }
}

await main();
