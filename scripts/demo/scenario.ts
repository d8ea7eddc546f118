// The demo scenario on a running cluster (test/cluster/cluster.sh up, .cluster/env sourced): the
// quote service, its slow pricing dependency and a load generator; a HyperAgent whose tuner cycle
// is evaluated in sandboxes, promoted through a Prometheus-gated canary under load; then a second
// cycle whose LLM-proposed code change passes the sandbox but fails under real traffic and is
// rolled back. `npm run demo` runs it and writes the report; the e2e suite runs it too and then
// every query of the Grafana dashboard.
//
// Stand-ins the demo runs on this machine for the length of the demo: the service's git server
// (smart HTTP with Basic auth) and the scripted OpenAI-compatible LLM. At the end the agent is
// suspended, since neither outlives the demo.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HyperAgent, ImprovementCycle } from '../../operator/src/api/resources.js';
import { DELIVERING_CYCLE_PHASES } from '../../operator/src/api/schema.js';
import { isTerminal } from '../../operator/src/cycle/machine.js';
import { PrometheusProvider } from '../../operator/src/rollout/prometheus.js';
import { sandboxNamespaceName } from '../../operator/src/sandbox/manifests.js';
import {
  getAgent,
  kubectl,
  kubectlWithInput,
  listCycles,
  patchAgentSpec,
} from '../../test/support/cluster.js';
import { startGitHttpServer } from '../../test/support/git-http-server.js';
import { reply, startLlmServer } from '../../test/support/llm-server.js';
import { kubectlPlugin } from '../../test/support/plugin.js';
import { createQuoteRemote, readTree } from '../../test/support/quote-fixture.js';
import { AGENT_NAME, LLM_MODEL, llmProposerSpec, quoteAgent } from './agent.js';
import { elapsed, progressLines } from './progress.js';
import {
  archiveFigures,
  reductionPct,
  rollbackSeconds,
  round,
  summarizeCycle,
  type CycleSummary,
  sandboxP99,
  type DemoReport,
  errorWindow,
  type HealingReport,
} from './report.js';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SERVICE_DIR = join(REPO_ROOT, 'examples/quote-service');
const IN_CLUSTER_PROMETHEUS = 'http://prometheus.monitoring:9090';
const LOAD_RPS = 40;
const GIT_USER = 'demo';
const CYCLE_TIMEOUT_MS = 20 * 60_000;

export interface DemoOptions {
  namespace?: string;
  /** Where progress goes, one line at a time. */
  log: (line: string) => void;
}

export interface Environment {
  nodeIP: string;
  prometheusURL: string;
  serviceImage: string;
}

