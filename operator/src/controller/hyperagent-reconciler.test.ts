// The HyperAgent reconciler against an in-memory API server (test/support/fake-kube.ts): a new
// agent's first cycle is created (owned, labelled, named by its slot), announced and shown in the
// agent's status, and a cache that has not shown it yet does not let a second one start; a cycle
// a peer created for the slot is no error; a promoted cycle's revision joins the history once; a
// manual rollback request patches the target Deployment, or is refused, and is answered once; a
// conflicting status write is recomputed from the agent as it is now, keeping the visit's own
// schedule decision (a run request that arrives during the conflict is answered, not lost).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import {
  AGENT_LABEL,
  API_VERSION,
  CYCLES,
  cycleAgentIndex,
  HYPERAGENTS,
  ROLE_LABEL,
  ROLLBACK_ANNOTATION,
  RUN_ANNOTATION,
  type HyperAgent,
  type ImprovementCycle,
} from '../api/resources.js';
import type { HistoryEntry, HyperAgentStatus, ImprovementCycleStatus } from '../api/schema.js';
import { KubeEventRecorder } from '../kube/events.js';
import { REVISION_ANNOTATION } from '../rollout/canary-deployment.js';
import { defaultedMinimalSpec } from '../../../test/support/agents.js';
import {
  customKind,
  DEPLOYMENTS,
  EVENTS,
  FakeKube,
  type FakeInformer,
  type StoredObject,
} from '../../../test/support/fake-kube.js';
import { HyperAgentReconciler, type IncidentPort } from './hyperagent-reconciler.js';
import type { ReconcileResult } from './work-queue.js';

const NS = 'shop';
const NAME = 'quote';
const KEY = `${NS}/${NAME}`;
const AGENTS = customKind(HYPERAGENTS);
const CYCLE = customKind(CYCLES);
const DEPLOYMENT = 'quote-service';
const T0 = Date.parse('2026-01-01T00:00:00Z');
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const silent = pino({ level: 'silent' });

/** The cycle of the slot at `time`, as the reconciler names it. */
const cycleName = (time: number) => `${NAME}-${time / MINUTE}`;

const R1: HistoryEntry = {
  revision: 'r1',
  cycle: 'quote-1',
  image: 'registry.example/quote:r1',
  promotedAt: '2025-12-01T00:00:00.000Z',
  parameters: { 'cache-size': '128' },
};
const R2: HistoryEntry = {
  revision: 'r2',
  cycle: 'quote-2',
  image: 'registry.example/quote:r2',
  promotedAt: '2025-12-02T00:00:00.000Z',
  parameters: { 'cache-size': '256' },
};

/** The history entry a cycle named `name` carries once it promoted its candidate c1 at T0. */
const promotionOf = (name: string): HistoryEntry => ({
  ...R1,
  revision: `${name}-c1`,
  cycle: name,
  promotedAt: new Date(T0).toISOString(),
});
/** An agent whose cycle for its first slot has run, and which runs r2 with r1 before it. */
const RAN_R2: HyperAgentStatus = {
  lastScheduleTime: new Date(T0).toISOString(),
  stableRevision: 'r2',
  history: [R2, R1],
};

type Agent = HyperAgent & StoredObject;
type Cycle = ImprovementCycle & StoredObject;
type Event = StoredObject & {
  type: string;
  reason: string;
  message: string;
  involvedObject: { kind?: string; name?: string; uid?: string };
};

interface World {
  fake: FakeKube;
  cycles: FakeInformer<Cycle>;
  agents: FakeInformer<Agent>;
  /** One visit of the agent, as the work queue makes it; the clock moves a second. */
  visit(): Promise<ReconcileResult>;
  /** Sets the clock. */
  at(time: number): void;
  agent(): Agent;
  storedCycles(): Cycle[];
  deployment(): Deployment | undefined;
  events(): Array<{ type: string; reason: string; message: string }>;
  /** Another client's JSON patch of the agent (kubectl annotate, edit). */
  patchAgent(operations: Array<{ op: string; path: string; value?: unknown }>): Promise<void>;
  /** A cycle of the agent for the slot at `slot`, created as a peer would, with `status` written as the cycle reconciler writes it. */
  ownedCycle(slot: number, status?: ImprovementCycleStatus): Promise<void>;
  /** The cycle reconciler's status write. */
  writeCycleStatus(name: string, status: ImprovementCycleStatus): Promise<void>;
}

