// The cycle reconciler against an in-memory API server (test/support/fake-kube.ts) and fake
// ports that record their calls and answer from a script: a cycle walks its phases to Promoted
// with each phase persisted, announced and worked on with the cycle as stored; a port the
// operator lacks fails the cycle naming it; the sandbox finalizer guards Evaluating however the
// cycle leaves it (deletion included); a conflicting status write is re-read rather than forced;
// a lost status write announces nothing; a cache that still shows the version this replica
// wrote over does not run a phase's work twice; a human's annotation decides a waiting cycle.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import {
  API_VERSION,
  APPROVAL_ANNOTATION,
  BENCHMARK_CONDITION,
  CYCLES,
  HYPERAGENTS,
  type ImprovementCycle,
} from '../api/resources.js';
import type { Candidate, CanaryStatus, CyclePhase, ImprovementCycleSpec } from '../api/schema.js';
import { APPROVAL_TIMEOUT_MS, type WorkKind } from '../cycle/machine.js';
import type { CycleContext, CycleProviders, WorkOutcome } from '../cycle/ports.js';
import { KubeEventRecorder } from '../kube/events.js';
import { defaultedMinimalSpec } from '../../../test/support/agents.js';
import {
  customKind,
  EVENTS,
  FakeKube,
  type FakeInformer,
  type StoredObject,
} from '../../../test/support/fake-kube.js';
import { CycleReconciler, SANDBOX_FINALIZER } from './cycle-reconciler.js';
import type { ReconcileResult } from './work-queue.js';

const NS = 'shop';
const NAME = 'quote-1';
const KEY = `${NS}/${NAME}`;
const CYCLE = customKind(CYCLES);
const T0 = Date.parse('2026-01-01T00:00:00Z');
const silent = pino({ level: 'silent' });

const PROPOSED: Candidate = {
  id: 'c1',
  kind: 'config',
  summary: 'larger cache',
  parameters: { 'cache-size': '384' },
  verdict: 'Pending',
};
const PASSED: Candidate = { ...PROPOSED, verdict: 'Passed', score: 12 };

function canary(phase: CanaryStatus['phase'], weight: number): CanaryStatus {
  const time = new Date(T0).toISOString();
  return {
    phase,
    reason: phase,
    message: `canary ${phase}`,
    startTime: time,
    phaseStartTime: time,
    stepIndex: 0,
    weight,
    counts: [],
    measurements: [],
    handledRequests: {},
  };
}

/** What every port answers when a test does not script it: the whole loop succeeds. */
function defaultScript(): Record<WorkKind, WorkOutcome[]> {
  return {
    represent: [{ state: 'succeeded', message: 'Represented abc', status: { baseCommit: 'abc123' } }],
    propose: [{ state: 'succeeded', message: 'Proposed 1 candidate', status: { candidates: [PROPOSED] } }],
    evaluate: [
      { state: 'running', message: 'Evaluating 1 candidate', retryAfterMs: 5000 },
      { state: 'succeeded', message: 'Evaluated 1 candidate', status: { candidates: [PASSED] } },
    ],
    commit: [{ state: 'succeeded', message: 'Committed c1', status: { commit: 'c0ffee' } }],
    build: [{ state: 'succeeded', message: 'Built', status: { image: 'quote:c0ffee' } }],
    canary: [
      { state: 'running', retryAfterMs: 10_000, status: { canary: canary('Progressing', 25) } },
      {
        state: 'succeeded',
        message: 'Promoted',
        status: { canary: canary('Promoted', 100) },
        result: 'Promoted',
      },
    ],
  };
}

interface PortCall {
  port: WorkKind;
  context: CycleContext;
  /** The cycle as stored when the port was called. */
  stored: ImprovementCycle | undefined;
}

/** Fake ports: each records its calls and answers from its script (the last answer repeats). */
class Ports {
  readonly calls: PortCall[] = [];
  readonly releases: Array<{ args: unknown; stored: ImprovementCycle | undefined }> = [];
  readonly script = defaultScript();

  constructor(private readonly fake: FakeKube) {}

  /** The providers, without the ports named in `omit`. */
  providers(omit: Array<WorkKind> = []): CycleProviders {
    const port = (kind: WorkKind) => (context: CycleContext) => this.answer(kind, context);
    const all: CycleProviders = {
      represent: { represent: port('represent') },
      propose: { tuner: { propose: port('propose') } },
      evaluate: {
        evaluate: port('evaluate'),
        release: async (args) => {
          this.releases.push({ args, stored: this.stored() });
        },
      },
      commit: { commit: port('commit') },
      build: { build: port('build') },
      canary: { advance: port('canary') as NonNullable<CycleProviders['canary']>['advance'] },
    };
    for (const kind of omit) {
      if (kind === 'propose') all.propose = {};
      else if (kind === 'canary') delete all.canary;
      else delete all[kind];
    }
    return all;
  }