export function environment(): Environment {
  const missing = [
    'HYPERAGENT_NODE_IP',
    'HYPERAGENT_PROMETHEUS_URL',
    'HYPERAGENT_QUOTE_SERVICE_IMAGE',
    'KUBECONFIG',
  ].filter((name) => !process.env[name]);
  if (missing.length > 0) {
    throw new Error(
      `${missing.join(', ')} not set: bring the cluster up (npm run cluster:up) and source .cluster/env first`,
    );
  }
  return {
    nodeIP: process.env.HYPERAGENT_NODE_IP!,
    prometheusURL: process.env.HYPERAGENT_PROMETHEUS_URL!,
    serviceImage: process.env.HYPERAGENT_QUOTE_SERVICE_IMAGE!,
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function runDemo(options: DemoOptions): Promise<DemoReport> {
  const namespace = options.namespace ?? 'demo';
  const env = environment();
  const started = Date.now();
  const say = (line: string) => options.log(`${elapsed(started, Date.now())}  ${line}`);
  const heading = (line: string) => options.log(`\n== ${line}`);
  const prometheus = new PrometheusProvider({ address: env.prometheusURL });
  const cleanups: (() => Promise<unknown>)[] = [];

  try {
    const stage = await setUpQuoteService(namespace, env, say, heading, cleanups);
    const { repo, password } = stage;
    say('measuring p99 of GET /quote before any change (60 s of load)');
    await sleep(65_000);
    const before = await p99Ms(prometheus, namespace);
    say(`p99 before: ${before} ms`);

    heading(`HyperAgent ${AGENT_NAME}: the offline tuner proposes cache and batching settings`);
    const agent = quoteAgent(namespace, { repo, prometheus: IN_CLUSTER_PROMETHEUS });
    await kubectlWithInput(JSON.stringify(agent), 'apply', '-f', '-');
    say(`kubectl apply -f - (HyperAgent ${namespace}/${AGENT_NAME}, proposer tuner, approval Auto)`);
    const good = await followCycle(namespace, [], prometheus, say);
    if (good.cycle.status?.phase !== 'Promoted') {
      throw new Error(
        `the tuner's cycle ended ${good.cycle.status?.phase} (${good.cycle.status?.reason}): ${good.cycle.status?.message}`,
      );
    }
    await waitForStableAlone(namespace);
    const goodLoad = await loadSince(prometheus, namespace, good.loadAtStart);
    say(`promoted; ${goodLoad.failed} of ${goodLoad.total} requests failed while it rolled out`);
    say('measuring p99 of the promoted version (60 s of load)');
    await sleep(65_000);
    const after = await p99Ms(prometheus, namespace);
    say(`p99 after: ${after} ms (${reductionPct(before, after)}% lower)`);
    const promotedAgent = await getAgent(namespace, AGENT_NAME);
    const promotedRevision = promotedAgent.status?.stableRevision ?? null;
    const promotedEntry = promotedAgent.status?.history?.find((entry) => entry.revision === promotedRevision);

    heading('a second cycle: the LLM proposes a code change that only real traffic can judge');
    const llm = await startLlmServer({ host: env.nodeIP, apiKey: password, models: [LLM_MODEL] });
    cleanups.push(() => llm.close());
    const patch = await readFile(join(SERVICE_DIR, 'demo/refresh-ahead.patch'), 'utf8');
    llm.script(reply(JSON.stringify({ candidates: [refreshAhead(patch)] })));
    await applySecret(namespace, 'llm', { apiKey: password }, 'llm');
    await patchAgentSpec(namespace, AGENT_NAME, llmProposerSpec(llm.baseURL));
    say(`proposer: openai, model ${LLM_MODEL} at ${llm.baseURL} (a scripted stand-in)`);
    const run = await kubectlPlugin('hyperagent', 'run', AGENT_NAME, '-n', namespace);
    if (run.code !== 0) throw new Error(`kubectl hyperagent run failed: ${run.stderr}`);
    say(`kubectl hyperagent run ${AGENT_NAME}: ${run.stdout.trim()}`);
    const bad = await followCycle(namespace, [good.cycle.metadata.name ?? ''], prometheus, say);
    await waitForStableAlone(namespace);
    const badLoad = await loadSince(prometheus, namespace, bad.loadAtStart);

    heading("the agent's memory: every candidate it tried, and what production said of its deliveries");
    const remembered = await waitForLedger(namespace, good.cycle.metadata.name ?? '', say);
    const shown = await kubectlPlugin('hyperagent', 'archive', AGENT_NAME, '-n', namespace);
    for (const line of (shown.code === 0 ? shown.stdout : shown.stderr).trimEnd().split('\n')) say(line);

    heading('a third act: the pricing dependency starts failing a share of its calls');
    const healed = await healIncident(namespace, llm, prometheus, say, [
      good.cycle.metadata.name ?? '',
      bad.cycle.metadata.name ?? '',
    ]);

    await patchAgentSpec(namespace, AGENT_NAME, { suspend: true });
    say("agent suspended: the demo's git server and LLM stand-in stop with the demo");

    const cycles: CycleSummary[] = [
      summarizeCycle(good.cycle),
      summarizeCycle(bad.cycle),
      ...(healed.cycle ? [summarizeCycle(healed.cycle)] : []),
    ];
    const decision = bad.cycle.status?.canary?.decision;
    const finished = Date.now();
    return {
      p99_ms_before: before,
      p99_ms_after: after,
      p99_reduction_pct: reductionPct(before, after),
      sandbox_p99_ms: sandboxP99(cycles[0]!),
      candidates_evaluated: cycles
        .flatMap((c) => c.candidates)
        .filter((c) => c.verdict === 'Passed' || c.verdict === 'Failed').length,
      promoted_revision: promotedRevision,
      promoted_parameters: promotedEntry?.parameters ?? {},
      rollback_seconds: rollbackSeconds(bad.cycle),
      failed_requests_during_rollouts: goodLoad.failed,
      requests_during_rollouts: goodLoad.total,
      bad_canary: {
        cycle: bad.cycle.metadata.name ?? '',
        outcome: bad.cycle.status?.phase ?? 'Unknown',
        decision: decision ? `${decision.action} (${decision.reason}): ${decision.message}` : null,
        failed_requests: badLoad.failed,
        requests: badLoad.total,
      },
      load_rps: LOAD_RPS,
      cycles,
      ...archiveFigures(remembered),
      healing: healed.report,
      started_at: new Date(started).toISOString(),
      finished_at: new Date(finished).toISOString(),
      duration_seconds: Math.round((finished - started) / 1000),
    };
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  }
}

/**
 * The third act: the pricing dependency fails a share of its calls (fast 503s), the quote service
 * (no retries) answers errors, the agent's trigger holds, a remediation cycle starts at once; the
 * LLM stand-in proposes retries, the sandbox finds them no worse, the canary shows the error ratio
 * improved, and once promoted the incident heals. The share is chosen from the retries the
 * service runs with, so that about 4% of pricing calls fail after them.
 */
async function healIncident(
  namespace: string,
  llm: Awaited<ReturnType<typeof startLlmServer>>,
  prometheus: PrometheusProvider,
  say: (line: string) => void,
  seen: readonly string[],
): Promise<{ report: HealingReport; cycle?: ImprovementCycle }> {
  const deployment = JSON.parse(
    await kubectl('-n', namespace, 'get', 'deployment', 'quote-service', '-o', 'json'),
  ) as { spec: { template: { spec: { containers: { env?: { name: string; value?: string }[] }[] } } } };
  const retriesEnv = deployment.spec.template.spec.containers[0]?.env?.find(
    (e) => e.name === 'QUOTE_RETRIES',
  );
  const retries = Number(retriesEnv?.value ?? '2');
  const faultRate = round(FAILED_CALL_SHARE ** (1 / (retries + 1)), 3);
  llm.script(reply(JSON.stringify({ candidates: [retryTransientFailures()] })));
  await patchAgentSpec(namespace, AGENT_NAME, { improvement: { maxCandidates: 1 } });
  say(`the service runs with ${retries} retries; the LLM stand-in will propose up to 3, with backoff`);

  const before = await loadCount(prometheus, namespace);
  await sleep(15_000);
  const atFault = await loadCount(prometheus, namespace);
  const faultAt = Date.now();
  await kubectl('-n', namespace, 'set', 'env', 'deployment/pricing', `PRICING_FAULT_RATE=${faultRate}`);
  say(
    `kubectl set env deployment/pricing PRICING_FAULT_RATE=${faultRate}: ${Math.round(faultRate * 100)}% of pricing calls fail at once with 503`,
  );

  const followed = await followCycle(namespace, seen, prometheus, say);
  const cycle = followed.cycle;
  const incident = cycle.spec.incident;
  const detectedAt = incident ? Date.parse(incident.detectedAt) : NaN;
  if (incident)
    say(`incident: ${incident.summary}; detected ${seconds(detectedAt - faultAt)} after the fault`);
  const promotedAt = Date.parse(cycle.status?.promotion?.promotedAt ?? '');
  let healedAt = NaN;
  if (cycle.status?.phase === 'Promoted') {
    const deadline = Date.now() + 180_000;
    while (Date.now() < deadline && Number.isNaN(healedAt)) {
      const last = (await getAgent(namespace, AGENT_NAME)).status?.healing?.lastIncident;
      const at = Date.parse(last?.healedAt ?? '');
      if (at > faultAt) healedAt = at;
      else await sleep(2_000);
    }
    say(
      Number.isNaN(healedAt)
        ? 'the incident did not heal within 3 minutes'
        : `healed ${seconds(healedAt - faultAt)} after the fault: no trigger fires`,
    );
  } else {
    say(
      `the remediation cycle ended ${cycle.status?.phase} (${cycle.status?.reason}): ${cycle.status?.message}`,
    );
  }
  const atHealed = await loadCount(prometheus, namespace);
  await sleep(30_000);
  const afterwards = await loadSince(prometheus, namespace, atHealed);
  await kubectl('-n', namespace, 'set', 'env', 'deployment/pricing', 'PRICING_FAULT_RATE-');
  const window = (from: LoadCount, to: LoadCount) =>
    errorWindow(to.failed - from.failed, to.total - from.total);
  const report: HealingReport = {
    fault_rate: faultRate,
    retries_before: retries,
    fault_at: new Date(faultAt).toISOString(),
    incident: incident?.summary ?? null,
    remediation_cycle: cycle.metadata.name ?? null,
    remediation_outcome: cycle.status?.phase ?? 'Unknown',
    remedy: cycle.status?.promotion?.parameters ?? null,
    time_to_detect_s: secondsOrNull(detectedAt - faultAt),
    time_to_mitigate_s: secondsOrNull(promotedAt - faultAt),
    time_to_heal_s: secondsOrNull(healedAt - faultAt),
    client_errors: {
      before: window(before, atFault),
      during: window(atFault, atHealed),
      after: window({ total: 0, failed: 0 }, afterwards),
    },
  };
  say(
    `client errors: before ${percentOf(report.client_errors.before)}, during ${percentOf(report.client_errors.during)}, after ${percentOf(report.client_errors.after)}`,
  );
  return { report, cycle };
}

/** The share of pricing calls that still fail after the service's retries, in the third act. */
const FAILED_CALL_SHARE = 0.04;

/** The LLM stand-in's remedy: a config change, as an LLM proposes one. */
export function retryTransientFailures() {
  return {
    kind: 'config',
    parameters: [{ name: 'retries', value: 3 }],
    summary: 'retry transient pricing failures: up to 3 retries with backoff',
    rationale:
      'The pricing API answers a share of calls with 503 at once; the failures are transient, so a retry after a short backoff succeeds and the quote is answered.',
  };
}

function secondsOrNull(ms: number): number | null {
  return Number.isFinite(ms) ? round(ms / 1000, 1) : null;
}

function seconds(ms: number): string {
  return `${round(ms / 1000, 1)} s`;
}

function percentOf(window: { failed: number; total: number; ratio_pct: number | null }): string {
  return `${window.ratio_pct ?? 'n/a'}% (${window.failed} of ${window.total})`;
}

export interface QuoteStage {
  /** The service's git repository (smart HTTP on the node's address). */
  repo: string;
  /** The git server's password, also the LLM stand-in's API key. */
  password: string;
}

/**
 * A fresh namespace with the quote service's git repository (served from this machine), its
 * pricing dependency, three replicas and steady load, ready for a HyperAgent. What runs on this
 * machine (the git server, scratch files) is stopped by `cleanups`.
 */
export async function setUpQuoteService(
  namespace: string,
  env: Environment,
  say: (line: string) => void,
  heading: (line: string) => void,
  cleanups: (() => Promise<unknown>)[],
): Promise<QuoteStage> {
  heading(`a fresh namespace ${namespace}`);
  await kubectl(
    'delete',
    'namespace',
    namespace,
    sandboxNamespaceName(namespace),
    '--ignore-not-found',
    '--wait=true',
    '--timeout=180s',
  );
  await kubectl('create', 'namespace', namespace);

  heading('the quote service: its git repository, pricing dependency, three replicas and steady load');
  const scratch = await mkdtemp(join(tmpdir(), 'hyperagent-demo-'));
  cleanups.push(() => rm(scratch, { recursive: true, force: true }));
  // the service's source as its repository holds it: no installed packages or build output
  createQuoteRemote(
    scratch,
    await readTree(
      SERVICE_DIR,
      (name) => name === 'node_modules' || name === 'out' || name.startsWith('.git'),
    ),
  );
  const password = `demo-${Math.random().toString(36).slice(2)}`;
  const git = await startGitHttpServer({
    projectRoot: scratch,
    host: env.nodeIP,
    username: GIT_USER,
    password,
  });
  cleanups.push(() => git.close());
  const repo = `${git.url}/remote.git`;
  say(`git repository ${repo} (main: examples/quote-service)`);
  await applySecrets(namespace, password);
  // in dependency order: a quote pod started before the pricing Service exists resolves the bare
  // name through the node's upstream DNS instead, and its keep-alive connection stays there
  for (const name of ['pricing', 'quote-service', 'loadgen']) {
    if (name === 'loadgen') {
      // the way in: the HTTPRoute through the cluster's Gateway, which the canaries share by weight
      const routed = await kubectlWithInput(
        await readFile(join(SERVICE_DIR, 'deploy', 'route.yaml'), 'utf8'),
        'apply',
        '-n',
        namespace,
        '-f',
        '-',
      );
      say(routed.trim());
    }
    const applied = await applyServiceManifest(namespace, name, env.serviceImage);
    for (const line of applied.trim().split('\n')) say(line);
    await kubectl('rollout', 'status', '-n', namespace, `deployment/${name}`, '--timeout=240s');
  }
  say(
    `pods ready; the load generator sends ${LOAD_RPS} requests/s through the Gateway (HTTPRoute quote-service)`,
  );
  await waitForCleanLoad(new PrometheusProvider({ address: env.prometheusURL }), namespace, say);
  return { repo, password };
}

async function applySecrets(namespace: string, password: string): Promise<void> {
  await applySecret(namespace, 'git', { username: GIT_USER, password }, 'git');
}

/** A Secret, opted in to its one use as a user does it: `kubectl hyperagent secret allow`. */
export async function applySecret(
  namespace: string,
  name: string,
  stringData: Record<string, string>,
  use: 'git' | 'llm',
): Promise<void> {
  await kubectlWithInput(
    JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace }, stringData }),
    'apply',
    '-f',
    '-',
  );
  const allowed = await kubectlPlugin('hyperagent', 'secret', 'allow', name, '--for', use, '-n', namespace);
  if (allowed.code !== 0)
    throw new Error(`kubectl hyperagent secret allow ${name} failed: ${allowed.stderr}`);
}

