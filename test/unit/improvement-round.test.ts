// One cycle's path from proposal to lineage on a real git repository (a bare remote on disk):
// parent choice → proposer → patch policy → evaluation → commit and push with trailers → the cycle's
// status folded into the archive, as the HyperAgent reconciler folds it (withArchive).
// Once with the offline tuner over three cycles, once with the openai proposer against the local
// OpenAI-compatible server answering with a 429, a malformed answer and a stall before a good one.
// Evaluation runs the fixture's own tests and benchmark in a git worktree (test/support/
// local-evaluator.ts); in the cluster a sandbox pod does that work.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { defaultedAgentSpec } from '../../operator/src/api/defaults.js';
import type { HyperAgentSpec } from '../../operator/src/api/schema.js';
import {
  candidateStatuses,
  proposeCandidates,
  type ReviewedCandidate,
  type RoundContext,
  usableAsParent,
} from '../../operator/src/cycle/proposal-round.js';
import { chooseCandidate, step } from '../../operator/src/cycle/machine.js';
import { withArchive } from '../../operator/src/controller/agent-plan.js';
import type { ImprovementCycle } from '../../operator/src/api/resources.js';
import type { Candidate } from '../../operator/src/api/schema.js';
import { readRepositorySnapshot } from '../../operator/src/git/base-tree.js';
import { commitCandidate } from '../../operator/src/git/commit.js';
import { openGitAccess, type GitAccess } from '../../operator/src/git/credentials.js';
import { readLineage, toArchiveEntry } from '../../operator/src/git/lineage.js';
import { pushCycleBranch } from '../../operator/src/git/push.js';
import { openWorkspace, type Workspace } from '../../operator/src/git/workspace.js';
import { mergeRecoveredArchive } from '../../operator/src/policy/archive.js';
import { fromArchiveRecord, toArchiveRecord } from '../../operator/src/policy/archive-record.js';
import { importRootFilesOf, policyInputFor } from '../../operator/src/policy/agent-policy.js';
import { checkPatch } from '../../operator/src/policy/patch-policy.js';
import { drawSeed, selectParent } from '../../operator/src/policy/parent-selection.js';
import type { ArchiveEntry } from '../../operator/src/policy/archive-entry.js';
import type { Proposer } from '../../operator/src/propose/proposer.js';
import { OpenAIProposer } from '../../operator/src/propose/openai.js';
import { TunerProposer } from '../../operator/src/propose/tuner.js';
import { gitDiff } from '../support/git-diff.js';
import { evaluateLocally, type Evaluation } from '../support/local-evaluator.js';
import { malformed, reply, stall, startLlmServer, status } from '../support/llm-server.js';
import { QUOTE_AGENT, QUOTE_CURRENT, QUOTE_FILES, createQuoteRemote } from '../support/quote-fixture.js';

const AGENT = { namespace: 'shop', name: 'quote-latency' };
const API_KEY = 'sk-round-test-4d1f0b9e77c2a6e5';

let root: string;
let repo: string;
let access: GitAccess;
let workspace: Workspace;
let spec: HyperAgentSpec;

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'improvement-round-'));
  repo = createQuoteRemote(root);
  spec = defaultedAgentSpec({ ...QUOTE_AGENT, source: { ...QUOTE_AGENT.source, repo } });
  access = await openGitAccess({ repo });
  workspace = await openWorkspace({
    agent: AGENT,
    repo,
    branch: 'main',
    dir: join(root, 'workspace'),
    access,
  });
});

after(async () => {
  await access?.dispose();
  rmSync(root, { recursive: true, force: true });
});

function remoteGit(...args: string[]): string {
  return execFileSync('git', ['--git-dir', join(root, 'remote.git'), ...args], { encoding: 'utf8' });
}

async function baseCommitOf(parent: ArchiveEntry | undefined): Promise<string> {
  return parent?.commit ?? (await workspace.runner.git(['rev-parse', workspace.baseRef])).trim();
}

