import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Deployment } from '@kubernetes/client-node';
import { defaultedMinimalSpec } from '../../../test/support/agents.js';
import type { Candidate } from '../api/schema.js';
import type { KubeClients } from '../kube/clients.js';
import { selectedCandidate, type CycleContext } from '../cycle/ports.js';
import { ConfigBuilder, configBuildMessage, parameterChanges } from './config-builder.js';

const PARAMETERS = [
  { name: 'cache-size', env: 'QUOTE_CACHE_SIZE', type: 'integer' as const, min: 16, max: 1024 },
  { name: 'mode', configKey: 'cache.mode', type: 'choice' as const, choices: ['lru', 'lfu'] },
];

function deployment(
  containers: { name: string; image?: string }[],
  pullSecrets: string[] = [],
): V1Deployment {
  return {
    metadata: { name: 'quote-service' },
    spec: {
      selector: {},
      template: { spec: { containers, imagePullSecrets: pullSecrets.map((name) => ({ name })) } },
    },
  };
}

function cycle(
  candidates: Candidate[],
  selected?: string,
  target: Record<string, string> = {},
): CycleContext {
  return {
    namespace: 'shop',
    name: 'quote-20260101-0000',
    uid: 'uid-1',
    spec: {
      agent: 'quote',
      slot: '2026-01-01T00:00:00Z',
      agentGeneration: 1,
      agentSpec: defaultedMinimalSpec({
        target: { deployment: 'quote-service', ...target },
        improvement: { interval: '1h', parameters: PARAMETERS },
      }),
    },
    status: { candidates, ...(selected ? { selected } : {}) },
  };
}

const configCandidate: Candidate = {
  id: 'c1',
  kind: 'config',
  summary: 'bigger cache',
  parameters: { 'cache-size': '384', mode: 'lfu' },
};

function fakeApps(answer: V1Deployment | Error): { apps: KubeClients['apps']; asked: unknown[] } {
  const asked: unknown[] = [];
  const apps = {
    readNamespacedDeployment: async (request: unknown) => {
      asked.push(request);
      if (answer instanceof Error) throw answer;
      return answer;
    },
  } as unknown as KubeClients['apps'];
  return { apps, asked };
}

test('the selected candidate must exist', () => {
  assert.equal((selectedCandidate(cycle([configCandidate], 'c1')) as Candidate).id, 'c1');
  for (const c of [cycle([configCandidate]), cycle([configCandidate], 'c9')]) {
    const result = selectedCandidate(c);
    assert.ok(
      'failed' in result && result.failed.state === 'failed' && result.failed.reason === 'NothingSelected',
    );
  }
});

test('parameter changes name their carrier, in name order', () => {
  assert.deepEqual(parameterChanges({ mode: 'lfu', 'cache-size': '384', ghost: '1' }, PARAMETERS), [
    { name: 'cache-size', value: '384', carrier: 'env QUOTE_CACHE_SIZE' },
    { name: 'ghost', value: '1', carrier: 'undeclared' },
    { name: 'mode', value: 'lfu', carrier: 'config cache.mode' },
  ]);
  assert.deepEqual(parameterChanges(undefined, PARAMETERS), []);
});

test('the message says the image is kept and what to apply', () => {
  assert.equal(
    configBuildMessage('quote:1', 'quote', parameterChanges(configCandidate.parameters, PARAMETERS)),
    'no image build: container quote keeps quote:1; the revision applies cache-size=384 (env QUOTE_CACHE_SIZE), mode=lfu (config cache.mode)',
  );
});

test('a config build succeeds with the current image of the target container', async () => {
  const { apps, asked } = fakeApps(
    deployment([
      { name: 'sidecar', image: 'envoy:1' },
      { name: 'quote', image: 'localhost:5001/quote:1' },
    ]),
  );
  const outcome = await new ConfigBuilder({ clients: { apps } }).build(
    cycle([configCandidate], 'c1', { container: 'quote' }),
  );
  assert.deepEqual(asked, [{ name: 'quote-service', namespace: 'shop' }]);
  assert.equal(outcome.state, 'succeeded');
  assert.deepEqual(outcome.state === 'succeeded' && outcome.status, { image: 'localhost:5001/quote:1' });
  assert.match(outcome.state === 'succeeded' ? (outcome.message ?? '') : '', /QUOTE_CACHE_SIZE/);
});

test('a config build refuses code candidates, undeclared parameters and a missing Deployment', async () => {
  const ok = deployment([{ name: 'quote', image: 'quote:1' }]);
  const reasons = async (c: CycleContext, answer: V1Deployment | Error = ok) => {
    const outcome = await new ConfigBuilder({ clients: { apps: fakeApps(answer).apps } }).build(c);
    return outcome.state === 'failed' ? outcome.reason : outcome.state;
  };
  assert.equal(await reasons(cycle([{ id: 'c1', kind: 'code', summary: 'x' }], 'c1')), 'NotAConfigCandidate');
  assert.equal(
    await reasons(cycle([{ id: 'c1', kind: 'config', summary: 'x' }], 'c1')),
    'NotAConfigCandidate',
  );
  assert.equal(
    await reasons(cycle([{ id: 'c1', kind: 'config', summary: 'x', parameters: { ghost: '1' } }], 'c1')),
    'UndeclaredParameter',
  );
  assert.equal(
    await reasons(cycle([configCandidate], 'c1'), Object.assign(new Error('not found'), { code: 404 })),
    'TargetUnavailable',
  );
});
