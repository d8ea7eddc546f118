// What the operator's ServiceAccount may do, asked of the real API server as that account
// (kubectl --as; server-side dry runs, so nothing is left behind): the chart's ClusterRole and
// ValidatingAdmissionPolicy confine pods, namespaces and their isolation to sandbox namespaces.
// And a Secret that has not opted in is never used: a HyperAgent naming one fails its cycle with
// the command that opts it in.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import { load } from 'js-yaml';
import type { HyperAgent } from '../../operator/src/api/resources.js';
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
import { deleteNamespace, restrictedContainer } from '../support/workloads.js';

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

test('RBAC: Secrets only by name, and no verbs the operator never calls', async () => {
  const can = async (...args: string[]) =>
    (
      await kubectl('auth', 'can-i', '--as', OPERATOR, ...args).catch(
        (error: { stdout?: string }) => error.stdout ?? '',
      )
    ).trim();
  assert.equal(await can('get', 'secrets', '-n', namespace), 'yes');
  for (const denied of [
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
      `the Secret ${namespace}/git has not opted in to be used as git credentials: .*\\(kubectl label secret git -n ${namespace} hyperagents.io/git-credentials=true\\)`,
    ),
  );
});