/** The image examples/quote-service/deploy names; a cluster may publish it under another tag. */
const MANIFEST_IMAGE = 'localhost:5001/quote-service:1.0.0';

/**
 * `kubectl apply` of examples/quote-service/deploy/NAME.yaml with the image the cluster actually
 * has, as `kustomize edit set image` would (the harness tags images with their content digest).
 */
async function applyServiceManifest(namespace: string, name: string, image: string): Promise<string> {
  const text = await readFile(join(SERVICE_DIR, 'deploy', `${name}.yaml`), 'utf8');
  if (!text.includes(`image: ${MANIFEST_IMAGE}`))
    throw new Error(`deploy/${name}.yaml does not run ${MANIFEST_IMAGE}`);
  return kubectlWithInput(
    text.replaceAll(`image: ${MANIFEST_IMAGE}`, `image: ${image}`),
    'apply',
    '-n',
    namespace,
    '-f',
    '-',
  );
}

async function value(prometheus: PrometheusProvider, query: string): Promise<number | undefined> {
  const measured = await prometheus.measure(query);
  if (measured.kind === 'error') throw new Error(measured.message);
  return measured.kind === 'value' ? measured.value : undefined;
}

/** Load flows and nothing fails: kube-proxy may program a new Service a little late. */
export async function waitForCleanLoad(
  prometheus: PrometheusProvider,
  namespace: string,
  say: (line: string) => void,
): Promise<void> {
  const ok = `sum(rate(loadgen_requests_total{namespace="${namespace}", outcome="ok"}[20s]))`;
  const failed = `sum(rate(loadgen_requests_total{namespace="${namespace}", outcome!="ok"}[20s]))`;
  const deadline = Date.now() + 240_000;
  let last = 'no figures yet';
  while (Date.now() < deadline) {
    const okRate = (await value(prometheus, ok)) ?? 0;
    const failedRate = (await value(prometheus, failed)) ?? 0;
    if (okRate >= LOAD_RPS * 0.8 && failedRate === 0) {
      say(`load steady: ${round(okRate, 1)} answers/s, none failing`);
      return;
    }
    last = `${round(okRate, 1)} answers/s, ${round(failedRate, 2)} failing/s`;
    await sleep(2000);
  }
  const outcomes: string[] = [];
  for (const outcome of ['ok', 'http_4xx', 'http_5xx', 'error']) {
    const count = await value(
      prometheus,
      `sum(increase(loadgen_requests_total{namespace="${namespace}", outcome="${outcome}"}[2m]))`,
    ).catch(() => undefined);
    if (count !== undefined) outcomes.push(`${outcome} ${round(count, 0)}`);
  }
  throw new Error(
    `the load generator did not reach a steady, failure-free rate (${LOAD_RPS * 0.8}/s, none failing) within 4 minutes; last: ${last}; requests by outcome over the last 2 min: ${outcomes.join(', ') || 'none recorded'}`,
  );
}

