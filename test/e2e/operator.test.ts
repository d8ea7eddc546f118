// The operator, installed by its own Helm chart (test/cluster/cluster.sh runs `helm upgrade
// --install`), runs in the cluster, becomes Ready and reconciles the example HyperAgent.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import { load } from 'js-yaml';
import {
  createAgent,
  eventually,
  freshNamespace,
  getAgent,
  kubectl,
  listCycles,
} from '../support/cluster.js';
import { deleteNamespace } from '../support/workloads.js';
import type { HyperAgent } from '../../operator/src/api/resources.js';

const RELEASE_NAMESPACE = 'hyperagent-system';
let namespace: string;

before(async () => {
  namespace = await freshNamespace('e2e-operator');
});

after(async () => {
  await deleteNamespace(namespace);
});

test('the Helm release is deployed and the operator pod is Ready', async () => {
  const status = JSON.parse(
    await kubectl(
      'get',
      'deployment',
      '-n',
      RELEASE_NAMESPACE,
      '-l',
      'app.kubernetes.io/instance=hyperagent',
      '-o',
      'json',
    ),
  ) as {
    items: {
      metadata: { labels: Record<string, string> };
      status: { readyReplicas?: number; replicas?: number };
    }[];
  };
  assert.equal(status.items.length, 1, 'one operator Deployment from the chart');
  const deployment = status.items[0]!;
  assert.equal(deployment.metadata.labels['app.kubernetes.io/managed-by'], 'Helm');
  assert.ok((deployment.status.readyReplicas ?? 0) >= 1, 'operator pod Ready');
  const metrics = await kubectl(
    'get',
    '--raw',
    `/api/v1/namespaces/${RELEASE_NAMESPACE}/services/hyperagent-hyperagent-operator:metrics/proxy/metrics`,
  );
  assert.match(metrics, /hyperagent_leader 1/);
});

test('the example HyperAgent is reconciled by the in-cluster operator', async () => {
  const example = load(await readFile('examples/quote-agent.yaml', 'utf8')) as HyperAgent;
  example.metadata.namespace = namespace;
  await createAgent(example);
  const agent = await eventually(
    'the operator to observe the example agent',
    async () => {
      const current = await getAgent(namespace, example.metadata.name!);
      const ready = current.status?.conditions?.find((c) => c.type === 'Ready');
      return current.status?.observedGeneration === current.metadata.generation && ready
        ? current
        : undefined;
    },
    60_000,
  );
  assert.ok(agent.status?.conditions?.length, 'conditions written');
  const events = await kubectl(
    'get',
    'events',
    '-n',
    namespace,
    '-o',
    'jsonpath={.items[*].source.component}',
  );
  assert.match(events, /hyperagent-operator/);
  // the agent's first slot starts a cycle at once, owned by the agent, and the operator drives it
  const cycle = await eventually(
    'a cycle of the example agent with a phase',
    async () => (await listCycles(namespace)).find((c) => c.status?.phase),
    60_000,
  );
  assert.equal(cycle.spec.agent, example.metadata.name);
  assert.equal(cycle.metadata.ownerReferences?.[0]?.uid, agent.metadata.uid);
});