interface Deployment extends StoredObject {
  spec: {
    template: {
      metadata: { labels: Record<string, string> };
      spec: { containers: Array<{ name: string; image: string; env?: Array<Record<string, unknown>> }> };
    };
  };
}

/** An agent `quote` created at T0 (with `status` written, as an earlier reconcile left it); the clock stands at T0 + 1s. */
async function world(
  options: {
    status?: HyperAgentStatus;
    annotations?: Record<string, string>;
    spec?: Record<string, unknown>;
    incidents?: IncidentPort;
  } = {},
) {
  let clock = T0 + 1000;
  const fake = new FakeKube(() => new Date(clock));
  const agents = fake.informer<Agent>(AGENTS);
  const cycles = fake.informer<Cycle>(CYCLE, cycleAgentIndex);
  const reconciler = new HyperAgentReconciler({
    clients: fake.clients,
    agents: agents.asInformer(),
    cycles: cycles.asInformer(),
    events: new KubeEventRecorder(fake.clients.core, silent, 'test-replica'),
    log: silent,
    ...(options.incidents ? { incidents: options.incidents } : {}),
    now: () => new Date(clock),
  });
  const custom = fake.clients.custom;
  const ref = (resource: typeof HYPERAGENTS) => ({
    group: resource.group,
    version: resource.version,
    plural: resource.plural,
    namespace: NS,
  });
  const spec = defaultedMinimalSpec({
    target: { deployment: DEPLOYMENT, container: 'app' },
    improvement: {
      interval: '1h',
      parameters: [{ name: 'cache-size', env: 'CACHE_SIZE', type: 'integer', min: 1, max: 1024 }],
    },
    ...options.spec,
  });
  const saved = clock;
  clock = T0;
  await custom.createNamespacedCustomObject({
    ...ref(HYPERAGENTS),
    body: {
      apiVersion: API_VERSION,
      kind: HYPERAGENTS.kind,
      metadata: { name: NAME, ...(options.annotations ? { annotations: options.annotations } : {}) },
      spec,
    },
  });
  clock = saved;
  const agent = () => fake.peek<Agent>(AGENTS, NS, NAME)!;
  if (options.status) {
    await custom.replaceNamespacedCustomObjectStatus({
      ...ref(HYPERAGENTS),
      name: NAME,
      body: { ...agent(), status: options.status },
    });
  }
  await fake.clients.apps.createNamespacedDeployment({
    namespace: NS,
    body: {
      metadata: { name: DEPLOYMENT },
      spec: {
        selector: { matchLabels: { app: 'quote' } },
        template: {
          metadata: { labels: { app: 'quote' } },
          spec: {
            containers: [
              { name: 'proxy', image: 'envoy:1.30' },
              {
                name: 'app',
                image: R2.image,
                env: [
                  { name: 'LOG_LEVEL', value: 'info' },
                  { name: 'CACHE_SIZE', valueFrom: { configMapKeyRef: { name: 'quote', key: 'cache' } } },
                ],
              },
            ],
          },
        },
      },
    },
  });
  const writeCycleStatus = async (name: string, status: ImprovementCycleStatus) => {
    const cycle = fake.peek<Cycle>(CYCLE, NS, name)!;
    await custom.replaceNamespacedCustomObjectStatus({ ...ref(CYCLES), name, body: { ...cycle, status } });
  };
  const w = {
    fake,
    cycles,
    agents,
    async visit() {
      const result = await reconciler.reconcile(KEY);
      await new Promise((resolve) => setImmediate(resolve)); // events are recorded in the background
      clock += 1000;
      return result;
    },
    at(time: number) {
      clock = time;
    },
    agent,
    storedCycles: () => fake.list<Cycle>(CYCLE, NS),
    deployment: () => fake.peek<Deployment>(DEPLOYMENTS, NS, DEPLOYMENT),
    events: () =>
      fake.list<Event>(EVENTS, NS).map(({ type, reason, message }) => ({ type, reason, message })),
    async patchAgent(operations: Array<{ op: string; path: string; value?: unknown }>) {
      await custom.patchNamespacedCustomObject({ ...ref(HYPERAGENTS), name: NAME, body: operations });
    },
    async ownedCycle(slot: number, status?: ImprovementCycleStatus) {
      const owner = agent();
      const name = cycleName(slot);
      await custom.createNamespacedCustomObject({
        ...ref(CYCLES),
        body: {
          apiVersion: API_VERSION,
          kind: CYCLES.kind,
          metadata: {
            name,
            labels: { [AGENT_LABEL]: NAME },
            ownerReferences: [
              {
                apiVersion: API_VERSION,
                kind: HYPERAGENTS.kind,
                name: NAME,
                uid: owner.metadata.uid,
                controller: true,
              },
            ],
          },
          spec: {
            agent: NAME,
            slot: new Date(slot).toISOString(),
            agentGeneration: 1,
            agentSpec: owner.spec,
          },
        },
      });
      if (status) await writeCycleStatus(name, status);
    },
    writeCycleStatus,
  } satisfies World;
  return w;
}