export async function p99Ms(prometheus: PrometheusProvider, namespace: string): Promise<number> {
  const query = `histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{namespace="${namespace}", route="/quote"}[1m])))`;
  const seconds = await value(prometheus, query);
  if (seconds === undefined || !Number.isFinite(seconds)) throw new Error(`no p99 from Prometheus: ${query}`);
  return round(seconds * 1000, 1);
}

export interface LoadCount {
  total: number;
  failed: number;
}

export async function loadCount(prometheus: PrometheusProvider, namespace: string): Promise<LoadCount> {
  const total = await value(prometheus, `sum(loadgen_requests_total{namespace="${namespace}"})`);
  if (total === undefined) throw new Error('the load generator has no request counts in Prometheus');
  const failed =
    (await value(
      prometheus,
      `sum(loadgen_requests_total{namespace="${namespace}", outcome=~"http_5xx|error"})`,
    )) ?? 0;
  return { total, failed };
}

/** What the load generator saw since `start`, once Prometheus has scraped past now. */
export async function loadSince(
  prometheus: PrometheusProvider,
  namespace: string,
  start: LoadCount,
): Promise<LoadCount> {
  await sleep(12_000); // two scrape intervals: the last requests of the window are in
  const end = await loadCount(prometheus, namespace);
  return { total: Math.round(end.total - start.total), failed: Math.round(end.failed - start.failed) };
}

