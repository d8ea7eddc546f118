// What the operator's ServiceAccount may do, asked of the real API server as that account
// (kubectl --as; server-side dry runs, so nothing is left behind): the chart's ClusterRole and
// ValidatingAdmissionPolicy confine pods, namespaces and their isolation to sandbox namespaces.
// And a Secret that has not opted in is never used: a HyperAgent naming one fails its cycle with
// the command that opts it in.
//
// Last, the chart watching one namespace: a second release with namespaced Roles only (the
// cluster-wide operator scaled to zero meanwhile) evaluates a cycle's candidates in its sandbox.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import { load } from 'js-yaml';
import type { HyperAgent } from '../../operator/src/api/resources.js';
import { TERMINAL_CYCLE_PHASES } from '../../operator/src/api/schema.js';
import { SANDBOX_NAMESPACE_PREFIX } from '../../operator/src/sandbox/manifests.js';
import {
  core,
  createAgent,
  eventually,
  freshNamespace,
  kubectl,
  kubectlWithInput,
  listCycles,
} from '../support/cluster.js';
import { kubeletAddress } from '../support/sandbox-agent.js';
import {
  applyJson,
  apps,
  deleteNamespace,
  optedInSecret,
  quoteAgentObjects,
  quoteTunerAgent,
  restrictedContainer,
  serveQuoteFixture,
} from '../support/workloads.js';

const OPERATOR = 'system:serviceaccount:hyperagent-system:hyperagent-hyperagent-operator';

let namespace: string;
let sandbox: string;

before(async () => {
  namespace = await freshNamespace('e2e-privilege');
  // a sandbox namespace as the operator makes them (restricted Pod Security), made here by the admin
  sandbox = `${SANDBOX_NAMESPACE_PREFIX}${namespace}`;
  await core.createNamespace({
    body: {
      metadata: {
        name: sandbox,
        labels: {
          'pod-security.kubernetes.io/enforce': 'restricted',
          'pod-security.kubernetes.io/enforce-version': 'latest',
        },
      },
    },
  });
});

after(async () => {
  await deleteNamespace(namespace);
  await deleteNamespace(sandbox);
});

/** Runs kubectl as the operator's ServiceAccount: its output, or the API server's refusal. */
async function asOperator(
  input: object | undefined,
  ...args: string[]
): Promise<{ ok: boolean; text: string }> {
  try {
    const stdin = input === undefined ? undefined : JSON.stringify(input);
    return { ok: true, text: await kubectlWithInput(stdin, '--as', OPERATOR, ...args) };
  } catch (error) {
    return { ok: false, text: String((error as { stderr?: string }).stderr ?? error) };
  }
}

function pod(podNamespace: string) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'probe', namespace: podNamespace },
    spec: {
      securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [{ name: 'probe', image: 'localhost:5001/none:0', ...restrictedContainer }],
    },
  };
}

const create = (object: object) => asOperator(object, 'create', '--dry-run=server', '-o', 'name', '-f', '-');

test("the operator's ServiceAccount may run pods in a sandbox namespace, and nowhere else", async () => {
  const inSandbox = await create(pod(sandbox));
  assert.ok(inSandbox.ok, `a sandbox pod should be allowed: ${inSandbox.text}`);
  for (const where of ['kube-system', namespace, 'hyperagent-system']) {
    const refused = await create(pod(where));
    assert.equal(refused.ok, false, `a pod in ${where} was allowed`);
    assert.match(
      refused.text,
      new RegExp(
        `the hyperagent operator may change pods only in sandbox namespaces \\(hyperagent-sandbox-\\*\\), not in ${where}`,
      ),
    );
  }
});

