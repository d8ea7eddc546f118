// The loop closes, on the real cluster under real load: three tuner cycles in a row on the quote
// service build on the agent's archive (it grows, parents are drawn from it with their odds, no
// point is tried twice, promotions never make production's p99 worse), then an LLM change that
// production rolls back, then an LLM cycle whose prompt (as the stand-in server received it)
// names that rollback and its measurement, and in which the same change offered again is dropped
// before it becomes a candidate (so it is never evaluated). Shorter steps and windows than the demo's, so the five cycles fit.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import type { HyperAgent, ImprovementCycle } from '../../operator/src/api/resources.js';
import type { ArchiveRecord } from '../../operator/src/api/schema.js';
import { PrometheusProvider } from '../../operator/src/rollout/prometheus.js';
import { AGENT_NAME, LLM_MODEL, llmProposerSpec, quoteAgent } from '../../scripts/demo/agent.js';
import {
  applySecret,
  environment,
  followCycle,
  refreshAhead,
  setUpQuoteService,
  waitForStableAlone,
} from '../../scripts/demo/scenario.js';
import { eventually, getAgent, kubectlWithInput, patchAgentSpec } from '../support/cluster.js';
import { gitDiff } from '../support/git-diff.js';
import { reply, startLlmServer } from '../support/llm-server.js';
import { kubectlPlugin } from '../support/plugin.js';
import { deleteNamespace } from '../support/workloads.js';

const NAMESPACE = 'e2e-archive';
const IN_CLUSTER_PROMETHEUS = 'http://prometheus.monitoring:9090';
const SERVICE_DIR = fileURLToPath(new URL('../../examples/quote-service', import.meta.url));
const cleanups: (() => Promise<unknown>)[] = [];

after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  if (process.env.HYPERAGENT_KEEP_NAMESPACE !== '1') await deleteNamespace(NAMESPACE);
});

/** The demo's agent with short steps and windows: five cycles must fit in one test file's time. */
function fastAgent(repo: string): HyperAgent {
  const agent = quoteAgent(NAMESPACE, { repo, prometheus: IN_CLUSTER_PROMETHEUS });
  const spec = agent.spec;
  spec.improvement.maxCandidates = 2;
  if (spec.verification.workload) spec.verification.workload.runs = 3;
  spec.rollout.steps = [
    { weight: 25, pause: '20s' },
    { weight: 50, pause: '20s' },
  ];
  spec.rollout.analysis.interval = '5s';
  spec.rollout.afterPromotion = { window: '30s', watch: false };
  // five cycles back to back: no self-healing in this test (test/e2e/healing.test.ts has it)
  delete spec.healing;
  return agent;
}

/** The agent once its archive holds the entries of `cycle`. */
async function archivedAfter(cycle: string): Promise<HyperAgent> {
  return eventually(
    `the archive to hold ${cycle}`,
    async () => {
      const agent = await getAgent(NAMESPACE, AGENT_NAME);
      return agent.status?.archive?.some((entry) => entry.cycle === cycle) ? agent : undefined;
    },
    60_000,
  );
}

async function runCycle(seen: string[], log: (line: string) => void): Promise<ImprovementCycle> {
  if (seen.length > 0) {
    const run = await kubectlPlugin('hyperagent', 'run', AGENT_NAME, '-n', NAMESPACE);
    assert.equal(run.code, 0, run.stderr);
  }
  const prometheus = new PrometheusProvider({ address: environment().prometheusURL });
  const { cycle } = await followCycle(NAMESPACE, seen, prometheus, log);
  await waitForStableAlone(NAMESPACE);
  seen.push(cycle.metadata.name!);
  return cycle;
}

function point(entry: ArchiveRecord): string {
  const values = entry.parameters ?? {};
  return JSON.stringify(
    Object.keys(values)
      .sort()
      .map((name) => [name, values[name]]),
  );
}