/** The conditions as type → [status, reason]. */
const conditionsOf = (status: HyperAgentStatus | undefined) =>
  Object.fromEntries((status?.conditions ?? []).map((c) => [c.type, [c.status, c.reason]]));

/** What the cycle reconciler leaves in a cycle that promoted `entry`. */
const promoted = (entry: HistoryEntry): ImprovementCycleStatus => ({
  phase: 'Promoted',
  reason: 'Promoted',
  completionTime: entry.promotedAt,
  selected: 'c1',
  image: entry.image!,
  promotion: entry,
});

/** What `kubectl annotate` does: one annotation set, the others kept. */
const annotate = (w: World, key: string, value: string) =>
  w.patchAgent(
    w.agent().metadata.annotations
      ? [{ op: 'add', path: `/metadata/annotations/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`, value }]
      : [{ op: 'add', path: '/metadata/annotations', value: { [key]: value } }],
  );

/** What `kubectl hyperagent rollback --to <revision>` does. */
const requestRollback = (w: World, revision: string) => annotate(w, ROLLBACK_ANNOTATION, revision);

test('a new agent gets its first cycle, owned, labelled, named by its slot and with its spec; it is announced and shown in the status', async () => {
  const w = await world();
  const agent = w.agent();
  const result = await w.visit();

  const name = cycleName(T0);
  assert.deepEqual(
    w.storedCycles().map((c) => c.metadata.name),
    [name],
  );
  const cycle = w.storedCycles()[0]!;
  assert.deepEqual(cycle.metadata.labels, {
    [AGENT_LABEL]: NAME,
    'app.kubernetes.io/managed-by': 'hyperagent-operator',
  });
  assert.deepEqual(cycle.metadata.ownerReferences, [
    {
      apiVersion: API_VERSION,
      kind: HYPERAGENTS.kind,
      name: NAME,
      uid: agent.metadata.uid,
      controller: true,
      blockOwnerDeletion: true,
    },
  ]);
  assert.deepEqual(cycle.spec, {
    agent: NAME,
    slot: new Date(T0).toISOString(),
    agentGeneration: 1,
    agentSpec: agent.spec,
  });

  assert.deepEqual(w.events(), [
    { type: 'Normal', reason: 'CycleCreated', message: `Started cycle ${name}` },
  ]);
  const [event] = w.fake.list<Event>(EVENTS, NS);
  assert.deepEqual(
    [event!.involvedObject.kind, event!.involvedObject.name, event!.involvedObject.uid],
    [HYPERAGENTS.kind, NAME, agent.metadata.uid],
  );

  const status = w.agent().status!;
  assert.equal(status.activeCycle, name);
  assert.equal(status.phase, 'Pending');
  assert.equal(status.observedGeneration, 1);
  assert.equal(status.lastScheduleTime, new Date(T0).toISOString());
  assert.equal(status.nextScheduleTime, new Date(T0 + HOUR).toISOString());
  assert.deepEqual(conditionsOf(status), {
    Ready: ['True', 'Scheduled'],
    Progressing: ['True', 'CycleRunning'],
    Degraded: ['False', 'AsExpected'],
    BenchmarkPredictive: ['Unknown', 'NotMeasured'],
  });
  assert.deepEqual(result, { requeueAfterMs: HOUR - 1000 + 50 }, 'looks again at the next slot');
});

