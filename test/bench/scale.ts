// Scale benchmark: 1,000 HyperAgents on a real API server, reconciled by the built operator.
//
// Three phases, measured apart:
//   burst   the agents are created at once; each reconciles, starts a cycle, the cycle runs (and
//           fails: its repository does not exist) and the agent records it;
//   idle    nothing changes: how many requests the operator sends (its own counters and the API
//           server's), and how many reconciles it runs;
//   steady  a user edits 10% of the agents (spec.improvement.interval): the reconciles that follow,
//           each a cache read, a plan and one status write.
// Prints the operator's RSS at start and at its peak, reconcile percentiles per phase, and writes
// the figures to out/bench-scale.json. It is a benchmark: it fails on no goal.
//   npm run bench            (AGENTS=200 IDLE_SECONDS=30 npm run bench for a quicker look)
import { mkdir, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import {
  agentManifest,
  createAgent,
  custom,
  eventually,
  freshNamespace,
  kubectl,
  patchAgentSpec,
} from '../support/cluster.js';
import { OperatorProcess } from '../support/operator-process.js';
import { HYPERAGENTS } from '../../operator/src/api/resources.js';

const AGENTS = Number(process.env.AGENTS ?? 1000);
const IDLE_SECONDS = Number(process.env.IDLE_SECONDS ?? 60);
const CREATE_CONCURRENCY = 16;
const STEADY_SHARE = 0.1;

type Buckets = [number, number][];

/** Interpolated quantile of a Prometheus histogram, as PromQL's histogram_quantile computes it. */
function histogramQuantile(q: number, buckets: [number, number][]): number {
  const total = buckets[buckets.length - 1]?.[1] ?? 0;
  const rank = q * total;
  let previousBound = 0;
  let previousCount = 0;
  for (const [bound, count] of buckets) {
    if (count >= rank) {
      if (!Number.isFinite(bound)) return previousBound;
      return (
        previousBound +
        ((bound - previousBound) * (rank - previousCount)) / Math.max(count - previousCount, 1)
      );
    }
    previousBound = bound;
    previousCount = count;
  }
  return previousBound;
}

async function reconcileBuckets(port: number, controller?: string): Promise<Buckets> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const byBound = new Map<number, number>();
  const pattern = new RegExp(
    `^hyperagent_reconcile_duration_seconds_bucket\\{le="([^"]+)",controller="${controller ?? '[^"]+'}",result="[^"]+"\\} (\\d+)`,
  );
  for (const line of text.split('\n')) {
    const match = pattern.exec(line);
    if (!match) continue;
    const bound = match[1] === '+Inf' ? Infinity : Number(match[1]);
    byBound.set(bound, (byBound.get(bound) ?? 0) + Number(match[2]));
  }
  return [...byBound.entries()].sort((a, b) => a[0] - b[0]);
}

/** API server request counts by resource, from its own /metrics. */
async function apiserverRequests(): Promise<Map<string, number>> {
  const text = await kubectl('get', '--raw', '/metrics');
  const counts = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith('apiserver_request_total{')) continue;
    const resource = /resource="([^"]*)"/.exec(line)?.[1] ?? '';
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    counts.set(resource, (counts.get(resource) ?? 0) + value);
  }
  return counts;
}

/** Buckets counted between two readings of the same cumulative histogram. */
function since(before: Buckets, after: Buckets): Buckets {
  const earlier = new Map(before);
  return after.map(([bound, count]) => [bound, count - (earlier.get(bound) ?? 0)]);
}

const countOf = (buckets: Buckets) => buckets[buckets.length - 1]?.[1] ?? 0;

/** VmHWM (the peak resident set so far) or VmRSS (now), in MiB. */
function rssMiB(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN);
  return kib / 1024;
}

const fmt = (n: number, digits = 1) => n.toFixed(digits);

const namespace = await freshNamespace('bench');
const operator = new OperatorProcess({
  identity: 'bench',
  leaseNamespace: namespace,
  logLevel: 'warn',
  defaultLeaseTimings: true,
});
await operator.start();
await operator.waitReady();
const pid = operator.pid as number;
// a moment for start-up work that follows readiness (the first lease renewal, the first scrape)
await new Promise((resolve) => setTimeout(resolve, 2000));
const startPeak = rssMiB(pid, 'VmHWM');
console.log(`bench: operator pid ${pid} ready; peak RSS so far ${fmt(startPeak)} MiB`);