test('it may not relabel other namespaces, relax Pod Security on its own, or write kube-system ConfigMaps', async () => {
  // server-side apply: a PATCH as the operator sends it, with no read first (it may not read namespaces)
  const applyNamespace = (name: string, labels: Record<string, string>) =>
    asOperator(
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } },
      'apply',
      '--server-side',
      '--field-manager=least-privilege-e2e',
      '--force-conflicts',
      '--dry-run=server',
      '-f',
      '-',
    );
  const relabel = await applyNamespace('kube-system', { x: 'y' });
  assert.equal(relabel.ok, false, relabel.text);
  assert.match(
    relabel.text,
    /may create and change only sandbox namespaces \(hyperagent-sandbox-\*\), not kube-system/,
  );

  const relax = await applyNamespace(sandbox, { 'pod-security.kubernetes.io/enforce': 'privileged' });
  assert.equal(relax.ok, false, relax.text);
  assert.match(relax.text, /must keep Pod Security enforce=restricted/);
  const keep = await applyNamespace(sandbox, { 'pod-security.kubernetes.io/enforce': 'restricted', x: 'y' });
  assert.ok(keep.ok, `labelling a sandbox namespace should be allowed: ${keep.text}`);

  const configMap = (where: string) => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'probe', namespace: where },
    data: { a: 'b' },
  });
  const system = await create(configMap('kube-system'));
  assert.equal(system.ok, false, system.text);
  assert.match(system.text, /may only write the inputs of an\s+ImprovementCycle/);
  assert.equal(
    (await create(configMap(namespace))).ok,
    false,
    'a ConfigMap no cycle owns, in an agent namespace',
  );
  assert.ok((await create(configMap(sandbox))).ok, 'a ConfigMap in the sandbox namespace');
});

test('RBAC: a Secret only once it opted in, and no verbs the operator never calls', async () => {
  const can = async (...args: string[]) =>
    (
      await kubectl('auth', 'can-i', '--as', OPERATOR, ...args).catch(
        (error: { stdout?: string }) => error.stdout ?? '',
      )
    ).trim();
  await applyJson([
    ...optedInSecret({ name: 'opted-in', namespace, stringData: { apiKey: 'k' } }, 'llm'),
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'not-opted-in', namespace },
      stringData: { apiKey: 'k' },
    },
  ]);
  // the API server itself refuses the read, not the operator's goodwill
  const read = await asOperator(undefined, 'get', 'secret', 'not-opted-in', '-n', namespace, '-o', 'name');
  assert.equal(read.ok, false, read.text);
  assert.match(
    read.text,
    /secrets "not-opted-in" is forbidden: User "system:serviceaccount:hyperagent-system:hyperagent-hyperagent-operator" cannot get resource "secrets"/,
  );
  const opted = await asOperator(undefined, 'get', 'secret', 'opted-in', '-n', namespace, '-o', 'name');
  assert.ok(opted.ok, opted.text);
  assert.equal(await can('get', 'secrets/opted-in', '-n', namespace), 'yes');
  for (const denied of [
    ['get', 'secrets', '-n', namespace],
    ['get', 'secrets', '-n', 'kube-system'],
    ['list', 'secrets', '-A'],
    ['watch', 'secrets', '-A'],
    ['delete', 'namespaces'],
    ['create', 'pods', '--subresource=exec', '-n', sandbox],
    ['update', 'deployments', '-n', namespace],
    ['delete', 'hyperagents.hyperagents.io', '-n', namespace],
    ['create', 'clusterrolebindings'],
  ]) {
    assert.equal(await can(...denied), 'no', `can-i ${denied.join(' ')}`);
  }
});