test('while the cache has not shown the cycle it created, the next slot does not start a second cycle', async () => {
  const w = await world();
  w.cycles.freeze(); // the watch will not deliver the new cycle
  await w.visit();
  assert.equal(w.storedCycles().length, 1);

  // The same slot would be refused by its name; the next slot is the one a lagging cache could let in.
  w.at(T0 + HOUR + 1000);
  await w.visit();
  assert.deepEqual(
    w.storedCycles().map((c) => c.metadata.name),
    [cycleName(T0)],
  );
  assert.equal(w.fake.count('createNamespacedCustomObject'), 2, "the agent's and the first cycle's");
  assert.equal(w.agent().status?.activeCycle, cycleName(T0));
  assert.equal(w.agent().status?.phase, 'Pending');
  assert.equal(w.events().filter((e) => e.reason === 'CycleCreated').length, 1);
});

test('a cycle that exists for the slot already (409 on create) is no error and is not announced', async () => {
  const w = await world();
  w.cycles.freeze();
  await w.ownedCycle(T0); // a peer (or this replica before a restart) created it; the cache has not shown it
  const calls = w.fake.calls.length;

  await w.visit();
  assert.deepEqual(
    w.fake.calls
      .slice(calls)
      .filter((c) => c.method === 'createNamespacedCustomObject')
      .map((c) => [c.name, c.outcome]),
    [[cycleName(T0), 409]],
  );
  assert.equal(w.fake.versions(CYCLE, NS, cycleName(T0)).length, 1, 'the existing cycle is left as it is');
  assert.deepEqual(w.events(), []);
  assert.equal(w.agent().status?.activeCycle, cycleName(T0));
});

test('a Promoted cycle the agent does not own is not recorded, however it is labelled', async () => {
  const w = await world();
  await w.visit();
  const owner = w.agent();
  // Someone who may write cycles (not the operator) makes one that names the agent and claims a promotion.
  for (const [suffix, ownerReferences] of [
    ['unowned', []],
    [
      'foreign',
      [{ apiVersion: API_VERSION, kind: HYPERAGENTS.kind, name: NAME, uid: 'another-uid', controller: true }],
    ],
  ] as const) {
    const name = `${NAME}-${suffix}`;
    await w.fake.clients.custom.createNamespacedCustomObject({
      group: CYCLES.group,
      version: CYCLES.version,
      plural: CYCLES.plural,
      namespace: NS,
      body: {
        apiVersion: API_VERSION,
        kind: CYCLES.kind,
        metadata: { name, labels: { [AGENT_LABEL]: NAME }, ownerReferences: [...ownerReferences] },
        spec: {
          agent: NAME,
          slot: new Date(T0 + 60_000).toISOString(),
          agentGeneration: 1,
          agentSpec: owner.spec,
        },
      },
    });
    await w.writeCycleStatus(
      name,
      promoted({ ...promotionOf(name), promotedAt: new Date(T0 + 60_000).toISOString() }),
    );
  }
  await w.visit();
  assert.equal(w.agent().status?.history, undefined, 'no forged promotion joins the history');
  assert.equal(w.agent().status?.stableRevision, undefined);
});

test("a cycle that ended Promoted joins the agent's history and becomes its stable revision, once", async () => {
  const w = await world();
  await w.visit();
  const name = cycleName(T0);
  const entry = promotionOf(name);
  await w.writeCycleStatus(name, promoted(entry));

  await w.visit();
  const status = w.agent().status!;
  assert.deepEqual(status.history, [entry]);
  assert.equal(status.stableRevision, entry.revision);
  assert.deepEqual(status.lastCycle, {
    name,
    phase: 'Promoted',
    reason: 'Promoted',
    completionTime: entry.promotedAt,
  });
  assert.equal(status.phase, 'Idle');
  assert.equal(status.activeCycle, undefined);
  assert.deepEqual(conditionsOf(status).Progressing, ['False', 'Idle']);

  const version = w.agent().metadata.resourceVersion;
  const writes = w.fake.count('replaceNamespacedCustomObjectStatus');
  await w.visit();
  assert.equal(w.fake.count('replaceNamespacedCustomObjectStatus'), writes, 'nothing to write');
  assert.equal(w.agent().metadata.resourceVersion, version);
  assert.deepEqual(w.agent().status?.history, [entry]);
});