// Burst: every agent created at once.
const started = Date.now();
let next = 0;
await Promise.all(
  Array.from({ length: CREATE_CONCURRENCY }, async () => {
    while (next < AGENTS) {
      const index = next++;
      await createAgent(agentManifest(agentName(index), namespace));
    }
  }),
);
const created = Date.now();
console.log(`bench: created ${AGENTS} HyperAgents in ${fmt((created - started) / 1000)} s`);

await eventually(
  `all ${AGENTS} agents to finish their first cycle`,
  async () => {
    const list = (await custom.listNamespacedCustomObject({ ...HYPERAGENTS, namespace })) as {
      items: { status?: { lastCycle?: { phase?: string } } }[];
    };
    const done = list.items.filter((a) => a.status?.lastCycle?.phase === 'Failed').length;
    return done === AGENTS ? done : undefined;
  },
  30 * 60_000,
);
const settled = Date.now();
console.log(
  `bench: every agent reconciled, its cycle created, run and reported back in ${fmt((settled - started) / 1000)} s`,
);
await drained();
const afterBurst = await reconcileBuckets(operator.port);
const burstPeak = rssMiB(pid, 'VmHWM');

// Idle: count requests over a quiet window.
await new Promise((resolve) => setTimeout(resolve, 5000));
const reconcilesBefore = await operator.metric('hyperagent_reconcile_total');
const operatorRequestsBefore = await operatorRequests();
const serverBefore = await apiserverRequests();
await new Promise((resolve) => setTimeout(resolve, IDLE_SECONDS * 1000));
const reconcilesIdle = (await operator.metric('hyperagent_reconcile_total')) - reconcilesBefore;
const operatorRequestsIdle = (await operatorRequests()) - operatorRequestsBefore;
const serverAfter = await apiserverRequests();
const delta = (resource: string) => (serverAfter.get(resource) ?? 0) - (serverBefore.get(resource) ?? 0);
const idleRss = rssMiB(pid, 'VmRSS');

// Steady state: a user edits a tenth of the agents, one after the other.
const edited = Math.max(1, Math.round(AGENTS * STEADY_SHARE));
const beforeSteady = await reconcileBuckets(operator.port);
const step = AGENTS / edited;
for (let i = 0; i < edited; i++) {
  await patchAgentSpec(namespace, agentName(Math.floor(i * step)), { improvement: { interval: '2h' } });
}
await eventually(
  `the ${edited} edited agents to record their new generation`,
  async () => {
    const list = (await custom.listNamespacedCustomObject({ ...HYPERAGENTS, namespace })) as {
      items: { metadata: { generation?: number }; status?: { observedGeneration?: number } }[];
    };
    const current = list.items.filter((a) => a.status?.observedGeneration === a.metadata.generation).length;
    return current === AGENTS ? current : undefined;
  },
  5 * 60_000,
);
await drained();
const steadyBuckets = since(beforeSteady, await reconcileBuckets(operator.port));

const agentBuckets = await reconcileBuckets(operator.port, 'hyperagent');
const cycleBuckets = await reconcileBuckets(operator.port, 'improvementcycle');
// VmHWM is synced with VmRSS lazily by the kernel: the peak is the larger of it and any reading
const peak = Math.max(rssMiB(pid, 'VmHWM'), rssMiB(pid, 'VmRSS'), idleRss, burstPeak);
await operator.kill('SIGTERM');

