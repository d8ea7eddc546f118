// A locally built image runs as a Deployment behind a Service, and another pod gets HTTP answers
// through the Service by its DNS name: image build, registry, kubelet, CNI, kube-proxy and CoreDNS.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { core, freshNamespace, kubectl } from '../support/cluster.js';
import { deleteNamespace, deployEcho, probeFrom, startProbePod } from '../support/workloads.js';

let namespace: string;

before(async () => {
  namespace = await freshNamespace('e2e-service');
});

after(async () => {
  await deleteNamespace(namespace);
});

test('the node is Ready and cluster DNS runs', async () => {
  const nodes = await core.listNode();
  assert.equal(nodes.items.length, 1);
  const ready = nodes.items[0]!.status?.conditions?.find((c) => c.type === 'Ready');
  assert.equal(ready?.status, 'True', `node not Ready: ${ready?.message}`);
  const dns = await kubectl(
    '-n',
    'kube-system',
    'get',
    'deployment',
    'coredns',
    '-o',
    'jsonpath={.spec.replicas} {.status.readyReplicas}',
  );
  // every replica the cluster runs is ready: one on the harness, two on kind (kubeadm's default)
  const [wanted, readyReplicas] = dns.split(' ').map(Number);
  assert.ok(
    wanted! >= 1 && readyReplicas === wanted,
    `CoreDNS: ${readyReplicas} of ${wanted} replicas ready`,
  );
});

test('a pod gets HTTP answers from every replica through the Service DNS name', async () => {
  await deployEcho(namespace, 'echo', { replicas: 2, version: 'e2e-1' });
  await startProbePod(namespace, 'client');
  const url = `http://echo.${namespace}.svc.cluster.local/hello`;
  const hostnames = new Set<string>();
  for (let attempt = 0; attempt < 40 && hostnames.size < 2; attempt++) {
    const result = await probeFrom(namespace, 'client', ['http', url]);
    assert.ok(result.ok, `request through the Service failed: ${result.output}`);
    const body = JSON.parse(result.output.slice(result.output.indexOf('{'))) as {
      hostname: string;
      version: string;
      path: string;
    };
    assert.equal(body.version, 'e2e-1');
    assert.equal(body.path, '/hello');
    hostnames.add(body.hostname);
  }
  const pods = await core.listNamespacedPod({ namespace, labelSelector: 'app=echo' });
  assert.deepEqual([...hostnames].sort(), pods.items.map((p) => p.metadata!.name!).sort());
});
