// The watch after promotion on the real cluster, judged by the real Prometheus under real load: a
// version of the echo fixture that passes its canary and turns slow a minute after its pods
// start (FAULTS_AFTER_S, SLOW_MS) is promoted, then found by the watch (its mean latency against
// what the revision before measured before the canary) and reverted to the ReplicaSet that ran
// before; the revert commit lands on the cycle branch of a real git repository. The KubeCanaryDriver
// and CommitWork are called the way the cycle reconciler calls them (each visit starts from the
// status the previous one returned), as in canary.test.ts.
//
// It prints the times that matter: when the promoted pods turned slow, the first failed round,
// the decision, and the revision before rolled out again.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pino from 'pino';
import { API_VERSION, CYCLES, type ImprovementCycle } from '../../operator/src/api/resources.js';
import type { ImprovementCycleStatus } from '../../operator/src/api/schema.js';
import type { CycleContext } from '../../operator/src/cycle/ports.js';
import { CommitWork } from '../../operator/src/engine/commit-work.js';
import { commitCandidate } from '../../operator/src/git/commit.js';
import { pushCycleBranch } from '../../operator/src/git/push.js';
import { SourceCheckouts } from '../../operator/src/git/source-checkout.js';
import { createKubeClients } from '../../operator/src/kube/clients.js';
import { cycleInputsConfigMap } from '../../operator/src/kube/cycle-inputs.js';
import { KubeEventRecorder } from '../../operator/src/kube/events.js';
import { KubeCanaryDriver } from '../../operator/src/rollout/kube-canary-driver.js';
import { OperatorMetrics } from '../../operator/src/telemetry/metrics.js';
import {
  agentManifest,
  core,
  createAgent,
  custom,
  freshNamespace,
  kubeConfig,
  kubectl,
} from '../support/cluster.js';
import {
  ECHO_FAULTS_IMAGE,
  deployStableEcho,
  loadBetween,
  startLoad,
  type EchoService,
} from '../support/echo-service.js';
import { createRemote, git, workspaceOn, type TestRemote } from '../support/git-repos.js';
import { apps, deleteNamespace } from '../support/workloads.js';

const PROMETHEUS_URL = process.env.HYPERAGENT_PROMETHEUS_URL ?? 'http://127.0.0.1:9090';
const SERVICE = 'web';
const REPLICAS = 3;
/** The promoted version's pods turn slow this long after they start: after the canary, not during it. */
const SLOW_AFTER_S = 75;
const SLOW_MS = 250;
const INTERVAL_S = 5;

const clients = createKubeClients(kubeConfig, () => {});
const metrics = new OperatorMetrics({ defaultMetrics: false });
const driver = new KubeCanaryDriver({
  clients,
  events: new KubeEventRecorder(clients.core, pino({ level: 'silent' }), 'e2e-watch'),
  metrics,
  weightDeadlineMs: 180_000,
});

/** Stable or canary pods of the Deployment `{{canary}}` (`web-<hash>-<id>`), never both. */
const PODS = 'pod=~"{{canary}}-[a-z0-9]+-[a-z0-9]+"';
const LATENCY = {
  name: 'mean-latency',
  query: `sum(rate(echo_request_duration_seconds_sum{namespace="{{namespace}}", ${PODS}}[15s])) / sum(rate(echo_request_duration_seconds_count{namespace="{{namespace}}", ${PODS}}[15s]))`,
  maxRatioToStable: 5,
};
const ERROR_RATE = {
  name: 'error-rate',
  query: `(sum(rate(echo_requests_total{namespace="{{namespace}}", ${PODS}, code=~"5.."}[15s])) or vector(0)) / sum(rate(echo_requests_total{namespace="{{namespace}}", ${PODS}}[15s]))`,
  max: 0.05,
};

let namespace: string;
let remote: TestRemote;
const echo = (): EchoService => ({ namespace, name: SERVICE });

before(async () => {
  namespace = await freshNamespace('e2e-watch');
  remote = await createRemote();
  await deployStableEcho(echo(), { replicas: REPLICAS, image: ECHO_FAULTS_IMAGE });
  await startLoad(echo());
});

after(async () => {
  const text = await metrics.registry.metrics();
  console.log(
    text
      .split('\n')
      .filter((line) => /^hyperagent_(reverts|time_to_)/.test(line) && !line.includes('_bucket'))
      .join('\n'),
  );
  await remote?.cleanup();
  if (process.env.HYPERAGENT_KEEP_NAMESPACE !== '1') await deleteNamespace(namespace);
});