test("a rollback request restores the revision's image and environment on the target container, makes it stable, and is answered once", async () => {
  const w = await world({ status: RAN_R2, annotations: { team: 'pricing' } });
  await requestRollback(w, 'r1');
  await w.visit();

  const deployment = w.deployment()!;
  const [proxy, app] = deployment.spec.template.spec.containers;
  assert.deepEqual(app, {
    name: 'app',
    image: R1.image,
    env: [
      { name: 'LOG_LEVEL', value: 'info' },
      { name: 'CACHE_SIZE', value: '128' }, // by value now: the valueFrom went
    ],
  });
  assert.deepEqual(proxy, { name: 'proxy', image: 'envoy:1.30' }, 'the other container is left alone');
  assert.equal(deployment.metadata.annotations?.[REVISION_ANNOTATION], 'r1');
  assert.deepEqual(deployment.spec.template.metadata.labels, { app: 'quote', [ROLE_LABEL]: 'stable' });
  assert.equal(deployment.metadata.generation, 2);

  const agent = w.agent();
  assert.equal(agent.status?.stableRevision, 'r1');
  assert.deepEqual(agent.status?.history, [R2, R1], 'the history is kept as it was');
  assert.deepEqual(agent.metadata.annotations, { team: 'pricing' }, 'the request is removed, nothing else');
  assert.deepEqual(w.events(), [
    {
      type: 'Normal',
      reason: 'RolledBackTo',
      message: `Deployment ${DEPLOYMENT} runs revision r1 again (${R1.image})`,
    },
  ]);

  await w.visit();
  assert.equal(w.fake.count('patchNamespacedDeployment'), 1);
  assert.equal(w.agent().status?.stableRevision, 'r1', 'the rollback stands');
  assert.equal(w.events().length, 1);
});

test('a rollback to a revision not in the history is refused: the Deployment and stableRevision stay, the request is removed', async () => {
  const w = await world({ status: RAN_R2 });
  await requestRollback(w, 'r9');
  await w.visit();

  assert.deepEqual(w.events(), [
    {
      type: 'Warning',
      reason: 'RollbackRefused',
      message: 'Rollback to r9 refused: revision r9 is not in the history (known: r2, r1)',
    },
  ]);
  assert.equal(w.fake.count('readNamespacedDeployment') + w.fake.count('patchNamespacedDeployment'), 0);
  assert.equal(w.fake.versions(DEPLOYMENTS, NS, DEPLOYMENT).length, 1);
  assert.equal(w.agent().status?.stableRevision, 'r2');
  assert.equal(w.agent().metadata.annotations?.[ROLLBACK_ANNOTATION], undefined);
});

test('a rollback while a cycle is delivering (Canary) is refused', async () => {
  const w = await world({ status: RAN_R2 });
  await w.ownedCycle(T0 + HOUR, { phase: 'Canary' });
  await requestRollback(w, 'r1');
  await w.visit();

  assert.equal(w.events().length, 1);
  const [refused] = w.events();
  assert.deepEqual([refused!.type, refused!.reason], ['Warning', 'RollbackRefused']);
  assert.match(
    refused!.message,
    new RegExp(`^Rollback to r1 refused: cycle ${cycleName(T0 + HOUR)} is delivering \\(Canary\\); abort it`),
  );
  assert.equal(w.fake.count('patchNamespacedDeployment'), 0);
  assert.equal(w.deployment()?.spec.template.spec.containers[1]?.image, R2.image);
  assert.equal(w.agent().status?.stableRevision, 'r2');
  assert.equal(w.agent().status?.phase, 'Canary');
  assert.equal(w.agent().metadata.annotations?.[ROLLBACK_ANNOTATION], undefined);
});

test('a newer rollback request that replaced the one answered is kept for the next visit', async () => {
  const w = await world({ status: RAN_R2 });
  await requestRollback(w, 'r9');
  // The human asks again, for r1, while the refusal of r9 is being answered.
  w.fake.beforeNext('patchNamespacedCustomObject', () => requestRollback(w, 'r1'));
  await w.visit();
  assert.equal(w.agent().metadata.annotations?.[ROLLBACK_ANNOTATION], 'r1');
  assert.equal(w.agent().status?.stableRevision, 'r2');

  await w.visit();
  assert.deepEqual(
    w.events().map((e) => e.reason),
    ['RollbackRefused', 'RolledBackTo'],
  );
  assert.equal(w.agent().status?.stableRevision, 'r1');
  assert.equal(w.agent().metadata.annotations?.[ROLLBACK_ANNOTATION], undefined);
});

