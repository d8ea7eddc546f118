// Pod Security Admission is enforced: a namespace labelled `restricted` refuses a privileged pod at
// the API server, while an unlabelled namespace admits the same pod (so the refusal is PSA's).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { core, freshNamespace, kubectl } from '../support/cluster.js';
import { deleteNamespace, ECHO_IMAGE } from '../support/workloads.js';

let restricted: string;
let open: string;

before(async () => {
  restricted = await freshNamespace('e2e-psa-restricted');
  await kubectl('label', 'namespace', restricted, 'pod-security.kubernetes.io/enforce=restricted');
  open = await freshNamespace('e2e-psa-open');
});

after(async () => {
  await Promise.all([deleteNamespace(restricted), deleteNamespace(open)]);
});

const privilegedPod = (namespace: string) => ({
  metadata: { name: 'privileged', namespace },
  spec: {
    containers: [{ name: 'c', image: ECHO_IMAGE, securityContext: { privileged: true } }],
  },
});

test('a privileged pod is refused in a namespace labelled restricted', async () => {
  await assert.rejects(
    core.createNamespacedPod({ namespace: restricted, body: privilegedPod(restricted) }),
    (error: { code?: number; body?: string }) => {
      assert.equal(error.code, 403);
      const status = JSON.parse(String(error.body)) as { reason: string; message: string };
      assert.equal(status.reason, 'Forbidden');
      assert.match(status.message, /violates PodSecurity "restricted:latest": privileged/);
      return true;
    },
  );
});

test('the same pod is admitted where no Pod Security level is enforced', async () => {
  const created = await core.createNamespacedPod({
    namespace: open,
    body: privilegedPod(open),
    dryRun: 'All',
  });
  assert.equal(created.metadata?.name, 'privileged');
});