/** Tests pass and the benchmark beats the baseline's: GoalImproved, as the sandbox will judge it. */
async function evaluate(
  context: RoundContext,
  reviewed: ReviewedCandidate,
  baselineScore: number,
): Promise<Evaluation> {
  const parent = context.archive.find((entry) => entry.id === reviewed.candidate.parent);
  const parameters = {
    ...context.current,
    ...parent?.parameters,
    ...(reviewed.candidate.kind === 'config' ? reviewed.candidate.parameters : {}),
  };
  const result = await evaluateLocally({
    repoDir: workspace.dir,
    baseCommit: await baseCommitOf(parent),
    candidate: reviewed.candidate,
    parameters,
    declared: spec.improvement.parameters,
    benchmarkKey: 'p99_ms',
  });
  if (!result.passed || result.score === undefined) return result;
  if (result.score <= baselineScore) {
    return {
      passed: false,
      score: result.score,
      reasons: [`GoalImproved: p99 ${-result.score} ms is not below the baseline's ${-baselineScore} ms`],
    };
  }
  return result;
}

/** The whole path for one cycle; returns the archive after it and what the cycle's status shows. */
async function runCycle(cycle: string, proposer: Proposer, archive: ArchiveEntry[], model?: string) {
  const context: RoundContext = {
    agent: AGENT,
    cycle,
    spec,
    archive,
    current: QUOTE_CURRENT,
    deadline: new Date(Date.now() + 60_000),
  };
  const round = await proposeCandidates(context, {
    proposer,
    ...(model ? { model } : {}),
    chooseParent: (past) => {
      const usable = past.filter((entry) => usableAsParent(entry));
      const choice = selectParent({ archive: usable, rng: xoroshiro128plus(drawSeed(1, cycle)) });
      const odds = choice.odds.find((entry) => entry.id === choice.parent?.id);
      return { ...(choice.parent ? { parent: choice.parent } : {}), probability: odds?.probability ?? 1 };
    },
    checkPatch: async (diff, parent) => {
      const snapshot = await readRepositorySnapshot(
        workspace.dir,
        await baseCommitOf(parent),
        importRootFilesOf(spec),
      );
      return checkPatch({ ...policyInputFor(spec, snapshot), diff, tree: await snapshot.treeFor(diff) });
    },
  });
  const baseline = await evaluateLocally({
    repoDir: workspace.dir,
    baseCommit: await baseCommitOf(undefined),
    candidate: { kind: 'config', parameters: {}, summary: 'baseline', rationale: '' },
    parameters: QUOTE_CURRENT,
    declared: spec.improvement.parameters,
    benchmarkKey: 'p99_ms',
  });
  const evaluations = new Map<string, Evaluation>();
  for (const reviewed of round.reviewed.filter((item) => item.verdict === 'Pending')) {
    evaluations.set(reviewed.id, await evaluate(context, reviewed, baseline.score ?? -Infinity));
  }
  // The cycle's status as the Evaluating and Selecting phases leave it.
  const judged: Candidate[] = candidateStatuses(round.reviewed).map((candidate) => {
    const evaluation = evaluations.get(candidate.id);
    if (!evaluation) return candidate;
    return {
      ...candidate,
      verdict: evaluation.passed ? 'Passed' : 'Failed',
      ...(evaluation.score !== undefined ? { score: evaluation.score } : {}),
      ...(evaluation.reasons.length > 0 ? { reasons: evaluation.reasons } : {}),
    };
  });
  const best = chooseCandidate(judged);
  const selected = best && round.reviewed.find((item) => item.id === best.id);
  let commit: string | undefined;
  if (best && selected) {
    const parent = archive.find((past) => past.id === selected.candidate.parent);
    const starting = { ...QUOTE_CURRENT, ...parent?.parameters };
    const made = await commitCandidate(workspace, {
      cycle,
      candidate: best.id,
      proposal: selected.candidate,
      // A config variant changes no file: when it was never committed, its tree is the base's.
      ...(parent ? { parent: { id: parent.id, commit: await baseCommitOf(parent) } } : {}),
      ...(selected.candidate.kind === 'config'
        ? { parameters: { ...starting, ...selected.candidate.parameters } }
        : {}),
      goal: spec.goal,
      proposer: proposer.type,
      ...(model ? { model } : {}),
      ...(best.score !== undefined ? { score: best.score } : {}),
    });
    const pushed = await pushCycleBranch(workspace, cycle);
    assert.ok(pushed.pushed, `push of ${cycle} was rejected`);
    commit = made.commit;
  }
  // Promoted when a candidate was delivered (the canary is another test's), Rejected otherwise.
  const ended: ImprovementCycle = {
    apiVersion: 'hyperagents.io/v1alpha1',
    kind: 'ImprovementCycle',
    metadata: { name: cycle, namespace: AGENT.namespace },
    spec: { agent: AGENT.name, slot: new Date().toISOString(), agentGeneration: 1, agentSpec: spec },
    status: {
      phase: commit ? 'Promoted' : 'Rejected',
      completionTime: new Date().toISOString(),
      candidates: judged,
      proposal: round.proposal,
      ...(best && commit ? { selected: best.id, commit } : {}),
    },
  };
  return {
    round,
    archive: withArchive(archive.map(toArchiveRecord), [ended], spec.improvement.parameters),
    candidates: judged,
  };
}