/**
 * Prints the agent's next cycle (the first one not named in `seen`) as it moves, until it ends.
 * The load count is taken when delivery begins (Committing), before anything changes what runs.
 */
export async function followCycle(
  namespace: string,
  seen: readonly string[],
  prometheus: PrometheusProvider,
  say: (line: string) => void,
): Promise<{ cycle: ImprovementCycle; loadAtStart: LoadCount }> {
  const deadline = Date.now() + CYCLE_TIMEOUT_MS;
  let previous: ImprovementCycle | undefined;
  let loadAtStart: LoadCount | undefined;
  while (Date.now() < deadline) {
    const cycle = (await listCycles(namespace)).find((c) => !seen.includes(c.metadata.name ?? ''));
    if (cycle) {
      if (!previous) say(`cycle ${cycle.metadata.name} created`);
      for (const line of progressLines(previous, cycle)) say(line);
      if (!loadAtStart && cycle.status?.phase && DELIVERING_CYCLE_PHASES.includes(cycle.status.phase)) {
        loadAtStart = await loadCount(prometheus, namespace);
      }
      previous = cycle;
      if (isTerminal(cycle.status?.phase)) {
        return { cycle, loadAtStart: loadAtStart ?? (await loadCount(prometheus, namespace)) };
      }
    }
    await sleep(1000);
  }
  throw new Error(
    `cycle ${previous?.metadata.name ?? '(none)'} did not end within ${CYCLE_TIMEOUT_MS / 60_000} minutes (last phase ${previous?.status?.phase})`,
  );
}

