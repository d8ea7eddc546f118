// The Committing phase with an in-memory API server (test/support/fake-kube.ts) over a real git
// remote, driven the way the operator drives it: through the cycle reconciler. The operator dies
// after the push but before the status write, and a restarted one (with an empty clone
// directory) finds the pushed commit and records it, so the cycle branch holds one commit; a
// candidate that starts from an archive entry is committed on that entry's commit, read fresh
// from the agent; an entry without a commit, or inputs that are gone, fail the phase and push
// nothing. (test/integration/commit-work.test.ts covers the diff and tree checks against a real
// API server.)
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import pino from 'pino';
import {
  API_VERSION,
  CYCLES,
  HYPERAGENTS,
  type HyperAgent,
  type ImprovementCycle,
  type ResourceInfo,
} from '../api/resources.js';
import { defaultedAgentSpec } from '../api/defaults.js';
import type { ArchiveRecord, Candidate, ImprovementCycleStatus } from '../api/schema.js';
import { CycleReconciler } from '../controller/cycle-reconciler.js';
import { KubeEventRecorder } from '../kube/events.js';
import { cycleInputsConfigMap, inputKeys, parametersJson } from '../kube/cycle-inputs.js';
import { SourceCheckouts } from '../git/source-checkout.js';
import { gitCredentials } from '../kube/opted-in-secret.js';
import { customKind, EVENTS, FakeKube, type StoredObject } from '../../../test/support/fake-kube.js';
import { createQuoteRemote, QUOTE_AGENT } from '../../../test/support/quote-fixture.js';
import { CommitWork } from './commit-work.js';

const NS = 'shop';
const AGENT = 'quote';
const silent = pino({ level: 'silent' });
const CYCLE = customKind(CYCLES);

let root: string;
let bare: string;
let repo: string;
let baseCommit: string;

before(() => {
  root = mkdtempSync(join(tmpdir(), 'commit-work-unit-'));
  repo = createQuoteRemote(root);
  bare = join(root, 'remote.git');
  baseCommit = git('rev-parse', 'main');
});

after(() => rmSync(root, { recursive: true, force: true }));

/** Plain git on the remote, outside the code under test. */
function git(...args: string[]): string {
  return execFileSync('git', ['--git-dir', bare, ...args], { encoding: 'utf8' }).trim();
}

function branchHead(cycle: string): string | undefined {
  try {
    return git('rev-parse', '--verify', '--quiet', `refs/heads/hyperagent/${AGENT}/${cycle}`);
  } catch {
    return undefined;
  }
}

const spec = () => defaultedAgentSpec({ ...QUOTE_AGENT, source: { ...QUOTE_AGENT.source, repo } });

function configCandidate(id: string, cacheSize: number, parent?: string): Candidate {
  return {
    id,
    kind: 'config',
    summary: `cache of ${cacheSize}`,
    rationale: 'fewer misses',
    parameters: { 'cache-size': String(cacheSize) },
    verdict: 'Passed',
    score: 7,
    ...(parent ? { parent } : {}),
  };
}

interface Setup {
  fake: FakeKube;
  /** A reconciler whose only port is CommitWork, cloning under `workDir` (a fresh operator each call). */
  operator(workDir: string): CycleReconciler;
}

