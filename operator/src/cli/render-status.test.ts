import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HyperAgent, ImprovementCycle } from '../api/resources.js';
import type { CanaryStatus } from '../api/schema.js';
import { renderAgentDetail, renderAgents, renderHistory, table } from './render-status.js';

const agent = (status: HyperAgent['status'] = {}): HyperAgent =>
  ({ metadata: { name: 'quote', namespace: 'shop' }, spec: {}, status }) as unknown as HyperAgent;

const canary: CanaryStatus = {
  phase: 'Progressing',
  reason: 'StepRunning',
  message: 'Step 2 of 3 at 50%',
  startTime: '2026-11-26T10:00:00Z',
  phaseStartTime: '2026-11-26T10:00:00Z',
  stepIndex: 1,
  weight: 50,
  counts: [
    { metric: 'error-rate', successful: 3, failed: 0, inconclusive: 1, errors: 0, consecutiveErrors: 0 },
  ],
  measurements: [
    {
      metric: 'error-rate',
      time: '2026-11-26T10:00:05Z',
      step: 0,
      weight: 10,
      result: 'Inconclusive',
      threshold: 'max 0.01',
      message: 'no data',
    },
    {
      metric: 'error-rate',
      time: '2026-11-26T10:00:35Z',
      step: 1,
      weight: 50,
      result: 'Successful',
      value: 0.00123456,
      threshold: 'max 0.01',
      message: 'error-rate 0.001235 ≤ max 0.01',
    },
  ],
  handledRequests: {},
} as unknown as CanaryStatus;

const cycle = {
  metadata: { name: 'quote-7' },
  spec: { agentSpec: { rollout: { steps: [{ weight: 10 }, { weight: 50 }, { weight: 80 }] } } },
  status: { phase: 'Canary', canary, image: 'localhost:5001/quote@sha256:abc' },
} as unknown as ImprovementCycle;

test('table pads every column but the last to its widest cell', () => {
  assert.equal(
    table(
      ['A', 'BB'],
      [
        ['xxx', 'y'],
        ['z', ''],
      ],
    ),
    'A    BB\nxxx  y\nz\n',
  );
});

test('the agents table shows the weight and the latest value of each metric', () => {
  const out = renderAgents(
    [agent({ phase: 'Canary', activeCycle: 'quote-7', stableRevision: '3' })],
    new Map([['quote-7', cycle]]),
  );
  assert.match(out, /^quote\s+Canary\s+quote-7\s+Canary\s+3\s+50%\s+error-rate=0\.001235 Successful$/m);
  assert.equal(renderAgents([], new Map()), 'No HyperAgents found.\n');
});

test('the detail shows the step, the weight and each metric with its threshold and counts', () => {
  const out = renderAgentDetail(agent({ phase: 'Canary', activeCycle: 'quote-7' }), cycle);
  assert.match(out, /^Canary:\s+Progressing \(StepRunning\), step 2\/3, weight 50%$/m);
  assert.match(
    out,
    /^ {2}error-rate\s+Successful\s+0\.001235\s+max 0\.01\s+3 ok, 0 failed, 1 inconclusive, 0 errors\s+2026-11-26T10:00:35Z$/m,
  );
  assert.doesNotMatch(out, /Inconclusive/, 'only the latest measurement of a metric is shown');
});

test('history marks the revision serving now and lists parameters and metrics', () => {
  const out = renderHistory(
    agent({
      stableRevision: '2',
      history: [
        {
          revision: '2',
          cycle: 'quote-7',
          promotedAt: '2026-11-26T10:05:00Z',
          commit: '0123456789abcdef0123',
          image: 'localhost:5001/quote@sha256:abc',
          parameters: { 'cache-size': '384' },
          metrics: { 'error-rate': 0.001 },
        },
        { revision: '1', cycle: 'quote-3', promotedAt: '2026-11-25T10:05:00Z' },
      ],
    }),
  );
  assert.match(
    out,
    /^2\*\s+2026-11-26T10:05:00Z\s+quote-7\s+0123456789ab\s+localhost:5001\/quote@sha256:abc\s+cache-size=384 error-rate=0\.001$/m,
  );
  assert.match(out, /^1\s+2026-11-25T10:05:00Z\s+quote-3\s+-\s+-\s+-$/m);
  assert.match(out, /\* serving now\n$/);
  assert.equal(renderHistory(agent()), 'No promoted revisions for quote yet.\n');
});