  called(kind?: WorkKind): PortCall[] {
    return this.calls.filter((call) => kind === undefined || call.port === kind);
  }

  private async answer(kind: WorkKind, context: CycleContext): Promise<WorkOutcome> {
    this.calls.push({ port: kind, context: structuredClone(context), stored: this.stored() });
    const answers = this.script[kind];
    return structuredClone(answers.length > 1 ? answers.shift()! : answers[0]!);
  }

  private stored(): ImprovementCycle | undefined {
    return this.fake.peek<ImprovementCycle & StoredObject>(CYCLE, NS, NAME);
  }
}

interface World {
  fake: FakeKube;
  cache: FakeInformer<ImprovementCycle & StoredObject>;
  ports: Ports;
  /** One visit of the cycle, as the work queue makes it; the clock moves a second. */
  visit(): Promise<ReconcileResult>;
  /** Visits until the stored cycle satisfies `done` (at most 40 visits). */
  visitUntil(done: (cycle: ImprovementCycle | undefined) => boolean): Promise<void>;
  stored(): ImprovementCycle | undefined;
  phase(): CyclePhase | undefined;
  events(): Array<{ type: string; reason: string; message: string }>;
}

async function world(
  options: { omit?: WorkKind[]; approval?: string; spec?: Record<string, unknown> } = {},
): Promise<World> {
  let clock = T0;
  const fake = new FakeKube(() => new Date(clock));
  const cache = fake.informer<ImprovementCycle & StoredObject>(CYCLE);
  const ports = new Ports(fake);
  const reconciler = new CycleReconciler({
    clients: fake.clients,
    cycles: cache.asInformer(),
    providers: ports.providers(options.omit),
    events: new KubeEventRecorder(fake.clients.core, silent, 'test-replica'),
    log: silent,
    now: () => new Date(clock),
  });
  const spec: ImprovementCycleSpec = {
    agent: 'quote',
    slot: new Date(T0).toISOString(),
    agentGeneration: 1,
    agentSpec: defaultedMinimalSpec({
      ...(options.approval ? { approval: options.approval } : {}),
      ...options.spec,
    }),
  };
  await fake.clients.custom.createNamespacedCustomObject({
    group: CYCLES.group,
    version: CYCLES.version,
    plural: CYCLES.plural,
    namespace: NS,
    body: { apiVersion: API_VERSION, kind: CYCLES.kind, metadata: { name: NAME }, spec },
  });
  const stored = () => fake.peek<ImprovementCycle & StoredObject>(CYCLE, NS, NAME);
  const visit = async () => {
    const result = await reconciler.reconcile(KEY);
    await new Promise((resolve) => setImmediate(resolve)); // events are recorded in the background
    clock += 1000;
    return result;
  };
  return {
    fake,
    cache,
    ports,
    visit,
    async visitUntil(done) {
      for (let i = 0; i < 40 && !done(stored()); i++) await visit();
      assert.ok(done(stored()), `not reached; the cycle is ${JSON.stringify(stored()?.status)}`);
    },
    stored,
    phase: () => stored()?.status?.phase,
    events: () =>
      fake
        .list<StoredObject & { type: string; reason: string; message: string }>(EVENTS, NS)
        .map(({ type, reason, message }) => ({ type, reason, message })),
  };
}

const inPhase = (phase: CyclePhase) => (cycle: ImprovementCycle | undefined) =>
  cycle?.status?.phase === phase;
const finalizersOf = (cycle: ImprovementCycle | undefined) => cycle?.metadata.finalizers ?? [];

/** The phases the store held, in order, each once per stretch. */
function persistedPhases(w: World): Array<string | undefined> {
  const phases = w.fake
    .versions<ImprovementCycle & StoredObject>(CYCLE, NS, NAME)
    .map((v) => v.status?.phase);
  return phases.filter((phase, i) => i === 0 || phase !== phases[i - 1]);
}

/** Another client's JSON patch of the cycle (kubectl annotate, label...). */
async function patchCycle(w: World, path: string, value: unknown): Promise<void> {
  await w.fake.clients.custom.patchNamespacedCustomObject({
    group: CYCLES.group,
    version: CYCLES.version,
    plural: CYCLES.plural,
    namespace: NS,
    name: NAME,
    body: [{ op: 'add', path, value }],
  });
}

/** What `kubectl hyperagent approve|reject` does: the approval annotation. */
const annotate = (w: World, value: string) =>
  patchCycle(w, '/metadata/annotations', { [APPROVAL_ANNOTATION]: value });