/** The agent (with `archive`) and a cycle in Committing with `candidate` selected and its inputs. */
async function setup(
  cycle: string,
  candidate: Candidate,
  inputs: Record<string, string> | undefined,
  archive: ArchiveRecord[] = [],
): Promise<Setup> {
  const fake = new FakeKube(() => new Date('2026-01-01T00:00:00Z'));
  const custom = fake.clients.custom;
  const agent = (await custom.createNamespacedCustomObject({
    ...api(HYPERAGENTS),
    namespace: NS,
    body: {
      apiVersion: API_VERSION,
      kind: HYPERAGENTS.kind,
      metadata: { name: AGENT },
      spec: spec(),
    },
  })) as HyperAgent;
  await custom.replaceNamespacedCustomObjectStatus({
    ...api(HYPERAGENTS),
    namespace: NS,
    name: AGENT,
    body: { ...agent, status: { archive } },
  });
  const created = (await custom.createNamespacedCustomObject({
    ...api(CYCLES),
    namespace: NS,
    body: {
      apiVersion: API_VERSION,
      kind: CYCLES.kind,
      metadata: { name: cycle },
      spec: { agent: AGENT, slot: '2026-01-01T00:00:00Z', agentGeneration: 1, agentSpec: spec() },
    },
  })) as ImprovementCycle;
  const status: ImprovementCycleStatus = {
    phase: 'Committing',
    startTime: '2026-01-01T00:00:00Z',
    baseCommit,
    candidates: [candidate],
    selected: candidate.id,
  };
  await custom.replaceNamespacedCustomObjectStatus({
    ...api(CYCLES),
    namespace: NS,
    name: cycle,
    body: { ...created, status },
  });
  if (inputs) {
    const body = cycleInputsConfigMap(
      { namespace: NS, name: cycle, uid: created.metadata.uid!, agent: AGENT },
      inputs,
    );
    await fake.clients.core.createNamespacedConfigMap({ namespace: NS, body });
  }
  const cache = fake.informer<ImprovementCycle & StoredObject>(CYCLE);
  return {
    fake,
    operator: (workDir) =>
      new CycleReconciler({
        clients: fake.clients,
        cycles: cache.asInformer(),
        providers: {
          propose: {},
          commit: new CommitWork({
            clients: fake.clients,
            checkouts: new SourceCheckouts(gitCredentials(fake.clients.core), join(root, workDir)),
          }),
        },
        events: new KubeEventRecorder(fake.clients.core, silent, 'test-replica'),
        log: silent,
        now: () => new Date('2026-01-01T00:10:00Z'),
      }),
  };
}

/** The group, version and plural of `resource`, as the custom-object calls name it. */
function api(resource: ResourceInfo): { group: string; version: string; plural: string } {
  return { group: resource.group, version: resource.version, plural: resource.plural };
}

const statusOf = (fake: FakeKube, cycle: string) =>
  fake.peek<ImprovementCycle & StoredObject>(CYCLE, NS, cycle)?.status;

const settle = () => new Promise((resolve) => setImmediate(resolve));

test('an operator that dies after the push leaves a commit the next one finds and records: one commit on the branch', async () => {
  const inputs = { [inputKeys.parameters('c1')]: parametersJson({ 'cache-size': 384, 'batch-window': 0 }) };
  const { fake, operator } = await setup('quote-1', configCandidate('c1', 384), inputs);

  fake.failNext('replaceNamespacedCustomObjectStatus', new Error('read ECONNRESET'));
  await assert.rejects(operator('work-a').reconcile(`${NS}/quote-1`), /ECONNRESET/);
  const pushed = branchHead('quote-1');
  assert.ok(pushed, 'the lost attempt pushed its commit');
  assert.equal(statusOf(fake, 'quote-1')?.phase, 'Committing', 'but its status write was lost');
  assert.equal(statusOf(fake, 'quote-1')?.commit, undefined);

  // A restarted operator: a new reconciler and an empty clone directory.
  await operator('work-b').reconcile(`${NS}/quote-1`);
  await settle();
  const status = statusOf(fake, 'quote-1');
  assert.equal(status?.phase, 'Building');
  assert.equal(status?.commit, pushed, 'the cycle records the commit the lost attempt pushed');
  assert.equal(branchHead('quote-1'), pushed, 'nothing new was pushed');
  assert.equal(git('rev-list', '--count', `${baseCommit}..${pushed}`), '1');
  assert.equal(git('rev-parse', `${pushed}^`), baseCommit);
  assert.match(
    git('log', '-1', '--format=%B', pushed),
    /^HyperAgent-Parameters: \{"batch-window":0,"cache-size":384\}$/m,
  );
  const building = fake.list<StoredObject & { reason: string; message: string }>(EVENTS, NS);
  assert.deepEqual(
    building.map((e) => e.reason),
    ['Building'],
    'one announcement, from the write that landed',
  );
  assert.match(
    building[0]!.message,
    /^Committed c1 as [0-9a-f]{12} on hyperagent\/quote\/quote-1 \(an earlier attempt made it\)$/,
  );
});