test('a status write that conflicts with another writer is retried on a fresh read: the status follows the agent as it is now', async () => {
  const w = await world();
  await w.visit();
  const name = cycleName(T0);
  const entry = promotionOf(name);
  await w.writeCycleStatus(name, promoted(entry));
  // A human suspends the agent just before this replica writes its status.
  w.fake.beforeNext('replaceNamespacedCustomObjectStatus', () =>
    w.patchAgent([{ op: 'add', path: '/spec/suspend', value: true }]),
  );
  const calls = w.fake.calls.length;

  await w.visit();
  assert.deepEqual(
    w.fake.calls
      .slice(calls)
      .filter((c) => c.method !== 'createNamespacedEvent')
      .map((c) => [c.method, c.outcome]),
    [
      ['patchNamespacedCustomObject', 'ok'], // the other writer
      ['replaceNamespacedCustomObjectStatus', 409],
      ['getNamespacedCustomObject', 'ok'],
      ['replaceNamespacedCustomObjectStatus', 'ok'],
    ],
  );
  const agent = w.agent();
  assert.equal(agent.spec.suspend, true, "the other writer's change stands");
  assert.equal(agent.metadata.generation, 2);
  const status = agent.status!;
  assert.equal(status.observedGeneration, 2, 'computed from the agent as read again');
  assert.equal(status.phase, 'Suspended');
  assert.deepEqual(conditionsOf(status).Ready, ['True', 'Suspended']);
  assert.equal(status.nextScheduleTime, undefined);
  assert.deepEqual(status.history, [entry], 'the promotion is recorded once');
  assert.equal(status.stableRevision, entry.revision);

  const writes = w.fake.count('replaceNamespacedCustomObjectStatus');
  await w.visit();
  assert.equal(w.fake.count('replaceNamespacedCustomObjectStatus'), writes, 'the status is settled');
});

test('a run request that arrives while a status write conflicts is still answered with a cycle', async () => {
  const w = await world();
  await w.visit();
  await w.writeCycleStatus(cycleName(T0), {
    phase: 'Failed',
    reason: 'CapabilityMissing',
    message: 'no sandbox',
  });
  w.at(T0 + 10 * MINUTE);
  // `kubectl hyperagent run` annotates the agent just before this replica writes its status.
  const requested = new Date(T0 + 10 * MINUTE).toISOString();
  w.fake.beforeNext('replaceNamespacedCustomObjectStatus', () => annotate(w, RUN_ANNOTATION, requested));
  await w.visit();
  const claimed = w.agent().status?.activeCycle;
  assert.ok(
    claimed === undefined || w.storedCycles().some((c) => c.metadata.name === claimed),
    `the status names cycle ${claimed}, which does not exist`,
  );

  await w.visit();
  await w.visit();
  assert.deepEqual(
    w.storedCycles().map((c) => c.metadata.name),
    [cycleName(T0), cycleName(T0 + 10 * MINUTE)],
    'the run request got its cycle',
  );
});

test('self-healing: an incident is detected once, even when the cache has not shown the last check yet', async () => {
  const reads: number[] = [];
  const w = await world({
    spec: {
      healing: {
        triggers: [{ name: 'errors', query: 'x', max: 0.01, for: '10s' }],
        interval: '5s',
        cooldown: '10m',
      },
    },
    incidents: {
      read: async () => {
        reads.push(Date.now());
        return [{ name: 'errors', state: 'firing', value: 0.05, message: 'errors 0.05 > max 0.01' }];
      },
      evidence: async (_agent, incident) => ({
        summary: incident.summary,
        since: incident.since.toISOString(),
        detectedAt: incident.detectedAt.toISOString(),
        triggers: [...incident.triggers],
        series: [],
        events: [],
        logs: [],
      }),
    },
  });
  await w.visit(); // the first check: the trigger fires, not yet for 10 s (and the first cycle starts)
  assert.equal(w.agent().status?.healing?.triggers[0]?.firing, true);
  w.agents.freeze(); // the watch lags behind every write from here on
  for (const second of [12, 18, 24]) {
    w.at(T0 + second * 1000);
    await w.visit();
  }
  const detected = w.events().filter((e) => e.reason === 'IncidentDetected');
  assert.equal(detected.length, 1, JSON.stringify(w.events()));
  assert.equal(
    w.agent().status?.healing?.incident?.action,
    'Held',
    'the scheduled cycle runs: one cycle at a time',
  );
  assert.equal(w.agent().status?.healing?.incident?.heldBy, 'OneAtATime');
  assert.equal(w.events().filter((e) => e.reason === 'RemediationHeld').length, 1);
});