test('a HyperAgent whose git Secret has not opted in fails its cycle with the command that opts it in', async () => {
  // the Secret exists, but nothing lets the operator read it or use it for git
  await kubectlWithInput(
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'git', namespace },
      stringData: { username: 'someone', password: 'not-for-the-operator' },
    }),
    'apply',
    '-f',
    '-',
  );
  const example = load(await readFile('examples/quote-agent.yaml', 'utf8')) as HyperAgent;
  example.metadata.namespace = namespace;
  await createAgent(example);
  const failed = await eventually(
    'the first cycle to fail',
    async () => (await listCycles(namespace)).find((cycle) => cycle.status?.phase === 'Failed'),
    120_000,
  );
  assert.equal(failed.status?.reason, 'SourceUnavailable', failed.status?.message);
  assert.match(
    failed.status?.message ?? '',
    new RegExp(
      `the operator may not read the Secret ${namespace}/git: .*; kubectl hyperagent secret allow git --for git -n ${namespace} applies both`,
    ),
  );
});

// --- watching one namespace ------------------------------------------------------------------

const run = promisify(execFile);
const MAIN = { namespace: 'hyperagent-system', deployment: 'hyperagent-hyperagent-operator' };

async function scaleMainOperator(replicas: number): Promise<void> {
  await kubectl('scale', 'deployment', '-n', MAIN.namespace, MAIN.deployment, `--replicas=${replicas}`);
  await eventually(
    `the cluster-wide operator at ${replicas} ready replica(s)`,
    async () => {
      const status = (
        await apps.readNamespacedDeployment({ name: MAIN.deployment, namespace: MAIN.namespace })
      ).status;
      const ready = status?.readyReplicas ?? 0;
      return ready === replicas && (status?.replicas ?? 0) === replicas ? true : undefined;
    },
    120_000,
  );
}

/** The value after `flag` in the cluster-wide operator's arguments. */
function argument(args: readonly string[], flag: string): string {
  const at = args.indexOf(flag);
  assert.ok(at >= 0 && args[at + 1], `the operator runs with ${flag}`);
  return args[at + 1]!;
}