test('a candidate starting from an archive entry is committed on that entry’s commit, read fresh from the agent', async () => {
  // The entry: an earlier cycle's commit, pushed by CommitWork itself.
  const first = await setup('quote-0', configCandidate('c1', 256), {
    [inputKeys.parameters('c1')]: parametersJson({ 'cache-size': 256, 'batch-window': 0 }),
  });
  await first.operator('work-c').reconcile(`${NS}/quote-0`);
  const parentCommit = statusOf(first.fake, 'quote-0')?.commit;
  assert.ok(parentCommit);

  const entry: ArchiveRecord = {
    id: 'quote-0/c1',
    cycle: 'quote-0',
    kind: 'config',
    summary: 'cache of 256',
    parameters: { 'cache-size': '256' },
    verdict: 'Promoted',
    commit: parentCommit,
    evaluatedAt: '2026-01-01T00:00:00Z',
  };
  const { fake, operator } = await setup(
    'quote-2',
    configCandidate('c3', 384, 'quote-0/c1'),
    { [inputKeys.parameters('c3')]: parametersJson({ 'cache-size': 384, 'batch-window': 0 }) },
    [entry],
  );
  await operator('work-c').reconcile(`${NS}/quote-2`);
  const status = statusOf(fake, 'quote-2');
  assert.equal(status?.phase, 'Building', JSON.stringify(status));
  assert.equal(git('rev-parse', `${status!.commit}^`), parentCommit, 'the commit starts from the entry');
  assert.match(git('log', '-1', '--format=%B', status!.commit!), /^HyperAgent-Parent: quote-0\/c1$/m);
  assert.ok(
    fake.calls.some((c) => c.method === 'getNamespacedCustomObject' && c.name === AGENT),
    'the agent is read from the API server',
  );
});

test('a config variant never delivered is a parent on the base commit: its values ship, its tree is the base', async () => {
  const stone: ArchiveRecord = {
    id: 'quote-0/c2',
    cycle: 'quote-0',
    kind: 'config',
    summary: 'cache of 256, passed but not selected',
    parameters: { 'cache-size': '256' },
    verdict: 'Passed',
    evaluatedAt: '2026-01-01T00:00:00Z',
  };
  const { fake, operator } = await setup(
    'quote-5',
    configCandidate('c1', 384, 'quote-0/c2'),
    { [inputKeys.parameters('c1')]: parametersJson({ 'cache-size': 384, 'batch-window': 0 }) },
    [stone],
  );
  await operator('work-e').reconcile(`${NS}/quote-5`);
  const status = statusOf(fake, 'quote-5');
  assert.equal(status?.phase, 'Building', JSON.stringify(status));
  assert.equal(git('rev-parse', `${status!.commit}^`), status!.baseCommit, 'the commit starts from the base');
  assert.match(git('log', '-1', '--format=%B', status!.commit!), /^HyperAgent-Parent: quote-0\/c2$/m);
});

test('a code entry without a commit, or inputs that are gone, fail the phase and push nothing', async () => {
  const uncommitted: ArchiveRecord = {
    id: 'quote-0/c9',
    cycle: 'quote-0',
    kind: 'code',
    summary: 'never committed',
    verdict: 'Passed',
    evaluatedAt: '2026-01-01T00:00:00Z',
  };
  const orphan = await setup(
    'quote-3',
    configCandidate('c1', 384, 'quote-0/c9'),
    { [inputKeys.parameters('c1')]: parametersJson({ 'cache-size': 384, 'batch-window': 0 }) },
    [uncommitted],
  );
  await orphan.operator('work-d').reconcile(`${NS}/quote-3`);
  const failed = statusOf(orphan.fake, 'quote-3');
  assert.deepEqual([failed?.phase, failed?.reason], ['Failed', 'ParentNotCommitted']);
  assert.match(failed!.message!, /starts from quote-0\/c9, which has no commit in the agent's archive/);
  assert.equal(branchHead('quote-3'), undefined);

  const gone = await setup('quote-4', configCandidate('c1', 384), undefined);
  await gone.operator('work-d').reconcile(`${NS}/quote-4`);
  const missing = statusOf(gone.fake, 'quote-4');
  assert.deepEqual([missing?.phase, missing?.reason], ['Failed', 'InputsMissing']);
  assert.match(missing!.message!, /shop\/quote-4-inputs: configmaps "quote-4-inputs" not found$/);
  assert.equal(branchHead('quote-4'), undefined);
});
