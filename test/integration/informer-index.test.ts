// The informer's index against a real kube-apiserver: objects are found by their index key from
// the first list on, follow a relabel from one key to another, and leave the index when deleted.
// ConfigMaps stand in for cycles: the index is the same code whatever the kind.
//
// Run with `bash test/run-integration.sh test/integration/informer-index.test.ts`.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type { KubernetesListObject, V1ConfigMap } from '@kubernetes/client-node';
import { pino } from 'pino';
import { AGENT_LABEL, cycleAgentIndex } from '../../operator/src/api/resources.js';
import { Informer } from '../../operator/src/controller/informer.js';
import { core, eventually, freshNamespace, kubeConfig } from '../support/cluster.js';

const namespace = await freshNamespace('informer-index');
after(() => core.deleteNamespace({ name: namespace }).catch(() => undefined));

const labelled = (name: string, agent: string): V1ConfigMap => ({
  metadata: { name, namespace, labels: { [AGENT_LABEL]: agent } },
});
const names = (objects: readonly V1ConfigMap[]) => objects.map((o) => o.metadata?.name).sort();

test('indexed() finds objects by key from the first list, through relabels and deletes', async () => {
  await core.createNamespacedConfigMap({ namespace, body: labelled('a-1', 'a') });
  await core.createNamespacedConfigMap({ namespace, body: labelled('b-1', 'b') });
  const informer = new Informer<V1ConfigMap>({
    kubeConfig,
    path: `/api/v1/namespaces/${namespace}/configmaps`,
    list: async () =>
      (await core.listNamespacedConfigMap({ namespace })) as KubernetesListObject<V1ConfigMap>,
    log: pino({ level: 'silent' }),
    indexBy: cycleAgentIndex,
  });
  await informer.start();
  try {
    assert.deepEqual(names(informer.indexed(`${namespace}/a`)), ['a-1']);
    assert.deepEqual(names(informer.indexed(`${namespace}/b`)), ['b-1']);

    // added through the watch
    await core.createNamespacedConfigMap({ namespace, body: labelled('a-2', 'a') });
    await eventually('a-2 indexed under a', async () =>
      informer.indexed(`${namespace}/a`).length === 2 ? true : undefined,
    );

    // relabelled: leaves a, joins b
    await core.patchNamespacedConfigMap({
      namespace,
      name: 'a-1',
      body: [{ op: 'replace', path: `/metadata/labels/${AGENT_LABEL.replace('/', '~1')}`, value: 'b' }],
    });
    await eventually('a-1 moved to b', async () =>
      names(informer.indexed(`${namespace}/b`)).join() === 'a-1,b-1' ? true : undefined,
    );
    assert.deepEqual(names(informer.indexed(`${namespace}/a`)), ['a-2']);

    // the label removed: in no bucket; deleted: gone
    await core.patchNamespacedConfigMap({
      namespace,
      name: 'b-1',
      body: [{ op: 'remove', path: `/metadata/labels/${AGENT_LABEL.replace('/', '~1')}` }],
    });
    await core.deleteNamespacedConfigMap({ namespace, name: 'a-2' });
    await eventually('b-1 unindexed and a-2 deleted', async () =>
      names(informer.indexed(`${namespace}/b`)).join() === 'a-1' &&
      informer.indexed(`${namespace}/a`).length === 0
        ? true
        : undefined,
    );
    assert.equal(informer.list().length, 2, 'the cache itself still holds a-1 and b-1');
  } finally {
    await informer.stop();
  }
});