test('a cycle whose ports all succeed walks every phase to Promoted: each persisted, announced, and worked on with the cycle as stored', async () => {
  const w = await world();
  await w.visitUntil(inPhase('Promoted'));

  assert.deepEqual(persistedPhases(w), [
    undefined, // created without status
    'Representing',
    'Proposing',
    'Evaluating',
    'Selecting',
    'Committing',
    'Building',
    'Canary',
    'Promoted',
  ]);
  const final = w.stored()!;
  assert.equal(final.status?.reason, 'Promoted');
  assert.equal(final.status?.baseCommit, 'abc123');
  assert.equal(final.status?.selected, 'c1');
  assert.deepEqual(final.status?.candidates, [PASSED]);
  assert.equal(final.status?.commit, 'c0ffee');
  assert.equal(final.status?.image, 'quote:c0ffee');
  assert.equal(final.status?.canary?.phase, 'Promoted');
  assert.ok(final.status?.completionTime, 'the outcome is timed');

  assert.deepEqual(
    w.events().map((e) => [e.type, e.reason]),
    [
      ['Normal', 'Representing'],
      ['Normal', 'Proposing'],
      ['Normal', 'Evaluating'],
      ['Normal', 'Selecting'],
      ['Normal', 'Committing'],
      ['Normal', 'Building'],
      ['Normal', 'Canary'],
      ['Normal', 'Promoted'],
    ],
  );
  const messages = Object.fromEntries(w.events().map((e) => [e.reason, e.message]));
  assert.equal(messages.Proposing, 'Represented abc', "entering a phase tells what the last one's work said");
  assert.match(messages.Committing!, /^Selected candidate c1 \(score 12\): larger cache/);
  const involved = w.fake.list<StoredObject & { involvedObject: Record<string, unknown> }>(EVENTS, NS);
  for (const event of involved) {
    assert.deepEqual(
      [event.involvedObject.kind, event.involvedObject.name, event.involvedObject.uid],
      [CYCLES.kind, NAME, final.metadata.uid],
    );
  }

  assert.deepEqual(
    w.ports.called().map((call) => call.port),
    ['represent', 'propose', 'evaluate', 'evaluate', 'commit', 'build', 'canary', 'canary'],
  );
  for (const call of w.ports.called()) {
    assert.deepEqual(
      [call.context.namespace, call.context.name, call.context.uid],
      [NS, NAME, final.metadata.uid],
      call.port,
    );
    assert.deepEqual(call.context.spec, final.spec, call.port);
    assert.deepEqual(call.context.status, call.stored?.status, `${call.port} sees the status as persisted`);
  }
  // Each phase starts from what the one before it persisted.
  assert.equal(w.ports.called('propose')[0]!.context.status.baseCommit, 'abc123');
  assert.deepEqual(w.ports.called('evaluate')[0]!.context.status.candidates, [PROPOSED]);
  assert.equal(w.ports.called('commit')[0]!.context.status.selected, 'c1');
  assert.equal(w.ports.called('build')[0]!.context.status.commit, 'c0ffee');
  assert.equal(w.ports.called('canary')[0]!.context.status.image, 'quote:c0ffee');
  assert.equal(w.ports.called('canary')[0]!.context.status.canary, undefined);
  assert.equal(w.ports.called('canary')[1]!.context.status.canary?.phase, 'Progressing');

  // The sandbox finalizer: absent before Evaluating, present at every evaluate call, removed
  // (after one release, once the cycle left Evaluating) by the end.
  for (const call of [...w.ports.called('represent'), ...w.ports.called('propose')]) {
    assert.deepEqual(finalizersOf(call.stored), [], call.port);
  }
  for (const call of w.ports.called('evaluate')) {
    assert.deepEqual(finalizersOf(call.stored), [SANDBOX_FINALIZER]);
  }
  assert.equal(w.ports.releases.length, 1);
  assert.deepEqual(w.ports.releases[0]!.args, { namespace: NS, name: NAME, uid: final.metadata.uid });
  assert.equal(w.ports.releases[0]!.stored?.status?.phase, 'Selecting');
  assert.deepEqual(finalizersOf(final), []);
});

