// The steering verbs of `kubectl hyperagent` against the real API server, run through kubectl as a
// user runs a plugin: each verb checks the active cycle's phase, records its decision as the
// annotation the operator acts on, and refuses with a clear message (exit status 2) where it does
// not apply. No operator runs here: statuses are written by the test, as the operator would.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import {
  API_VERSION,
  APPROVAL_ANNOTATION,
  CANARY_REQUEST_ANNOTATIONS,
  CYCLES,
  HYPERAGENTS,
  type ImprovementCycle,
} from '../../operator/src/api/resources.js';
import type { ResourceInfo } from '../../operator/src/api/resources.js';
import { defaultedMinimalSpec } from '../support/agents.js';
import { agentManifest, core, createAgent, custom, freshNamespace } from '../support/cluster.js';
import { kubectlPlugin } from '../support/plugin.js';

let namespace: string;

function plugin(...args: string[]) {
  return kubectlPlugin('hyperagent', ...args, '-n', namespace);
}

const api = (info: ResourceInfo) => ({ group: info.group, version: info.version, plural: info.plural });

async function setStatus(info: ResourceInfo, name: string, status: Record<string, unknown>): Promise<void> {
  await custom.patchNamespacedCustomObjectStatus(
    { ...api(info), namespace, name, body: { status } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
}

async function cycleAnnotations(name: string): Promise<Record<string, string>> {
  const cycle = (await custom.getNamespacedCustomObject({
    ...api(CYCLES),
    namespace,
    name,
  })) as ImprovementCycle;
  return cycle.metadata.annotations ?? {};
}

before(async () => {
  namespace = await freshNamespace('steer');
  await createAgent(agentManifest('quote', namespace));
  const cycle: ImprovementCycle = {
    apiVersion: API_VERSION,
    kind: CYCLES.kind,
    metadata: { name: 'quote-1', namespace },
    spec: {
      agent: 'quote',
      slot: '2026-11-26T00:00:00Z',
      agentGeneration: 1,
      agentSpec: defaultedMinimalSpec(),
    },
  };
  await custom.createNamespacedCustomObject({ ...api(CYCLES), namespace, body: cycle });
  await setStatus(HYPERAGENTS, 'quote', { phase: 'AwaitingApproval', activeCycle: 'quote-1' });
  await setStatus(CYCLES, 'quote-1', {
    phase: 'AwaitingApproval',
    selected: 'c1',
    candidates: [{ id: 'c1', kind: 'config', summary: 'larger cache', verdict: 'Passed', score: 31.5 }],
  });
});

after(async () => {
  await core.deleteNamespace({ name: namespace }).catch(() => undefined);
});

test('status lists the agent with its cycle phase, and in detail says how to approve', async () => {
  const all = await plugin('status');
  assert.equal(all.code, 0, all.stderr);
  assert.match(all.stdout, /^NAME\s+PHASE\s+CYCLE\s+CYCLE PHASE\s+STABLE\s+WEIGHT\s+LAST ANALYSIS$/m);
  assert.match(all.stdout, /^quote\s+AwaitingApproval\s+quote-1\s+AwaitingApproval\s+-\s+-\s+-$/m);
  const one = await plugin('status', 'quote');
  assert.equal(one.code, 0, one.stderr);
  assert.match(one.stdout, /Selected:\s+c1 \(config\) larger cache, score 31\.5/);
  assert.match(one.stdout, /approve: kubectl hyperagent approve quote/);
});

test('pause is refused outside a canary, with the phase it needs; nothing is recorded', async () => {
  const result = await plugin('pause', 'quote');
  assert.equal(result.code, 2);
  assert.equal(
    result.stderr,
    'error: cycle quote-1 is AwaitingApproval, not Canary: pause applies to a running canary\n',
  );
  assert.equal((await cycleAnnotations('quote-1'))[CANARY_REQUEST_ANNOTATIONS.pause], undefined);
});

test('approve records the approval on the waiting cycle', async () => {
  const result = await plugin('approve', 'quote');
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout, `cycle quote-1 of ${namespace}/quote approved: delivery starts\n`);
  assert.equal((await cycleAnnotations('quote-1'))[APPROVAL_ANNOTATION], 'Approved');
});

test('in a canary, pause and abort record fresh tokens and approve is refused', async () => {
  await setStatus(CYCLES, 'quote-1', { phase: 'Canary' });
  const paused = await plugin('pause', 'quote');
  assert.equal(paused.code, 0, paused.stderr);
  const token = (await cycleAnnotations('quote-1'))[CANARY_REQUEST_ANNOTATIONS.pause];
  assert.ok(token && !Number.isNaN(Date.parse(token)), `token ${token}`);
  const aborted = await plugin('abort', 'quote');
  assert.equal(aborted.code, 0, aborted.stderr);
  assert.match(aborted.stdout, /asked to abort: the canary is rolled back/);
  assert.ok((await cycleAnnotations('quote-1'))[CANARY_REQUEST_ANNOTATIONS.abort]);
  const approve = await plugin('approve', 'quote');
  assert.equal(approve.code, 2);
  assert.match(approve.stderr, /is Canary, not AwaitingApproval/);
});

test('an unknown agent is a clear error', async () => {
  const result = await plugin('history', 'nobody');
  assert.equal(result.code, 2);
  assert.match(result.stderr, new RegExp(`^error: cannot read HyperAgent ${namespace}/nobody: 404`));
});
