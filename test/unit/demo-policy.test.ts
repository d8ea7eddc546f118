// The patch policy on the demo's own agent and service (examples/quote-agent.yaml over
// examples/quote-service, committed to a scratch git repository): what its protected stand-in
// and load generator import is protected with them, and the demo's scripted LLM change
// (demo/refresh-ahead.patch, which the canary must roll back) still reaches evaluation.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadAgentManifest, type LoadedAgent } from '../../operator/src/cli/load-agent.js';
import { readRepositorySnapshot, type RepositorySnapshot } from '../../operator/src/git/base-tree.js';
import { importRootFilesOf, policyInputFor } from '../../operator/src/policy/agent-policy.js';
import { checkPatch } from '../../operator/src/policy/patch-policy.js';

const SERVICE = 'examples/quote-service';
let repo: string;
let agent: LoadedAgent;
let snapshot: RepositorySnapshot;

function git(...args: string[]): string {
  return execFileSync('git', args, { cwd: repo, encoding: 'utf8' });
}

before(async () => {
  repo = mkdtempSync(join(tmpdir(), 'demo-policy-'));
  cpSync(SERVICE, repo, { recursive: true, filter: (source) => !source.includes('node_modules') });
  git('init', '-q', '-b', 'main');
  git('-c', 'user.name=t', '-c', 'user.email=t@example.com', 'add', '-A');
  git('-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-q', '-m', 'base');
  agent = await loadAgentManifest('examples/quote-agent.yaml');
  snapshot = await readRepositorySnapshot(repo, 'HEAD', importRootFilesOf(agent.spec));
});

after(() => rmSync(repo, { recursive: true, force: true }));

async function judge(diff: string) {
  return checkPatch({ ...policyInputFor(agent.spec, snapshot), diff, tree: await snapshot.treeFor(diff) });
}

/** The diff git prints for one edit of the committed service. */
function diffOf(path: string, edit: (text: string) => string): string {
  const file = join(repo, path);
  const before = readFileSync(file, 'utf8');
  writeFileSync(file, edit(before));
  const diff = git('diff');
  writeFileSync(file, before);
  return diff;
}

test("the modules the demo's protected stand-in and load generator run are protected with them", () => {
  const input = policyInputFor(agent.spec, snapshot);
  const loaded = [...input.protectedImports].filter(([, why]) => why.shadows === undefined);
  assert.deepEqual(loaded.map(([path]) => path).sort(), ['src/env.ts', 'src/http-util.ts', 'src/metrics.ts']);
  // workload.ts names only a type of quote.ts, so the quote logic stays the agent's to change
  assert.equal(input.protectedImports.has('src/quote.ts'), false);
});

test("the stand-in's latency settings cannot be changed through the module it reads them with", async () => {
  const verdict = await judge(diffOf('src/env.ts', (text) => `${text}\nexport const FAST = true;\n`));
  assert.equal(verdict.accepted, false);
  const reasons = verdict.accepted ? [] : verdict.reasons;
  assert.deepEqual(
    reasons.map((reason) => reason.rule),
    ['ProtectedDependency'],
  );
  assert.match(reasons[0]!.message, /src\/env\.ts is imported by src\/\S+ \(protected by 'src\/\S+'\)/);
});

test("the demo's scripted LLM change still passes the policy", async () => {
  const verdict = await judge(readFileSync(join(SERVICE, 'demo/refresh-ahead.patch'), 'utf8'));
  assert.equal(verdict.accepted, true, JSON.stringify(verdict));
});