test('a port the operator lacks fails the cycle with CapabilityMissing naming it, before its phase does any work', async () => {
  const cases: Array<{ omit: WorkKind[]; message: string; ran: WorkKind[]; at?: CyclePhase }> = [
    {
      omit: ['represent'],
      message: 'This operator cannot run the cycle: it has no Representer (service graph).',
      ran: [],
    },
    {
      omit: ['propose'],
      message: "This operator cannot run the cycle: it has no Proposer 'tuner'.",
      ran: [],
    },
    {
      omit: ['evaluate'],
      message: 'This operator cannot run the cycle: it has no Sandbox (candidate evaluation).',
      ran: [],
    },
    {
      omit: ['evaluate', 'represent', 'propose'],
      message:
        "This operator cannot run the cycle: it has no Representer (service graph), no Proposer 'tuner', no Sandbox (candidate evaluation).",
      ran: [],
    },
    {
      omit: ['commit'],
      message: 'This operator has no SourceRepository.',
      ran: ['represent', 'propose', 'evaluate'],
      at: 'Committing',
    },
    {
      omit: ['build'],
      message: 'This operator has no ImageBuilder.',
      ran: ['represent', 'propose', 'evaluate', 'commit'],
      at: 'Building',
    },
    {
      omit: ['canary'],
      message: 'This operator has no Canary.',
      ran: ['represent', 'propose', 'evaluate', 'commit', 'build'],
      at: 'Canary',
    },
  ];
  for (const { omit, message, ran, at } of cases) {
    const w = await world({ omit });
    await w.visitUntil(inPhase('Failed'));
    const status = w.stored()!.status!;
    assert.deepEqual([status.reason, status.message], ['CapabilityMissing', message], omit.join());
    assert.deepEqual([...new Set(w.ports.called().map((c) => c.port))], ran, omit.join());
    const phases = persistedPhases(w);
    assert.equal(phases.at(-2), at, `${omit.join()} fails in ${at ?? 'Pending'}`);
    assert.deepEqual(w.events().at(-1), { type: 'Warning', reason: 'CapabilityMissing', message });
  }
});

test('a cycle that fails in Evaluating releases its sandbox and drops the finalizer in the same visit', async () => {
  const w = await world();
  w.ports.script.evaluate = [
    { state: 'running', retryAfterMs: 5000 },
    { state: 'failed', reason: 'SandboxUnavailable', message: 'no runner image' },
  ];
  await w.visitUntil(() => w.ports.called('evaluate').length === 1);
  assert.deepEqual(finalizersOf(w.stored()), [SANDBOX_FINALIZER]);
  assert.equal(w.ports.releases.length, 0, 'nothing is released while evaluating');

  await w.visit();
  assert.equal(w.phase(), 'Failed');
  assert.equal(w.stored()?.status?.reason, 'SandboxUnavailable');
  assert.equal(w.ports.releases.length, 1);
  assert.equal(w.ports.releases[0]!.stored?.status?.phase, 'Failed', 'released once out of Evaluating');
  assert.deepEqual(finalizersOf(w.stored()), []);

  assert.deepEqual(await w.visit(), {});
  assert.equal(w.ports.releases.length, 1, 'a finished cycle is released once');
  assert.equal(w.ports.called('evaluate').length, 2);
});

test('a cycle deleted while evaluating is released before its finalizer lets it go, and not evaluated again', async () => {
  const w = await world();
  await w.visitUntil(() => w.ports.called('evaluate').length === 1);
  const uid = w.stored()!.metadata.uid;
  await w.fake.clients.custom.deleteNamespacedCustomObject({
    group: CYCLES.group,
    version: CYCLES.version,
    plural: CYCLES.plural,
    namespace: NS,
    name: NAME,
  });
  assert.ok(w.stored()?.metadata.deletionTimestamp, 'the finalizer holds the deleted cycle');

  assert.deepEqual(await w.visit(), {});
  assert.equal(w.ports.releases.length, 1);
  assert.deepEqual(w.ports.releases[0]!.args, { namespace: NS, name: NAME, uid });
  assert.deepEqual(
    finalizersOf(w.ports.releases[0]!.stored),
    [SANDBOX_FINALIZER],
    'released while the finalizer still held the cycle',
  );
  assert.equal(w.stored(), undefined, 'removing the finalizer let the cycle go');
  assert.equal(w.ports.called('evaluate').length, 1);

  assert.deepEqual(await w.visit(), {});
  assert.equal(w.ports.releases.length, 1);
  assert.equal(w.ports.called().length, 3, 'represent, propose and one evaluate');
});

test('a status write that conflicts with another writer is re-read, not forced: the work is redone on the fresh cycle and announced once', async () => {
  const w = await world();
  await w.visitUntil(inPhase('Representing'));
  // A human labels the cycle while Representing works: this replica's write is now stale.
  w.fake.beforeNext('replaceNamespacedCustomObjectStatus', () =>
    patchCycle(w, '/metadata/labels', { team: 'pricing' }),
  );
  const calls = w.fake.calls.length;

  await w.visit();
  assert.deepEqual(
    w.fake.calls.slice(calls).map((c) => [c.method, c.outcome]),
    [
      ['patchNamespacedCustomObject', 'ok'], // the other writer
      ['replaceNamespacedCustomObjectStatus', 409],
      ['getNamespacedCustomObject', 'ok'],
    ],
  );
  assert.equal(w.phase(), 'Representing', 'nothing computed from the stale cycle was written');
  assert.deepEqual(w.stored()?.metadata.labels, { team: 'pricing' });
  assert.ok(!w.events().some((e) => e.reason === 'Proposing'), 'an unpersisted transition is not announced');

  await w.visit();
  assert.equal(w.phase(), 'Proposing');
  assert.deepEqual(w.stored()?.metadata.labels, { team: 'pricing' });
  assert.equal(w.ports.called('represent').length, 2);
  assert.equal(w.ports.called('represent')[1]!.stored?.metadata.labels?.team, 'pricing');
  assert.equal(w.events().filter((e) => e.reason === 'Proposing').length, 1);
});