test('a revision that slows down after promotion is reverted within the window, and the revert commit is on the cycle branch', async () => {
  const agent = await createAgent(
    agentManifest(SERVICE, namespace, {
      suspend: true,
      target: { deployment: SERVICE, container: 'echo', service: SERVICE },
      source: { repo: remote.url },
      improvement: {
        interval: '1h',
        parameters: [
          { name: 'version', env: 'VERSION', type: 'choice', choices: ['v1', 'v2'] },
          { name: 'slow-ms', env: 'SLOW_MS', type: 'integer', min: 0, max: 1000 },
          { name: 'slow-after', env: 'FAULTS_AFTER_S', type: 'integer', min: 0, max: 600 },
        ],
      },
      rollout: {
        steps: [{ weight: 50, pause: '10s' }],
        analysis: {
          prometheus: { address: PROMETHEUS_URL },
          interval: `${INTERVAL_S}s`,
          inconclusiveLimit: 4,
          metrics: [LATENCY, ERROR_RATE],
        },
        afterPromotion: { window: '4m', watch: true },
      },
    }),
  );
  const evaluated = { version: 'v2', 'slow-ms': String(SLOW_MS), 'slow-after': String(SLOW_AFTER_S) };
  const cycle = await startCycle(agent.spec, evaluated);

  // the canary: the new version is still fast, so it is promoted
  const canaryStarted = Date.now();
  for (;;) {
    const outcome = await driver.advance(cycle);
    if (outcome.state === 'failed') assert.fail(outcome.message);
    cycle.status = { ...cycle.status, ...outcome.status };
    if (outcome.state === 'succeeded') {
      assert.equal(outcome.result, 'Promoted', outcome.message);
      cycle.status = { ...cycle.status, phase: 'Promoted' };
      break;
    }
    assert.ok(Date.now() - canaryStarted < 180_000, `the canary did not end: ${outcome.message}`);
    await sleep(Math.min(outcome.retryAfterMs ?? 2000, 5000));
  }
  const promotedAt = Date.parse(cycle.status.promotion!.promotedAt);
  const stable = await apps.readNamespacedDeployment({ name: SERVICE, namespace });
  assert.equal(env(stable, 'SLOW_MS'), String(SLOW_MS), 'the slow version runs');
  console.log(`promoted ${seconds(promotedAt - canaryStarted)} after the canary started`);

  // the watch, visited as the reconciler visits it, until it is over
  const watchStarted = Date.now();
  for (;;) {
    const outcome = await driver.watchAfterPromotion(cycle);
    cycle.status = { ...cycle.status, watch: outcome.watch };
    if (outcome.watch.phase === 'Passed' || outcome.watch.phase === 'Reverted') break;
    assert.ok(Date.now() - watchStarted < 300_000, `the watch did not end: ${outcome.watch.message}`);
    await sleep(Math.min(outcome.retryAfterMs ?? 1000, 5000));
  }
  const watch = cycle.status.watch!;
  assert.equal(watch.phase, 'Reverted', watch.message);
  assert.ok(
    watch.baseline?.['mean-latency'] !== undefined,
    'the revision before was measured before the canary',
  );
  assert.match(
    watch.message,
    /Regression after promotion: mean-latency failed once, more than failureLimit 0/,
  );
  assert.equal(watch.revertedTo, undefined, 'the revision before the first promotion has no name');

  // the revision before runs again: the template of the ReplicaSet recorded when the watch began
  const reverted = await apps.readNamespacedDeployment({ name: SERVICE, namespace });
  assert.equal(env(reverted, 'VERSION'), 'v1');
  assert.equal(env(reverted, 'SLOW_MS'), undefined);
  const replicaSets = await apps.listNamespacedReplicaSet({ namespace, labelSelector: `app=${SERVICE}` });
  const serving = replicaSets.items.filter((rs) => (rs.status?.replicas ?? 0) > 0);
  assert.deepEqual(
    serving.map((rs) => rs.metadata?.name),
    [watch.previousReplicaSet],
    'only the ReplicaSet that ran before serves',
  );

  // when the promoted pods turned slow: SLOW_AFTER_S after the first of them started
  const slowSince = (await promotedPodStarts(watch.previousReplicaSet!)) + SLOW_AFTER_S * 1000;
  const firstFailure = Date.parse(watch.firstFailureTime!);
  const decided = Date.parse(watch.decisionTime!);
  const rolledBack = Date.parse(watch.revertedTime!);
  console.log(
    `slow since ${seconds(slowSince - promotedAt)} after promotion; first failed round ${seconds(firstFailure - slowSince)} later, decided ${seconds(decided - slowSince)} after it turned slow (interval ${INTERVAL_S}s, scrape 5s, rate window 15s), reverted and rolled out ${seconds(rolledBack - decided)} after the decision`,
  );
  assert.ok(
    decided - slowSince <= 2 * INTERVAL_S * 1000 + 15_000,
    'found within two rounds of the rate window filling',
  );
  const load = await loadBetween(namespace, rolledBack + 20_000, rolledBack + 30_000);
  const slowest = Math.max(...load.windows.map((w) => w.maxMs ?? 0));
  console.log(`after the revert: ${load.total} requests, ${load.failed} failed, slowest ${slowest} ms`);
  assert.ok(slowest < SLOW_MS, 'the service is fast again');

  // git says what runs: a revert commit above the promoted one on the cycle branch
  const work = new CommitWork({
    clients,
    checkouts: new SourceCheckouts(async () => ({ problem: 'no Secret is used' }), `${remote.root}/operator`),
  });
  const committed = await work.revertPromotion(cycle);
  assert.equal(committed.state, 'reverted', JSON.stringify(committed));
  const branch = `refs/heads/hyperagent/${SERVICE}/${cycle.name}`;
  const head = git(remote.bare, ['rev-parse', branch]).trim();
  assert.equal(committed.state === 'reverted' && committed.commit, head);
  assert.equal(git(remote.bare, ['rev-parse', `${head}^`]).trim(), cycle.status.commit);
  const message = git(remote.bare, ['log', '-1', '--format=%B', head]);
  assert.match(message, new RegExp(`HyperAgent-Reverts: ${cycle.status.commit}`));
  assert.match(
    message,
    /This reverts commit [0-9a-f]{40}: Reverted: the revision before runs again\. Regression after promotion/,
  );
  console.log(`revert commit ${head.slice(0, 12)} on hyperagent/${SERVICE}/${cycle.name}`);
  await printEvents(cycle.name);
});