test('watching one namespace, the chart grants namespaced Roles only, and the operator still evaluates a cycle in its sandbox', async (t) => {
  const watched = await freshNamespace('e2e-scoped-agents');
  const release = await freshNamespace('e2e-scoped-operator');
  const sandboxOfWatched = `${SANDBOX_NAMESPACE_PREFIX}${watched}`;
  const scopedAccount = `system:serviceaccount:${release}:scoped-hyperagent-operator`;
  const main = (await apps.readNamespacedDeployment({ name: MAIN.deployment, namespace: MAIN.namespace }))
    .spec!.template.spec!.containers[0]!;
  const image = main.image!;
  const args = main.args ?? [];
  const git = await serveQuoteFixture('git-scoped-password');
  await scaleMainOperator(0);
  try {
    await run(
      'helm',
      [
        'install',
        'scoped',
        'charts/hyperagent-operator',
        '--namespace',
        release,
        '--skip-crds',
        '--set-string',
        `image.repository=${image.slice(0, image.lastIndexOf(':'))}`,
        '--set-string',
        `image.tag=${image.slice(image.lastIndexOf(':') + 1)}`,
        '--set-string',
        `sandbox.image=${argument(args, '--sandbox-image')}`,
        '--set-string',
        `sandbox.outsideProbe=${argument(args, '--sandbox-outside-probe')}`,
        '--set-string',
        `watchNamespace=${watched}`,
        '--set',
        'leaderElection.enabled=false',
        '--set',
        'grafanaDashboard.enabled=false',
        '--wait',
        '--timeout',
        '180s',
      ],
      { env: process.env },
    );
    const manifest = (
      await run('helm', ['get', 'manifest', 'scoped', '--namespace', release], { env: process.env })
    ).stdout;
    assert.doesNotMatch(
      manifest,
      /^kind: Cluster(Role|RoleBinding)$/m,
      'no cluster-wide RBAC when watching one namespace',
    );
    assert.match(
      manifest,
      new RegExp(`^  name: ${sandboxOfWatched}$`, 'm'),
      'the chart makes the sandbox namespace',
    );

    const can = async (...request: string[]) =>
      (
        await kubectl('auth', 'can-i', '--as', scopedAccount, ...request).catch(
          (error: { stdout?: string }) => error.stdout ?? '',
        )
      ).trim();
    assert.equal(await can('create', 'pods', '-n', sandboxOfWatched), 'yes');
    for (const denied of [
      ['create', 'pods', '-n', 'kube-system'],
      ['create', 'pods', '-n', watched],
      ['get', 'secrets', '-n', 'kube-system'],
      ['get', 'secrets', '-n', watched],
      ['get', 'secrets', '-n', namespace],
      ['list', 'hyperagents.hyperagents.io', '-n', namespace],
      ['list', 'nodes'],
      ['create', 'namespaces'],
      ['get', 'services', '-n', 'default'],
    ]) {
      assert.equal(await can(...denied), 'no', `can-i ${denied.join(' ')}`);
    }

    await applyJson(
      quoteAgentObjects(
        watched,
        { username: 'builder', password: 'git-scoped-password' },
        { namespace: release, name: 'scoped-hyperagent-operator' },
      ),
    );
    await createAgent(
      quoteTunerAgent('scoped', watched, `${git.url}/remote.git`, {
        maxCandidates: 1,
        // the fixture's benchmark is fastest at 384 (bench/run.mjs); the Deployment runs the default, 64
        parameters: [
          { name: 'cache-size', env: 'QUOTE_CACHE_SIZE', type: 'choice', choices: ['384', '448'] },
        ],
        test: 'node --test',
        timeoutSeconds: 180,
      }),
    );
    // It may not list nodes: the isolation proof probes its own node's kubelet (its address) instead.
    const probes = await eventually(
      "the sandbox's input with its isolation probes",
      async () => {
        const inputs = (await core.listNamespacedConfigMap({ namespace: sandboxOfWatched })).items;
        const manifests = inputs.flatMap((map) =>
          Object.entries(map.data ?? {}).filter(([key]) => key.endsWith('.manifest.json')),
        );
        return manifests.length > 0
          ? (JSON.parse(manifests[0]![1]) as { isolation: { probes: { name: string; host: string }[] } })
              .isolation.probes
          : undefined;
      },
      240_000,
    );
    t.diagnostic(`isolation probes: ${probes.map((probe) => `${probe.name} ${probe.host}`).join(', ')}`);
    assert.ok(
      probes.some((probe) => probe.name.startsWith('node-kubelet') && probe.host === kubeletAddress()),
      'the kubelet of the operator node is probed',
    );
    assert.ok(probes.some((probe) => probe.name.startsWith('api-server')));
    const cycle = await eventually(
      'the scoped operator to evaluate the cycle',
      async () => {
        const [current] = await listCycles(watched);
        const phase = current?.status?.phase;
        return phase === 'AwaitingApproval' || (phase && TERMINAL_CYCLE_PHASES.includes(phase))
          ? current
          : undefined;
      },
      420_000,
    );
    const candidates = cycle.status?.candidates ?? [];
    t.diagnostic(
      `cycle ${cycle.metadata.name} ${cycle.status?.phase} (${cycle.status?.reason}): ${cycle.status?.message}; ` +
        candidates.map((c) => `${c.id} ${c.verdict} ${(c.reasons ?? []).join(' | ')}`).join('; '),
    );
    // evaluated in its sandbox namespace, the isolation proven, under namespaced Roles alone
    assert.equal(cycle.status?.phase, 'AwaitingApproval', cycle.status?.message);
    assert.ok(candidates.some((c) => c.verdict === 'Passed'));
  } finally {
    await run('helm', ['uninstall', 'scoped', '--namespace', release, '--wait'], { env: process.env }).catch(
      (error: unknown) => t.diagnostic(`helm uninstall: ${String(error)}`),
    );
    await scaleMainOperator(1);
    await git.close();
    await deleteNamespace(watched);
    await deleteNamespace(sandboxOfWatched);
    await deleteNamespace(release);
  }
});