test('a status write lost with the connection persists and announces nothing; the next visit redoes the phase', async () => {
  const w = await world();
  await w.visitUntil(inPhase('Committing'));
  w.fake.failNext('replaceNamespacedCustomObjectStatus', new Error('socket hang up'));
  await assert.rejects(w.visit(), /socket hang up/);
  assert.equal(w.phase(), 'Committing');
  assert.ok(!w.events().some((e) => e.reason === 'Building'));

  await w.visit();
  assert.equal(w.phase(), 'Building');
  assert.equal(w.ports.called('commit').length, 2);
  assert.deepEqual(w.ports.called('commit')[1]!.context, w.ports.called('commit')[0]!.context);
  assert.equal(w.events().filter((e) => e.reason === 'Building').length, 1);
});

test('while the cache still shows the version this replica wrote over, the visit waits instead of working again', async () => {
  const w = await world();
  await w.visitUntil(inPhase('Representing'));
  w.cache.freeze();
  await w.visit(); // represents, and writes Proposing; the cache still shows Representing
  assert.equal(w.phase(), 'Proposing');
  const writes = w.fake.count('replaceNamespacedCustomObjectStatus');

  assert.deepEqual(await w.visit(), { requeueAfterMs: 200 });
  assert.deepEqual(await w.visit(), { requeueAfterMs: 200 });
  assert.equal(w.ports.called('represent').length, 1, 'Representing is not worked on twice');
  assert.equal(w.ports.called('propose').length, 0);
  assert.equal(w.fake.count('replaceNamespacedCustomObjectStatus'), writes);

  w.cache.catchUp();
  await w.visit();
  assert.equal(w.ports.called('represent').length, 1);
  assert.equal(w.ports.called('propose').length, 1);
  assert.equal(w.phase(), 'Evaluating');
});

test('a visit that released the sandbox and moved on waits for the cache as well: the sandbox is released once', async () => {
  const w = await world();
  await w.visitUntil(inPhase('Selecting'));
  assert.deepEqual(finalizersOf(w.stored()), [SANDBOX_FINALIZER]);
  w.cache.freeze();
  await w.visit(); // releases, drops the finalizer and selects; the cache still shows Selecting with it
  assert.equal(w.ports.releases.length, 1);
  assert.notEqual(w.phase(), 'Selecting');
  assert.deepEqual(finalizersOf(w.stored()), []);
  assert.deepEqual(await w.visit(), { requeueAfterMs: 200 }, 'the cache has not seen the release yet');
  assert.equal(w.ports.releases.length, 1, 'the sandbox is released once');
  w.cache.catchUp();
  await w.visitUntil(inPhase('Promoted'));
  assert.equal(w.ports.releases.length, 1);
});

test('the finalizer is set in a visit of its own: a cache without it never reaches the sandbox', async () => {
  const w = await world();
  await w.visitUntil(inPhase('Evaluating'));
  w.cache.freeze();
  assert.deepEqual(await w.visit(), { requeueAfterMs: 0 });
  assert.deepEqual(finalizersOf(w.stored()), [SANDBOX_FINALIZER]);
  assert.deepEqual(await w.visit(), { requeueAfterMs: 200 }, 'the cache has not seen the finalizer yet');
  assert.equal(w.ports.called('evaluate').length, 0);
  w.cache.catchUp();
  await w.visit();
  assert.equal(w.ports.called('evaluate').length, 1);
  assert.deepEqual(finalizersOf(w.ports.called('evaluate')[0]!.stored), [SANDBOX_FINALIZER]);
});