/**
 * The agent as it is once its archive holds both cycles and the promoted candidate's gain in
 * production (measured rollout.afterPromotion.window after its promotion); gives up after three
 * minutes and returns what there is, for the report to say what is missing.
 */
async function waitForLedger(
  namespace: string,
  promotedCycle: string,
  say: (line: string) => void,
): Promise<HyperAgent> {
  const deadline = Date.now() + 180_000;
  let agent = await getAgent(namespace, AGENT_NAME);
  while (Date.now() < deadline) {
    const promoted = agent.status?.archive?.find(
      (entry) => entry.cycle === promotedCycle && entry.verdict === 'Promoted',
    );
    const rolledBack = agent.status?.archive?.some((entry) => entry.verdict === 'RolledBack');
    if (promoted?.gain?.productionCheckedAt && rolledBack) return agent;
    await sleep(2000);
    agent = await getAgent(namespace, AGENT_NAME);
  }
  say('the archive did not hold both deliveries with their production figures within 3 minutes');
  return agent;
}

/** The stable Deployment has finished rolling out and no canary Deployment is left. */
export async function waitForStableAlone(namespace: string): Promise<void> {
  await kubectl('rollout', 'status', '-n', namespace, 'deployment/quote-service', '--timeout=300s');
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const left = await kubectl(
      'get',
      'deploy,pods',
      '-n',
      namespace,
      '-l',
      'hyperagents.io/role=canary',
      '-o',
      'name',
    );
    if (left.trim() === '') return;
    await sleep(1000);
  }
  throw new Error('the canary Deployment or its pods are still there two minutes after the cycle ended');
}

/** The scripted LLM's answer: the change in examples/quote-service/demo/refresh-ahead.patch. */
export function refreshAhead(diff: string) {
  return {
    kind: 'code',
    summary: 'refresh-ahead: on a price miss, fetch the whole price table in one call and cache it',
    rationale:
      'With a cache that holds every listed symbol, one round trip per TTL replaces a call per missed symbol, so the p99 request becomes a cache hit.',
    diff,
  };
}