test('three tuner cycles build on the archive; an LLM rollback is remembered and not proposed again', async (t) => {
  const log = (line: string) => t.diagnostic(line);
  const env = environment();
  const stage = await setUpQuoteService(NAMESPACE, env, log, log, cleanups);
  await kubectlWithInput(JSON.stringify(fastAgent(stage.repo)), 'apply', '-f', '-');

  const seen: string[] = [];
  const sizes: number[] = [];
  const promotedP99: { cycle: string; ms: number }[] = [];
  for (let n = 1; n <= 3; n++) {
    const before = n === 1 ? [] : ((await getAgent(NAMESPACE, AGENT_NAME)).status?.archive ?? []);
    const cycle = await runCycle(seen, log);
    const agent = await archivedAfter(cycle.metadata.name!);
    const archive = agent.status?.archive ?? [];
    const proposal = cycle.status?.proposal;
    t.diagnostic(
      `cycle ${n} ${cycle.metadata.name}: ${cycle.status?.phase} (${cycle.status?.reason}); parent ${proposal?.parent ?? 'baseline'} with probability ${proposal?.parentProbability}; archive ${archive.length} entries`,
    );
    sizes.push(archive.length);
    if (n > 1) {
      assert.ok(archive.length > sizes[n - 2]!, `the archive grew in cycle ${n}: ${sizes.join(' → ')}`);
      // the parent came from the archive as it stood before the cycle, with its odds
      assert.equal(typeof proposal?.parentProbability, 'number');
      if (proposal?.parent) {
        const parent = before.find((entry) => entry.id === proposal.parent);
        assert.ok(parent, `parent ${proposal.parent} was in the archive before cycle ${n}`);
        assert.match(parent.verdict, /^(Passed|Promoted)$/);
      }
    }
    if (cycle.status?.phase === 'Promoted') {
      const entry = agent.status?.history?.find((h) => h.cycle === cycle.metadata.name);
      const seconds = entry?.metrics?.['p99-vs-stable'];
      assert.equal(typeof seconds, 'number', `the promotion of ${cycle.metadata.name} recorded its p99`);
      promotedP99.push({ cycle: cycle.metadata.name!, ms: Math.round(seconds! * 10_000) / 10 });
    }
  }
  t.diagnostic(`archive size per cycle: ${sizes.join(', ')}`);
  t.diagnostic(`p99 at each promotion: ${JSON.stringify(promotedP99)}`);
  assert.ok(promotedP99.length >= 1, 'at least one tuner cycle was promoted');
  for (let i = 1; i < promotedP99.length; i++) {
    // the canary lets a candidate through at up to 1.25× stable's p99; the archive's choice must
    // not lose ground: each promotion within the measurement's noise of the one before
    assert.ok(
      promotedP99[i]!.ms <= promotedP99[i - 1]!.ms * 1.1,
      `p99 got worse from ${promotedP99[i - 1]!.cycle} to ${promotedP99[i]!.cycle}`,
    );
  }
  const tuned = (await getAgent(NAMESPACE, AGENT_NAME)).status?.archive ?? [];
  const points = tuned.filter((entry) => entry.kind === 'config').map(point);
  assert.equal(new Set(points).size, points.length, `a point was tried twice: ${points.join(' ')}`);

  // An LLM change that passes the sandbox and fails under real traffic.
  const llm = await startLlmServer({ host: env.nodeIP, apiKey: stage.password, models: [LLM_MODEL] });
  cleanups.push(() => llm.close());
  const patch = await readFile(join(SERVICE_DIR, 'demo/refresh-ahead.patch'), 'utf8');
  llm.script(reply(JSON.stringify({ candidates: [refreshAhead(patch)] })));
  await applySecret(NAMESPACE, 'llm', { apiKey: stage.password }, 'llm');
  await patchAgentSpec(NAMESPACE, AGENT_NAME, llmProposerSpec(llm.baseURL));
  const bad = await runCycle(seen, log);
  assert.equal(bad.status?.phase, 'RolledBack', `${bad.status?.reason}: ${bad.status?.message}`);
  const remembered = (await archivedAfter(bad.metadata.name!)).status?.archive ?? [];
  const rollback = remembered.find(
    (entry) => entry.cycle === bad.metadata.name && entry.verdict === 'RolledBack',
  );
  assert.ok(rollback, 'the rolled-back change is in the archive as RolledBack');
  const decision = bad.status?.canary?.decision?.message ?? '';
  assert.ok(rollback.reasons?.[0]?.includes(decision), `${rollback.reasons?.[0]} names ${decision}`);
  t.diagnostic(`rolled back: ${rollback.reasons?.[0]}; gain ${JSON.stringify(rollback.gain)}`);

  // The next LLM cycle: the stand-in offers the same change again, and a new one.
  const source = await readFile(join(SERVICE_DIR, 'src/server.ts'), 'utf8');
  const other = gitDiff([
    {
      kind: 'modify',
      oldPath: 'src/server.ts',
      newPath: 'src/server.ts',
      before: source,
      after: source.replace(
        "// The quote service's HTTP server:",
        "// The quote service's HTTP server, its routes:",
      ),
    },
  ]);
  llm.script(
    reply(
      JSON.stringify({
        candidates: [
          refreshAhead(patch),
          { kind: 'code', summary: 'say what the helpers are', rationale: 'clarity', diff: other },
        ],
      }),
    ),
  );
  await patchAgentSpec(NAMESPACE, AGENT_NAME, { improvement: { maxCandidates: 2 } });
  const asked = llm.requests.length;
  const next = await runCycle(seen, log);
  const prompt = llm.requests
    .slice(asked)
    .map((request) => request.rawBody)
    .join('\n');
  assert.match(prompt, /rolled back in production/i);
  assert.ok(
    prompt.includes(JSON.stringify(decision.slice(0, 40)).slice(1, -1)),
    'the prompt names the measurement',
  );
  // The answer's repeat is dropped before it becomes a candidate, and status says why.
  const summaries = next.status?.candidates?.map((candidate) => candidate.summary) ?? [];
  assert.ok(!summaries.includes(refreshAhead(patch).summary), `the repeat was not dropped: ${summaries}`);
  assert.ok(summaries.includes('say what the helpers are'), `the new change was kept: ${summaries}`);
  const attempts = next.status?.proposal?.attempts?.map((attempt) => attempt.message).join('\n') ?? '';
  assert.match(attempts, new RegExp(`repeats archived attempt ${rollback.id} \\(RolledBack\\)`));
  t.diagnostic(`cycle ${next.metadata.name}: ${next.status?.phase}; proposal: ${attempts}`);

  const final = await archivedAfter(next.metadata.name!);
  const ledger = (final.status?.archive ?? []).filter((entry) => entry.gain);
  t.diagnostic(`predicted vs observed: ${JSON.stringify(ledger.map((e) => [e.id, e.verdict, e.gain]))}`);
  await patchAgentSpec(NAMESPACE, AGENT_NAME, { suspend: true });
});
