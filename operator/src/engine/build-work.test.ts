// The Building phase's choice of builder: the selected candidate's kind picks it (code → the
// overlay builder, anything else → the config builder), the chosen builder gets the cycle as the
// reconciler passed it and its outcome is the phase's, and a kind without its builder fails the
// cycle with CapabilityMissing naming the builder, without asking the other one.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Candidate } from '../api/schema.js';
import type { BuildPort, CycleContext, WorkOutcome } from '../cycle/ports.js';
import { defaultedMinimalSpec } from '../../../test/support/agents.js';
import { BuildByCandidateKind } from './build-work.js';

const CONFIG: Candidate = {
  id: 'c1',
  kind: 'config',
  summary: 'larger cache',
  parameters: { 'cache-size': '384' },
  verdict: 'Passed',
};
const CODE: Candidate = { id: 'c2', kind: 'code', summary: 'batch the lookups', verdict: 'Passed' };

function cycle(selected: string | undefined): CycleContext {
  return {
    namespace: 'shop',
    name: 'quote-1',
    uid: 'uid-1',
    spec: {
      agent: 'quote',
      slot: '2026-01-01T00:00:00Z',
      agentGeneration: 1,
      agentSpec: defaultedMinimalSpec(),
    },
    status: {
      phase: 'Building',
      candidates: [CONFIG, CODE],
      ...(selected ? { selected } : {}),
      commit: 'c0ffee',
    },
  };
}

/** A builder that records the cycles it is given and answers `outcome`. */
function builder(outcome: WorkOutcome): BuildPort & { seen: CycleContext[] } {
  const seen: CycleContext[] = [];
  return {
    seen,
    build: async (context) => {
      seen.push(context);
      return outcome;
    },
  };
}

const built = (image: string): WorkOutcome => ({ state: 'succeeded', status: { image } });

test('a code candidate goes to the code builder, a config candidate to the config builder', async () => {
  const config = builder(built('quote:config'));
  const code = builder(built('quote:overlay'));
  const builders = new BuildByCandidateKind({ config, code });

  const codeCycle = cycle('c2');
  assert.deepEqual(await builders.build(codeCycle), built('quote:overlay'));
  assert.deepEqual(code.seen, [codeCycle]);
  assert.equal(code.seen[0], codeCycle, 'the cycle as the reconciler passed it');
  assert.equal(config.seen.length, 0);

  const configCycle = cycle('c1');
  assert.deepEqual(await builders.build(configCycle), built('quote:config'));
  assert.equal(config.seen[0], configCycle);
  assert.equal(code.seen.length, 1, 'the code builder was not asked again');
});

test("the chosen builder's outcome is the phase's, a running or failed one included", async () => {
  const running: WorkOutcome = { state: 'running', message: 'pushing layers', retryAfterMs: 2000 };
  const failed: WorkOutcome = { state: 'failed', reason: 'RegistryUnavailable', message: 'no registry' };
  assert.deepEqual(await new BuildByCandidateKind({ code: builder(running) }).build(cycle('c2')), running);
  assert.deepEqual(await new BuildByCandidateKind({ config: builder(failed) }).build(cycle('c1')), failed);
});

test('without a selected candidate the config builder is asked (it reports what is wrong)', async () => {
  const config = builder({ state: 'failed', reason: 'NothingSelected', message: 'no candidate is selected' });
  const code = builder(built('quote:overlay'));
  const outcome = await new BuildByCandidateKind({ config, code }).build(cycle(undefined));
  assert.deepEqual(outcome, {
    state: 'failed',
    reason: 'NothingSelected',
    message: 'no candidate is selected',
  });
  assert.equal(config.seen.length, 1);
  assert.equal(code.seen.length, 0);
});

test('a candidate kind without its builder fails with CapabilityMissing naming the builder, and asks no other', async () => {
  const config = builder(built('quote:config'));
  assert.deepEqual(await new BuildByCandidateKind({ config }).build(cycle('c2')), {
    state: 'failed',
    reason: 'CapabilityMissing',
    message: "This operator has no ImageBuilder 'overlay'.",
  });
  assert.equal(config.seen.length, 0, 'a code candidate is never built as a config change');

  const code = builder(built('quote:overlay'));
  assert.deepEqual(await new BuildByCandidateKind({ code }).build(cycle('c1')), {
    state: 'failed',
    reason: 'CapabilityMissing',
    message: "This operator has no ImageBuilder 'config'.",
  });
  assert.equal(code.seen.length, 0);

  assert.deepEqual(await new BuildByCandidateKind({}).build(cycle('c1')), {
    state: 'failed',
    reason: 'CapabilityMissing',
    message: "This operator has no ImageBuilder 'config'.",
  });
});