const ms = (s: number) => Number((s * 1000).toFixed(2));
const quantiles = (buckets: Buckets) => ({
  reconciles: countOf(buckets),
  p50_ms: ms(histogramQuantile(0.5, buckets)),
  p99_ms: ms(histogramQuantile(0.99, buckets)),
});
const figures = {
  measured_at: new Date().toISOString(),
  agents: AGENTS,
  goals: { peak_rss_mib: 150, start_rss_mib: 90, steady_p99_ms: 50, idle_requests: 0 },
  rss_mib: {
    start_peak: Number(fmt(startPeak)),
    after_burst_peak: Number(fmt(burstPeak)),
    idle_now: Number(fmt(idleRss)),
    peak: Number(fmt(peak)),
  },
  settle_s: Number(fmt((settled - started) / 1000)),
  create_s: Number(fmt((created - started) / 1000)),
  reconcile: {
    burst: quantiles(afterBurst),
    steady: { edited_agents: edited, ...quantiles(steadyBuckets) },
    all_hyperagent: quantiles(agentBuckets),
    all_improvementcycle: quantiles(cycleBuckets),
  },
  idle: {
    window_s: IDLE_SECONDS,
    reconciles: reconcilesIdle,
    operator_requests: operatorRequestsIdle,
    apiserver_requests_hyperagents_io: delta('hyperagents') + delta('improvementcycles'),
    apiserver_requests_events: delta('events'),
    apiserver_requests_leases: delta('leases'),
  },
};

const row = (label: string, value: string, goal = '') =>
  console.log(`  ${label.padEnd(44)}${value.padEnd(24)}${goal}`);
const pair = (q: { p50_ms: number; p99_ms: number }) => `${q.p50_ms} / ${q.p99_ms} ms`;
console.log('');
console.log(`scale benchmark: ${AGENTS} HyperAgents, real kube-apiserver, operator from dist/`);
row('RSS at start (VmHWM when ready)', `${fmt(startPeak)} MiB`, 'goal < 90 MiB');
row('peak RSS (VmHWM)', `${fmt(peak)} MiB`, 'goal < 150 MiB');
row('RSS when idle (VmRSS)', `${fmt(idleRss)} MiB`);
row(`time to settle ${AGENTS} agents`, `${figures.settle_s} s`);
row(
  `burst: reconcile p50 / p99`,
  pair(figures.reconcile.burst),
  `${figures.reconcile.burst.reconciles} reconciles`,
);
row(
  `steady (${edited} agents edited): p50 / p99`,
  pair(figures.reconcile.steady),
  `goal p99 < 50 ms; ${figures.reconcile.steady.reconciles} reconciles`,
);
row('all HyperAgent reconciles: p50 / p99', pair(figures.reconcile.all_hyperagent));
row('all ImprovementCycle reconciles: p50 / p99', pair(figures.reconcile.all_improvementcycle));
row('idle window', `${IDLE_SECONDS} s`);
row('idle reconciles', String(reconcilesIdle));
row(
  "idle requests, operator's own count",
  String(operatorRequestsIdle),
  'goal 0 (lease renewals not included)',
);
row('idle requests, API server, hyperagents.io', String(figures.idle.apiserver_requests_hyperagents_io));
row('idle requests, API server, events', String(figures.idle.apiserver_requests_events));
row(
  'idle requests, API server, leases',
  `${figures.idle.apiserver_requests_leases} (${fmt(figures.idle.apiserver_requests_leases / IDLE_SECONDS, 2)}/s)`,
  'leader renewals every 2 s',
);

console.log(
  '  (percentiles interpolated within the reconcile histogram buckets: 0.5, 1, 2.5, 5, 10, 20, 30, 40, 50, 75, 100 ms...)',
);
await mkdir('out', { recursive: true });
await writeFile('out/bench-scale.json', `${JSON.stringify(figures, null, 2)}\n`);
console.log('figures written to out/bench-scale.json');

function agentName(index: number): string {
  return `agent-${String(index).padStart(4, '0')}`;
}

async function operatorRequests(): Promise<number> {
  return (
    (await operator.metric('hyperagent_kube_api_requests_total')) +
    (await operator.metric('hyperagent_kube_watches_total'))
  );
}

/** Both work queues empty, and still empty a moment later (a requeue has had its chance). */
async function drained(): Promise<void> {
  await eventually('the work queues to drain', async () =>
    (await operator.metric('hyperagent_workqueue_depth')) === 0 ? true : undefined,
  );
  await new Promise((resolve) => setTimeout(resolve, 2000));
  await eventually('the work queues to drain', async () =>
    (await operator.metric('hyperagent_workqueue_depth')) === 0 ? true : undefined,
  );
}