test('a cycle whose agent asks for approval waits for the annotation: Approved delivers, Rejected ends it, anything else is ignored', async () => {
  const approved = await world({ approval: 'Always' });
  await approved.visitUntil(inPhase('AwaitingApproval'));
  assert.equal(approved.stored()?.status?.selected, 'c1');
  const waiting = await approved.visit();
  assert.ok(
    waiting.requeueAfterMs !== undefined &&
      waiting.requeueAfterMs > APPROVAL_TIMEOUT_MS - 60_000 &&
      waiting.requeueAfterMs <= APPROVAL_TIMEOUT_MS,
    `looks again when the approval times out, not before: ${waiting.requeueAfterMs}`,
  );
  await annotate(approved, 'yes please');
  await approved.visit();
  assert.equal(approved.phase(), 'AwaitingApproval', 'only Approved or Rejected decide');
  assert.equal(approved.ports.called('commit').length, 0);

  await annotate(approved, 'Approved');
  await approved.visit();
  assert.equal(approved.phase(), 'Committing');
  assert.deepEqual(approved.events().at(-1), {
    type: 'Normal',
    reason: 'Committing',
    message: 'Approved by a human',
  });
  await approved.visitUntil(inPhase('Promoted'));
  assert.equal(approved.ports.called('commit').length, 1);

  const rejected = await world({ approval: 'Always' });
  await rejected.visitUntil(inPhase('AwaitingApproval'));
  await annotate(rejected, 'Rejected');
  await rejected.visit();
  assert.equal(rejected.phase(), 'Rejected');
  assert.equal(rejected.stored()?.status?.reason, 'RejectedByUser');
  assert.deepEqual(rejected.events().at(-1), {
    type: 'Warning',
    reason: 'RejectedByUser',
    message: 'A human rejected the selected candidate.',
  });
  assert.deepEqual(await rejected.visit(), {});
  assert.deepEqual(
    rejected.ports.called().map((c) => c.port),
    ['represent', 'propose', 'evaluate', 'evaluate'],
    'nothing is delivered',
  );
});

test('a finalizer patch against a stale cycle fails as the API server fails it, and the visit is retried', async () => {
  const w = await world();
  await w.visitUntil(inPhase('Evaluating'));
  // Another writer changes the cycle after the cache saw it: the patch's test on resourceVersion fails.
  w.cache.freeze();
  await patchCycle(w, '/metadata/labels', { team: 'pricing' });
  await assert.rejects(w.visit(), (error: unknown) => {
    assert.equal((error as { code?: number }).code, 422);
    return true;
  });
  assert.deepEqual(finalizersOf(w.stored()), []);
  assert.equal(w.ports.called('evaluate').length, 0, 'no sandbox work without the finalizer');
  w.cache.catchUp();
  await w.visit();
  assert.deepEqual(finalizersOf(w.stored()), [SANDBOX_FINALIZER]);
});

test('a cycle deleted behind a stale cache ends the visit quietly: its status write finds it gone', async () => {
  const w = await world();
  await w.visitUntil(inPhase('Representing'));
  w.cache.freeze();
  await w.fake.clients.custom.deleteNamespacedCustomObject({
    group: CYCLES.group,
    version: CYCLES.version,
    plural: CYCLES.plural,
    namespace: NS,
    name: NAME,
  });
  assert.deepEqual(await w.visit(), {});
  assert.equal(w.stored(), undefined);
  assert.ok(
    w.fake.calls.some((c) => c.method === 'replaceNamespacedCustomObjectStatus' && c.outcome === 404),
  );
  w.cache.catchUp();
  assert.deepEqual(await w.visit(), {});
  assert.equal(w.ports.called('represent').length, 1);
});

/** The agent of the world's cycle, with a BenchmarkPredictive condition of `status`. */
async function agentWithTrust(w: World, status: 'True' | 'False', message: string): Promise<void> {
  const custom = w.fake.clients.custom;
  const agent = (await custom.createNamespacedCustomObject({
    group: HYPERAGENTS.group,
    version: HYPERAGENTS.version,
    plural: HYPERAGENTS.plural,
    namespace: NS,
    body: { apiVersion: API_VERSION, kind: HYPERAGENTS.kind, metadata: { name: 'quote' }, spec: {} },
  })) as ImprovementCycle;
  const condition = {
    type: BENCHMARK_CONDITION,
    status,
    reason: status === 'False' ? 'ProductionDisagrees' : 'ProductionAgrees',
    message,
    lastTransitionTime: new Date(T0).toISOString(),
  };
  await custom.replaceNamespacedCustomObjectStatus({
    group: HYPERAGENTS.group,
    version: HYPERAGENTS.version,
    plural: HYPERAGENTS.plural,
    namespace: NS,
    name: 'quote',
    body: { ...agent, status: { conditions: [condition] } },
  });
}

test('while the agent does not trust its benchmark, a code candidate waits for a human even under approval Auto; a config one does not', async () => {
  const code: Candidate = { ...PROPOSED, kind: 'code', summary: 'refresh-ahead', parameters: undefined };
  const distrusted = await world({ approval: 'Auto' });
  await agentWithTrust(
    distrusted,
    'False',
    'Production showed less than 50% of the gain, 2 deliveries in a row',
  );
  distrusted.ports.script.propose = [
    { state: 'succeeded', message: 'Proposed 1 candidate', status: { candidates: [code] } },
  ];
  distrusted.ports.script.evaluate = [
    {
      state: 'succeeded',
      message: 'Evaluated',
      status: { candidates: [{ ...code, verdict: 'Passed', score: 30 }] },
    },
  ];
  await distrusted.visitUntil(inPhase('AwaitingApproval'));
  assert.match(
    distrusted.stored()?.status?.message ?? '',
    /It waits for a human: Production showed less than 50% of the gain, 2 deliveries in a row$/,
  );
  assert.equal(distrusted.ports.called('commit').length, 0);

  const config = await world({ approval: 'Auto' });
  await agentWithTrust(config, 'False', 'not predictive');
  await config.visitUntil(inPhase('Promoted'));

  const trusted = await world({ approval: 'Auto' });
  await agentWithTrust(trusted, 'True', 'fine');
  trusted.ports.script.propose = distrusted.ports.script.propose;
  trusted.ports.script.evaluate = [
    {
      state: 'succeeded',
      message: 'Evaluated',
      status: { candidates: [{ ...code, verdict: 'Passed', score: 30 }] },
    },
  ];
  await trusted.visitUntil(inPhase('Promoted'));
});