describe('one cycle: propose → policy → archive → commit', () => {
  test('the tuner: three cycles build on the archive; passed variants are committed and pushed with trailers', async () => {
    let archive: ArchiveEntry[] = [];
    const tuner = new TunerProposer();
    for (const cycle of ['cycle-1', 'cycle-2', 'cycle-3']) {
      const result = await runCycle(cycle, tuner, archive);
      assert.ok(result.round.reviewed.length > 0, `${cycle} proposed nothing`);
      assert.equal(result.round.proposal.proposer, 'tuner');
      assert.equal(result.round.proposal.attempts[0]?.outcome, 'ok');
      for (const candidate of result.candidates) {
        assert.match(candidate.verdict ?? '', /^(Passed|Failed)$/);
        assert.equal(typeof candidate.score, 'number', `${cycle}/${candidate.id} has no score`);
      }
      archive = result.archive;
      console.log(
        `${cycle}: parent ${result.round.proposal.parent ?? 'baseline'}; ` +
          result.candidates.map((c) => `${c.id} ${c.summary} → ${c.verdict} ${c.score}`).join('; '),
      );
    }
    const passed = archive.filter((entry) => entry.verdict === 'Passed' || entry.verdict === 'Promoted');
    assert.ok(passed.length > 0, 'no candidate beat the baseline in three cycles');
    // Each cycle with a passed candidate delivered exactly one: its best.
    const committed = passed.filter((entry) => entry.commit);
    assert.deepEqual(
      committed.map((entry) => entry.cycle),
      [...new Set(passed.map((entry) => entry.cycle))],
    );
    for (const entry of committed) {
      const best = Math.max(
        ...passed.filter((p) => p.cycle === entry.cycle).map((p) => p.score ?? -Infinity),
      );
      assert.equal(entry.score, best);
    }
    // Later cycles started from stepping stones, and never repeated a point.
    const points = archive.map((entry) => JSON.stringify(entry.parameters));
    assert.equal(new Set(points).size, points.length);

    // The remote holds the lineage: one branch per cycle with passed variants, trailers on each commit.
    const first = committed[0] as ArchiveEntry;
    const message = remoteGit('log', '-1', '--format=%B', first.commit as string);
    assert.match(message, /^HyperAgent-Agent: shop\/quote-latency$/m);
    assert.match(message, new RegExp(`^HyperAgent-Cycle: ${first.cycle}$`, 'm'));
    assert.match(message, /^HyperAgent-Proposer: tuner$/m);
    assert.match(message, /^HyperAgent-Parameters: \{.*"cache-size":\d+/m);
    assert.match(
      remoteGit('branch', '--list', 'hyperagent/*'),
      new RegExp(`hyperagent/quote-latency/${first.cycle}`),
    );

    // After a restart the archive comes back from status, and git fills in what status lost.
    const declared = spec.improvement.parameters;
    const fromStatus = archive.map(toArchiveRecord).map((record) => fromArchiveRecord(record, declared));
    assert.deepEqual(fromStatus, archive);
    const fresh = await openWorkspace({
      agent: AGENT,
      repo,
      branch: 'main',
      dir: join(root, 'fresh'),
      access,
    });
    const recovered = (await readLineage(fresh)).map(toArchiveEntry);
    const rebuilt = mergeRecoveredArchive([], recovered);
    assert.deepEqual(
      rebuilt.map((entry) => [entry.id, entry.commit, entry.parameters]).sort(),
      committed.map((entry) => [entry.id, entry.commit, entry.parameters]).sort(),
    );
  });

  test('openai: a 429, a malformed answer and a stall are recorded; the good answer is policed, evaluated and committed', async () => {
    const server = await startLlmServer({ apiKey: API_KEY });
    try {
      const faster = gitDiff([
        {
          kind: 'modify',
          oldPath: 'src/quote.mjs',
          newPath: 'src/quote.mjs',
          before: QUOTE_FILES['src/quote.mjs'] as string,
          after: (QUOTE_FILES['src/quote.mjs'] as string).replace('OVERHEAD_MS = 40', 'OVERHEAD_MS = 25'),
        },
      ]);
      const dropTest = gitDiff([
        {
          kind: 'modify',
          oldPath: 'test/quote.test.mjs',
          newPath: 'test/quote.test.mjs',
          before: QUOTE_FILES['test/quote.test.mjs'] as string,
          after: (QUOTE_FILES['test/quote.test.mjs'] as string).split("test('refuses")[0] as string,
        },
      ]);
      server.script(
        status(429, { error: { message: 'slow down', type: 'rate_limit' } }, { 'retry-after-ms': '20' }),
        malformed('Sure! Here are some ideas: cache more.'),
        stall(),
        reply(
          JSON.stringify({
            candidates: [
              {
                kind: 'code',
                diff: faster,
                summary: 'cut the per-request overhead',
                rationale: 'the overhead dominates p99',
              },
              { kind: 'code', diff: dropTest, summary: 'drop a slow test', rationale: 'faster CI' },
            ],
          }),
        ),
      );
      const proposer = new OpenAIProposer({
        apiKey: API_KEY,
        baseURL: server.baseURL,
        model: 'local-test-model',
        requestTimeoutMs: 500,
        backoff: { initialMs: 10, maxMs: 40, maxRetryAfterMs: 100 },
      });
      const result = await runCycle('cycle-llm', proposer, [], 'local-test-model');

      assert.deepEqual(
        result.round.proposal.attempts.map((attempt) => attempt.outcome),
        ['rate-limited', 'malformed', 'timeout', 'ok'],
      );
      assert.ok(result.round.proposal.promptTokens > 0 && result.round.proposal.completionTokens > 0);
      const [good, refused] = result.candidates;
      assert.equal(good?.verdict, 'Passed', JSON.stringify(good));
      // p99 = overhead 25 + cache penalty ((64-384)/64)² + window penalty ((0-12)/4)²
      assert.equal(good?.score, -(25 + 25 + 9));
      assert.equal(refused?.verdict, 'Refused');
      assert.match(refused?.reasons?.join('\n') ?? '', /^TestRemoved: /m);

      const entry = result.archive.find((item) => item.id === 'cycle-llm/c1') as ArchiveEntry;
      const message = remoteGit('log', '-1', '--format=%B', entry.commit as string);
      assert.match(message, /^cut the per-request overhead$/m);
      assert.match(message, /^HyperAgent-Model: local-test-model$/m);
      assert.match(remoteGit('show', `${entry.commit}:src/quote.mjs`), /OVERHEAD_MS = 25/);
      // The key went to the endpoint and nowhere else.
      assert.equal(server.requests[0]?.headers.authorization, `Bearer ${API_KEY}`);
      assert.ok(!JSON.stringify(result).includes(API_KEY));
      assert.ok(!remoteGit('log', '--all', '-p').includes(API_KEY));
    } finally {
      await server.close();
    }
  });

  test('openai: an endpoint that only fails leaves a cycle with no candidates, which ends Rejected, not crashed', async () => {
    const server = await startLlmServer({ apiKey: API_KEY });
    try {
      server.script(status(500), status(502), status(503), status(500));
      const proposer = new OpenAIProposer({
        apiKey: API_KEY,
        baseURL: server.baseURL,
        model: 'local-test-model',
        requestTimeoutMs: 500,
        backoff: { initialMs: 5, maxMs: 20 },
      });
      const result = await runCycle('cycle-down', proposer, []);
      assert.deepEqual(result.candidates, []);
      assert.deepEqual(
        result.round.proposal.attempts.map((attempt) => attempt.outcome),
        ['server-error', 'server-error', 'server-error', 'server-error'],
      );
      const now = new Date();
      const next = step(
        { agent: AGENT.name, slot: now.toISOString(), agentGeneration: 1, agentSpec: spec },
        { phase: 'Proposing', startTime: now.toISOString() },
        {
          missing: [],
          work: {
            state: 'succeeded',
            status: { candidates: result.candidates, proposal: result.round.proposal },
          },
        },
        now,
      );
      assert.equal(next.status.phase, 'Rejected');
      assert.equal(next.status.reason, 'NoCandidates');
      assert.equal(next.status.proposal?.attempts.length, 4);
    } finally {
      await server.close();
    }
  });
});