/** The cycle a Committing phase would have left: a real object, its inputs, and its commit on the remote. */
async function startCycle(
  agentSpec: ImprovementCycle['spec']['agentSpec'],
  evaluated: Record<string, string>,
): Promise<CycleContext> {
  const created = (await custom.createNamespacedCustomObject({
    group: CYCLES.group,
    version: CYCLES.version,
    plural: CYCLES.plural,
    namespace,
    body: {
      apiVersion: API_VERSION,
      kind: CYCLES.kind,
      metadata: { name: `${SERVICE}-slow`, namespace },
      spec: { agent: SERVICE, slot: new Date().toISOString(), agentGeneration: 1, agentSpec },
    },
  })) as ImprovementCycle;
  const uid = created.metadata.uid!;
  await core.createNamespacedConfigMap({
    namespace,
    body: cycleInputsConfigMap(
      { namespace, name: created.metadata.name, uid, agent: SERVICE },
      { 'c1.parameters.json': JSON.stringify(evaluated) },
    ),
  });
  const { ws, access } = await workspaceOn(remote, 'committer');
  let commit: string;
  try {
    commit = (
      await commitCandidate(
        { ...ws, agent: { namespace, name: SERVICE } },
        {
          cycle: created.metadata.name,
          candidate: 'c1',
          proposal: { kind: 'config', summary: 'the next version', rationale: '', parameters: evaluated },
          parameters: evaluated,
          goal: 'keep the echo service fast',
          proposer: 'tuner',
        },
      )
    ).commit;
    const pushed = await pushCycleBranch(
      { ...ws, agent: { namespace, name: SERVICE } },
      created.metadata.name,
    );
    assert.ok(pushed.pushed);
  } finally {
    await access.dispose();
  }
  const status: ImprovementCycleStatus = {
    phase: 'Canary',
    selected: 'c1',
    candidates: [
      {
        id: 'c1',
        kind: 'config',
        summary: 'the next version',
        parameters: evaluated,
        verdict: 'Passed',
        score: 1,
      },
    ],
    image: ECHO_FAULTS_IMAGE,
    commit,
  };
  return { namespace, name: created.metadata.name, uid, spec: created.spec, status };
}

/** When the first pod of the promoted revision started: any pod of the Deployment but a canary or one of `previous`. */
async function promotedPodStarts(previous: string): Promise<number> {
  const events = JSON.parse(
    await kubectl('-n', namespace, 'get', 'events', '-o', 'json', '--field-selector', 'reason=Started'),
  ) as { items: { involvedObject: { name: string }; firstTimestamp?: string; eventTime?: string }[] };
  const starts = events.items
    .map((e) => ({ pod: e.involvedObject.name, time: Date.parse(e.firstTimestamp ?? e.eventTime ?? '') }))
    .filter(({ pod }) => pod.startsWith(`${SERVICE}-`) && !pod.startsWith(`${SERVICE}-canary-`))
    .filter(({ pod }) => !pod.startsWith(`${previous}-`))
    .map(({ time }) => time)
    .filter((time) => !Number.isNaN(time));
  assert.ok(starts.length > 0, 'no promoted pod start was recorded');
  return Math.min(...starts);
}

function env(
  deployment: {
    spec?: { template?: { spec?: { containers?: { env?: { name: string; value?: string }[] }[] } } };
  },
  name: string,
): string | undefined {
  return deployment.spec?.template?.spec?.containers?.[0]?.env?.find((e) => e.name === name)?.value;
}

async function printEvents(cycle: string): Promise<void> {
  const text = await kubectl(
    '-n',
    namespace,
    'get',
    'events',
    '--field-selector',
    `involvedObject.name=${cycle}`,
    '--sort-by=.lastTimestamp',
    '-o',
    'custom-columns=TYPE:.type,REASON:.reason,MESSAGE:.message',
  );
  console.log(text);
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
