// Scale benchmark: 1,000 HyperAgents on a real API server, reconciled by the built operator.
//
// Prints the operator's peak RSS, reconcile latency percentiles, and how many API requests it
// sends while nothing changes (from its own counters and from the API server's metrics).
//   npm run bench            (AGENTS=200 IDLE_SECONDS=30 npm run bench for a quicker look)
import { readFileSync } from 'node:fs';
import {
  agentManifest,
  createAgent,
  custom,
  eventually,
  freshNamespace,
  kubectl,
} from '../support/cluster.js';
import { OperatorProcess } from '../support/operator-process.js';
import { HYPERAGENTS } from '../../operator/src/api/resources.js';

const AGENTS = Number(process.env.AGENTS ?? 1000);
const IDLE_SECONDS = Number(process.env.IDLE_SECONDS ?? 60);
const CREATE_CONCURRENCY = 16;

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

async function reconcileBuckets(port: number, controller: string): Promise<[number, number][]> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const byBound = new Map<number, number>();
  const pattern = new RegExp(
    `^hyperagent_reconcile_duration_seconds_bucket\\{le="([^"]+)",controller="${controller}",result="[^"]+"\\} (\\d+)`,
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

function peakRssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? NaN);
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
console.log(`bench: operator pid ${pid} ready; RSS at start ${fmt(peakRssMiB(pid))} MiB (peak so far)`);

const started = Date.now();
let next = 0;
await Promise.all(
  Array.from({ length: CREATE_CONCURRENCY }, async () => {
    while (next < AGENTS) {
      const index = next++;
      await createAgent(agentManifest(`agent-${String(index).padStart(4, '0')}`, namespace));
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
  15 * 60_000,
);
const settled = Date.now();
console.log(
  `bench: every agent reconciled, its cycle created, run and reported back in ${fmt((settled - started) / 1000)} s`,
);

// Idle: let queues drain, then count requests over a quiet window.
await eventually('the work queues to drain', async () =>
  (await operator.metric('hyperagent_workqueue_depth')) === 0 ? true : undefined,
);
await new Promise((resolve) => setTimeout(resolve, 5000));
const reconcilesBefore = await operator.metric('hyperagent_reconcile_total');
const operatorRequestsBefore =
  (await operator.metric('hyperagent_kube_api_requests_total')) +
  (await operator.metric('hyperagent_kube_watches_total'));
const serverBefore = await apiserverRequests();
await new Promise((resolve) => setTimeout(resolve, IDLE_SECONDS * 1000));
const reconcilesIdle = (await operator.metric('hyperagent_reconcile_total')) - reconcilesBefore;
const operatorRequestsIdle =
  (await operator.metric('hyperagent_kube_api_requests_total')) +
  (await operator.metric('hyperagent_kube_watches_total')) -
  operatorRequestsBefore;
const serverAfter = await apiserverRequests();
const delta = (resource: string) => (serverAfter.get(resource) ?? 0) - (serverBefore.get(resource) ?? 0);

const agentBuckets = await reconcileBuckets(operator.port, 'hyperagent');
const cycleBuckets = await reconcileBuckets(operator.port, 'improvementcycle');
const allBuckets = agentBuckets.map(
  ([bound, count], i) => [bound, count + (cycleBuckets[i]?.[1] ?? 0)] as [number, number],
);
const reconciles = allBuckets[allBuckets.length - 1]?.[1] ?? 0;
const rss = peakRssMiB(pid);
await operator.kill('SIGTERM');

const ms = (s: number) => fmt(s * 1000, 2);
console.log('');
console.log(`scale benchmark: ${AGENTS} HyperAgents, real kube-apiserver, operator from dist/`);
console.log(`  peak RSS (VmHWM)                       ${fmt(rss)} MiB          goal < 150 MiB`);
console.log(`  reconciles measured                    ${reconciles}`);
console.log(
  `  reconcile p50 / p99 (all)              ${ms(histogramQuantile(0.5, allBuckets))} / ${ms(histogramQuantile(0.99, allBuckets))} ms   goal p99 < 50 ms`,
);
console.log(
  `  reconcile p50 / p99 (HyperAgent)       ${ms(histogramQuantile(0.5, agentBuckets))} / ${ms(histogramQuantile(0.99, agentBuckets))} ms`,
);
console.log(
  `  reconcile p50 / p99 (ImprovementCycle) ${ms(histogramQuantile(0.5, cycleBuckets))} / ${ms(histogramQuantile(0.99, cycleBuckets))} ms`,
);
console.log(`  time to settle ${AGENTS} agents             ${fmt((settled - started) / 1000)} s`);
console.log(`  idle window                            ${IDLE_SECONDS} s`);
console.log(`  idle reconciles                        ${reconcilesIdle}`);
console.log(
  `  idle requests, operator's own count    ${operatorRequestsIdle} (${fmt(operatorRequestsIdle / IDLE_SECONDS, 3)}/s; lease renewals not included)`,
);
console.log(
  `  idle requests, API server, hyperagents.io resources  ${delta('hyperagents') + delta('improvementcycles')} (${fmt((delta('hyperagents') + delta('improvementcycles')) / IDLE_SECONDS, 3)}/s)`,
);
console.log(`  idle requests, API server, events      ${delta('events')}`);
console.log(
  `  idle requests, API server, leases      ${delta('leases')} (${fmt(delta('leases') / IDLE_SECONDS, 2)}/s: leader renewals every 2 s retry period)`,
);
console.log('');
// The quantile interpolation is only as fine as the histogram's buckets (0.5, 1, 2.5, 5, 10, 25, 50 ms...).