test('a promoted cycle whose ledger awaits production is measured once its window has passed, and only then', async () => {
  const w = await world();
  const gain = { objective: 'p99', predicted: 40, canary: 35, ratio: 0.88, message: 'canary against stable' };
  const answers: Array<
    { state: 'waiting'; retryAfterMs: number } | { state: 'measured'; gain: typeof gain }
  > = [
    { state: 'waiting', retryAfterMs: 30_000 },
    {
      state: 'measured',
      gain: {
        ...gain,
        production: 38,
        ratio: 0.95,
        productionCheckedAt: new Date(T0).toISOString(),
      } as typeof gain,
    },
  ];
  let asked = 0;
  const canaryPort = w.ports.providers().canary!;
  const reconciler = new CycleReconciler({
    clients: w.fake.clients,
    cycles: w.cache.asInformer(),
    providers: {
      ...w.ports.providers(),
      canary: {
        advance: canaryPort.advance,
        measureAfterPromotion: async () => answers[Math.min(asked++, answers.length - 1)]!,
      },
    },
    events: new KubeEventRecorder(w.fake.clients.core, silent, 'test-replica'),
    log: silent,
  });
  w.ports.script.canary = [
    {
      state: 'succeeded',
      message: 'Promoted',
      status: {
        canary: canary('Promoted', 100),
        gain,
        promotion: { revision: 'quote-1-c1', cycle: NAME, promotedAt: new Date(T0).toISOString() },
      } as never,
      result: 'Promoted',
    },
  ];
  await w.visitUntil(inPhase('Promoted'));
  assert.deepEqual(await reconciler.reconcile(KEY), { requeueAfterMs: 30_000 });
  assert.equal(w.stored()?.status?.gain?.production, undefined);
  assert.deepEqual(await reconciler.reconcile(KEY), {});
  assert.equal(w.stored()?.status?.gain?.production, 38);
  assert.equal(w.stored()?.status?.phase, 'Promoted', 'the outcome stays');
  assert.deepEqual(await reconciler.reconcile(KEY), {}, 'measured once: nothing more to do');
  assert.equal(asked, 2);
});

