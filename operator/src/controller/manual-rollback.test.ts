import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ROLLBACK_ANNOTATION, type HyperAgent, type ImprovementCycle } from '../api/resources.js';
import { defaultedAgentSpec } from '../api/defaults.js';
import { planManualRollback } from './manual-rollback.js';

const spec = defaultedAgentSpec({
  target: { deployment: 'api' },
  source: { repo: 'https://git.example.com/api.git' },
  goal: 'faster',
  objectives: [{ name: 'p99', benchmark: 'p99_ms', direction: 'Minimize' }],
  improvement: {
    interval: '1h',
    parameters: [
      { name: 'cache-size', env: 'CACHE_SIZE', type: 'integer', min: 1, max: 1024 },
      { name: 'mode', configKey: 'server.mode', type: 'choice', values: ['a', 'b'] },
    ],
  },
});

function agent(
  requested: string | undefined,
  history: NonNullable<HyperAgent['status']>['history'] = [],
): HyperAgent {
  return {
    metadata: {
      name: 'api',
      namespace: 'shop',
      ...(requested ? { annotations: { [ROLLBACK_ANNOTATION]: requested } } : {}),
    },
    spec,
    status: { history },
  } as HyperAgent;
}

const entry = (revision: string, extra: object = {}) => ({
  revision,
  cycle: revision,
  promotedAt: '2026-11-26T00:00:00Z',
  image: `registry.example/api:${revision}`,
  ...extra,
});
const cycleIn = (phase: string) =>
  ({ metadata: { name: 'api-9' }, status: { phase } }) as unknown as ImprovementCycle;

test('no annotation, nothing to do', () => {
  assert.deepEqual(planManualRollback(agent(undefined), undefined), { kind: 'none' });
});

test('a known revision is restored with its image and its parameters as environment variables', () => {
  const plan = planManualRollback(
    agent('r1', [entry('r2'), entry('r1', { parameters: { 'cache-size': '128' } })]),
    cycleIn('Evaluating'),
  );
  assert.deepEqual(plan, {
    kind: 'restore',
    requested: 'r1',
    revision: { name: 'r1', image: 'registry.example/api:r1', env: { CACHE_SIZE: '128' } },
  });
});

test('refusals say why: delivering, unknown, no image, a parameter not carried by env', () => {
  const table: Array<[HyperAgent, ImprovementCycle | undefined, RegExp]> = [
    [
      agent('r1', [entry('r1')]),
      cycleIn('Canary'),
      /cycle api-9 is delivering \(Canary\); abort it \(kubectl hyperagent abort api\)/,
    ],
    [
      agent('r3', [entry('r2'), entry('r1')]),
      undefined,
      /revision r3 is not in the history \(known: r2, r1\)/,
    ],
    [agent('r1'), undefined, /not in the history \(it is empty\)/],
    [agent('r1', [{ ...entry('r1'), image: undefined }]), undefined, /revision r1 has no image recorded/],
    [
      agent('r1', [entry('r1', { parameters: { mode: 'b' } })]),
      undefined,
      /carried by the configuration key server\.mode/,
    ],
  ];
  for (const [subject, cycle, message] of table) {
    const plan = planManualRollback(subject, cycle);
    assert.equal(plan.kind, 'refuse');
    assert.match(plan.kind === 'refuse' ? plan.message : '', message);
  }
});