test('a promoted cycle gets its promotion tag, is watched until the watch is over, then gets its revert commit (retried after git fails), then its ledger', async () => {
  const w = await world({ spec: { rollout: { afterPromotion: { window: '1m', watch: true } } } });
  const watching = {
    phase: 'Watching' as const,
    message: 'watching',
    until: new Date(T0 + 60_000).toISOString(),
    counts: [],
  };
  const watches = [
    { watch: watching, retryAfterMs: 5000 },
    {
      watch: { ...watching, phase: 'Reverting' as const, message: 'Regression after promotion: latency' },
      retryAfterMs: 0,
    },
    {
      watch: {
        ...watching,
        phase: 'Reverted' as const,
        message: 'Reverted: the revision before runs again.',
      },
    },
  ];
  const reverts = [
    { state: 'failed' as const, message: 'the remote is unreachable' },
    { state: 'reverted' as const, commit: 'f'.repeat(40), branch: 'hyperagent/quote/quote-1' },
  ];
  const measured: string[] = [];
  const canaryPort = w.ports.providers().commit!;
  const reconciler = new CycleReconciler({
    clients: w.fake.clients,
    cycles: w.cache.asInformer(),
    providers: {
      ...w.ports.providers(),
      canary: {
        advance: w.ports.providers().canary!.advance,
        watchAfterPromotion: async (cycle) => {
          measured.push(cycle.status.watch?.phase ?? 'none');
          return watches.shift()!;
        },
        measureAfterPromotion: async (cycle) => ({
          state: 'measured',
          gain: {
            ...cycle.status.gain!,
            message: `measured after ${cycle.status.watch?.phase}`,
            productionCheckedAt: new Date(T0).toISOString(),
          },
        }),
      },
      commit: {
        commit: canaryPort.commit,
        revertPromotion: async () => reverts.shift()!,
        tagPromotion: async (cycle) => ({
          state: 'tagged',
          tag: `hyperagent/quote/${cycle.status.promotion?.revision}`,
        }),
      },
    },
    events: new KubeEventRecorder(w.fake.clients.core, silent, 'test-replica'),
    log: silent,
    now: () => new Date(T0 + 10_000),
  });
  w.ports.script.canary = [
    {
      state: 'succeeded',
      message: 'Promoted',
      status: {
        canary: canary('Promoted', 100),
        gain: { objective: 'p99', predicted: 40, message: 'sandbox' },
        promotion: { revision: 'quote-1-c1', cycle: NAME, promotedAt: new Date(T0).toISOString() },
      } as never,
      result: 'Promoted',
    },
  ];
  await w.visitUntil(inPhase('Promoted'));
  // the promotion tag first: the revision ran in production, whatever the watch finds
  assert.deepEqual(await reconciler.reconcile(KEY), { requeueAfterMs: 0 });
  assert.equal(w.stored()?.status?.promotionTag, 'hyperagent/quote/quote-1-c1');
  assert.deepEqual(await reconciler.reconcile(KEY), { requeueAfterMs: 5000 });
  assert.equal(w.stored()?.status?.watch?.phase, 'Watching');
  assert.deepEqual(await reconciler.reconcile(KEY), { requeueAfterMs: 0 });
  assert.equal(w.stored()?.status?.watch?.phase, 'Reverting');
  assert.deepEqual(await reconciler.reconcile(KEY), { requeueAfterMs: 0 });
  assert.equal(w.stored()?.status?.watch?.phase, 'Reverted');
  assert.deepEqual(measured, ['none', 'Watching', 'Reverting'], 'each visit starts from the stored watch');

  // the revert commit: git fails once, the next visit writes it
  assert.deepEqual(await reconciler.reconcile(KEY), { requeueAfterMs: 60_000 });
  assert.equal(w.stored()?.status?.watch?.revertCommit, undefined);
  assert.deepEqual(await reconciler.reconcile(KEY), { requeueAfterMs: 0 });
  assert.equal(w.stored()?.status?.watch?.revertCommit, 'f'.repeat(40));
  await new Promise((resolve) => setImmediate(resolve));
  const reasons = w.events().map((e) => e.reason);
  assert.ok(reasons.includes('RevertCommitFailed') && reasons.includes('RevertCommitted'), reasons.join(' '));

  // then the ledger, once; the outcome stays Promoted
  assert.deepEqual(await reconciler.reconcile(KEY), {});
  assert.equal(w.stored()?.status?.gain?.message, 'measured after Reverted');
  assert.equal(w.stored()?.status?.phase, 'Promoted');
  assert.deepEqual(await reconciler.reconcile(KEY), {}, 'nothing more to do');
  assert.equal(watches.length, 0);
});

test('a promotion tag git cannot push never holds up the watch: it is tried again with backoff, told once', async () => {
  const w = await world({ spec: { rollout: { afterPromotion: { window: '1m', watch: true } } } });
  const watching = {
    phase: 'Watching' as const,
    message: 'watching',
    until: new Date(T0 + 60_000).toISOString(),
    counts: [],
  };
  let tags = 0;
  let watched = 0;
  const reconciler = new CycleReconciler({
    clients: w.fake.clients,
    cycles: w.cache.asInformer(),
    providers: {
      ...w.ports.providers(),
      canary: {
        advance: w.ports.providers().canary!.advance,
        watchAfterPromotion: async () => {
          watched += 1;
          return { watch: watching, retryAfterMs: 5000 };
        },
      },
      commit: {
        commit: w.ports.providers().commit!.commit,
        tagPromotion: async () => {
          tags += 1;
          return { state: 'failed', message: 'the remote is unreachable' };
        },
      },
    },
    events: new KubeEventRecorder(w.fake.clients.core, silent, 'test-replica'),
    log: silent,
    now: () => new Date(T0 + 10_000),
  });
  w.ports.script.canary = [
    {
      state: 'succeeded',
      message: 'Promoted',
      status: {
        canary: canary('Promoted', 100),
        promotion: { revision: 'quote-1-c1', cycle: NAME, promotedAt: new Date(T0).toISOString() },
      } as never,
      result: 'Promoted',
    },
  ];
  await w.visitUntil(inPhase('Promoted'));
  assert.deepEqual(await reconciler.reconcile(KEY), { requeueAfterMs: 5000 }, 'the watch goes on');
  assert.equal(w.stored()?.status?.watch?.phase, 'Watching');
  assert.deepEqual(await reconciler.reconcile(KEY), { requeueAfterMs: 5000 });
  assert.deepEqual([tags, watched], [1, 2], 'the tag waits for its retry; the watch does not');
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(w.events().filter((e) => e.reason === 'PromotionTagFailed').length, 1);
});
